import { Rng } from '../diffusion/rng';
import type { GenerateRequest } from '../engine/api';
import { toEngineError } from '../engine/errors';
import { sampleFacePrior } from '../face/embeddingOps';
import { randomFaceSeed, type FaceSnapshot, type ImageSettings } from '../results/imageSettings';
import { useStore, type AppState, type FaceSlot } from '../store';
import { noteBackendSwitch } from './backendSwitch';
import type { EngineClient } from './engineContext';
import { mixFaces } from './faceMix';
import { addToGallery } from './gallery';
import { noticeFromError } from './messages';

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
export function jobFromState(s: AppState, seed = s.seed): Job {
  if (s.info === null) throw new Error('jobFromState before the bundle loaded');
  const manifest = s.info.manifest;
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
    w: s.w,
    c: s.c,
    a: s.a,
    steps: s.steps,
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
      w: s.w,
      c: s.c,
      a: s.a,
      steps: s.steps,
      seed,
    },
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
 * Sends the main image's request; the engine client cancels the previous one, whose rejection
 * ('cancelled') is ignored. A 'webgpu_failed' rejection means the engine switched to wasm: the same
 * request is sent once more.
 */
export async function runGeneration(client: EngineClient, job: Job, retried = false): Promise<void> {
  const store = useStore.getState();
  const requestId = store.generation.requestId + 1;
  store.setGeneration({ requestId, pending: false, running: true, step: 0, steps: job.req.steps, decoding: false });
  const isCurrent = () => useStore.getState().generation.requestId === requestId;
  try {
    const result = await client.generate(job.req, (p) => {
      if (!isCurrent()) return;
      if (p.kind === 'step') useStore.getState().setGeneration({ step: p.step, steps: p.steps });
      else if (p.kind === 'decode') useStore.getState().setGeneration({ decoding: true });
    });
    const s = useStore.getState();
    s.setResult(addToGallery({ ...result, requestId, steps: job.req.steps, settings: job.settings, faceEmbedding: job.faceEmbedding }));
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
