/**
 * The page's side of the service worker (src/serviceWorker/sw.ts): register it and, on a first visit,
 * reload once so that the page itself comes through it, with the headers that make it cross-origin
 * isolated and the CSP. Runs before anything else starts (src/main.tsx).
 */
import { appRoot } from '../appRoot';

export type OfflineStatus =
  /** The page came through the service worker: headers applied, files kept for offline use. */
  | { kind: 'active' }
  /** Dev server: no service worker (it would keep modules that hot reload replaces); the server sends the headers. */
  | { kind: 'dev' }
  /** No service worker; `reason` says why. The host's own headers, if any, still apply. */
  | { kind: 'unavailable'; reason: string };

/** Set for the one reload of a first visit, so that a page that still is not controlled does not reload forever. */
const RELOADED = 'face0-service-worker-reload';

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

/**
 * Registers the service worker; resolves with the status, or never when the page is reloading to
 * come under the worker's control (the first visit, or after a hard reload, which bypasses it).
 */
export async function startServiceWorker(): Promise<OfflineStatus> {
  if (import.meta.env.DEV) return { kind: 'dev' };
  const container = navigator.serviceWorker as ServiceWorkerContainer | undefined;
  if (!container) {
    return { kind: 'unavailable', reason: 'this browser offers no service worker here (it needs HTTPS or localhost, and private windows may turn it off)' };
  }
  const root = appRoot();
  try {
    await container.register(new URL('sw.js', root), { scope: root.href });
  } catch (err) {
    return { kind: 'unavailable', reason: `the service worker could not be registered (${message(err)})` };
  }
  if (container.controller) {
    sessionStorage.removeItem(RELOADED);
    return { kind: 'active' };
  }
  if (sessionStorage.getItem(RELOADED) !== null) {
    sessionStorage.removeItem(RELOADED);
    return { kind: 'unavailable', reason: 'the page did not come under the service worker even after a reload' };
  }
  await container.ready;
  sessionStorage.setItem(RELOADED, '1');
  location.reload();
  return new Promise<never>(() => undefined);
}

/** What the user is told when the app runs without its service worker; null when nothing is missing. */
export function offlineNotice(status: OfflineStatus, isolated: boolean): string | null {
  if (status.kind !== 'unavailable') return null;
  const threads = isolated ? '' : '; wasm runs on one thread (the page is not cross-origin isolated)';
  return `${status.reason}${threads}`;
}
