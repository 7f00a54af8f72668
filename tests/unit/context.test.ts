import { describe, expect, it } from 'vitest';
import { buildContexts } from '../../src/diffusion/context';
import type { Condition } from '../../src/diffusion/guidance';

const L = 77;
const D = 4;
const POSITIONS = [74, 75, 76];
const text = Float32Array.from({ length: L * D }, (_, i) => i + 1);
const empty = text.map((x) => -x);
const face = Float32Array.from({ length: 3 * D }, (_, i) => 1000 + i);

describe('buildContexts', () => {
  it('uses prompt or empty prompt per row, face tokens or zeros at the face positions', () => {
    const conditions: Condition[] = ['text_face', 'empty_face', 'text_noface', 'empty_noface'];
    const out = buildContexts(text, empty, face, POSITIONS, D, conditions);
    expect(out.length).toBe(4 * L * D);
    conditions.forEach((cond, n) => {
      const row = out.subarray(n * L * D, (n + 1) * L * D);
      const base = cond.startsWith('text_') ? text : empty;
      expect(row.subarray(0, 74 * D)).toEqual(base.subarray(0, 74 * D));
      const expected = cond.endsWith('_face') ? face : new Float32Array(3 * D);
      expect(row.subarray(74 * D)).toEqual(expected);
    });
  });

  it('honours arbitrary positions and leaves the inputs untouched', () => {
    const out = buildContexts(text, empty, face, [0, 10, 40], D, ['text_face']);
    expect(out.subarray(10 * D, 11 * D)).toEqual(face.subarray(D, 2 * D));
    expect(out.subarray(74 * D, 75 * D)).toEqual(text.subarray(74 * D, 75 * D));
    expect(text[0]).toBe(1);
  });

  it('needs no face tokens for *_noface rows and refuses *_face rows without them', () => {
    expect(buildContexts(text, empty, null, POSITIONS, D, ['text_noface', 'empty_noface']).length).toBe(2 * L * D);
    expect(() => buildContexts(text, empty, null, POSITIONS, D, ['text_face'])).toThrow(/face tokens/);
  });

  it('rejects mismatched shapes and bad positions', () => {
    expect(() => buildContexts(text, empty.subarray(1), face, POSITIONS, D, ['text_face'])).toThrow(/text encodings/);
    expect(() => buildContexts(text, empty, face.subarray(1), POSITIONS, D, ['text_face'])).toThrow(/face tokens/);
    expect(() => buildContexts(text, empty, face, [74, 75, 77], D, ['text_face'])).toThrow(/positions/);
    expect(() => buildContexts(text, empty, face, [74, 74, 76], D, ['text_face'])).toThrow(/positions/);
  });
});
