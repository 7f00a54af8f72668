// The built app on a plain static host (Python's http.server: no COOP, COEP or CSP header), in a
// sub-folder as on a GitHub Pages project site: its service worker gives the page and every worker
// cross-origin isolation and the CSP, nothing leaves the origin over MediaPipe's telemetry interval,
// the second visit works with the network off, and "Forget everything on this device" leaves
// nothing behind.
import { resolve } from 'node:path';
import { openApp, pixelStd, resultId, waitForApp, waitForImage } from './app.mjs';
import { assert, outputDir, ROOT, serveStatic } from './harness.mjs';

// MediaPipe's logger flushes every 60 s from its own setInterval in the engine worker. Playwright's
// fake clock (page.clock) does not reach workers, so the flow waits for real time to pass it.
const TELEMETRY_INTERVAL_MS = 60_000;
const PAST_INTERVAL_MS = TELEMETRY_INTERVAL_MS + 5_000;
const PHOTO = resolve(ROOT, '../shared/data/celeba-identities/id_00209/166636.jpg');
// The same request on the same backend and thread count; only thread-dependent summation order may differ.
const MAX_LEVEL_DIFF = 1;
const SHOTS = outputDir('test-output/e2e');

const maxLevelDiff = (a, b) => {
  let worst = 0;
  for (let i = 0; i < a.pixels.length; i++) if (i % 4 !== 3) worst = Math.max(worst, Math.abs(a.pixels[i] - b.pixels[i]));
  return worst;
};

/** Isolation, threads and the CSP of the page and its workers, as the page sees them. */
async function checkHeaders(page, label) {
  const s = await page.evaluate(async () => {
    const csp = async (url) => (await fetch(url)).headers.get('content-security-policy');
    return {
      isolated: self.crossOriginIsolated,
      controlled: navigator.serviceWorker.controller !== null,
      threads: window.__face0.state().info.wasmThreads,
      pageCsp: await csp(location.href),
    };
  });
  assert(s.controlled, `${label}: the page did not come through the service worker`);
  assert(s.isolated === true, `${label}: the page is not cross-origin isolated`);
  assert(s.threads >= 2, `${label}: wasm runs on ${s.threads} thread(s), expected >= 2`);
  assert(/connect-src 'self'(;|$)/.test(s.pageCsp ?? ''), `${label}: page served without connect-src 'self': ${s.pageCsp}`);
  const workers = [...new Set(page.workers().map((w) => w.url()))];
  assert(workers.some((u) => /\/assets\/worker-[^/]*\.js$/.test(u)), `${label}: no engine worker among ${workers.join(', ')}`);
  // onnxruntime-web's wasm threads are workers of its own script (on wasm its wasm-only build's, not the
  // JSEP build's): with one thread there are none.
  assert(workers.some((u) => /\/ort\/ort-wasm-simd-threaded\.mjs$/.test(u)), `${label}: no onnxruntime-web wasm-only thread worker among ${workers.join(', ')}`);
  for (const url of workers) {
    const csp = await page.evaluate(async (u) => (await fetch(u)).headers.get('content-security-policy'), url);
    assert(/connect-src 'self'(;|$)/.test(csp ?? ''), `${label}: worker ${url} served without connect-src 'self': ${csp}`);
  }
  return { threads: s.threads, workers: workers.length };
}

/** Listens for CSP violations inside the engine worker (where MediaPipe's logger runs): console reports do not show them. */
async function watchEngineWorker(page) {
  const engine = page.workers().find((w) => /\/assets\/worker-[^/]*\.js$/.test(w.url()));
  assert(engine, 'no engine worker');
  await engine.evaluate(() => {
    self.__violations = [];
    self.addEventListener('securitypolicyviolation', (e) => self.__violations.push(`${e.effectiveDirective} ${e.blockedURI}`));
  });
  return () => engine.evaluate(() => self.__violations);
}

async function cachedUrls(page) {
  return page.evaluate(async () => {
    const out = {};
    for (const name of await caches.keys()) out[name] = (await (await caches.open(name)).keys()).map((r) => r.url);
    return out;
  });
}

