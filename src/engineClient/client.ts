/**
 * The UI's handle on the engine worker: the EngineApi with errors decoded to EngineErrors (with
 * `code`) and superseding generate() (see supersede.ts): a newer request stops the one in flight,
 * except that a draft lets the draft in flight finish; and terminate(), which ends the worker and
 * everything it holds (models, photos' embeddings).
 */
import * as Comlink from 'comlink';
import type { EngineApi, GenerateRequest, GenerateResult, Progress } from '../engineWorker/api';
import { toEngineError } from '../shared/engineError';
import { Superseding } from './supersede';

async function decoded<T>(call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (err) {
    throw toEngineError(err);
  }
}

export type EngineClient = EngineApi & { terminate(): void };

export function createEngineClient(): EngineClient {
  const worker = new Worker(new URL('../engineWorker/worker.ts', import.meta.url), { type: 'module', name: 'face0-engine' });
  const remote = Comlink.wrap<EngineApi>(worker);
  const generation = new Superseding<GenerateRequest, GenerateResult, Progress>(
    (req, onProgress) => decoded(remote.generate(req, Comlink.proxy(onProgress))),
    () => decoded(remote.cancel()),
    // During a drag each draft is shown before the next starts: something new appears at every draft's pace.
    (running, next) => !(running.draft && next.draft),
  );
  return {
    init: (bundleUrl, preference, onProgress) => decoded(remote.init(bundleUrl, preference, Comlink.proxy(onProgress))),
    analyzeImage: (image, pickFace) => decoded(remote.analyzeImage(image, pickFace)),
    promptInfo: (prompt) => decoded(remote.promptInfo(prompt)),
    randomFace: (seed) => decoded(remote.randomFace(seed)),
    warmUp: () => decoded(remote.warmUp()),
    generate: (req, onProgress) => generation.submit(req, onProgress),
    cancel: () => generation.cancel(),
    terminate: () => {
      remote[Comlink.releaseProxy]();
      worker.terminate();
    },
  };
}
