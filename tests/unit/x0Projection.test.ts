/** The x0 projection (src/diffusion/x0Projection.ts) against tests/golden/x0_projection.json (face0.goldens_x0_projection). */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { DdimStepCoefficients } from '../../src/diffusion/ddim';
import { parseX0Projection, projectedEpsilon, projectX0 } from '../../src/diffusion/x0Projection';

interface Case {
  channels: number;
  latent_size: number;
  components: number;
  file_base64: string;
  alpha_cumprod: number;
  sample: number[];
  eps: number[];
  projected_eps: number[];
}
const golden = JSON.parse(readFileSync(new URL('../golden/x0_projection.json', import.meta.url), 'utf8')) as { cases: Case[] };

const coefficients = (alpha: number): DdimStepCoefficients => ({
  sqrtAlphaT: Math.sqrt(alpha),
  sqrtBetaT: Math.sqrt(1 - alpha),
  sqrtAlphaPrev: 1,
  sqrtBetaPrev: 0,
  clipRange: null,
});

const parse = (c: Case) => parseX0Projection(Buffer.from(c.file_base64, 'base64'), c.components, c.channels * c.latent_size ** 2, 0);

describe('x0 projection', () => {
  it.each(golden.cases.map((c) => [c.channels, c.components, c] as const))('matches Python with %i channels, %i components', (_c, _k, c) => {
    const got = projectedEpsilon(Float32Array.from(c.eps), Float32Array.from(c.sample), coefficients(c.alpha_cumprod), parse(c));
    // float32 x0 here against float64 in Python: 1e-5 relative to max(1, |v|).
    const worst = Math.max(...Array.from(got, (v, i) => Math.abs(v - c.projected_eps[i]) / Math.max(1, Math.abs(c.projected_eps[i]))));
    expect(worst).toBeLessThan(1e-5);
    // The projection does change epsilon (else the golden would not test it).
    expect(Math.max(...c.eps.map((v, i) => Math.abs(v - c.projected_eps[i])))).toBeGreaterThan(0.1);
  });

  it('keeps a latent inside the span and maps one orthogonal to it onto the mean', () => {
    const p = parse(golden.cases[0]);
    const size = p.mean.length;
    const inside = Float32Array.from(p.mean, (m, i) => m + 1.5 * p.basis[i] - 2 * p.basis[size + i]);
    projectX0(inside, p).forEach((v, i) => expect(v).toBeCloseTo(inside[i], 2));
    // A direction orthogonal to every row (Gram-Schmidt against the rows), added to the mean.
    const outside = Float64Array.from({ length: size }, (_, i) => Math.sin(i + 1));
    for (let k = 0; k < p.components; k++) {
      const row = p.basis.subarray(k * size, (k + 1) * size);
      const norm = row.reduce((a, v) => a + v * v, 0);
      const dot = outside.reduce((a, v, i) => a + v * row[i], 0) / norm;
      outside.forEach((v, i) => (outside[i] = v - dot * row[i]));
    }
    const moved = Float32Array.from(p.mean, (m, i) => m + outside[i]);
    projectX0(moved, p).forEach((v, i) => expect(v).toBeCloseTo(p.mean[i], 2));
  });

  it('refuses a file of the wrong size', () => {
    const c = golden.cases[0];
    expect(() => parseX0Projection(Buffer.from(c.file_base64, 'base64'), c.components + 1, c.channels * c.latent_size ** 2, 0)).toThrow(/expected/);
  });
});
