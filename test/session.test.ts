// The session-wide end: PtyProcess.killSession() and endSession() reach every
// job an interactive shell started, each in a process group of its own, and
// never a process outside the session, pid reuse included.
import * as fs from 'node:fs';
import t, { type Test } from 'tap';
import { spawn, type PtyProcess } from '../src/index';
import { settles, waitUntil } from './helpers/fixtures';
import { sessionMembers } from './helpers/processes';

/** Starts `shell`, types `commands`, and waits for `marker` in its output. */
async function shellWith(
  t: Test,
  file: string,
  args: string[],
  commands: string,
  marker: string,
): Promise<{ p: PtyProcess; out: () => string }> {
  const p = spawn(file, args, { env: { PATH: process.env.PATH, HOME: '/nonexistent', PS1: '$ ', ENV: '' } });
  t.teardown(() => {
    p.killSession('SIGKILL');
    p.console.destroy();
  });
  let out = '';
  p.console.on('data', (b: Buffer) => (out += b.toString()));
  p.console.write(commands);
  await waitUntil(`${file}: "${marker}" printed`, () => out.includes(marker), { on: p.console });
  return { p, out: () => out };
}

function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

for (const [shell, args, job] of [
  ['bash', ['--norc', '--noprofile', '-i'], 'nohup sleep 993 >/dev/null 2>&1 &'],
  ['dash', ['-i'], `sh -c 'trap "" HUP; sleep 991' &`],
] as const) {
  t.test(`${shell}: endSession() ends the jobs that ignore SIGHUP, in groups of their own`, async (t) => {
    const { p } = await shellWith(t, shell, [...args], `${job}\necho start""ed\n`, 'started');
    await waitUntil(`${shell}: the job's sleep running`, () => sessionMembers(p.pid).length >= (shell === 'bash' ? 2 : 3));
    const jobs = sessionMembers(p.pid).filter((pid) => pid !== p.pid);
    const groups = new Set(jobs.map((pid) => fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[2]));
    t.notOk(groups.has(String(p.pid)), `${shell}: the jobs (${jobs.join(', ')}) are outside the shell's process group`);
    t.equal(p.killSession(0), jobs.length + 1, 'killSession(0) counts the shell and its jobs');
    const started = Date.now();
    await settles('endSession()', p.endSession({ graceMs: 1000 }));
    t.same(jobs.filter(alive), [], `every job is gone once endSession() resolves (${Date.now() - started} ms: SIGHUP, the grace, SIGKILL)`);
    t.same(sessionMembers(p.pid), [], 'nothing of the session is left');
    t.equal(p.killSession(), 0, 'killSession() then signals nothing');
    t.same((await settles('the shell: exited', p.exited)).signal, 'SIGHUP', 'the shell ended on the hang-up');
  });
}

t.test('a job that calls setsid() has left the session, and is not reached', async (t) => {
  const { p, out } = await shellWith(t, 'sh', ['-i'], `setsid sh -c 'echo escaped:$$; exec sleep 300' &\n`, 'escaped:');
  await waitUntil('the pid of the escaped job', () => /escaped:(\d+)\r?\n/.test(out()));
  const escaped = Number(/escaped:(\d+)/.exec(out())![1]);
  t.teardown(() => {
    if (alive(escaped)) process.kill(escaped, 'SIGKILL');
  });
  await settles('endSession()', p.endSession({ graceMs: 500 }));
  t.ok(alive(escaped), `the setsid'd job (pid ${escaped}) runs on: a session of its own is out of reach, as documented`);
  t.same(sessionMembers(p.pid), [], 'while the session itself is empty');
});

// The reproduction of the pid reuse: a session whose program has been
// reaped, and a new program that got its pid. Forcing the pid needs
// /proc/sys/kernel/ns_last_pid (CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE).
function pidCannotBeForced(): string | false {
  try {
    fs.writeFileSync('/proc/sys/kernel/ns_last_pid', fs.readFileSync('/proc/sys/kernel/ns_last_pid', 'utf8'));
    return false;
  } catch (err) {
    return `ns_last_pid cannot be written here (${(err as NodeJS.ErrnoException).code}): the pid cannot be forced`;
  }
}

t.test("a reaped program's pid taken by another session's program is never signalled", { skip: pidCannotBeForced() }, async (t) => {
  const first = spawn('true');
  await settles('the first program: exited', first.exited);
  let second: PtyProcess | null = null;
  for (let attempt = 0; attempt < 20 && second === null; attempt++) {
    fs.writeFileSync('/proc/sys/kernel/ns_last_pid', String(first.pid - 1));
    const p = spawn('sleep', ['300']);
    if (p.pid === first.pid) second = p;
    else {
      p.kill('SIGKILL');
      await settles('a program that missed the pid: exited', p.exited);
    }
  }
  if (second === null) {
    t.fail(`another process took pid ${first.pid} in each of 20 attempts`);
    return;
  }
  const other = second;
  t.teardown(() => {
    other.kill('SIGKILL');
  });
  t.equal(other.pid, first.pid, `the second program got the first one's pid (${first.pid}), and leads its own session`);
  t.doesNotThrow(() => process.kill(-first.pid, 0), 'a signal to the group -pid, as the servers sent one, would reach it');
  t.equal(first.killSession('SIGKILL'), 0, "the first program's killSession() signals nothing");
  await settles("the first program's endSession()", first.endSession());
  t.ok(alive(other.pid), 'and the second program runs on');
  t.equal(other.killSession(0), 1, 'its own session is one process');
});

t.test('killSession() and endSession(): bad arguments', async (t) => {
  const p = spawn('true');
  await settles('the program: exited', p.exited);
  t.throws(() => p.killSession('SIGNOPE' as never), { code: 'ERR_UNKNOWN_SIGNAL' });
  await t.rejects(p.endSession({ graceMs: -1 }), { code: 'ERR_OUT_OF_RANGE' });
  await t.rejects(p.endSession(null as never), { code: 'ERR_INVALID_ARG_TYPE' });
  t.equal(p.killSession(), 0, 'an ended session: nothing to signal');
});
