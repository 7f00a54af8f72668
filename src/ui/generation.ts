import type { GenerateRequest, GenerateResult } from '../engine/api';
import { toEngineError } from '../engine/errors';
import { useStore, type AppState } from '../store';
import type { EngineClient } from './engineContext';
import { noteBackendSwitch } from './backendSwitch';
import { mixFaces } from './faceMix';
import { noticeFromError } from './messages';

/**
 * Time one draft may take. A slider move waits for the draft in flight (at most this long), then its
 * own draft: something new appears within about twice this, under the ~1 s a drag needs to feel live.
 */
export const DRAFT_BUDGET_MS = 450;
/** Fewer DDIM steps than this give a shapeless image. */
export const MIN_DRAFT_STEPS = 2;

/**
 * Steps for a draft of a `steps`-step image, from the time the last image took: as many as fit
 * DRAFT_BUDGET_MS (the decoder and face projector run once per image, the U-Net once per step; the
 * prompt's encoding is cached during a drag), never fewer than MIN_DRAFT_STEPS nor more than `steps`.
 * Without a timing yet, a third of the steps.
 */
export function draftSteps(steps: number, last: Pick<GenerateResult, 'ms' | 'unetCalls' | 'graphTimes'> | null): number {
  const fit = (n: number) => Math.max(Math.min(MIN_DRAFT_STEPS, steps), Math.min(steps, n));
  if (last === null || last.unetCalls === 0) return fit(Math.ceil(steps / 3));
  const once = (last.graphTimes.vae_decoder?.ms ?? 0) + (last.graphTimes.face_projector?.ms ?? 0);
  const perStep = (last.ms - once - (last.graphTimes.text_encoder?.ms ?? 0)) / last.unetCalls;
  return fit(Math.floor((DRAFT_BUDGET_MS - once) / perStep));
}

export type RequestKind = 'draft' | 'final';

/** The request the current controls describe: a draft (fewer steps, no step previews) or the final image. */
export function requestFromState(s: AppState, kind: RequestKind = 'final'): GenerateRequest {
  const embedding = mixFaces({ a: s.faces.A.embedding, b: s.faces.B.embedding, t: s.t, variety: s.variety, seed: s.seed });
  return {
    prompt: s.prompt,
    face: embedding === null ? { kind: 'none' } : { kind: 'embedding', embedding },
    w: s.w,
    c: s.c,
    a: s.a,
    steps: kind === 'draft' ? draftSteps(s.steps, s.result) : s.steps,
    seed: s.seed,
    previews: kind === 'final',
    draft: kind === 'draft',
  };
}

/**
 * Sends one request; the engine client cancels the previous one (or, for a draft after a draft, lets
 * it finish), whose rejection ('cancelled') is ignored. Step previews of this request are shown as
 * they come. A 'webgpu_failed' rejection means the engine switched to wasm: the same request is sent
 * once more.
 */
export async function runGeneration(client: EngineClient, req: GenerateRequest, retried = false): Promise<void> {
  const store = useStore.getState();
  const requestId = store.generation.requestId + 1;
  const version = store.paramsVersion;
  store.setGeneration({ requestId, pending: false, running: true, step: 0, steps: req.steps, decoding: false });
  const isCurrent = () => useStore.getState().generation.requestId === requestId;
  try {
    const result = await client.generate(req, (p) => {
      if (!isCurrent()) return;
      const s = useStore.getState();
      if (p.kind === 'step') s.setGeneration({ step: p.step, steps: p.steps });
      else if (p.kind === 'preview') s.setPreview({ requestId, version, step: p.step, steps: p.steps, image: p.image });
      else if (p.kind === 'decode') s.setGeneration({ decoding: true });
    });
    const s = useStore.getState();
    s.setResult({ ...result, requestId, steps: req.steps, draft: req.draft === true, version });
    if (isCurrent()) {
      s.setGeneration({ running: false, decoding: false });
      s.resolve('generate');
    }
  } catch (err) {
    if (!isCurrent()) return;
    const s = useStore.getState();
    s.setGeneration({ running: false, decoding: false });
    const code = toEngineError(err).code;
    if (code === 'cancelled') return;
    s.raise('generate', noticeFromError(err, 'Generation'));
    if (noteBackendSwitch(err) && !retried) await runGeneration(client, req, true);
  }
}
