// The harness at its edges, as a new user meets them: every wait bounded,
// exit() too; a failure that prints briefly; a prompt's trailing space on the
// screen; evidence from any failure of a bound test; the terminal it emulates.
import * as util from 'node:util';
import t from 'tap';
import { ExpectError, Harness } from '../src/harness';

t.test('a failure printed by util.inspect stays short; its cells are there to read', async (t) => {
  const h = Harness.spawn('sh', { args: ['-c', 'seq 1 3000; exec sleep 30'], timeout: 300, test: t });
  const err = (await h.expect('bye').catch((e: unknown) => e)) as ExpectError;
  const printed = util.inspect(err);
  t.ok(printed.split('\n').length < 100, `util.inspect: ${printed.split('\n').length} lines`);
  t.match(printed, /ERR_EXPECT_TIMEOUT/, 'with the code');
  t.match(printed, /harness-frictions\.test\.ts:\d+/, "and the test's line");
  t.notOk(Object.keys(err).includes('screen') || Object.keys(err).includes('transcript'), 'screen and transcript are not enumerated');
  t.equal(err.screen?.cell(0, 0).char !== undefined, true, 'the cells are there');
  t.match(err.transcript, /\b3000\b/, 'and the whole transcript');
});
