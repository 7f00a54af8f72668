/**
 * Opening a test page (default tests/e2e/engine/smoke.html: the engine client on window) on a Vite dev
 * server, and serving test bundles from it, for the browser tests.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { resolve, sep } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { Plugin } from 'vite';

const CONTEXT_GONE = 'Execution context was destroyed';

async function whenReady(page: Page): Promise<void> {
  await page.waitForFunction(() => window.ready === true, null, { timeout: 180_000 });
}

/**
 * Vite reloads the page when its dependency optimiser finishes, which on a loaded machine can be
 * many seconds after the first load; calls made before then die with the page.
 */
export async function openEnginePage(browser: Browser, base: string, path = 'tests/e2e/engine/smoke.html'): Promise<Page> {
  const page = await browser.newPage();
  page.on('pageerror', (e) => console.log('[pageerror]', e.message));
  await page.goto(`${base}/${path}`, { timeout: 180_000, waitUntil: 'domcontentloaded' });
  await whenReady(page);
  await page.waitForLoadState('networkidle', { timeout: 180_000 });
  await whenReady(page);
  return page;
}

/** page.evaluate, repeated once the page is back if a dependency-optimiser reload interrupted it. */
export async function evaluateStable<R, A>(page: Page, fn: (arg: A) => Promise<R>, arg: A): Promise<R> {
  for (let attempt = 0; ; attempt++) {
    try {
      // Playwright types the page function's argument as Unboxed<A>, which equals A for the plain JSON passed here.
      return await page.evaluate<R, A>(fn as never, arg);
    } catch (err) {
      if (attempt >= 2 || !(err instanceof Error) || !err.message.includes(CONTEXT_GONE)) throw err;
      await whenReady(page);
    }
  }
}

/**
 * Serves the bundle folder `dir` at `urlPath` (e.g. '/micro-bundle/') byte for byte, as the app's
 * /models/ middleware does (Vite's static server would send the .gz vocabulary with
 * Content-Encoding: gzip, and the browser would inflate it).
 */
export function serveBundleFolder(urlPath: string, dir: string): Plugin {
  return {
    name: `test-bundle ${urlPath}`,
    configureServer(s) {
      s.middlewares.use((req, res, next) => {
        const path = new URL(req.url ?? '/', 'http://x').pathname;
        if (!path.startsWith(urlPath)) return next();
        const file = resolve(dir, decodeURIComponent(path.slice(urlPath.length)));
        if (!file.startsWith(dir + sep) || !existsSync(file) || !statSync(file).isFile()) {
          res.statusCode = 404;
          return res.end();
        }
        res.setHeader('Content-Type', 'application/octet-stream');
        res.end(readFileSync(file));
      });
    },
  };
}
