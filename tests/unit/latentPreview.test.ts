/** Step previews (src/diffusion/latentPreview.ts) against tests/golden/latent_preview.json (face0.goldens_latent_preview). */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { projectLatent } from '../../src/diffusion/latentPreview';

interface Case {
  spec: { weights: number[][]; bias: number[] };
  height: number;
  width: number;
  latent: number[];
  rgba: number[];
}
const golden = JSON.parse(readFileSync(new URL('../golden/latent_preview.json', import.meta.url), 'utf8')) as { cases: Case[] };

describe('projectLatent', () => {
  it.each(golden.cases.map((c) => [c.spec.weights[0].length, c] as const))('matches Python with %i channels', (_channels, c) => {
    const image = projectLatent(Float32Array.from(c.latent), c.spec, c.height, c.width);
    expect([image.width, image.height]).toEqual([c.width, c.height]);
    // float32 (Python computes in float64 from float32 latents): a value on a rounding edge may differ by 1.
    const worst = Math.max(...Array.from(image.rgba, (v, i) => Math.abs(v - c.rgba[i])));
    expect(worst).toBeLessThanOrEqual(1);
    // Some pixels saturate in each case, so the clamp is exercised.
    expect(c.rgba.some((v, i) => i % 4 !== 3 && (v === 0 || v === 255))).toBe(true);
  });

  it('refuses a latent of the wrong size', () => {
    const c = golden.cases[0];
    expect(() => projectLatent(new Float32Array(c.latent.length - 1), c.spec, c.height, c.width)).toThrow(/expected 4x3x5/);
  });
});
