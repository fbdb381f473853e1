// The read policy's truth table: every situation a console's read can be in,
// and the early stops it allows (src/stream/read-policy.ts states the contract).
// Written out row by row, not computed, so that a change to the policy has
// to change a row here too.
import t from 'tap';
import { readFlags } from '../src/stream/read-policy';

const TABLE = `
isTty ptyMaster crowded hangupPending readingOut | noWait stopSmall
    0    0          0        0              0         |  0       0
    0    0          0        0              1         |  0       0
    0    0          0        1              0         |  0       0
    0    0          0        1              1         |  0       0
    0    0          1        0              0         |  0       0
    0    0          1        0              1         |  0       0
    0    0          1        1              0         |  0       0
    0    0          1        1              1         |  0       0
    0    1          0        0              0         |  0       0
    0    1          0        0              1         |  0       0
    0    1          0        1              0         |  0       0
    0    1          0        1              1         |  0       0
    0    1          1        0              0         |  0       0
    0    1          1        0              1         |  0       0
    0    1          1        1              0         |  0       0
    0    1          1        1              1         |  0       0
    1    0          0        0              0         |  0       0
    1    0          0        0              1         |  0       0
    1    0          0        1              0         |  0       0
    1    0          0        1              1         |  0       0
    1    0          1        0              0         |  1       0
    1    0          1        0              1         |  0       0
    1    0          1        1              0         |  0       0
    1    0          1        1              1         |  0       0
    1    1          0        0              0         |  0       1
    1    1          0        0              1         |  0       0
    1    1          0        1              0         |  0       0
    1    1          0        1              1         |  0       0
    1    1          1        0              0         |  1       1
    1    1          1        0              1         |  0       0
    1    1          1        1              0         |  0       0
    1    1          1        1              1         |  0       0
`;

t.test('readFlags follows its truth table, row by row', async (t) => {
  const rows = TABLE.trim().split('\n').slice(1);
  t.equal(rows.length, 32, 'every situation of the five booleans has its row');
  const seen = new Set<string>();
  for (const row of rows) {
    const [isTty, ptyMaster, crowded, hangupPending, readingOut, noWait, stopSmall] = row
      .replace('|', ' ')
      .trim()
      .split(/\s+/)
      .map((v) => v === '1');
    seen.add(row.split('|')[0].trim());
    const situation = { isTty, ptyMaster, crowded, hangupPending, readingOut };
    t.same(readFlags(situation), { noWait, stopSmall }, JSON.stringify(situation));
  }
  t.equal(seen.size, 32, 'no situation twice');
});

t.test('the answers are shared, frozen objects (reads are the hot path)', async (t) => {
  const s = { isTty: true, ptyMaster: true, crowded: false, hangupPending: false, readingOut: false };
  t.equal(readFlags(s), readFlags({ ...s }), 'the same object for the same situation');
  t.ok(Object.isFrozen(readFlags(s)));
});
