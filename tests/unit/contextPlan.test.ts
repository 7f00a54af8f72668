import { describe, expect, it } from 'vitest';
import { buildContexts } from '../../src/diffusion/context';
import { contextCopies, type ContextCopy } from '../../src/diffusion/contextPlan';
import { CONDITIONS, type Condition } from '../../src/diffusion/guidance';

const L = 77;
const D = 4;
const textBoth = Float32Array.from({ length: 2 * L * D }, (_, i) => (i < L * D ? i + 1 : -(i + 1)));
const face = Float32Array.from({ length: 3 * D }, (_, i) => 1000 + i);

/** The copies applied to JS arrays the way gpuOps applies them to buffers, in order. */
function apply(copies: ContextCopy[], rows: number): Float32Array {
  const out = new Float32Array(rows * L * D).fill(NaN);
  for (const c of copies) {
    if (c.from === 'zero') out.fill(0, c.dstOffset, c.dstOffset + c.length);
    else out.set((c.from === 'text' ? textBoth : face).subarray(c.srcOffset, c.srcOffset + c.length), c.dstOffset);
  }
  return out;
}

describe('contextCopies', () => {
  const cases: [string, number[], Condition[], boolean][] = [
    ['all four conditions', [74, 75, 76], [...CONDITIONS], true],
    ['scattered positions', [0, 10, 40], ['empty_face', 'text_noface'], true],
    ['no face', [74, 75, 76], ['text_noface', 'empty_noface'], false],
  ];
  for (const [name, positions, conditions, hasFace] of cases) {
    it(`${name}: writes every value exactly as buildContexts`, () => {
      const expected = buildContexts(textBoth.subarray(0, L * D), textBoth.subarray(L * D), hasFace ? face : null, positions, D, conditions);
      expect(apply(contextCopies(L, D, positions, conditions, hasFace), conditions.length)).toEqual(expected);
    });
  }

  it('refuses *_face rows without face tokens and bad positions', () => {
    expect(() => contextCopies(L, D, [74, 75, 76], ['text_face'], false)).toThrow(/face tokens/);
    expect(() => contextCopies(L, D, [74, 74, 76], ['text_noface'], false)).toThrow(/distinct/);
    expect(() => contextCopies(L, D, [77], ['text_noface'], false)).toThrow(/within/);
  });
});
