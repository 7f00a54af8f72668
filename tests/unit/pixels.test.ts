/** The pixel conversions of src/shared/pixels.ts. */
import { describe, expect, it } from 'vitest';
import { planarToRgba, rgbaToRgb, rgbToRgba } from '../../src/shared/pixels';

describe('rgbaToRgb', () => {
  it('drops alpha and keeps HWC order', () => {
    const rgba = new Uint8ClampedArray([1, 2, 3, 255, 4, 5, 6, 0, 7, 8, 9, 128, 10, 11, 12, 1]);
    const img = rgbaToRgb(rgba, 2, 2);
    expect(img.width).toBe(2);
    expect(img.height).toBe(2);
    expect(Array.from(img.data)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  });

  it('rejects a buffer of the wrong size', () => {
    expect(() => rgbaToRgb(new Uint8ClampedArray(12), 2, 2)).toThrow(/expected 16 bytes/);
  });
});

describe('rgbToRgba', () => {
  it('adds an opaque alpha and keeps HWC order', () => {
    const img = { width: 2, height: 1, data: Float32Array.from([1, 2, 3, 4, 5, 6]) };
    expect(Array.from(rgbToRgba(img))).toEqual([1, 2, 3, 255, 4, 5, 6, 255]);
    expect(rgbaToRgb(rgbToRgba(img), 2, 1)).toEqual(img);
  });
});

describe('planarToRgba', () => {
  it('maps [-1, 1] CHW to RGBA bytes like diffusers, clamping outside values', () => {
    // 2 pixels: channel values chosen to hit both clamps, the midpoint and a rounding case.
    const chw = Float32Array.from([-1.5, 1.5, 0, -1, 1, 0.2]);
    expect(Array.from(planarToRgba(chw, 2, 1, [-1, 1]))).toEqual([0, 128, 255, 255, 255, 0, 153, 255]);
  });

  it("maps a [0, 1] decoder's output (TAEF2) the same way", () => {
    const chw = Float32Array.from([-0.25, 1.25, 0.5, 0, 1, 0.6]);
    expect(Array.from(planarToRgba(chw, 2, 1, [0, 1]))).toEqual([0, 128, 255, 255, 255, 0, 153, 255]);
  });
});
