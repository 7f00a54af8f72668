/**
 * Finding small faces with a detector that only sees large ones: the same algorithm as
 * training/face0/detection_passes.py (its docstring explains the passes and the measurements behind
 * the constants; tests/unit/detectionPasses.test.ts replays the Python detector calls recorded in
 * tests/golden/extraction.json and must reach the same faces).
 */
import type { Box } from './faceCrop';

export const TILE_ZOOM = 3;
/** The detector's input size: smaller tiles would only be upscaled. */
export const MIN_TILE_SIDE = 128;
export const TILE_MAX_FACE = 0.5;
export const OVERLAP_IOU = 0.3;
export const OVERLAP_CONTAINMENT = 0.6;
export const REFINE_BELOW = 0.25;
export const REFINE_ZOOM = 3.5;
export const TILE_MIN_SCORE = 0.75;
export const MIN_EYE_RATIO = 0.12;

/** Integer pixel rectangle of the detector's image. */
export type Rect = Box;

export interface Point {
  x: number;
  y: number;
}

/**
 * One detector output in the pixels of the image it ran on: MediaPipe's box (integers) and its six
 * keypoints (right eye, left eye, nose tip, mouth, right ear, left ear as seen in the image).
 */
export interface RawDetection {
  box: Box;
  score: number;
  keypoints: Point[];
}

export type FoundBy = 'full' | 'tile';

export interface PassDetection extends RawDetection {
  foundBy: FoundBy;
}

/** Runs the detector on a rectangle's pixels; detections in the rectangle's own pixels. */
export type Run = (rect: Rect) => Promise<RawDetection[]>;

/**
 * Tile starts along one axis: evenly spread, at most half a tile (and a rounding pixel) apart, the last
 * flush with the end.
 */
export function tilePositions(size: number, tile: number): number[] {
  if (size <= tile) return [0];
  const n = Math.ceil((size - tile) / (tile / 2)) + 1;
  return Array.from({ length: n }, (_, i) => pyRound((i * (size - tile)) / (n - 1)));
}

/** The tiles of the second pass, row by row; none when a tile would be under MIN_TILE_SIDE. */
export function tileGrid(width: number, height: number): Rect[] {
  const tile = Math.ceil(Math.max(width, height) / TILE_ZOOM);
  if (tile < MIN_TILE_SIDE) return [];
  const rects: Rect[] = [];
  for (const y of tilePositions(height, tile)) {
    for (const x of tilePositions(width, tile)) rects.push({ x, y, width: Math.min(tile, width), height: Math.min(tile, height) });
  }
  return rects;
}

