/**
 * Why a detected face is likely to give a poor likeness, from its box, score and keypoints. Thresholds
 * measured on celeba-identities with the face-api descriptor (docs/face-detection.md, "Likeness").
 */
import type { DetectedFace } from './detectionPasses';

/**
 * Narrower than this (image pixels), the 150 px embedder input is upscaled so much that the descriptor
 * drifts by over 0.18 from the same photo at full size (face-api distance; another photo of the same
 * person is 0.50 away, a different person 0.71).
 */
export const SMALL_FACE_PX = 48;
/**
 * Nose tip this many eye distances or more off the eyes' midpoint (a face turned well to the side):
 * such photos were 0.65 from the person's frontal photos (frontal ones 0.47; face-api's same-person
 * threshold is 0.6).
 */
export const TURNED_NOSE_OFFSET = 0.4;
/** Detector scores under this: every face pasted at 4-50% of a photo scored 0.82 or more. */
export const UNCERTAIN_SCORE = 0.75;
/** Share of the face box outside the image above which part of the face is missing. */
export const CUT_OFF_SHARE = 0.1;

export type LikenessProblem =
  | { kind: 'small'; widthPx: number }
  | { kind: 'turned'; noseOffset: number }
  | { kind: 'uncertain'; score: number }
  | { kind: 'cut_off'; outsideShare: number };

/** Nose tip's offset from the eyes' midpoint along the eye line, in eye distances (0 = frontal). */
export function noseOffset(face: Pick<DetectedFace, 'keypoints'>): number | null {
  const [a, b, nose] = face.keypoints;
  if (!a || !b || !nose) return null;
  const eyes = Math.hypot(b.x - a.x, b.y - a.y);
  if (eyes === 0) return null;
  const ux = (b.x - a.x) / eyes;
  const uy = (b.y - a.y) / eyes;
  return ((nose.x - (a.x + b.x) / 2) * ux + (nose.y - (a.y + b.y) / 2) * uy) / eyes;
}

function outsideShare(face: DetectedFace, width: number, height: number): number {
  const { x, y, width: w, height: h } = face.box;
  if (w <= 0 || h <= 0) return 0;
  const inside = Math.max(0, Math.min(x + w, width) - Math.max(x, 0)) * Math.max(0, Math.min(y + h, height) - Math.max(y, 0));
  return 1 - inside / (w * h);
}

export function likenessProblems(face: DetectedFace, imageWidth: number, imageHeight: number): LikenessProblem[] {
  const problems: LikenessProblem[] = [];
  if (face.box.width < SMALL_FACE_PX) problems.push({ kind: 'small', widthPx: face.box.width });
  const offset = noseOffset(face);
  if (offset !== null && Math.abs(offset) >= TURNED_NOSE_OFFSET) problems.push({ kind: 'turned', noseOffset: offset });
  if (face.score < UNCERTAIN_SCORE) problems.push({ kind: 'uncertain', score: face.score });
  const outside = outsideShare(face, imageWidth, imageHeight);
  if (outside > CUT_OFF_SHARE) problems.push({ kind: 'cut_off', outsideShare: outside });
  return problems;
}

/** One sentence per problem, each with what to do about it. */
export function describeProblem(p: LikenessProblem): string {
  switch (p.kind) {
    case 'small':
      return `the face is only ${Math.round(p.widthPx)} px wide (under ${SMALL_FACE_PX}): use a photo taken closer or at a higher resolution`;
    case 'turned':
      return 'the face is turned to the side: a photo looking at the camera works best';
    case 'uncertain':
      return `the detector is unsure this is a face (score ${p.score.toFixed(2)}): crop the photo closer around the face`;
    case 'cut_off':
      return 'part of the face is outside the photo: use one that shows the whole face';
  }
}
