/** Fetches a bundle: manifest.json (validated) and every listed file, streamed, size- and sha256-checked. */
import type { Manifest } from './manifest';
import { bundleError, validateManifest } from './validate';

export interface LoadedBundle {
  manifest: Manifest;
  /** Bytes of every file in manifest.files, by bundle-relative path. */
  files: Map<string, Uint8Array>;
}

/**
 * A bundle whose manifest is checked and whose files are still arriving, one at a time in manifest
 * order, so that sessions can be created from the first files while the later ones download.
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

async function readExactly(res: Response, file: string, expected: number, onProgress: LoadProgress): Promise<Uint8Array> {
  const out = new Uint8Array(expected);
  let loaded = 0;
  let reported = 0;
  onProgress(file, 0, expected);
  if (!res.body) throw bundleError(file, ['response has no body']);
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
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
  const res = await get(fetchFn, new URL('manifest.json', bundleBase(bundleUrl)), 'manifest.json');
  let raw: unknown;
  try {
    raw = JSON.parse(await res.text());
  } catch (err) {
    throw bundleError('manifest.json', [`is not valid JSON (${err instanceof Error ? err.message : String(err)})`]);
  }
  return validateManifest(raw);
}

/** Starts fetching every file of the bundle; returns once manifest.json is fetched and validated. */
export async function openBundle(
  bundleUrl: string,
  onProgress: LoadProgress,
  fetchFn: Fetch = fetch,
  timer: PhaseTimer = untimed,
): Promise<ArrivingBundle> {
  const manifest = await timer.time('manifest', () => fetchManifest(bundleUrl, fetchFn));
  const base = bundleBase(bundleUrl);
  const files = new Map<string, Uint8Array>();
  const waiting = new Map<string, { resolve: (bytes: Uint8Array) => void; reject: (err: unknown) => void }>();
  const arrivals = new Map<string, Promise<Uint8Array>>();
  for (const path of Object.keys(manifest.files)) {
    const arrival = new Promise<Uint8Array>((resolve, reject) => waiting.set(path, { resolve, reject }));
    arrival.catch(() => undefined); // a failure reaches whoever awaits it, or `complete`; never "unhandled"
    arrivals.set(path, arrival);
  }
  // One file at a time keeps peak memory at the bundle size and progress easy to follow.
  const complete = (async () => {
    try {
      for (const [path, entry] of Object.entries(manifest.files)) {
        const bytes = await timer.time(`fetch ${path}`, async () => {
          const res = await get(fetchFn, new URL(path, base), path);
          return readExactly(res, path, entry.bytes, onProgress);
        });
        const actual = await timer.time(`sha256 ${path}`, () => sha256Hex(bytes));
        if (actual !== entry.sha256) throw bundleError(path, [`sha256 mismatch (expected ${entry.sha256}, got ${actual})`]);
        files.set(path, bytes);
        waiting.get(path)!.resolve(bytes);
      }
    } catch (err) {
      for (const { reject } of waiting.values()) reject(err); // no-ops for the files that arrived
      throw err;
    }
    return { manifest, files };
  })();
  complete.catch(() => undefined);
  return {
    manifest,
    arrived: (path) => arrivals.get(path) ?? Promise.reject(bundleError(path, ['is not listed in manifest.files'])),
    complete,
  };
}
