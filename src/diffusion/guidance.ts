/**
 * Face0 guidance as a weighted sum of U-Net predictions (mirror of training/face0/guidance.py):
 *   eps   = w*eps_F + (1-w)*eps(z, ∅, ∅)
 *   eps_F = c*eps(z,d,f) + (1-c)*(a*eps(z,∅,f) + (1-a)*eps(z,d,∅))
 * with ∅ the empty prompt or zero face tokens. Expanding it lets the sampler batch only the
 * conditions with a non-zero weight into one U-Net call per step.
 */

export type Condition = 'text_face' | 'empty_face' | 'text_noface' | 'empty_noface';

export const CONDITIONS: readonly Condition[] = ['text_face', 'empty_face', 'text_noface', 'empty_noface'];

/** Face0's guidance weights, the one type every request and setting that carries them extends. */
export interface GuidanceParams {
  w: number;
  c: number;
  a: number;
}

/** eps = sum_i weights[i] * eps_i; zero-weight terms omitted. */
export interface GuidancePlan {
  conditions: Condition[];
  weights: number[];
}

// Without a face the face tokens are zero, so each *_face condition is the same input as its *_noface twin.
const NO_FACE_TWIN: Record<Condition, Condition> = {
  text_face: 'text_noface',
  empty_face: 'empty_noface',
  text_noface: 'text_noface',
  empty_noface: 'empty_noface',
};

export function planGuidance(p: GuidanceParams, hasFace: boolean): GuidancePlan {
  const { w, c, a } = p;
  for (const [name, value] of Object.entries({ w, c, a })) {
    if (!Number.isFinite(value)) throw new Error(`guidance parameter ${name} must be a finite number (got ${value})`);
  }
  const expanded: Record<Condition, number> = {
    text_face: w * c,
    empty_face: w * (1 - c) * a,
    text_noface: w * (1 - c) * (1 - a),
    empty_noface: 1 - w,
  };
  const merged: Record<Condition, number> = { text_face: 0, empty_face: 0, text_noface: 0, empty_noface: 0 };
  for (const cond of CONDITIONS) merged[hasFace ? cond : NO_FACE_TWIN[cond]] += expanded[cond];
  const conditions = CONDITIONS.filter((cond) => merged[cond] !== 0);
  return { conditions, weights: conditions.map((cond) => merged[cond]) };
}

/** batchedEps is (n, C, h, w) with rows in plan order; returns the (C, h, w) guided epsilon. */
export function combineGuidance(batchedEps: Float32Array, plan: GuidancePlan): Float32Array {
  const n = plan.conditions.length;
  if (n === 0 || batchedEps.length % n !== 0) {
    throw new Error(`batchedEps of length ${batchedEps.length} does not split into ${n} rows`);
  }
  const size = batchedEps.length / n;
  const out = new Float32Array(size);
  for (let j = 0; j < size; j++) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += plan.weights[i] * batchedEps[i * size + j];
    out[j] = sum;
  }
  return out;
}
