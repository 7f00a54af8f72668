import { type EngineErrorCode, toEngineError } from '../shared/engineError';
import type { Notice } from '../store';

export type { AlertLevel, Notice } from '../store';


const TITLES: Record<EngineErrorCode, string> = {
  not_an_image: 'Not an image',
  corrupt_image: 'Corrupt or truncated image',
  no_face: 'No face found',
  bad_bundle: 'Unsupported or invalid model bundle',
  webgpu_failed: 'WebGPU failed: using wasm',
  cancelled: 'Cancelled',
  internal: 'Something went wrong',
};

/** A user-facing notice for anything the engine threw; `subject` names what was being done (a file name...). */
export function noticeFromError(err: unknown, subject?: string): Notice {
  const e = toEngineError(err);
  const detail = subject ? `${subject}: ${e.message}` : e.message;
  return { level: e.code === 'webgpu_failed' ? 'warning' : 'error', title: TITLES[e.code], detail };
}
