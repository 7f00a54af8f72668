/// <reference lib="webworker" />
/** Module worker entry: downloads and verifies a bundle for the engine worker (see bundlePort.ts). */
import { serveBundle } from './bundlePort';

serveBundle(self as DedicatedWorkerGlobalScope);
