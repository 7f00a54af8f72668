/** Opening a test page (default tests/node/smoke.html: the engine client on window) on a Vite dev server, for the browser tests. */
import type { Browser, Page } from 'playwright-core';

const CONTEXT_GONE = 'Execution context was destroyed';

async function whenReady(page: Page): Promise<void> {
  await page.waitForFunction(() => window.ready === true, null, { timeout: 180_000 });
}

/**
 * Vite reloads the page when its dependency optimiser finishes, which on a loaded machine can be
 * many seconds after the first load; calls made before then die with the page.
 */
export async function openEnginePage(browser: Browser, base: string, path = 'tests/node/smoke.html'): Promise<Page> {
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
