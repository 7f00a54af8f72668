// Driving the Face0 Studio page: open it, wait for images, read pixels and messages.
import { readFileSync } from 'node:fs';
import { assert } from './harness.mjs';

// FACE0_E2E_LOAD_TIMEOUT_MS: more time for a machine whose CPU goes to something else (a training run
// there left the tests a twentieth of it, and onnxruntime-web's start-up took minutes).
const LOAD_TIMEOUT_MS = Number(process.env.FACE0_E2E_LOAD_TIMEOUT_MS ?? 240_000);

/** Every request the context makes (page and workers), for the privacy checks. */
export function recordRequests(context) {
  const requests = [];
  context.on('request', (r) => requests.push({ url: r.url(), method: r.method() }));
  return requests;
}

/** Opens the app with the test hook and waits for the bundle (throws with the page's alert text if it fails). */
export async function openApp(context, base, { backend, steps, bundle = 'default', extra = '' }) {
  const page = await context.newPage();
  const logs = [];
  page.on('console', (m) => logs.push(`[${m.type()}] ${m.text()}`));
  page.on('pageerror', (e) => logs.push(`[pageerror] ${e.message}`));
  page.logs = logs;
  // Every worker that ever ran, nested ones included (the bundle download worker ends after loading).
  page.workerUrls = [];
  page.on('worker', (w) => page.workerUrls.push(w.url()));
  // On a first visit the page reloads once, under its service worker, before it starts loading.
  const query = `test=1&backend=${backend}${steps ? `&steps=${steps}` : ''}${bundle !== 'default' ? `&bundle=${bundle}` : ''}${extra}`;
  await page.goto(`${base}/?${query}`);
  await waitForApp(page);
  return page;
}

/** Waits until the page's bundle is loaded (after a goto or a reload); throws with the page's alert text if it fails. */
export async function waitForApp(page) {
  await page.waitForFunction(
    () => {
      const s = window.__face0?.state();
      return s && (s.info !== null || s.load?.stage === 'failed');
    },
    null,
    { timeout: LOAD_TIMEOUT_MS },
  );
  const loaded = await page.evaluate(() => window.__face0.state().info !== null);
  if (!loaded) throw new Error(`bundle did not load: ${await alertText(page)}`);
}

export async function alertText(page) {
  return (await page.getByRole('alert').innerText()).trim();
}

export async function resultId(page) {
  return Number(await page.getByTestId('result').getAttribute('data-request-id'));
}

/**
 * Waits for an image newer than request `afterId` that matches the current controls,
 * and returns its pixels (RGBA bytes read back from the canvas).
 */
export async function waitForImage(page, afterId, timeout = 300_000) {
  const handle = await page.waitForFunction(
    (prev) => {
      const fig = document.querySelector('[data-testid="result"]');
      const failed = document.querySelector('.alert[data-source="generate"]');
      if (failed) return { error: failed.textContent };
      return fig && fig.dataset.state === 'ready' && Number(fig.dataset.requestId) > prev ? { ok: true } : false;
    },
    afterId,
    { timeout, polling: 50 },
  );
  const status = await handle.jsonValue();
  if (status.error) throw new Error(`generation failed: ${status.error}`);
  return readImage(page);
}

export async function readImage(page) {
  const img = await page.evaluate(() => {
    const canvas = document.querySelector('canvas[aria-label="Generated image"]');
    const { width, height } = canvas;
    const bytes = canvas.getContext('2d').getImageData(0, 0, width, height).data;
    let s = '';
    for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    const fig = document.querySelector('[data-testid="result"]');
    return { width, height, b64: btoa(s), id: Number(fig.dataset.requestId), stats: fig.querySelector('figcaption')?.textContent ?? '' };
  });
  return { ...img, pixels: Buffer.from(img.b64, 'base64') };
}

/** Standard deviation of the RGB values: 0 for a constant image. */
export function pixelStd(img) {
  let n = 0;
  let sum = 0;
  let sq = 0;
  for (let i = 0; i < img.pixels.length; i++) {
    if (i % 4 === 3) continue;
    n++;
    sum += img.pixels[i];
    sq += img.pixels[i] * img.pixels[i];
  }
  const mean = sum / n;
  return Math.sqrt(Math.max(0, sq / n - mean * mean));
}

/** Mean absolute RGB difference of two images of one size. */
export function meanAbsDiff(a, b) {
  assert(a.pixels.length === b.pixels.length, `image sizes differ: ${a.width}x${a.height} vs ${b.width}x${b.height}`);
  let d = 0;
  let n = 0;
  for (let i = 0; i < a.pixels.length; i++) {
    if (i % 4 === 3) continue;
    d += Math.abs(a.pixels[i] - b.pixels[i]);
    n++;
  }
  return d / n;
}

export function sameImage(a, b) {
  return a.pixels.equals(b.pixels);
}

export async function setSlider(page, label, value) {
  await page.getByLabel(label, { exact: true }).fill(String(value));
}

/** Parses "… · 1 U-Net call per step · 3 rows per call · wasm" under the image. */
export function parseStats(stats) {
  const calls = /([\d.]+) U-Net calls? per step/.exec(stats);
  const rows = /(\d+) rows? per call/.exec(stats);
  assert(calls && rows, `unexpected result caption "${stats}"`);
  return { callsPerStep: Number(calls[1]), rowsPerCall: Number(rows[1]) };
}

export async function screenshot(page, path) {
  await page.screenshot({ path, fullPage: true });
}

/** Drops a photo file on face slot A or B, as a user dragging it from the desktop does. */
export async function dropFile(page, slot, path) {
  const file = { b64: readFileSync(path).toString('base64'), name: path.split('/').pop() };
  const dataTransfer = await page.evaluateHandle(({ b64, name }) => {
    const dt = new DataTransfer();
    dt.items.add(new File([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], name, { type: 'image/jpeg' }));
    return dt;
  }, file);
  await page.getByRole('region', { name: `Face ${slot}` }).locator('.dropzone').dispatchEvent('drop', { dataTransfer });
}
