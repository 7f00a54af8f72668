// Goldens from training/face0/goldens_crop.py (face_crop.py), regenerate with
// `cd training && ../.venv/bin/python -m face0.goldens_crop`.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Box } from '../../src/face/faceCrop';
import { cropAndResize, toPixelValues } from '../../src/face/resample';
import type { RgbImage } from '../../src/shared/pixels';

interface CropCase {
  name: string;
  image_width: number;
  image_height: number;
  box: Box;
  size: number;
  stride: number;
  values: number[];
  channel_sums: number[];
}

interface Golden {
  decimals: number;
  crops: CropCase[];
  pixel_values: { crop: string; mean: number[]; std: number[]; values: number[] };
}

const golden: Golden = JSON.parse(
  readFileSync(new URL('../golden/face_crop.json', import.meta.url), 'utf8'),
);

// On 0..255 values. The goldens are rounded to 4 decimals (5e-5) and both sides round a float64
// result to float32 (<= 1.6e-5 at 255); any filter or indexing mistake is off by whole units.
const PIXEL_TOL = 1e-3;
// Normalised values are O(1): 4-decimal rounding (5e-5) plus float32 rounding.
const PIXEL_VALUES_TOL = 1e-4;

/** Same integer-only formula as goldens_crop.synthetic_image. */
function syntheticImage(width: number, height: number): RgbImage {
  const data = new Float32Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) {
        const grad = Math.floor((255 * (x + 2 * y + 40 * c)) / (width + 2 * height + 80));
        const pattern = ((x * x * 7 + y * y * 3 + x * y * 5 + c * 11) % 64) - 32;
        data[(y * width + x) * 3 + c] = Math.min(Math.max(grad + pattern, 0), 255);
      }
    }
  }
  return { width, height, data };
}

function cropOf(c: CropCase): RgbImage {
  return cropAndResize(syntheticImage(c.image_width, c.image_height), c.box, c.size);
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('cropAndResize matches face_crop.crop_and_resize', () => {
  it.each(golden.crops.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const out = cropOf(c);
    expect(out.width).toBe(c.size);
    expect(out.height).toBe(c.size);
    const sampled: number[] = [];
    for (let i = 0; i < c.size; i += c.stride) {
      for (let j = 0; j < c.size; j += c.stride) {
        for (let ch = 0; ch < 3; ch++) sampled.push(out.data[(i * c.size + j) * 3 + ch]);
      }
    }
    expect(maxAbsDiff(sampled, c.values)).toBeLessThanOrEqual(PIXEL_TOL);
    for (let ch = 0; ch < 3; ch++) {
      let sum = 0;
      for (let p = 0; p < c.size * c.size; p++) sum += out.data[3 * p + ch];
      // Mean difference per pixel within PIXEL_TOL.
      expect(Math.abs(sum - c.channel_sums[ch])).toBeLessThanOrEqual(PIXEL_TOL * c.size * c.size);
    }
  });
});

describe('cropAndResize properties', () => {
  it('reproduces the image for a unit-scale box on the pixel grid', () => {
    const img = syntheticImage(37, 53);
    const sub = cropAndResize(img, { x: 4, y: 9, width: 20, height: 20 }, 20);
    for (let i = 0; i < 20; i++) {
      for (let j = 0; j < 20; j++) {
        for (let c = 0; c < 3; c++) {
          expect(sub.data[(i * 20 + j) * 3 + c]).toBe(img.data[((i + 9) * 37 + j + 4) * 3 + c]);
        }
      }
    }
  });

  it('keeps a constant image constant inside and fades to black outside', () => {
    const img: RgbImage = { width: 64, height: 48, data: new Float32Array(64 * 48 * 3).fill(200) };
    const inside = cropAndResize(img, { x: 10.3, y: 7.9, width: 30.7, height: 30.7 }, 9);
    for (const v of inside.data) expect(Math.abs(v - 200)).toBeLessThanOrEqual(1e-4);
    // Left half of this box lies outside the image: column 0 is black, column 3 (filter window
    // [-12, 4] px) straddles the edge and is darkened, not renormalised, column 7 is untouched.
    const edge = cropAndResize(img, { x: -32, y: 10, width: 64, height: 20 }, 8);
    expect(edge.data[0]).toBe(0);
    expect(edge.data[3 * 3]).toBeGreaterThan(0);
    expect(edge.data[3 * 3]).toBeLessThan(199);
    expect(Math.abs(edge.data[7 * 3] - 200)).toBeLessThanOrEqual(1e-4);
  });

  it('rejects an empty box', () => {
    expect(() => cropAndResize(syntheticImage(4, 4), { x: 0, y: 0, width: 0, height: 3 }, 2)).toThrow(/empty crop/);
  });
});

describe('toPixelValues', () => {
  it('matches face_crop.to_pixel_values (CHW)', () => {
    const pv = golden.pixel_values;
    const c = golden.crops.find((k) => k.name === pv.crop);
    if (!c) throw new Error(`golden crop ${pv.crop} missing`);
    const values = toPixelValues(cropOf(c), pv.mean, pv.std);
    expect(values.length).toBe(3 * c.size * c.size);
    expect(maxAbsDiff(values, pv.values)).toBeLessThanOrEqual(PIXEL_VALUES_TOL);
  });
});