async function storedEverywhere(page) {
  return page.evaluate(async () => ({
    caches: await caches.keys(),
    serviceWorkers: (await navigator.serviceWorker.getRegistrations()).length,
    databases: (await indexedDB.databases()).map((d) => d.name),
    localStorage: localStorage.length,
    files: await (async () => {
      const names = [];
      for await (const name of (await navigator.storage.getDirectory()).keys()) names.push(name);
      return names.length;
    })(),
  }));
}

/** Saves something in every kind of storage the app (or a later feature of it) might use, so that forgetting has something to delete. */
async function saveSomething(page) {
  await page.evaluate(async () => {
    localStorage.setItem('face0-test-saved', 'a saved setting');
    await new Promise((resolve, reject) => {
      const open = indexedDB.open('face0-test-saved-faces', 1);
      open.onupgradeneeded = () => open.result.createObjectStore('faces').put(new Float32Array(4), 'a face');
      open.onsuccess = () => {
        open.result.close();
        resolve();
      };
      open.onerror = () => reject(open.error);
    });
    const file = await (await navigator.storage.getDirectory()).getFileHandle('face0-test-saved.bin', { create: true });
    const w = await file.createWritable();
    await w.write(new Uint8Array(8));
    await w.close();
  });
}

/** An image for the current controls after `action`, which must change them. */
async function imageAfter(page, action) {
  const before = await resultId(page);
  await action();
  const img = await waitForImage(page, before);
  assert(pixelStd(img) > 5, 'image is flat');
  return img;
}

const setPhoto = (page) => page.getByLabel('Photo for face A').setInputFiles(PHOTO);

