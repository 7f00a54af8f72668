/**
 * Pixel layouts the rooms hand each other and the conversions between them: RGBA bytes (canvases,
 * ImageData), HWC float RGB 0..255 (crops), planar float images in a range (graph outputs, previews).
 */
import { EngineError } from './engineError';

export interface RgbImage {
  width: number;
  height: number;
  /** HWC RGB, 0..255. */
  data: Float32Array;
}

export function rgbaToRgb(rgba: Uint8ClampedArray, width: number, height: number): RgbImage {
  const n = width * height;
  if (rgba.length !== 4 * n) throw new Error(`rgbaToRgb: expected ${4 * n} bytes, got ${rgba.length}`);
  const data = new Float32Array(3 * n);
  for (let p = 0; p < n; p++) {
    data[3 * p] = rgba[4 * p];
    data[3 * p + 1] = rgba[4 * p + 1];
    data[3 * p + 2] = rgba[4 * p + 2];
  }
  return { width, height, data };
}

/** RGBA bytes of an RGB image (values already in 0..255), alpha 255. */
export function rgbToRgba(img: RgbImage): Uint8ClampedArray {
  const n = img.width * img.height;
  const out = new Uint8ClampedArray(4 * n);
  for (let p = 0; p < n; p++) {
    out[4 * p] = img.data[3 * p];
    out[4 * p + 1] = img.data[3 * p + 1];
    out[4 * p + 2] = img.data[3 * p + 2];
    out[4 * p + 3] = 255;
  }
  return out;
}

/**
 * A planar (3, height, width) image with values in [low, high] -> RGBA bytes as diffusers makes them:
 * (v - low) / (high - low) clamped to [0, 1], times 255, rounded; alpha 255.
 */
export function planarToRgba(
  chw: Float32Array,
  width: number,
  height: number,
  [low, high]: readonly [number, number],
): Uint8ClampedArray {
  const n = width * height;
  if (chw.length !== 3 * n) throw new EngineError('internal', `a (3, ${height}, ${width}) image has ${3 * n} values, got ${chw.length}`);
  const rgba = new Uint8ClampedArray(4 * n);
  const scale = 1 / (high - low);
  for (let p = 0; p < n; p++) {
    for (let c = 0; c < 3; c++) {
      const v = Math.min(1, Math.max(0, (chw[c * n + p] - low) * scale));
      rgba[4 * p + c] = Math.round(v * 255);
    }
    rgba[4 * p + 3] = 255;
  }
  return rgba;
}
