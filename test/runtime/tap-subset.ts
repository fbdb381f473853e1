/**
 * The part of tap's API that the runtime-neutral test files use, for
 * runtimes tap itself does not run on: under Bun, tap stops at load
 * (`node:v8`'s Serializer is not implemented there). scripts/test-runtimes.mjs
 * maps the `tap` import to this file. Subtests run one after another, each
 * with its teardowns; the output is TAP, ending in `# N passed, N failed`.
 */
import * as util from 'node:util';

type Pattern = Record<string, unknown> | RegExp | string;

let passed = 0;
let failed = 0;
let skipped = 0;
let ended = false;

function report(ok: boolean, what: string, detail?: () => string): boolean {
  if (ok) passed++;
  else failed++;
  console.log(`${ok ? 'ok' : 'not ok'} ${passed + failed} - ${what}`);
  if (!ok && detail !== undefined) console.log(detail().replace(/^/gm, '  # '));
  return ok;
}

/** tap's match: every key of the pattern matches; a RegExp tests a string. */
function matches(value: unknown, pattern: unknown): boolean {
  if (pattern instanceof RegExp) return typeof value === 'string' && pattern.test(value);
  if (pattern !== null && typeof pattern === 'object') {
    if (value === null || typeof value !== 'object') return false;
    return Object.entries(pattern).every(([k, p]) => matches((value as Record<string, unknown>)[k], p));
  }
  if (typeof pattern === 'string' && typeof value === 'string') return value.includes(pattern);
  return value === pattern;
}

function thrownMatches(err: unknown, expected: Pattern | undefined): boolean {
  if (expected === undefined) return true;
  if (expected instanceof RegExp) return expected.test(String((err as Error)?.message));
  return matches(err, expected);
}

class Test {
  private readonly teardowns: Array<() => unknown> = [];
  private readonly children: Array<() => Promise<void>> = [];

  constructor(private readonly name: string) {}

  test(name: string, ...rest: [(t: Test) => unknown] | [object, (t: Test) => unknown]): Promise<void> {
    const fn = rest[rest.length - 1] as (t: Test) => unknown;
    const skip = rest.length === 2 ? (rest[0] as { skip?: unknown }).skip : undefined;
    const run = async (): Promise<void> => {
      const child = new Test(`${this.name}${this.name ? ' > ' : ''}${name}`);
      if (skip) {
        skipped++;
        console.log(`# ${child.name} # SKIP ${typeof skip === 'string' ? skip : ''}`);
        return;
      }
      console.log(`# ${child.name}`);
      try {
        await fn(child);
        await child.runChildren();
      } catch (err) {
        report(false, `${child.name}: threw`, () => util.inspect(err));
      } finally {
        await child.runTeardowns();
      }
    };
    this.children.push(run);
    return Promise.resolve();
  }

  teardown(fn: () => unknown): void {
    this.teardowns.push(fn);
  }

  async runChildren(): Promise<void> {
    for (let run = this.children.shift(); run !== undefined; run = this.children.shift()) await run();
  }

  private async runTeardowns(): Promise<void> {
    for (const fn of this.teardowns.reverse()) {
      try {
        await fn();
      } catch (err) {
        report(false, `${this.name}: teardown threw`, () => util.inspect(err));
      }
    }
  }

  /** A test that returns a promise needs no end(); tap's callback style is not used here. */
  end(): void {}
  comment(...message: unknown[]): void {
    console.log(`# ${message.map(String).join(' ')}`);
  }
  type(found: unknown, type: string | (new (...args: never[]) => unknown), what = `type is ${String(type)}`): boolean {
    const ok = typeof type === 'string' ? typeof found === type || (found as object)?.constructor?.name === type : found instanceof type;
    return report(ok, what, () => `found ${util.inspect(found)}`);
  }
  ok(value: unknown, what = 'expect truthy'): boolean {
    return report(Boolean(value), what);
  }
  notOk(value: unknown, what = 'expect falsy'): boolean {
    return report(!value, what);
  }
  pass(what = 'pass'): boolean {
    return report(true, what);
  }
  fail(what = 'fail'): boolean {
    return report(false, what);
  }
  equal(found: unknown, wanted: unknown, what = 'should be equal'): boolean {
    return report(Object.is(found, wanted), what, () => `found ${util.inspect(found)}, wanted ${util.inspect(wanted)}`);
  }
  same(found: unknown, wanted: unknown, what = 'should be equivalent'): boolean {
    return report(util.isDeepStrictEqual(found, wanted), what, () => `found ${util.inspect(found)}\nwanted ${util.inspect(wanted)}`);
  }
  not(found: unknown, notWanted: unknown, what = 'should not be equal'): boolean {
    return report(!Object.is(found, notWanted), what, () => `found ${util.inspect(found)}`);
  }
  notSame(found: unknown, wanted: unknown, what = 'should not be equivalent'): boolean {
    return report(!util.isDeepStrictEqual(found, wanted), what);
  }
  match(found: unknown, pattern: unknown, what = 'should match pattern'): boolean {
    return report(matches(found, pattern), what, () => `found ${util.inspect(found)}, pattern ${util.inspect(pattern)}`);
  }
  notMatch(found: unknown, pattern: unknown, what = 'should not match pattern'): boolean {
    return report(!matches(found, pattern), what, () => `found ${util.inspect(found)}, pattern ${util.inspect(pattern)}`);
  }
  throws(fn: () => unknown, expected?: Pattern | string, what?: string): boolean {
    if (typeof expected === 'string') [expected, what] = [undefined, expected];
    try {
      fn();
    } catch (err) {
      return report(thrownMatches(err, expected), what ?? 'expected to throw', () => util.inspect(err));
    }
    return report(false, what ?? 'expected to throw', () => 'nothing was thrown');
  }
  doesNotThrow(fn: () => unknown, what = 'expected not to throw'): boolean {
    try {
      fn();
      return report(true, what);
    } catch (err) {
      return report(false, what, () => util.inspect(err));
    }
  }
  async rejects(promise: Promise<unknown> | (() => Promise<unknown>), expected?: Pattern | string, what?: string): Promise<boolean> {
    if (typeof expected === 'string') [expected, what] = [undefined, expected];
    try {
      await (typeof promise === 'function' ? promise() : promise);
    } catch (err) {
      return report(thrownMatches(err, expected), what ?? 'expected to reject', () => util.inspect(err));
    }
    return report(false, what ?? 'expected to reject', () => 'it resolved');
  }
}

const root = new Test('');

// The file's top level registers its tests synchronously; they run after it.
setImmediate(() => {
  void root.runChildren().then(() => {
    ended = true;
    console.log(`1..${passed + failed}`);
    console.log(`# ${passed} passed, ${failed} failed, ${skipped} skipped`);
    process.exitCode = failed === 0 ? 0 : 1;
  });
});
process.on('exit', () => {
  if (ended) return;
  console.log('not ok - the process exited before its tests ended');
  process.exitCode = 1;
});

export default root;
