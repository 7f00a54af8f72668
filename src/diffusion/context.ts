/** U-Net context rows for a guidance plan (mirror of training/face0/context.py). */
import type { Condition } from './guidance';

/**
 * (L, D) prompt and empty-prompt encodings -> (n, L, D), one row per condition. The face positions
 * hold faceTokens (positions.length, D) for *_face conditions and zeros for *_noface ones, so
 * "no face" is the input the projector's dropout trained for.
 */
export function buildContexts(
  textCond: Float32Array,
  textEmpty: Float32Array,
  faceTokens: Float32Array | null,
  positions: number[],
  D: number,
  conditions: Condition[],
): Float32Array {
  if (!Number.isInteger(D) || D < 1 || textCond.length % D !== 0 || textEmpty.length !== textCond.length) {
    throw new Error(`text encodings must both be (L, ${D}); got ${textCond.length} and ${textEmpty.length} values`);
  }
  const length = textCond.length / D;
  if (new Set(positions).size !== positions.length || positions.some((p) => !Number.isInteger(p) || p < 0 || p >= length)) {
    throw new Error(`face token positions [${positions}] must be distinct and within [0, ${length})`);
  }
  if (faceTokens !== null && faceTokens.length !== positions.length * D) {
    throw new Error(`face tokens must be (${positions.length}, ${D}); got ${faceTokens.length} values`);
  }
  const rowSize = length * D;
  const out = new Float32Array(conditions.length * rowSize);
  conditions.forEach((cond, n) => {
    const row = out.subarray(n * rowSize, (n + 1) * rowSize);
    row.set(cond.startsWith('text_') ? textCond : textEmpty);
    const withFace = cond.endsWith('_face');
    if (withFace && faceTokens === null) throw new Error(`condition ${cond} needs face tokens`);
    positions.forEach((p, k) => {
      const slot = row.subarray(p * D, (p + 1) * D);
      if (withFace && faceTokens !== null) slot.set(faceTokens.subarray(k * D, (k + 1) * D));
      else slot.fill(0);
    });
  });
  return out;
}
