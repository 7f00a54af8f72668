import type { Backend, GenerateRequest, GraphTimes } from '../engineWorker/api';
import { useStore, type AppState } from '../store';
import type { EngineClient } from '../engineClient/client';
import type { UrlOptions } from './urlOptions';

export interface TimedGeneration {
  /** Engine-reported time for the whole request. */
  ms: number;
  /** Main-thread time from the call to the resolved promise. */
  wallMs: number;
  unetCalls: number;
  unetBatch: number;
  backend: Backend;
  graphTimes: GraphTimes;
}

/** What e2e tests and the benchmark reach through page.evaluate (only with ?test=1). */
export interface Face0TestHook {
  client: EngineClient;
  options: UrlOptions;
  state(): AppState;
  timedGenerate(req: GenerateRequest): Promise<TimedGeneration>;
}

declare global {
  interface Window {
    __face0?: Face0TestHook;
  }
}

export function installTestHook(client: EngineClient, options: UrlOptions): void {
  window.__face0 = {
    client,
    options,
    state: () => useStore.getState(),
    async timedGenerate(req) {
      const start = performance.now();
      const r = await client.generate(req, () => {});
      return {
        ms: r.ms,
        wallMs: performance.now() - start,
        unetCalls: r.unetCalls,
        unetBatch: r.unetBatch,
        backend: r.backend,
        graphTimes: r.graphTimes,
      };
    },
  };
}
