/**
 * Crop-and-resize of float RGB images, the same filter as training/face0/face_crop.py
 * (checked through tests/golden/face_crop.json).
 */
import type { RgbImage } from '../shared/pixels';
import type { Box } from './faceCrop';

/** Weights of one output sample over input pixels first..first+weights.length-1 (all inside the image). */
interface Tap {
  first: number;
  weights: Float64Array;
}

/**
 * Output sample i has centre c_i = start + (i + 0.5) * scale, scale = length / outSize. With
 * f = max(scale, 1) (the triangle widens when downscaling, which is what antialiases), input pixel k gets
 * w_ik = max(0, 1 - |k + 0.5 - c_i| / f) / sum_k' max(0, 1 - |k' + 0.5 - c_i| / f), the sum running over
 * every integer k' inside the image or not, so pixels outside the image act as black.
 */
function axisTaps(start: number, length: number, outSize: number, inSize: number): Tap[] {
  const scale = length / outSize;
  const f = Math.max(scale, 1);
  const taps: Tap[] = [];
  for (let i = 0; i < outSize; i++) {
    const c = start + (i + 0.5) * scale;
    const kMin = Math.floor(c - f);
    const kMax = Math.ceil(c + f);
    const first = Math.max(kMin, 0);
    const last = Math.min(kMax, inSize - 1);
    const weights = new Float64Array(Math.max(last - first + 1, 0));
    let total = 0;
    for (let k = kMin; k <= kMax; k++) {
      const w = Math.max(0, 1 - Math.abs(k + 0.5 - c) / f);
      total += w;
      if (k >= first && k <= last) weights[k - first] = w;
    }
    for (let t = 0; t < weights.length; t++) weights[t] /= total;
    taps.push({ first, weights });
  }
  return taps;
}

/**
 * Sample `box` of `img` into a size x size image with a separable antialiased bilinear (triangle)
 * filter, as PIL's resize(BILINEAR, box) / torch's interpolate(antialias=True), except that pixels
 * outside the image count as 0 (black). Horizontal pass first, accumulated in float64.
 */
export function cropAndResize(img: RgbImage, box: Box, size: number): RgbImage {
  if (!(box.width > 0 && box.height > 0 && size > 0)) {
    throw new Error(`cropAndResize: empty crop (box ${JSON.stringify(box)}, size ${size})`);
  }
  const xTaps = axisTaps(box.x, box.width, size, img.width);
  const yTaps = axisTaps(box.y, box.height, size, img.height);
  let yLo = img.height;
  let yHi = -1;
  for (const t of yTaps) {
    if (t.weights.length === 0) continue;
    yLo = Math.min(yLo, t.first);
    yHi = Math.max(yHi, t.first + t.weights.length - 1);
  }
  const src = img.data;
  const rowStride = 3 * size;
  // Only the rows some output row reads are filtered horizontally.
  const rows = new Float64Array(Math.max(yHi - yLo + 1, 0) * rowStride);
  for (let y = yLo; y <= yHi; y++) {
    const srcRow = y * img.width * 3;
    const dstRow = (y - yLo) * rowStride;
    for (let j = 0; j < size; j++) {
      const { first, weights } = xTaps[j];
      let r = 0;
      let g = 0;
      let b = 0;
      for (let t = 0; t < weights.length; t++) {
        const w = weights[t];
        const s = srcRow + 3 * (first + t);
        r += w * src[s];
        g += w * src[s + 1];
        b += w * src[s + 2];
      }
      rows[dstRow + 3 * j] = r;
      rows[dstRow + 3 * j + 1] = g;
      rows[dstRow + 3 * j + 2] = b;
    }
  }
  const out = new Float32Array(size * rowStride);
  for (let i = 0; i < size; i++) {
    const { first, weights } = yTaps[i];
    for (let q = 0; q < rowStride; q++) {
      let acc = 0;
      for (let t = 0; t < weights.length; t++) acc += weights[t] * rows[(first + t - yLo) * rowStride + q];
      out[i * rowStride + q] = acc;
    }
  }
  return { width: size, height: size, data: out };
}

/** (rgb - mean) / std per channel, HWC -> CHW (length 3 * height * width). */
export function toPixelValues(img: RgbImage, mean: number[], std: number[]): Float32Array {
  const n = img.width * img.height;
  const out = new Float32Array(3 * n);
  for (let c = 0; c < 3; c++) {
    for (let p = 0; p < n; p++) out[c * n + p] = (img.data[3 * p + c] - mean[c]) / std[c];
  }
  return out;
}
