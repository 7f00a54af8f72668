import { toEngineError } from '../../shared/engineError';
import { useStore } from '../../store';
import { noticeFromError } from '../messages';

/**
 * A 'webgpu_failed' error means the engine has moved every session to wasm (device lost or a WebGPU
 * run failed): the header's badge follows it and a lasting warning gives the reason. Returns whether
 * `err` was such a switch.
 */
export function noteBackendSwitch(err: unknown): boolean {
  const e = toEngineError(err);
  if (e.code !== 'webgpu_failed') return false;
  useStore.setState((s) => (s.info ? { info: { ...s.info, backend: 'wasm', fallbackReason: `WebGPU failed: ${e.message}` } } : {}));
  useStore.getState().raise('backend', noticeFromError(e));
  return true;
}
