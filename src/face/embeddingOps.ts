/** Face-embedding arithmetic (mirror of training/face0/embedding_ops.py): same numbers for the same seed. */
import type { GaussianMixturePrior } from '../bundle/manifest';
import type { Rng } from '../diffusion/rng';

export function interpolate(a: Float32Array, b: Float32Array, t: number): Float32Array {
  if (a.length !== b.length) throw new Error(`cannot interpolate embeddings of lengths ${a.length} and ${b.length}`);
  return a.map((x, i) => x + t * (b[i] - x));
}

/** Weights are normalised by their sum, which must be finite and non-zero. */
export function weightedMean(list: Float32Array[], weights: number[]): Float32Array {
  if (list.length === 0) throw new Error('weightedMean needs at least one embedding');
  if (list.length !== weights.length) throw new Error(`${list.length} embeddings but ${weights.length} weights`);
  const total = weights.reduce((s, x) => s + x, 0);
  if (total === 0 || !Number.isFinite(total)) throw new Error(`weights must have a finite, non-zero sum (got ${total})`);
  const width = list[0].length;
  const acc = new Float64Array(width);
  list.forEach((e, k) => {
    if (e.length !== width) throw new Error(`embedding lengths differ: ${e.length} vs ${width}`);
    const wk = weights[k] / total;
    for (let i = 0; i < width; i++) acc[i] += wk * e[i];
  });
  return Float32Array.from(acc);
}

/** One draw from the diagonal GMM: a component by weight (one uniform), then mean + sqrt(var) * normal. */
export function sampleFacePrior(prior: GaussianMixturePrior, rng: Rng): Float32Array {
  const { weights, means, variances } = prior;
  const total = weights.reduce((s, x) => s + x, 0);
  if (weights.length === 0 || !(total > 0) || weights.some((x) => x < 0)) {
    throw new Error('face prior weights must be non-negative with a positive sum');
  }
  const u = rng.uniform() * total;
  let k = weights.length - 1;
  let cumulative = 0;
  for (let i = 0; i < weights.length; i++) {
    cumulative += weights[i];
    if (u < cumulative) {
      k = i;
      break;
    }
  }
  const mean = means[k];
  const variance = variances[k];
  if (variance.length !== mean.length) throw new Error(`prior component ${k}: ${mean.length} means, ${variance.length} variances`);
  const z = rng.normal(mean.length);
  return Float32Array.from(mean, (m, i) => m + Math.sqrt(variance[i]) * z[i]);
}

/** e + noise with std scale * rms(e), so the scale means the same for any embedding norm. */
export function addNoise(e: Float32Array, scale: number, rng: Rng): Float32Array {
  const rms = Math.sqrt(e.reduce((s, x) => s + x * x, 0) / e.length);
  const z = rng.normal(e.length);
  return e.map((x, i) => x + scale * rms * z[i]);
}
