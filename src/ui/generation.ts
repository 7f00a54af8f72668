import type { GenerateRequest } from '../engine/api';
import { toEngineError } from '../engine/errors';
import { useStore, type AppState } from '../store';
import type { EngineClient } from './engineContext';
import { noteBackendSwitch } from './backendSwitch';
import { mixFaces } from './faceMix';
import { noticeFromError } from './messages';

/** The request the current controls describe. */
export function requestFromState(s: AppState): GenerateRequest {
  const embedding = mixFaces({ a: s.faces.A.embedding, b: s.faces.B.embedding, t: s.t, variety: s.variety, seed: s.seed });
  return {
    prompt: s.prompt,
    face: embedding === null ? { kind: 'none' } : { kind: 'embedding', embedding },
    w: s.w,
    c: s.c,
    a: s.a,
    steps: s.steps,
    seed: s.seed,
  };
}

/**
 * Sends one request; the engine client cancels the previous one, whose rejection ('cancelled') is ignored.
 * A 'webgpu_failed' rejection means the engine switched to wasm: the same request is sent once more.
 */
export async function runGeneration(client: EngineClient, req: GenerateRequest, retried = false): Promise<void> {
  const store = useStore.getState();
  const requestId = store.generation.requestId + 1;
  store.setGeneration({ requestId, pending: false, running: true, step: 0, steps: req.steps, decoding: false });
  const isCurrent = () => useStore.getState().generation.requestId === requestId;
  try {
    const result = await client.generate(req, (p) => {
      if (!isCurrent()) return;
      if (p.kind === 'step') useStore.getState().setGeneration({ step: p.step, steps: p.steps });
      else if (p.kind === 'decode') useStore.getState().setGeneration({ decoding: true });
    });
    const s = useStore.getState();
    s.setResult({ ...result, requestId, steps: req.steps });
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