/** Python's round(): halves to even, so both languages cut the same pixel rectangles. */
export function pyRound(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * The square region REFINE_ZOOM times the box around its centre, clipped to the image; null when it
 * would cover the whole image (the whole-image pass already looked at that).
 */
export function zoomRect(box: Box, width: number, height: number): Rect | null {
  const side = REFINE_ZOOM * Math.max(box.width, box.height);
  const cx = box.x + box.width / 2;
  const cy = box.y + box.height / 2;
  const x0 = Math.max(0, pyRound(cx - side / 2));
  const y0 = Math.max(0, pyRound(cy - side / 2));
  const x1 = Math.min(width, pyRound(cx + side / 2));
  const y1 = Math.min(height, pyRound(cy + side / 2));
  if (x1 - x0 <= 0 || y1 - y0 <= 0 || (x0 === 0 && y0 === 0 && x1 === width && y1 === height)) return null;
  return { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
}

/** A detection made on `rect`'s pixels, in the whole image's pixels. */
export function shifted(d: RawDetection, rect: Rect, foundBy: FoundBy): PassDetection {
  return {
    box: { x: d.box.x + rect.x, y: d.box.y + rect.y, width: d.box.width, height: d.box.height },
    score: d.score,
    keypoints: d.keypoints.map((k) => ({ x: k.x + rect.x, y: k.y + rect.y })),
    foundBy,
  };
}

export function intersection(a: Box, b: Box): number {
  const w = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  return Math.max(0, w) * Math.max(0, h);
}

/** The same face twice: IoU over OVERLAP_IOU, or the smaller box mostly inside the larger. */
export function overlaps(a: Box, b: Box): boolean {
  const inter = intersection(a, b);
  const areaA = a.width * a.height;
  const areaB = b.width * b.height;
  if (inter <= 0 || areaA <= 0 || areaB <= 0) return false;
  const iou = inter / (areaA + areaB - inter);
  return iou > OVERLAP_IOU || inter / Math.min(areaA, areaB) > OVERLAP_CONTAINMENT;
}

/** Highest score first; a detection overlapping one already kept is dropped (stable on ties). */
export function suppressOverlaps(detections: PassDetection[]): PassDetection[] {
  const kept: PassDetection[] = [];
  for (const d of [...detections].sort((p, q) => q.score - p.score)) {
    if (!kept.some((k) => overlaps(d.box, k.box))) kept.push(d);
  }
  return kept;
}

/** Not touching an inner edge of the tile (a face cut by it), and at most TILE_MAX_FACE of the tile. */
export function insideTile(box: Box, tile: Rect, width: number, height: number): boolean {
  if (Math.max(box.width, box.height) > TILE_MAX_FACE * Math.max(tile.width, tile.height)) return false;
  if (tile.x > 0 && box.x <= tile.x) return false;
  if (tile.y > 0 && box.y <= tile.y) return false;
  if (tile.x + tile.width < width && box.x + box.width >= tile.x + tile.width) return false;
  return !(tile.y + tile.height < height && box.y + box.height >= tile.y + tile.height);
}

/** Distance between the eyes over the box width (0.30-0.48 on frontal CelebA faces). */
export function eyeRatio(d: RawDetection): number {
  const [a, b] = d.keypoints;
  return d.box.width > 0 ? Math.hypot(b.x - a.x, b.y - a.y) / d.box.width : 0;
}

export function isPlausible(d: PassDetection): boolean {
  if (d.foundBy === 'tile' && d.score < TILE_MIN_SCORE) return false;
  return d.keypoints.length >= 2 && eyeRatio(d) >= MIN_EYE_RATIO;
}

function centreInside(inner: Box, outer: Box): boolean {
  const cx = inner.x + inner.width / 2;
  const cy = inner.y + inner.height / 2;
  return outer.x <= cx && cx <= outer.x + outer.width && outer.y <= cy && cy <= outer.y + outer.height;
}

/** The candidate re-detected in a zoomed region, or null when that pass does not confirm it. */
async function refine(candidate: PassDetection, width: number, height: number, run: Run): Promise<PassDetection | null> {
  if (Math.max(candidate.box.width, candidate.box.height) >= REFINE_BELOW * Math.max(width, height)) return candidate;
  const rect = zoomRect(candidate.box, width, height);
  if (rect === null) return candidate;
  const zoomed = (await run(rect)).map((d) => shifted(d, rect, candidate.foundBy));
  const confirmed = zoomed.filter((d) => centreInside(d.box, candidate.box));
  if (confirmed.length === 0) return null;
  return confirmed.reduce((best, d) => (d.score > best.score ? d : best));
}

/** Every face in a width x height image, ordered left to right. */
export async function detectFaces(width: number, height: number, run: Run): Promise<PassDetection[]> {
  const whole: Rect = { x: 0, y: 0, width, height };
  const found = (await run(whole)).map((d) => shifted(d, whole, 'full'));
  for (const tile of tileGrid(width, height)) {
    for (const d of await run(tile)) {
      const s = shifted(d, tile, 'tile');
      if (insideTile(s.box, tile, width, height)) found.push(s);
    }
  }
  const refined: PassDetection[] = [];
  for (const candidate of suppressOverlaps(found)) {
    const r = await refine(candidate, width, height, run);
    if (r !== null && isPlausible(r)) refined.push(r);
  }
  const faces = suppressOverlaps(refined);
  const centreX = (d: PassDetection) => d.box.x + d.box.width / 2;
  return faces.sort((p, q) => centreX(p) - centreX(q) || p.box.y - q.box.y);
}

/** A face the detector found, in image pixels. */
export interface DetectedFace {
  box: Box;
  score: number;
  /** Right eye, left eye, nose tip, mouth, right ear, left ear (as seen in the image), image pixels. */
  keypoints: Point[];
  /** Which pass found it: the whole image or a tile. */
  foundBy: FoundBy;
}