export async function staticHost({ browser, steps }) {
  const host = await serveStatic(resolve(ROOT, 'dist'), 'face0');
  const context = await browser.newContext({ viewport: { width: 1440, height: 1000 } });
  const offOrigin = [];
  const jsepRequests = [];
  let requests = 0;
  // Page, workers and the service worker's own fetches alike.
  context.on('request', (r) => {
    requests++;
    if (/\/ort\/ort-wasm-simd-threaded\.jsep\./.test(r.url())) jsepRequests.push(r.url());
    if (!r.url().startsWith(`${host.base}/`) && !/^(blob|data):/.test(r.url())) offOrigin.push(`${r.method()} ${r.url()}`);
  });
  const notes = [];
  let page = null;
  let phaseStart = Date.now();
  /** Seconds since the previous phase ended, for the note. */
  const took = () => {
    const s = ((Date.now() - phaseStart) / 1000).toFixed(0);
    phaseStart = Date.now();
    return `${s} s`;
  };
  try {
    const plain = await fetch(`${host.base}/`);
    for (const h of ['cross-origin-opener-policy', 'cross-origin-embedder-policy', 'content-security-policy']) {
      assert(!plain.headers.has(h), `the static host sends ${h}: the test would not show that the app brings it`);
    }

    // First visit: the service worker is registered, the page reloads once under it and loads.
    page = await openApp(context, host.base, { backend: 'wasm', steps });
    const loadedAt = Date.now();
    const violations = await watchEngineWorker(page);
    const first = await checkHeaders(page, 'first visit');
    notes.push(`first visit (${took()}): isolated, wasm ${first.threads} threads, CSP on the page and ${first.workers} workers`);
    const online = await waitForImage(page, 0);
    assert(pixelStd(online) > 5, 'first image is flat');
    const onlineFace = await imageAfter(page, () => setPhoto(page));

    const wait = loadedAt + PAST_INTERVAL_MS - Date.now();
    if (wait > 0) await page.waitForTimeout(wait);
    const seen = await violations();
    assert(seen.length === 0, `the engine worker tried to reach another origin: ${seen.join(', ')}`);
    const cspReports = page.logs.filter((l) => l.includes('Content Security Policy'));
    assert(cspReports.length === 0, `CSP refused something: ${cspReports.join(' | ')}`);
    assert(offOrigin.length === 0, `requests left the origin: ${offOrigin.join(', ')}`);
    // On wasm the 28 MB JSEP build (WebGPU's) is never fetched: the 14 MB wasm-only build runs.
    assert(jsepRequests.length === 0, `the wasm engine fetched onnxruntime-web's JSEP build: ${jsepRequests.join(', ')}`);
    notes.push(`${((Date.now() - loadedAt) / 1000).toFixed(0)} s after load (telemetry interval 60 s; ${took()}): ${requests} requests, none off the origin, no CSP violation`);

    // Offline: everything the app needs was kept by the service worker.
    const manifest = await page.evaluate(() => window.__face0.state().info.manifest);
    const kept = (await cachedUrls(page))['face0-offline-v1'] ?? [];
    const needed = [
      `${host.base}/`,
      `${host.base}/ort/ort-wasm-simd-threaded.wasm`,
      `${host.base}/mediapipe-wasm/vision_wasm_module_internal.wasm`,
      `${host.base}/models/default/manifest.json`,
      ...Object.keys(manifest.files).map((f) => `${host.base}/models/default/${f}`),
    ];
    const missing = needed.filter((u) => !kept.includes(u));
    assert(missing.length === 0, `not kept for offline use: ${missing.join(', ')}`);
    await context.setOffline(true);
    await host.close(); // the host is gone too
    await page.reload();
    await waitForApp(page);
    const second = await checkHeaders(page, 'offline visit');
    const offlineImage = await waitForImage(page, 0);
    const offlineFace = await imageAfter(page, () => setPhoto(page));
    const diff = Math.max(maxLevelDiff(online, offlineImage), maxLevelDiff(onlineFace, offlineFace));
    assert(diff <= MAX_LEVEL_DIFF, `offline images differ from the online ones by ${diff} levels`);
    notes.push(`offline (network off, host stopped; ${took()}): ${kept.length} files kept, reload isolated with ${second.threads} threads, the same images (max diff ${diff})`);

    // Forget everything on this device.
    await saveSomething(page);
    const stored = await storedEverywhere(page);
    assert(
      stored.caches.length > 0 && stored.serviceWorkers > 0 && stored.databases.length > 0 && stored.localStorage > 0 && stored.files > 0,
      `not everything to forget is there: ${JSON.stringify(stored)}`,
    );
    await page.getByRole('button', { name: 'Forget everything on this device…' }).click();
    await page.getByRole('button', { name: 'Forget everything', exact: true }).click();
    await page.getByTestId('forgotten').waitFor({ timeout: 30_000 });
    await page.screenshot({ path: `${SHOTS}wasm-static-host-forgotten.png`, fullPage: true });
    const left = await storedEverywhere(page);
    assert(
      left.caches.length === 0 && left.serviceWorkers === 0 && left.databases.length === 0 && left.localStorage === 0 && left.files === 0,
      `left after forgetting: ${JSON.stringify(left)}`,
    );
    assert((await page.getByTestId('result').count()) === 0, 'the app still shows its result after forgetting');
    for (let i = 0; page.workers().some((w) => /\/assets\/worker-/.test(w.url())); i++) {
      assert(i < 50, 'the engine worker still runs after forgetting');
      await page.waitForTimeout(100);
    }
    // Nothing of the app is left to start offline.
    const reload = await page.reload().then(
      () => 'loaded',
      (err) => String(err.message),
    );
    assert(/net::ERR_/.test(reload), `after forgetting, the offline reload gave "${reload}", expected a network error`);
    notes.push(`forget (${took()}): ${JSON.stringify(stored)} all deleted, engine worker ended, offline reload fails (${/net::ERR_\w+/.exec(reload)[0]})`);
    return notes.join('; ');
  } catch (err) {
    console.log((page?.logs ?? []).slice(-25).map((l) => `       | ${l}`).join('\n'));
    if (page) await page.screenshot({ path: `${SHOTS}wasm-static-host-failed.png`, fullPage: true }).catch(() => {});
    throw err;
  } finally {
    await context.close();
    await host.close();
  }
}
