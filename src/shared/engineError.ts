/** What the engine's failures are, shared by every room that raises or shows them (the UI maps codes to messages). */
export type EngineErrorCode =
  | 'not_an_image' | 'corrupt_image' | 'no_face' | 'bad_bundle' | 'webgpu_failed' | 'cancelled' | 'internal';

const CODES: readonly EngineErrorCode[] = [
  'not_an_image',
  'corrupt_image',
  'no_face',
  'bad_bundle',
  'webgpu_failed',
  'cancelled',
  'internal',
];

// comlink transfers only an Error's name, message and stack, so the code rides in the name.
const NAME_PREFIX = 'EngineError:';

export class EngineError extends Error {
  readonly code: EngineErrorCode;

  constructor(code: EngineErrorCode, message: string) {
    super(message);
    this.code = code;
    this.name = NAME_PREFIX + code;
  }
}

function describe(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  if (typeof err === 'string') return err;
  // ORT's wasm layer sometimes throws plain numbers (pointers to C++ exceptions).
  return `unexpected error (${String(err)})`;
}

/** Any thrown value as an EngineError; unknown failures become 'internal' with their message kept. */
export function toEngineError(err: unknown): EngineError {
  if (err instanceof EngineError) return err;
  if (err instanceof Error && err.name.startsWith(NAME_PREFIX)) {
    const code = err.name.slice(NAME_PREFIX.length) as EngineErrorCode;
    if (CODES.includes(code)) return new EngineError(code, err.message);
  }
  return new EngineError('internal', describe(err));
}

/**
 * The WebGPU device was lost: during a graph's run, during the pipeline's own GPU work between runs
 * ('generation'), or before this run began (null).
 */
export function deviceLostError(during: string | null, reason: string): EngineError {
  return new EngineError('webgpu_failed', during === null ? `device lost: ${reason}` : `device lost during ${during}: ${reason}`);
}
