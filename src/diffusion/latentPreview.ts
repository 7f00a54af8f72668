/** Step previews: a predicted clean latent -> RGBA at the latent's resolution, by the bundle's linear map. */
import type { LatentPreviewSpec } from '../bundle/manifest';
import { planarToRgba } from '../shared/pixels';

export interface PreviewImage {
  width: number;
  height: number;
  rgba: Uint8ClampedArray;
}

/** `latent` is (C, h, w) with C the spec's channel count; pixels are round(255 * clamp(rgb, 0, 1)). */
export function projectLatent(latent: Float32Array, spec: LatentPreviewSpec, h: number, w: number): PreviewImage {
  const C = spec.weights[0].length;
  const n = h * w;
  if (latent.length !== C * n) throw new Error(`latent has ${latent.length} values, expected ${C}x${h}x${w}`);
  const rgb = new Float32Array(3 * n);
  for (let k = 0; k < 3; k++) {
    const row = spec.weights[k];
    for (let p = 0; p < n; p++) {
      let v = spec.bias[k];
      for (let c = 0; c < C; c++) v += row[c] * latent[c * n + p];
      rgb[k * n + p] = v;
    }
  }
  return { width: w, height: h, rgba: planarToRgba(rgb, w, h, [0, 1]) };
}
