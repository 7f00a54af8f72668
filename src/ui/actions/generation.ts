import { Rng } from '../../diffusion/rng';
import type { GenerateRequest, GenerateResult } from '../../engineWorker/api';
import { toEngineError } from '../../shared/engineError';
import { sampleFacePrior } from '../../face/embeddingOps';
import { randomFaceSeed, type FaceSnapshot, type ImageSettings } from '../../results/imageSettings';
import { guidanceOf, useStore, type AppState, type FaceSlot } from '../../store';
import { noteBackendSwitch } from './backendSwitch';
import type { EngineClient } from '../../engineClient/client';
import { mixFaces } from '../faceMix';
import { addToGallery } from './gallery';
import { noticeFromError } from '../messages';

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

/**
 * What a request is for: a draft while a slider is dragged (fewer steps, never kept), the main
 * image (step previews shown as it is made) or an image of a batch (full steps, nothing shows its
 * step previews).
 */
export type RequestKind = 'draft' | 'final' | 'batch';

export interface Job {
  req: GenerateRequest;
  settings: ImageSettings;
  /** The embedding the request carries (null: no face). */
  faceEmbedding: Float32Array | null;
}

function snapshot(slot: FaceSlot): FaceSnapshot | null {
  if (slot.source === 'none' || slot.embedding === null) return null;
  return { source: slot.source, label: slot.label, randomSeed: slot.randomSeed, embedding: slot.embedding, crops: slot.crops };
}

/** What the controls describe, with `seed` in place of the seed control when given (variations). */
export function jobFromState(s: AppState, kind: RequestKind = 'final', seed = s.seed): Job {
  if (s.info === null) throw new Error('jobFromState before the bundle loaded');
  const manifest = s.info.manifest;
  const { w, c, a, steps } = guidanceOf(s);
  const faceSeed = s.randomFacePerImage ? randomFaceSeed(seed) : null;
  const faceA = faceSeed === null ? snapshot(s.faces.A) : null;
  const faceB = faceSeed === null ? snapshot(s.faces.B) : null;
  const embedding =
    faceSeed !== null
      ? sampleFacePrior(manifest.face_prior, new Rng(faceSeed))
      : mixFaces({ a: faceA?.embedding ?? null, b: faceB?.embedding ?? null, t: s.t, variety: s.variety, seed });
  const settings: ImageSettings = {
    prompt: s.prompt,
    seed,
    w,
    c,
    a,
    steps,
    faceA,
    faceB,
    t: s.t,
    variety: s.variety,
    randomFaceSeed: faceSeed,
    model: manifest.name,
    bundle: s.bundleName,
  };
  return {
    req: {
      prompt: s.prompt,
      face: embedding === null ? { kind: 'none' } : { kind: 'embedding', embedding },
      w,
      c,
      a,
      steps: kind === 'draft' ? draftSteps(steps, s.result) : steps,
      seed,
      previews: kind === 'final',
      draft: kind === 'draft',
    },
    // A draft's settings are the controls' (its own step count is on the result); drafts are never kept.
    settings,
    faceEmbedding: embedding,
  };
}

/** The face-slot state that restores a snapshot (no photo: only its embedding and crops were kept). */
export function slotFromSnapshot(face: FaceSnapshot | null): Partial<FaceSlot> {
  if (face === null) return { source: 'none', label: '', photo: null, crops: [], embedding: null, randomSeed: null };
  return { source: face.source, label: face.label, photo: null, crops: face.crops, embedding: face.embedding, randomSeed: face.randomSeed };
}

/**
 * Sends the main image's request; the engine client cancels the previous one (or, for a draft after
 * a draft, lets it finish), whose rejection ('cancelled') is ignored. Step previews of this request
 * are shown as they come. A finished full image enters the gallery; a draft is only shown. A
 * 'webgpu_failed' rejection means the engine switched to wasm: the same request is sent once more.
 */
export async function runGeneration(client: EngineClient, job: Job, retried = false): Promise<void> {
  const store = useStore.getState();
  const requestId = store.generation.requestId + 1;
  const version = store.paramsVersion;
  store.setGeneration({ requestId, pending: false, running: true, step: 0, steps: job.req.steps, decoding: false });
  const isCurrent = () => useStore.getState().generation.requestId === requestId;
  try {
    const result = await client.generate(job.req, (p) => {
      if (!isCurrent()) return;
      const s = useStore.getState();
      if (p.kind === 'step') s.setGeneration({ step: p.step, steps: p.steps });
      else if (p.kind === 'preview') s.setPreview({ requestId, version, step: p.step, steps: p.steps, image: p.image });
      else if (p.kind === 'decode') s.setGeneration({ decoding: true });
    });
    const s = useStore.getState();
    const shown = { ...result, requestId, steps: job.req.steps, settings: job.settings, faceEmbedding: job.faceEmbedding, version };
    s.setResult(job.req.draft === true ? { ...shown, draft: true } : addToGallery(shown));
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
    if (noteBackendSwitch(err) && !retried) await runGeneration(client, job, true);
  }
}
