/**
 * buildContexts (context.ts) as a list of block copies, for devices that assemble the (n, L, D)
 * contexts by copying buffers rather than in JS. Offsets and lengths count float32 values.
 */
import type { Condition } from './guidance';

export type ContextCopy =
  /** From the text encoder's (2, L, D) output: row 0 the prompt, row 1 the empty prompt. */
  | { from: 'text'; srcOffset: number; dstOffset: number; length: number }
  /** From the projector's (P, D) face tokens. */
  | { from: 'face'; srcOffset: number; dstOffset: number; length: number }
  | { from: 'zero'; dstOffset: number; length: number };

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
