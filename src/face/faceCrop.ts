/**
 * Face crop geometry, the same formulas as training/face0/face_crop.py (checked through
 * tests/golden/face_crop.json). Boxes are in image pixels, floats allowed, origin at the
 * top-left corner of the top-left pixel.
 */
import type { CropMargins } from '../bundle/manifest';

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Index of the face whose box has the largest area (first one on ties), -1 if there is none. */
export function largestFace<T extends { box: Box }>(faces: T[]): number {
  let best = -1;
  let bestArea = -1;
  faces.forEach((face, i) => {
    const area = face.box.width * face.box.height;
    if (area > bestArea) {
      best = i;
      bestArea = area;
    }
  });
  return best;
}

/** Grow a detection box by the margins, which are given for a face `reference_face_size` px wide. */
export function expandBox(box: Box, m: CropMargins): Box {
  const s = box.width / m.reference_face_size;
  return {
    x: box.x - m.left * s,
    y: box.y - m.top * s,
    width: box.width + (m.left + m.right) * s,
    height: box.height + (m.top + m.bottom) * s,
  };
}

/** Square of side max(width, height) with the same centre, so the crop is never stretched. */
export function squareBox(box: Box): Box {
  const side = Math.max(box.width, box.height);
  return {
    x: box.x + box.width / 2 - side / 2,
    y: box.y + box.height / 2 - side / 2,
    width: side,
    height: side,
  };
}

export function faceCropBox(box: Box, m: CropMargins): Box {
  return squareBox(expandBox(box, m));
}
