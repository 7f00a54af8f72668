import { describe, expect, it } from 'vitest';
import { combineGuidance, planGuidance, type Condition, type GuidancePlan } from '../../src/diffusion/guidance';
import { Rng } from '../../src/diffusion/rng';

const SIZE = 4 * 3 * 3;
const EPS: Record<Condition, Float32Array> = {
  text_face: new Rng(1).normal(SIZE),
  empty_face: new Rng(2).normal(SIZE),
  text_noface: new Rng(3).normal(SIZE),
  empty_noface: new Rng(4).normal(SIZE),
};

/** The Face0 formula, evaluated directly in float64. */
function face0Formula(w: number, c: number, a: number, eps: Record<Condition, Float32Array>): number[] {
  return Array.from({ length: SIZE }, (_, i) => {
    const epsF = c * eps.text_face[i] + (1 - c) * (a * eps.empty_face[i] + (1 - a) * eps.text_noface[i]);
    return w * epsF + (1 - w) * eps.empty_noface[i];
  });
}

function combined(plan: GuidancePlan, eps: Record<Condition, Float32Array>): Float32Array {
  const batch = new Float32Array(plan.conditions.length * SIZE);
  plan.conditions.forEach((cond, k) => batch.set(eps[cond], k * SIZE));
  return combineGuidance(batch, plan);
}

/** The result is stored as float32: compare to the float64 formula within 1e-6 * max(1, |x|). */
function expectClose(actual: Float32Array, expected: number[]): void {
  expected.forEach((x, i) => expect(Math.abs(actual[i] - x)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(x))));
}

describe('planGuidance / combineGuidance', () => {
  const cases: [number, number, Condition[]][] = [
    [1, 0, ['text_face', 'empty_noface']],
    [0.5, 0, ['text_face', 'text_noface', 'empty_noface']],
    [1.4, 1, ['text_face', 'empty_face', 'empty_noface']],
    [0.3, 0.6, ['text_face', 'empty_face', 'text_noface', 'empty_noface']],
  ];
  for (const [c, a, conditions] of cases) {
    it(`c=${c}, a=${a}: needs ${conditions.length} U-Net rows and equals the formula`, () => {
      const plan = planGuidance({ w: 7.5, c, a }, true);
      expect(plan.conditions).toEqual(conditions);
      expect(plan.weights.reduce((s, x) => s + x, 0)).toBeCloseTo(1, 12);
      expectClose(combined(plan, EPS), face0Formula(7.5, c, a, EPS));
    });

    it(`c=${c}, a=${a} without a face merges identical conditions`, () => {
      const plan = planGuidance({ w: 7.5, c, a }, false);
      expect(plan.conditions).toEqual(['text_noface', 'empty_noface']);
      // Without a face f is zero tokens, so each *_face input is its *_noface twin.
      const eps = { ...EPS, text_face: EPS.text_noface, empty_face: EPS.empty_noface };
      expectClose(combined(plan, eps), face0Formula(7.5, c, a, eps));
    });
  }

  it('w=1 needs no unconditional row, w=0 only the unconditional one', () => {
    expect(planGuidance({ w: 1, c: 1, a: 0 }, true).conditions).toEqual(['text_face']);
    expect(planGuidance({ w: 1, c: 0.5, a: 0 }, false).conditions).toEqual(['text_noface']);
    expect(planGuidance({ w: 0, c: 0.5, a: 0.3 }, true)).toEqual({ conditions: ['empty_noface'], weights: [1] });
  });

  it('rejects non-finite parameters and a batch that does not fit the plan', () => {
    expect(() => planGuidance({ w: Number.NaN, c: 1, a: 0 }, true)).toThrow(/w/);
    expect(() => planGuidance({ w: 7.5, c: Infinity, a: 0 }, true)).toThrow(/c/);
    const plan = planGuidance({ w: 7.5, c: 1, a: 0 }, true);
    expect(() => combineGuidance(new Float32Array(5), plan)).toThrow(/rows/);
  });
});
