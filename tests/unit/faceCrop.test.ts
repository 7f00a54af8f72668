// Goldens from training/face0/goldens_crop.py (face_crop.py), regenerate with
// `cd training && ../.venv/bin/python -m face0.goldens_crop`.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { CropMargins } from '../../src/bundle/manifest';
import { type Box, expandBox, faceCropBox, largestFace, squareBox } from '../../src/face/faceCrop';

interface Golden {
  margins: CropMargins;
  boxes: { box: Box; expanded: Box; squared: Box; face_crop: Box }[];
  largest_face: { boxes: Box[]; index: number }[];
}

const golden: Golden = JSON.parse(
  readFileSync(new URL('../golden/face_crop.json', import.meta.url), 'utf8'),
);

// Same float64 operations in the same order as Python: only JSON round-tripping differs.
const BOX_TOL = 1e-9;

function expectBox(actual: Box, expected: Box): void {
  for (const k of ['x', 'y', 'width', 'height'] as const) {
    expect(Math.abs(actual[k] - expected[k]), k).toBeLessThanOrEqual(BOX_TOL);
  }
}

describe('face crop box math matches face_crop.py', () => {
  it.each(golden.boxes)('box %#', (c) => {
    expectBox(expandBox(c.box, golden.margins), c.expanded);
    expectBox(squareBox(c.box), c.squared);
    expectBox(faceCropBox(c.box, golden.margins), c.face_crop);
  });

  it('uses the Face0 margins', () => {
    expect(golden.margins).toEqual({ left: 10, right: 10, top: 33, bottom: 15, reference_face_size: 160 });
  });

  it('faceCropBox is square, centred on the expanded box, and contains it', () => {
    const box = { x: 12.5, y: 40, width: 80, height: 64 };
    const expanded = expandBox(box, golden.margins);
    const crop = faceCropBox(box, golden.margins);
    expect(crop.width).toBe(crop.height);
    expect(crop.x + crop.width / 2).toBeCloseTo(expanded.x + expanded.width / 2, 12);
    expect(crop.y + crop.height / 2).toBeCloseTo(expanded.y + expanded.height / 2, 12);
    expect(crop.width).toBe(Math.max(expanded.width, expanded.height));
  });
});

describe('largestFace', () => {
  it.each(golden.largest_face)('golden case %#', (c) => {
    expect(largestFace(c.boxes.map((box) => ({ box })))).toBe(c.index);
  });
});
