/**
 * @mediapipe/tasks-vision's usage telemetry is off at the source in the code the app runs (the
 * telemetry patch of vite-plugins/mediapipeTelemetryOff.ts, applied by the dev server as by the
 * build), not only blocked by the CSP: with the CSP bypassed, a FaceDetector made from the app's
 * tasks-vision sends nothing over more than the logger's 60 s interval (a fake clock) nor on
 * close(), while one made from the published file POSTs to Google's logging host at both.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';
import { createServer, type ViteDevServer } from 'vite';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { LOG_ENDPOINT } from '../../../vite-plugins/mediapipeTelemetryOff';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const PORT = 5313;
const BASE = `http://127.0.0.1:${PORT}`;
const APP_BUILD = `${BASE}/node_modules/@mediapipe/tasks-vision/vision_bundle.mjs`;
// Served by the test itself (page.route), byte for byte: the dev server would patch it.
const PUBLISHED_BUILD = `${BASE}/__published__/vision_bundle.mjs`;
const LOGGER_INTERVAL_MS = 60_000;

let server: ViteDevServer;
let browser: Browser;

beforeAll(async () => {
  server = await createServer({ root: ROOT, logLevel: 'warn', server: { host: '127.0.0.1', port: PORT, strictPort: true } });
  await server.listen();
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox'] });
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

/** Off-origin requests of a detector made from `moduleUrl`: after 61 s of fake time, and after close(). */
async function offOriginRequests(moduleUrl: string): Promise<{ afterInterval: string[]; afterClose: string[] }> {
  // The dev server's CSP (connect-src 'self') would stop the POST before the network: bypassed here,
  // so that only the source decides whether a request is made.
  const context: BrowserContext = await browser.newContext({ bypassCSP: true });
  try {
    const offOrigin: string[] = [];
    await context.route('**/*', (route) => {
      const request = route.request();
      if (request.url().startsWith(`${BASE}/`)) return route.continue();
      offOrigin.push(`${request.method()} ${request.url()}`);
      // Answered as the logging host would (a failed POST would stop the logger for good): nothing leaves the machine.
      return route.fulfill({ status: 200, body: '' });
    });
    await context.route(PUBLISHED_BUILD, (route) =>
      route.fulfill({
        contentType: 'text/javascript',
        body: readFileSync(`${ROOT}node_modules/@mediapipe/tasks-vision/vision_bundle.mjs`, 'utf8'),
      }),
    );
    const page = await context.newPage();
    await page.clock.install();
    await page.goto(`${BASE}/tests/e2e/engine/telemetry.html`, { timeout: 180_000 });
    await page.waitForFunction(() => window.ready === true, null, { timeout: 180_000 });
    await page.evaluate((url) => window.createDetector(url), moduleUrl);
    await page.clock.runFor(LOGGER_INTERVAL_MS + 1_000);
    await page.waitForTimeout(500); // the POST, if any, reaches the route
    const afterInterval = [...offOrigin];
    await page.evaluate(() => window.closeDetector());
    await page.waitForTimeout(500);
    return { afterInterval, afterClose: offOrigin.slice(afterInterval.length) };
  } finally {
    await context.close();
  }
}

it('the published tasks-vision POSTs usage logs every 60 s and on close() (the control)', async () => {
  const r = await offOriginRequests(PUBLISHED_BUILD);
  expect(r.afterInterval).toEqual([`POST ${LOG_ENDPOINT}`]);
  expect(r.afterClose).toEqual([`POST ${LOG_ENDPOINT}`]);
}, 240_000);

it('the app\u2019s tasks-vision sends nothing, over the interval or on close()', async () => {
  const r = await offOriginRequests(APP_BUILD);
  expect(r).toEqual({ afterInterval: [], afterClose: [] });
}, 240_000);
