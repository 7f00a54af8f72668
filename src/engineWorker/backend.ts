import type { Backend, BackendPreference } from './api';

export interface BackendEnvironment {
  /** null when WebGPU is usable, otherwise why not (e.g. "no adapter"). */
  webgpuProblem: string | null;
  crossOriginIsolated: boolean;
  hardwareConcurrency: number;
}

export interface BackendChoice {
  backend: Backend;
  wasmThreads: number;
  fallbackReason: string | null;
}

const MAX_WASM_THREADS = 4;

/** Threads for the wasm backend: several only when SharedArrayBuffer exists (cross-origin isolation). */
export function wasmThreadCount(env: BackendEnvironment): number {
  if (!env.crossOriginIsolated) return 1;
  return Math.max(1, Math.min(MAX_WASM_THREADS, Math.floor(env.hardwareConcurrency || 1)));
}

export function chooseBackend(preference: BackendPreference, env: BackendEnvironment): BackendChoice {
  const wasmThreads = wasmThreadCount(env);
  if (preference === 'wasm') return { backend: 'wasm', wasmThreads, fallbackReason: null };
  if (env.webgpuProblem === null) return { backend: 'webgpu', wasmThreads, fallbackReason: null };
  return { backend: 'wasm', wasmThreads, fallbackReason: `WebGPU unavailable: ${env.webgpuProblem}` };
}

/** Probes navigator.gpu in the current (worker) global; returns null when an adapter is available. */
export async function probeWebGpu(): Promise<string | null> {
  const gpu = (globalThis.navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  if (!gpu) return 'navigator.gpu is missing';
  try {
    const adapter = await gpu.requestAdapter();
    return adapter ? null : 'no adapter';
  } catch (err) {
    return `requestAdapter failed: ${err instanceof Error ? err.message : String(err)}`;
  }
}
