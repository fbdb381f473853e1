/**
 * @internal expect()'s matching: patterns against the output since the last
 * match, with the cursors that say where that is.
 */
import type { Transcript } from './transcript';

/** A pattern for {@link Harness.expect}: a string, a RegExp (on the decoded text), or bytes. */
export type Pattern = string | RegExp | Uint8Array;

/** What {@link Harness.expect} resolves with. */
export interface ExpectMatch {
  /** Which of the patterns matched (0 for a single one). */
  index: number;
  /** The matched text (for a byte pattern, its latin1 form). */
  match: string;
  /** As a RegExp's result: the whole match at 0, then the capture groups. */
  groups: (string | undefined)[];
  /** A RegExp's named groups; empty otherwise. */
  named: Record<string, string | undefined>;
  /** The output between the previous match and this one. */
  before: string;
}

/** One pattern's test: where it matches (in the text), and the match; `commit` moves the cursor past it. */
type Test = (commit: boolean) => { at: number; m: ExpectMatch } | null;

export function isPattern(p: unknown): p is Pattern {
  return typeof p === 'string' || p instanceof RegExp || p instanceof Uint8Array;
}

export function describePattern(p: Pattern | readonly Pattern[]): string {
  const one = (x: Pattern): string =>
    x instanceof RegExp ? String(x) : typeof x === 'string' ? JSON.stringify(x) : `<${Buffer.from(x).toString('hex')}>`;
  return Array.isArray(p) ? `[${(p as Pattern[]).map(one).join(', ')}]` : one(p as Pattern);
}

/** @internal The output's unmatched part, and tests of patterns against it. */
export class OutputMatcher {
  /** Where the text after the last match begins. */
  private textCursor = 0;
  /** Where the bytes after the last byte match begin. */
  private byteCursor = 0;

  constructor(private readonly out: Transcript) {}

  /**
   * A check for the earliest match of any of `patterns` since the last
   * match: null until there is one; then the match, and the cursor moves
   * past it.
   */
  firstOf(patterns: readonly Pattern[]): () => ExpectMatch | null {
    const tests = patterns.map((p, i) => this.test(p, i));
    return () => {
      let best: { at: number; i: number } | null = null;
      tests.forEach((test, i) => {
        const found = test(false);
        if (found !== null && (best === null || found.at < best.at)) best = { at: found.at, i };
      });
      if (best === null) return null;
      return tests[(best as { i: number }).i](true)!.m;
    };
  }

  /**
   * String and byte patterns remember how far they have looked, so a long
   * output is scanned once, not once per chunk; a RegExp looks again at the
   * whole unmatched text each time (a pattern like /x+y/ over a long run of
   * x's is quadratic: prefer a string where one will do).
   */
  private test(pattern: Pattern, index: number): Test {
    if (pattern instanceof RegExp) return this.regExpTest(pattern, index);
    if (typeof pattern === 'string') return this.stringTest(pattern, index);
    return this.bytesTest(pattern, index);
  }

  private regExpTest(pattern: RegExp, index: number): Test {
    const re = new RegExp(pattern.source, pattern.flags.replace('g', ''));
    return (commit) => {
      const from = Math.max(this.textCursor, this.out.textStart);
      const rest = this.out.text(from);
      const m = re.exec(rest);
      if (m === null) return null;
      const at = from + m.index;
      if (commit) this.textCursor = at + m[0].length;
      return { at, m: { index, match: m[0], groups: [...m], named: { ...m.groups }, before: rest.slice(0, m.index) } };
    };
  }

  private stringTest(pattern: string, index: number): Test {
    let scanned = 0;
    return (commit) => {
      const from = Math.max(this.textCursor, scanned - pattern.length + 1, this.out.textStart);
      const at = this.out.indexOf(pattern, from);
      if (at < 0) {
        scanned = this.out.textEnd;
        return null;
      }
      const before = this.out.text(this.textCursor, at);
      if (commit) this.textCursor = at + pattern.length;
      return { at, m: { index, match: pattern, groups: [pattern], named: {}, before } };
    };
  }

  private bytesTest(pattern: Uint8Array, index: number): Test {
    let scanned = 0;
    return (commit) => {
      const all = this.out.bytes();
      const base = this.out.byteStart;
      const from = Math.max(this.byteCursor, scanned - pattern.length + 1, base);
      const i = all.indexOf(pattern, from - base);
      if (i < 0) {
        scanned = this.out.byteEnd;
        return null;
      }
      const before = all.subarray(Math.max(0, this.byteCursor - base), i).toString('latin1');
      if (commit) this.byteCursor = base + i + pattern.length;
      const match = Buffer.from(pattern).toString('latin1');
      // A byte match's place in the text is not known: it sorts after text matches.
      return { at: Number.MAX_SAFE_INTEGER, m: { index, match, groups: [match], named: {}, before } };
    };
  }
}
