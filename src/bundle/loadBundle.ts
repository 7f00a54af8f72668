/** Fetches a bundle: manifest.json (validated) and every listed file, streamed, size- and sha256-checked. */
import { Arrivals } from './arrivals';
import { fetchOrder } from './fetchOrder';
import { MANIFEST_FILE, type Manifest } from './manifest';
import { bundleError, validateManifest } from './validate';

export interface LoadedBundle {
  manifest: Manifest;
  /** Bytes of every file in manifest.files, by bundle-relative path. */
  files: Map<string, Uint8Array>;
}

/**
 * A bundle whose manifest is checked and whose files are still arriving, one at a time in the order
 * they are needed, so that sessions can be created from the first files while the later ones download.
 */
export interface ArrivingBundle extends BundleSource {
  /** Every file, once all have arrived. */
  complete: Promise<LoadedBundle>;
}

/** What session creation reads from a bundle: its manifest, and each file when it has arrived. */
export interface BundleSource {
  manifest: Manifest;
  /** The file's bytes once fetched and verified; rejects with the failure of it or of a file before it. */
  arrived(path: string): Promise<Uint8Array>;
}

export type LoadProgress = (file: string, loadedBytes: number, totalBytes: number) => void;

type Fetch = (url: string) => Promise<Response>;

/** Where openBundle reports the duration of its phases ('manifest', 'fetch <file>', 'sha256 <file>'). */
export interface PhaseTimer {
  time<T>(phase: string, job: () => Promise<T>): Promise<T>;
}

const untimed: PhaseTimer = { time: (_phase, job) => job() };

export interface OpenOptions {
  fetchFn?: Fetch;
  timer?: PhaseTimer;
  /** The files to fetch first, in this order, given the manifest; the rest follow in manifest order. */
  order?: (manifest: Manifest) => readonly string[];
}

/** Progress is reported at most every this many bytes (plus at the end of each file). */
const PROGRESS_EVERY = 1 << 20;

function bundleBase(bundleUrl: string): URL {
  const withSlash = bundleUrl.endsWith('/') ? bundleUrl : `${bundleUrl}/`;
  return new URL(withSlash, globalThis.location?.href);
}

async function get(fetchFn: Fetch, url: URL, file: string): Promise<Response> {
  let res: Response;
  try {
    res = await fetchFn(url.href);
  } catch (err) {
    throw bundleError(file, [`could not be fetched from ${url.href} (${err instanceof Error ? err.message : String(err)})`]);
  }
  if (!res.ok) throw bundleError(file, [`HTTP ${res.status} ${res.statusText} at ${url.href}`.trim()]);
  return res;
}

async function readExactly(
  res: Response,
  file: string,
  expected: number,
  onProgress: LoadProgress,
): Promise<Uint8Array> {
  const out = new Uint8Array(expected);
  let loaded = 0;
  let reported = 0;
  onProgress(file, 0, expected);
  if (!res.body) throw bundleError(file, ['response has no body']);
  const reader = res.body.getReader();
  for (;;) {
    let chunk: ReadableStreamReadResult<Uint8Array>;
    try {
      chunk = await reader.read();
    } catch (err) {
      throw bundleError(file, [`download broke off after ${loaded} of ${expected} bytes (${err instanceof Error ? err.message : String(err)})`]);
    }
    const { done, value } = chunk;
    if (done) break;
    if (loaded + value.byteLength > expected) {
      await reader.cancel();
      throw bundleError(file, [`size mismatch (expected ${expected} bytes, got more)`]);
    }
    out.set(value, loaded);
    loaded += value.byteLength;
    if (loaded - reported >= PROGRESS_EVERY) {
      reported = loaded;
      onProgress(file, loaded, expected);
    }
  }
  if (loaded !== expected) throw bundleError(file, [`size mismatch (expected ${expected} bytes, got ${loaded})`]);
  onProgress(file, loaded, expected);
  return out;
}

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

export async function fetchManifest(bundleUrl: string, fetchFn: Fetch = fetch): Promise<Manifest> {
  const res = await get(fetchFn, new URL(MANIFEST_FILE, bundleBase(bundleUrl)), MANIFEST_FILE);
  let raw: unknown;
  try {
    raw = JSON.parse(await res.text());
  } catch (err) {
    throw bundleError(MANIFEST_FILE, [`is not valid JSON (${err instanceof Error ? err.message : String(err)})`]);
  }
  return validateManifest(raw);
}

/** Starts fetching every file of the bundle; returns once manifest.json is fetched and validated. */
export async function openBundle(
  bundleUrl: string,
  onProgress: LoadProgress,
  { fetchFn = fetch, timer = untimed, order = () => [] }: OpenOptions = {},
): Promise<ArrivingBundle> {
  const manifest = await timer.time('manifest', () => fetchManifest(bundleUrl, fetchFn));
  const base = bundleBase(bundleUrl);
  const arrivals = new Arrivals(Object.keys(manifest.files));
  // One file at a time keeps peak memory at the bundle size and progress easy to follow.
  const complete = (async () => {
    try {
      for (const path of fetchOrder(manifest, order(manifest))) {
        const entry = manifest.files[path];
        const bytes = await timer.time(`fetch ${path}`, async () => {
          const res = await get(fetchFn, new URL(path, base), path);
          return readExactly(res, path, entry.bytes, onProgress);
        });
        const actual = await timer.time(`sha256 ${path}`, () => sha256Hex(bytes));
        if (actual !== entry.sha256) throw bundleError(path, [`sha256 mismatch (expected ${entry.sha256}, got ${actual})`]);
        arrivals.deliver(path, bytes);
      }
    } catch (err) {
      arrivals.fail(err);
      throw err;
    }
    return { manifest, files: arrivals.files };
  })();
  complete.catch(() => undefined);
  return {
    manifest,
    arrived: (path) => arrivals.arrived(path),
    complete,
  };
}
