/**
 * How many times the heavy scenarios (the reliability suite, node-pty's and
 * spawn()'s many runs) run, as a factor of their full counts: 0.15 in
 * `npm test` (which stays under 5 minutes on a 2-core machine), 1 with
 * KQC_SOAK_SCALE=1 (CI's last step), 10 in `npm run soak`. CI's second runs
 * of the suite (under ASan, against libkqueue, under qemu) use a quarter.
 */
export const DEFAULT_SCALE = 0.15;
export const SCALE = Math.max(0.01, Number(process.env.KQC_SOAK_SCALE ?? DEFAULT_SCALE) || DEFAULT_SCALE);

/** `n` runs at this SCALE, at least 1. */
export function scaled(n: number): number {
  return Math.max(1, Math.round(n * SCALE));
}

/** A small seeded PRNG (mulberry32), so that a failing run can be replayed from its seed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

/** The seed for this run: KQC_SEED if given, else a fresh one (printed by the tests). */
export function seed(): number {
  const given = Number(process.env.KQC_SEED);
  return Number.isInteger(given) && given > 0 ? given : Math.floor(Math.random() * 2 ** 31) + 1;
}

/** Runs `count` jobs, `parallel` at a time. */
export async function pool(count: number, parallel: number, job: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < count) await job(next++);
    }),
  );
}
