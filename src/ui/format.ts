import type { EngineInfo } from '../engineWorker/api';

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MB`;
}

export function formatMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

export function backendLabel(info: Pick<EngineInfo, 'backend' | 'wasmThreads'>): string {
  if (info.backend === 'webgpu') return 'WebGPU';
  return `wasm, ${info.wasmThreads} thread${info.wasmThreads === 1 ? '' : 's'}`;
}
