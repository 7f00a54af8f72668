import { describe, expect, it } from 'vitest';
import golden from '../golden/diffusion.json';
import { Rng, seedState } from '../../src/diffusion/rng';

describe('Rng', () => {
  it('matches the reference xoshiro128** outputs from state {0, 1, 2, 3}', () => {
    const rng = Rng.fromState([0, 1, 2, 3]);
    const words = Array.from({ length: 8 }, () => rng.nextUint32());
    expect(words).toEqual([5760, 17280, 2966400, 32451840, 2604340873, 3891234569, 1254043636, 216095511]);
  });

  it('seeds from the reference SplitMix64 outputs for seed 1234567', () => {
    const z0 = 6457827717110365317n;
    const z1 = 3203168211198807973n;
    const expected = [z0 & 0xffffffffn, z0 >> 32n, z1 & 0xffffffffn, z1 >> 32n].map(Number);
    expect(seedState(1234567)).toEqual(expected);
  });

  it('rejects seeds that are not safe integers and an all-zero state', () => {
    expect(() => new Rng(1.5)).toThrow(/seed/);
    expect(() => new Rng(2 ** 53)).toThrow(/seed/);
    expect(() => Rng.fromState([0, 0, 0, 0])).toThrow(/state/);
  });

  // Goldens come from training/face0/rng.py (training/face0/goldens_diffusion.py).
  for (const c of golden.rng) {
    it(`equals the Python generator bit for bit for seed ${c.seed}`, () => {
      const words = new Rng(c.seed);
      expect(c.uint32.map(() => words.nextUint32())).toEqual(c.uint32);
      const uniforms = new Rng(c.seed);
      // Both sides build the same 53-bit integer and divide by 2^53, so doubles are equal exactly.
      expect(c.uniform.map(() => uniforms.uniform())).toEqual(c.uniform);
      const normals = new Rng(c.seed).normal(c.normal.length);
      // Box-Muller uses libm log/cos/sin, which may differ by an ulp between V8 and CPython: 1e-7 relative.
      c.normal.forEach((z, i) => expect(Math.abs(normals[i] - z)).toBeLessThanOrEqual(1e-7 * Math.abs(z)));
    });
  }

  it('draws standard normals (moments) and drops the unused sine for odd n', () => {
    const z = new Rng(0).normal(20000);
    const mean = z.reduce((s, x) => s + x, 0) / z.length;
    const std = Math.sqrt(z.reduce((s, x) => s + (x - mean) ** 2, 0) / z.length);
    // Standard errors: 0.007 for the mean, 0.005 for the std.
    expect(Math.abs(mean)).toBeLessThan(0.03);
    expect(Math.abs(std - 1)).toBeLessThan(0.03);
    expect(new Rng(3).normal(5)).toEqual(new Rng(3).normal(6).subarray(0, 5));
  });

  it('keeps uniform() in [0, 1)', () => {
    const rng = new Rng(9);
    for (let i = 0; i < 10000; i++) {
      const u = rng.uniform();
      expect(u >= 0 && u < 1).toBe(true);
    }
  });
});
