/**
 * What the app keeps in this browser, and "Forget everything on this device": every kind of storage a
 * web page has, for this origin (Cache Storage, the service worker, IndexedDB, localStorage,
 * sessionStorage, the origin-private file system), whichever part of the app wrote it.
 */

export interface KeptSummary {
  /** Files kept in Cache Storage (for offline use) and their bytes. */
  files: number;
  bytes: number;
}

export interface ForgetReport {
  caches: string[];
  serviceWorkers: number;
  databases: string[];
  /** IndexedDB databases that another open connection keeps alive; the browser deletes them once it closes. */
  blockedDatabases: string[];
  localStorageKeys: number;
  sessionStorageKeys: number;
  fileSystemEntries: number;
}

async function cachedBytes(response: Response): Promise<number> {
  const length = Number(response.headers.get('content-length'));
  return Number.isFinite(length) && length > 0 ? length : (await response.arrayBuffer()).byteLength;
}

/** The files kept for offline use, over every cache of this origin. */
export async function keptSummary(): Promise<KeptSummary> {
  let files = 0;
  let bytes = 0;
  if (typeof caches === 'undefined') return { files, bytes };
  for (const name of await caches.keys()) {
    const cache = await caches.open(name);
    for (const request of await cache.keys()) {
      const response = await cache.match(request);
      if (!response) continue;
      files++;
      bytes += await cachedBytes(response);
    }
  }
  return { files, bytes };
}

function deleteDatabase(name: string): Promise<'deleted' | 'blocked'> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.deleteDatabase(name);
    request.onsuccess = () => resolve('deleted');
    request.onerror = () => reject(request.error ?? new Error(`IndexedDB ${name} could not be deleted`));
    // The deletion stays queued and completes when the other connection closes.
    request.onblocked = () => resolve('blocked');
  });
}

async function clearFileSystem(): Promise<number> {
  const root = await navigator.storage?.getDirectory?.().catch(() => null);
  if (!root) return 0;
  const names: string[] = [];
  for await (const name of (root as FileSystemDirectoryHandle & { keys(): AsyncIterable<string> }).keys()) names.push(name);
  await Promise.all(names.map((name) => root.removeEntry(name, { recursive: true })));
  return names.length;
}

/**
 * Deletes everything this origin stored in the browser. The service worker goes first, so that it
 * keeps nothing more; its caches go after it.
 */
export async function forgetEverything(): Promise<ForgetReport> {
  const registrations = (await navigator.serviceWorker?.getRegistrations()) ?? [];
  await Promise.all(registrations.map((r) => r.unregister()));
  const cacheNames = typeof caches === 'undefined' ? [] : await caches.keys();
  await Promise.all(cacheNames.map((name) => caches.delete(name)));
  const databases = (await indexedDB.databases?.()) ?? [];
  const names = databases.map((d) => d.name).filter((name): name is string => typeof name === 'string');
  const outcomes = await Promise.all(names.map(deleteDatabase));
  const report: ForgetReport = {
    caches: cacheNames,
    serviceWorkers: registrations.length,
    databases: names,
    blockedDatabases: names.filter((_, i) => outcomes[i] === 'blocked'),
    localStorageKeys: localStorage.length,
    sessionStorageKeys: sessionStorage.length,
    fileSystemEntries: await clearFileSystem(),
  };
  localStorage.clear();
  sessionStorage.clear();
  return report;
}
