import type { BackendPreference } from '../engineWorker/api';

export interface UrlOptions {
  bundleName: string;
  /** The bundle folder (a URL or an absolute path), ending in '/'. */
  bundleUrl: string;
  backend: BackendPreference;
  /** ?test=1 exposes window.__face0 for the e2e tests and the benchmark. */
  test: boolean;
  /** Overrides the bundle's default step count (e2e runs on slow software WebGPU use few steps). */
  steps: number | null;
  /** ?warmup=0 skips warming the graphs after load (the bench's control measurement). */
  warmup: boolean;
  /** Problems with the parameters, shown to the user; the defaults are used instead. */
  problems: string[];
}

const DEFAULT_BUNDLE = 'default';
// A bundle is a folder under /models/: anything else (paths, URLs) would escape it.
const BUNDLE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const BACKENDS: readonly BackendPreference[] = ['auto', 'wasm', 'webgpu'];
const MAX_STEPS = 200;

export function parseUrlOptions(search: string, modelsBase = '/models/'): UrlOptions {
  const params = new URLSearchParams(search);
  const problems: string[] = [];

  let bundleName = params.get('bundle') ?? DEFAULT_BUNDLE;
  if (!BUNDLE_NAME.test(bundleName) || bundleName.includes('..')) {
    problems.push(`Invalid bundle name "${bundleName}": using "${DEFAULT_BUNDLE}"`);
    bundleName = DEFAULT_BUNDLE;
  }

  let backend: BackendPreference = 'auto';
  const backendParam = params.get('backend');
  if (backendParam !== null) {
    if ((BACKENDS as readonly string[]).includes(backendParam)) backend = backendParam as BackendPreference;
    else problems.push(`Unknown backend "${backendParam}": choosing automatically`);
  }

  let steps: number | null = null;
  const stepsParam = params.get('steps');
  if (stepsParam !== null) {
    const n = Number(stepsParam);
    if (Number.isInteger(n) && n >= 1 && n <= MAX_STEPS) steps = n;
    else problems.push(`Invalid steps "${stepsParam}": using the bundle's default`);
  }

  const warmupParam = params.get('warmup');
  if (warmupParam !== null && warmupParam !== '0' && warmupParam !== '1') problems.push(`Invalid warmup "${warmupParam}": use 0 or 1`);

  return {
    bundleName,
    bundleUrl: `${modelsBase}${bundleName}/`,
    backend,
    test: params.get('test') === '1',
    steps,
    warmup: warmupParam !== '0',
    problems,
  };
}
