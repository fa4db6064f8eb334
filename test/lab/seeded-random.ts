// SPDX-License-Identifier: GPL-2.0-or-later
// The fuzzers' random numbers: seeded, so a failure is reproducible (FUZZ_SEED=N picks another sequence).

/** mulberry32: small, seedable, good enough to pick cases. Numbers in [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}
