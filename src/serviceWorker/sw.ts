/// <reference lib="webworker" />
/**
 * The app's service worker (built to sw.js at the app's root by vite-plugins/serviceWorker.ts;
 * registered by src/offline/serviceWorkerClient.ts). It makes the built app work unchanged on a
 * static host that sends no special headers, and after the first visit without a network:
 *
 * - Every same-origin response it serves gets the headers the dev and preview servers send
 *   (src/security/headers.ts): COOP + COEP, so the page is cross-origin isolated and wasm runs
 *   multi-threaded, and the CSP (connect-src 'self'), for the page and for every worker, whose
 *   policy comes from its own script's response. The page reloads once on a first visit to get them
 *   (the technique of coi-serviceworker).
 * - Network first, Cache Storage second: every file the app fetches (page, code, onnxruntime's and
 *   MediaPipe's wasm, the bundle's graphs and vocabulary) is kept, and served from there when the
 *   network fails. Online, files come from the host as before, so a new build or bundle is seen at
 *   once; a file the host reports unchanged (ETag / Last-Modified) is not rewritten.
 *
 * Requests to other origins are not handled here: the browser applies the page's CSP to them. This
 * script's own global has no CSP (its response comes from the host); it fetches nothing but the
 * same-origin requests it is given.
 */
import { securityHeaders } from '../security/headers';
import { cacheKey, isStorable, OFFLINE_CACHE, sameFile, staleBuildFiles, withHeaders } from './cachePolicy';

declare const self: ServiceWorkerGlobalScope;
/** This build's files under assets/, written into sw.js at build time (so a new build also updates this script). */
declare const __FACE0_BUILD_ASSETS__: readonly string[];

const HEADERS = securityHeaders(false);

self.addEventListener('install', (event) => {
  // A new version takes over at once: its caching and headers are compatible with any page.
  event.waitUntil(self.skipWaiting());
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) {
        if (name.startsWith('face0-offline-') && name !== OFFLINE_CACHE) await caches.delete(name);
      }
      const cache = await caches.open(OFFLINE_CACHE);
      const kept = (await cache.keys()).map((request) => request.url);
      await Promise.all(staleBuildFiles(kept, self.registration.scope, __FACE0_BUILD_ASSETS__).map((url) => cache.delete(url)));
      await self.clients.claim();
    })(),
  );
});

self.addEventListener('fetch', (event) => {
  const { request } = event;
  if (request.method !== 'GET' || !request.url.startsWith(self.registration.scope) || request.headers.has('range')) return;
  event.respondWith(respond(event, request));
});

async function respond(event: FetchEvent, request: Request): Promise<Response> {
  const key = cacheKey(request.url, self.registration.scope);
  let response: Response;
  try {
    response = await fetch(request);
  } catch (err) {
    const kept = await caches.match(key, { cacheName: OFFLINE_CACHE, ignoreVary: true });
    if (!kept) throw err;
    return withHeaders(kept, HEADERS);
  }
  if (isStorable(response)) event.waitUntil(keep(key, response.clone()));
  return withHeaders(response, HEADERS);
}

async function keep(key: string, response: Response): Promise<void> {
  const cache = await caches.open(OFFLINE_CACHE);
  const kept = await cache.match(key, { ignoreVary: true });
  if (kept && sameFile(kept.headers, response.headers)) {
    await response.body?.cancel();
    return;
  }
  await cache.put(key, response);
}
