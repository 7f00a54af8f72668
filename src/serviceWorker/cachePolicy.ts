/**
 * The service worker's decisions, apart from its I/O: which responses it keeps for offline use,
 * under which key, when a kept one need not be written again, and which kept files an update
 * makes stale.
 */

/** The Cache Storage cache that holds the app's offline copy (page, code, runtimes, bundles). */
export const OFFLINE_CACHE = 'face0-offline-v1';

/** Response statuses that must not carry a body (the Response constructor refuses one). */
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

/**
 * The key a response is kept under: its URL without query or fragment (a static host serves the same
 * file whatever the query, and the app's page is opened with ?bundle=, ?backend=...), and the app's
 * page as its folder, so that "/" and "/index.html" are one entry.
 */
export function cacheKey(url: string, scope: string): string {
  const u = new URL(url);
  u.search = '';
  u.hash = '';
  return u.href === new URL('index.html', scope).href ? scope : u.href;
}

/** Only whole, final, plain answers are kept: no errors, partial content, redirects or no-store. */
export function isStorable(response: Response): boolean {
  return (
    response.status === 200 &&
    !response.redirected &&
    !/(^|,)\s*no-store\s*(,|$)/i.test(response.headers.get('cache-control') ?? '')
  );
}

/**
 * True when `fresh` is the file already kept, by the validators the host sent: its ETag, or else its
 * Last-Modified date and length. Then the (up to tens of megabytes) body is not written again.
 */
export function sameFile(kept: Headers, fresh: Headers): boolean {
  const etag = fresh.get('etag');
  if (etag !== null) return etag === kept.get('etag');
  const modified = fresh.get('last-modified');
  const length = fresh.get('content-length');
  return modified !== null && length !== null && modified === kept.get('last-modified') && length === kept.get('content-length');
}

/**
 * Kept files that an update made stale: build outputs under assets/ (content-hashed names) that the
 * current build does not have. Files with stable names (the page, runtimes, bundles) are refreshed
 * in place whenever they are fetched online.
 */
export function staleBuildFiles(keptUrls: readonly string[], scope: string, buildAssets: readonly string[]): string[] {
  const assetsFolder = new URL('assets/', scope).href;
  const current = new Set(buildAssets.map((path) => new URL(path, scope).href));
  return keptUrls.filter((url) => url.startsWith(assetsFolder) && !current.has(url));
}

/**
 * `response` with `headers` added (replacing the host's values). Redirects and opaque responses go
 * as they are: a rebuilt response would lose the final URL that relative imports resolve against.
 */
export function withHeaders(response: Response, headers: Record<string, string>): Response {
  if (response.status === 0 || response.redirected) return response;
  const merged = new Headers(response.headers);
  for (const [name, value] of Object.entries(headers)) merged.set(name, value);
  return new Response(NULL_BODY_STATUSES.has(response.status) ? null : response.body, {
    status: response.status,
    statusText: response.statusText,
    headers: merged,
  });
}
