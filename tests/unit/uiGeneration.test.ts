/** Draft step counts while a slider is dragged (src/ui/actions/generation.ts draftSteps). */
import { describe, expect, it } from 'vitest';
import { DRAFT_BUDGET_MS, draftSteps, MIN_DRAFT_STEPS } from '../../src/ui/actions/generation';

/** The timing of a finished image: `steps` U-Net calls of `stepMs`, a decoder and projector run, a text encoder run. */
function timing(steps: number, stepMs: number, decoderMs: number, textMs = 0) {
  return {
    ms: steps * stepMs + decoderMs + 5 + textMs,
    unetCalls: steps,
    graphTimes: {
      unet: { calls: steps, ms: steps * (stepMs - 2) },
      vae_decoder: { calls: 1, ms: decoderMs },
      face_projector: { calls: 1, ms: 5 },
      ...(textMs ? { text_encoder: { calls: 1, ms: textMs } } : {}),
    },
  };
}

describe('draftSteps', () => {
  it('fits the draft into the budget from the last image: decoder once, the U-Net per step', () => {
    // 100 ms per step, 40 ms decoder + 5 ms projector: (450 - 45) / 100 -> 4 steps.
    expect(draftSteps(10, timing(10, 100, 40))).toBe(4);
    // The text encoder's run (a new prompt) does not count: drags reuse the cached encoding.
    expect(draftSteps(10, timing(10, 100, 40, 300))).toBe(4);
    expect(DRAFT_BUDGET_MS).toBe(450);
  });

  it('takes every step when the full image fits the budget, and never fewer than the minimum', () => {
    expect(draftSteps(10, timing(10, 20, 30))).toBe(10);
    expect(draftSteps(10, timing(10, 800, 200))).toBe(MIN_DRAFT_STEPS);
    expect(draftSteps(1, timing(1, 800, 200))).toBe(1);
  });

  it('uses a third of the steps before any image has been timed', () => {
    expect(draftSteps(10, null)).toBe(4);
    expect(draftSteps(3, null)).toBe(MIN_DRAFT_STEPS);
  });
});
