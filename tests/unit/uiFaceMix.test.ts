import { describe, expect, it } from 'vitest';
import { mixFaces } from '../../src/ui/faceMix';

// Real embeddings are 256 float32s; any values exercise the same arithmetic.
function embedding(seed: number): Float32Array {
  return Float32Array.from({ length: 256 }, (_, i) => Math.fround(Math.sin(seed * 1000 + i * 0.37) * 0.8));
}

const A = embedding(1);
const B = embedding(2);

describe('mixFaces', () => {
  it('gives no face when neither slot has one', () => {
    expect(mixFaces({ a: null, b: null, t: 0.5, variety: 0.3, seed: 1 })).toBeNull();
  });

  it('uses the one face given, whatever t is', () => {
    expect(mixFaces({ a: A, b: null, t: 0.7, variety: 0, seed: 1 })).toEqual(A);
    expect(mixFaces({ a: null, b: B, t: 0.2, variety: 0, seed: 1 })).toEqual(B);
  });

  it('reproduces each face bit for bit at the ends of the interpolation', () => {
    // The e2e test compares images pixel for pixel, so exact equality (not closeness) is required here.
    expect(mixFaces({ a: A, b: B, t: 0, variety: 0, seed: 1 })).toEqual(A);
    expect(mixFaces({ a: A, b: B, t: 1, variety: 0, seed: 1 })).toEqual(B);
    const mid = mixFaces({ a: A, b: B, t: 0.5, variety: 0, seed: 1 })!;
    mid.forEach((x, i) => expect(x).toBeCloseTo((A[i] + B[i]) / 2, 6));
  });

  it('adds seeded noise for variety: same seed same result, another seed another result', () => {
    const one = mixFaces({ a: A, b: null, t: 0, variety: 0.5, seed: 7 })!;
    const again = mixFaces({ a: A, b: null, t: 0, variety: 0.5, seed: 7 })!;
    const other = mixFaces({ a: A, b: null, t: 0, variety: 0.5, seed: 8 })!;
    expect(again).toEqual(one);
    expect(other).not.toEqual(one);
    // Noise std = variety * rms(A): the difference's rms must be near 0.5 * rms(A) (256 samples: within 25%).
    const rms = (v: ArrayLike<number>) => Math.sqrt(Array.from(v).reduce((s, x) => s + x * x, 0) / v.length);
    const diff = one.map((x, i) => x - A[i]);
    expect(rms(diff) / (0.5 * rms(A))).toBeGreaterThan(0.75);
    expect(rms(diff) / (0.5 * rms(A))).toBeLessThan(1.25);
  });
});
