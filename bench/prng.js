// Deterministic randomness for the population scenario (bench/population.js): the same seed gives
// the same request sequence on every run and for every variant. Not for anything secret.

/** mulberry32: a 32-bit seeded generator, uniform floats in [0, 1). */
export function mulberry32 (seed) {
  let state = seed >>> 0
  return function random () {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * A sampler of ranks 0 … n-1 with P(rank k) ∝ 1 / (k + 1)^s (Zipf; s = 1 by default): a
 * precomputed cumulative table, then a binary search for each draw.
 */
export function zipfSampler (n, random, s = 1) {
  const cumulative = new Float64Array(n)
  let total = 0
  for (let k = 0; k < n; k++) {
    total += 1 / Math.pow(k + 1, s)
    cumulative[k] = total
  }
  return function sample () {
    const target = random() * total
    let low = 0
    let high = n - 1
    while (low < high) {
      const middle = (low + high) >>> 1
      if (cumulative[middle] > target) high = middle
      else low = middle + 1
    }
    return low
  }
}
