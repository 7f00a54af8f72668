/**
 * How much a generated image's face looks like the face it was made from. The embedder's outputs are
 * non-negative pooled features, so raw cosines of any two faces are close to 1; centred on the mean
 * training face (the face prior's mean) the cosine separates people (docs/face-detection.md, "Likeness").
 */
import type { GaussianMixturePrior } from '../bundle/manifest';

/** The prior's mean: its components' means weighted by the component weights. */
export function priorMean(prior: GaussianMixturePrior): Float32Array {
  const total = prior.weights.reduce((s, w) => s + w, 0);
  const width = prior.means[0]?.length ?? 0;
  const acc = new Float64Array(width);
  prior.means.forEach((mean, k) => mean.forEach((v, i) => (acc[i] += (prior.weights[k] / total) * v)));
  return Float32Array.from(acc);
}

/** Cosine of a - centre and b - centre (0 when either is the centre itself). */
export function centredCosine(a: Float32Array, b: Float32Array, centre: Float32Array): number {
  if (a.length !== b.length || a.length !== centre.length) {
    throw new Error(`embedding lengths differ: ${a.length}, ${b.length}, centre ${centre.length}`);
  }
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] - centre[i];
    const y = b[i] - centre[i];
    ab += x * y;
    aa += x * x;
    bb += y * y;
  }
  return aa === 0 || bb === 0 ? 0 : ab / Math.sqrt(aa * bb);
}
