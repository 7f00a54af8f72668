import { describe, expect, it } from 'vitest';
import golden from '../golden/diffusion.json';
import type { GaussianMixturePrior } from '../../src/bundle/manifest';
import { Rng } from '../../src/diffusion/rng';
import { addNoise, interpolate, sampleFacePrior, weightedMean } from '../../src/face/embeddingOps';

// Goldens from training/face0/embedding_ops.py (training/face0/goldens_diffusion.py); tolerance 1e-6 absolute.
const g = golden.embedding_ops;
const a = Float32Array.from(g.a);
const b = Float32Array.from(g.b);
const c = Float32Array.from(g.c);

function expectClose(actual: Float32Array, expected: number[], tol = 1e-6): void {
  expect(actual.length).toBe(expected.length);
  expected.forEach((x, i) => expect(Math.abs(actual[i] - x)).toBeLessThanOrEqual(tol));
}

describe('embedding ops against Python', () => {
  it('interpolate', () => expectClose(interpolate(a, b, g.interpolate_t), g.interpolate));
  it('weightedMean', () => expectClose(weightedMean([a, b, c], g.weighted_mean_weights), g.weighted_mean));
  it('sampleFacePrior draws the same sequence for the same seed', () => {
    const rng = new Rng(g.prior_seed);
    for (const expected of g.prior_samples) expectClose(sampleFacePrior(g.prior as GaussianMixturePrior, rng), expected);
  });
  it('addNoise', () => expectClose(addNoise(a, g.noise_scale, new Rng(g.noise_seed)), g.add_noise));
});

describe('embedding ops', () => {
  it('interpolate hits both ends', () => {
    expect(interpolate(a, b, 0)).toEqual(a);
    expectClose(interpolate(a, b, 1), Array.from(b), 1e-7);
    expect(() => interpolate(a, b.subarray(1), 0.5)).toThrow(/lengths/);
  });

  it('weightedMean normalises weights and refuses empty or zero-sum input', () => {
    const expected = Array.from(a, (x, i) => 0.75 * x + 0.25 * b[i]);
    expectClose(weightedMean([a, b], [3, 1]), expected);
    expect(() => weightedMean([], [])).toThrow(/at least one/);
    expect(() => weightedMean([a, b], [1, -1])).toThrow(/sum/);
    expect(() => weightedMean([a], [1, 2])).toThrow(/weights/);
  });

  it('sampleFacePrior follows the mixture weights and component spreads', () => {
    const prior: GaussianMixturePrior = {
      kind: 'gmm-diag',
      weights: [0.25, 0.75],
      means: [[-2, 0, 1], [2, 1, -1]],
      variances: [[0.01, 0.04, 0.09], [0.01, 0.04, 0.09]],
    };
    const rng = new Rng(4);
    const second: Float32Array[] = [];
    for (let k = 0; k < 2000; k++) {
      const draw = sampleFacePrior(prior, rng);
      if (draw[0] > 0) second.push(draw);
    }
    // Binomial std of the share: 0.0097; the component mean's std: 0.3/sqrt(1500) < 0.008.
    expect(Math.abs(second.length / 2000 - 0.75)).toBeLessThan(0.04);
    [2, 1, -1].forEach((m, j) => {
      const mean = second.reduce((s, d) => s + d[j], 0) / second.length;
      expect(Math.abs(mean - m)).toBeLessThan(0.03);
    });
    expect(() => sampleFacePrior({ ...prior, weights: [0, 0] }, rng)).toThrow(/weights/);
  });

  it('addNoise has std scale * rms(e)', () => {
    const e = new Rng(6).normal(4096).map((x) => 5 * x);
    expect(addNoise(e, 0, new Rng(1))).toEqual(e);
    const noisy = addNoise(e, 0.1, new Rng(1));
    const rms = Math.sqrt(e.reduce((s, x) => s + x * x, 0) / e.length);
    const noiseStd = Math.sqrt(noisy.reduce((s, x, i) => s + (x - e[i]) ** 2, 0) / e.length);
    expect(Math.abs(noiseStd / (0.1 * rms) - 1)).toBeLessThan(0.05);
  });
});
