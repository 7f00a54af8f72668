/// <reference lib="webworker" />
/** Module worker entry: exposes the Engine through comlink; every failure leaves as an EngineError. */
import * as Comlink from 'comlink';
import type { EngineApi } from './api';
import { Engine } from './engine';
import { toEngineError } from '../shared/engineError';

const engine = new Engine();

/** Rethrows any failure as an EngineError (its code travels in Error.name); the worker keeps serving. */
async function guard<T>(job: () => T | Promise<T>): Promise<T> {
  try {
    return await job();
  } catch (err) {
    const e = toEngineError(err);
    if (e.code === 'internal') console.error('[engine]', err);
    throw e;
  }
}

const api: EngineApi = {
  init: (bundleUrl, preference, onProgress) => guard(() => engine.init(bundleUrl, preference, onProgress)),
  analyzeImage: (image, pickFace) =>
    guard(async () => {
      const a = await engine.analyzeImage(image, pickFace);
      return Comlink.transfer(a, [a.crop.rgba.buffer, a.embedding.buffer]);
    }),
  promptInfo: (prompt) => guard(() => engine.promptInfo(prompt)),
  randomFace: (seed) =>
    guard(() => {
      const e = engine.randomFace(seed);
      return Comlink.transfer(e, [e.buffer]);
    }),
  generate: (req, onProgress) =>
    guard(async () => {
      const r = await engine.generate(req, onProgress);
      return Comlink.transfer(r, [r.rgba.buffer]);
    }),
  warmUp: () => guard(() => engine.warmUp()),
  cancel: () => guard(() => engine.cancel()),
};

Comlink.expose(api);
