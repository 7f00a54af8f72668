import { describe, expect, it } from 'vitest';
import { buildContexts, contextCopies } from '../../src/diffusion/context';
import { CONDITIONS, type Condition } from '../../src/diffusion/guidance';

const L = 77;
const D = 4;
const POSITIONS = [74, 75, 76];
const prompt = Float32Array.from({ length: L * D }, (_, i) => i + 1);
const empty = prompt.map((x) => -x);
/** The text encoder's (2, L, D) output: the prompt's row, then the empty prompt's. */
const text = Float32Array.from([...prompt, ...empty]);
const face = Float32Array.from({ length: 3 * D }, (_, i) => 1000 + i);

describe('buildContexts', () => {
  it('uses prompt or empty prompt per row, face tokens or zeros at the face positions', () => {
    const conditions: Condition[] = ['text_face', 'empty_face', 'text_noface', 'empty_noface'];
    const out = buildContexts(text, face, POSITIONS, D, conditions);
    expect(out.length).toBe(4 * L * D);
    conditions.forEach((cond, n) => {
      const row = out.subarray(n * L * D, (n + 1) * L * D);
      const base = cond.startsWith('text_') ? prompt : empty;
      expect(row.subarray(0, 74 * D)).toEqual(base.subarray(0, 74 * D));
      const expected = cond.endsWith('_face') ? face : new Float32Array(3 * D);
      expect(row.subarray(74 * D)).toEqual(expected);
    });
  });

  it('honours arbitrary positions and leaves the inputs untouched', () => {
    const out = buildContexts(text, face, [0, 10, 40], D, ['text_face']);
    expect(out.subarray(10 * D, 11 * D)).toEqual(face.subarray(D, 2 * D));
    expect(out.subarray(74 * D, 75 * D)).toEqual(prompt.subarray(74 * D, 75 * D));
    expect(text[0]).toBe(1);
  });

  it('needs no face tokens for *_noface rows and refuses *_face rows without them', () => {
    expect(buildContexts(text, null, POSITIONS, D, ['text_noface', 'empty_noface']).length).toBe(2 * L * D);
    expect(() => buildContexts(text, null, POSITIONS, D, ['text_face'])).toThrow(/face tokens/);
  });

  it('rejects mismatched shapes and bad positions', () => {
    expect(() => buildContexts(text.subarray(1), face, POSITIONS, D, ['text_face'])).toThrow(/text encodings/);
    expect(() => buildContexts(text, face.subarray(1), POSITIONS, D, ['text_face'])).toThrow(/face tokens/);
    expect(() => buildContexts(text, face, [74, 75, 77], D, ['text_face'])).toThrow(/positions/);
    expect(() => buildContexts(text, face, [74, 74, 76], D, ['text_face'])).toThrow(/positions/);
  });
});

describe('contextCopies', () => {
  it('writes every value of every row once text and face slots are applied in order', () => {
    for (const conditions of [[...CONDITIONS], ['empty_face', 'text_noface'] as Condition[]]) {
      const written = new Uint8Array(conditions.length * L * D);
      const copies = contextCopies(L, D, [0, 10, 40], conditions, true);
      for (const c of copies) written.fill(1, c.dstOffset, c.dstOffset + c.length);
      expect(written.every((x) => x === 1)).toBe(true);
      expect(copies.filter((c) => c.from === 'text')).toHaveLength(conditions.length);
    }
  });

  it('refuses *_face rows without face tokens and bad positions', () => {
    expect(() => contextCopies(L, D, [74, 75, 76], ['text_face'], false)).toThrow(/face tokens/);
    expect(() => contextCopies(L, D, [74, 74, 76], ['text_noface'], false)).toThrow(/distinct/);
    expect(() => contextCopies(L, D, [77], ['text_noface'], false)).toThrow(/within/);
  });
});
