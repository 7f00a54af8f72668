/**
 * A bundle's x0 projection (manifest field `x0_projection`), the twin of training/face0/x0_projection.py:
 * at high noise each step's prediction of the clean latent is replaced by mean + B^T B (x0 - mean), B the
 * top principal directions of the training latents, and the step goes on with the epsilon that implies.
 * A small U-Net's high-noise predictions are far off the latents' span (colour casts, haze); this keeps
 * what it predicts along the directions faces vary in.
 */
import type { DdimStepCoefficients } from './ddim';

export interface X0Projection {
  /** (D) the training latents' mean, D = C*h*w. */
  mean: Float32Array;
  /** (K, D) orthonormal rows, by falling variance. */
  basis: Float32Array;
  components: number;
  /** Applied at every step whose timestep is >= this. */
  fromTimestep: number;
}

/** IEEE 754 half -> number (the file stores float16, little-endian). */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

/** The file's bytes: the mean then the K basis rows, D float16 values each. */
export function parseX0Projection(bytes: Uint8Array, components: number, size: number, fromTimestep: number): X0Projection {
  const expected = (components + 1) * size * 2;
  if (bytes.byteLength !== expected) {
    throw new Error(`x0_projection holds ${bytes.byteLength} bytes, expected ${expected} ((${components} + 1) * ${size} float16 values)`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const values = new Float32Array((components + 1) * size);
  for (let i = 0; i < values.length; i++) values[i] = halfToFloat(view.getUint16(2 * i, true));
  return { mean: values.subarray(0, size), basis: values.subarray(size), components, fromTimestep };
}

/** The projection of x0, (D) values: mean + B^T B (x0 - mean). */
export function projectX0(x0: Float32Array, p: X0Projection): Float32Array {
  const size = p.mean.length;
  const coefficients = new Float64Array(p.components);
  for (let k = 0; k < p.components; k++) {
    const row = p.basis.subarray(k * size, (k + 1) * size);
    let dot = 0;
    for (let i = 0; i < size; i++) dot += row[i] * (x0[i] - p.mean[i]);
    coefficients[k] = dot;
  }
  const out = Float32Array.from(p.mean);
  for (let k = 0; k < p.components; k++) {
    const row = p.basis.subarray(k * size, (k + 1) * size);
    const c = coefficients[k];
    for (let i = 0; i < size; i++) out[i] += c * row[i];
  }
  return out;
}

/**
 * The guided epsilon replaced by the one whose x0 is the projected x0 (DDIM, eta 0):
 * x0 = (sample - sqrtBetaT * eps) / sqrtAlphaT, eps' = (sample - sqrtAlphaT * project(x0)) / sqrtBetaT.
 */
export function projectedEpsilon(eps: Float32Array, sample: Float32Array, k: DdimStepCoefficients, p: X0Projection): Float32Array {
  const x0 = new Float32Array(eps.length);
  for (let i = 0; i < eps.length; i++) x0[i] = (sample[i] - k.sqrtBetaT * eps[i]) / k.sqrtAlphaT;
  const projected = projectX0(x0, p);
  const out = new Float32Array(eps.length);
  for (let i = 0; i < eps.length; i++) out[i] = (sample[i] - k.sqrtAlphaT * projected[i]) / k.sqrtBetaT;
  return out;
}
