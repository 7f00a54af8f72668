/**
 * U-Net context rows for a guidance plan: one layout, as block copies that every device applies (gpuOps
 * copies buffers, buildContexts JS arrays). Mirror of training/face0/context.py. Offsets and lengths
 * count float32 values.
 */
import type { Condition } from './guidance';

export type ContextCopy =
  /** From the text encoder's (2, L, D) output: row 0 the prompt, row 1 the empty prompt. */
  | { from: 'text'; srcOffset: number; dstOffset: number; length: number }
  /** From the projector's (P, D) face tokens. */
  | { from: 'face'; srcOffset: number; dstOffset: number; length: number }
  | { from: 'zero'; dstOffset: number; length: number };

/**
 * The copies that make the (n, L, D) contexts, one row per condition: the prompt's or the empty prompt's
 * encoding, then at the face positions the face tokens for *_face conditions and zeros for *_noface ones,
 * so "no face" is the input the projector's dropout trained for.
 */
export function contextCopies(L: number, D: number, positions: number[], conditions: Condition[], hasFace: boolean): ContextCopy[] {
  if (new Set(positions).size !== positions.length || positions.some((p) => !Number.isInteger(p) || p < 0 || p >= L)) {
    throw new Error(`face token positions [${positions}] must be distinct and within [0, ${L})`);
  }
  const row = L * D;
  return conditions.flatMap((cond, n): ContextCopy[] => {
    const withFace = cond.endsWith('_face');
    if (withFace && !hasFace) throw new Error(`condition ${cond} needs face tokens`);
    const text: ContextCopy = { from: 'text', srcOffset: cond.startsWith('text_') ? 0 : row, dstOffset: n * row, length: row };
    // Written after the text row, so the face positions end up holding face tokens or zeros.
    const slots = positions.map((p, k): ContextCopy => {
      const dstOffset = n * row + p * D;
      return withFace ? { from: 'face', srcOffset: k * D, dstOffset, length: D } : { from: 'zero', dstOffset, length: D };
    });
    return [text, ...slots];
  });
}

/** The contexts in JS memory: `text` is the (2, L, D) [prompt, empty prompt] encoding, `faceTokens` (P, D) or null. */
export function buildContexts(
  text: Float32Array,
  faceTokens: Float32Array | null,
  positions: number[],
  D: number,
  conditions: Condition[],
): Float32Array {
  if (!Number.isInteger(D) || D < 1 || text.length % (2 * D) !== 0) {
    throw new Error(`text encodings must be (2, L, ${D}); got ${text.length} values`);
  }
  const L = text.length / (2 * D);
  if (faceTokens !== null && faceTokens.length !== positions.length * D) {
    throw new Error(`face tokens must be (${positions.length}, ${D}); got ${faceTokens.length} values`);
  }
  const out = new Float32Array(conditions.length * L * D);
  for (const c of contextCopies(L, D, positions, conditions, faceTokens !== null)) {
    if (c.from === 'zero') out.fill(0, c.dstOffset, c.dstOffset + c.length);
    else out.set((c.from === 'text' ? text : faceTokens!).subarray(c.srcOffset, c.srcOffset + c.length), c.dstOffset);
  }
  return out;
}
