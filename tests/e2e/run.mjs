// npm run test:e2e [-- --backend=wasm|webgpu] [--only=flow,flow] [--skip-build] [--wasm-steps=N] [--webgpu-steps=N]
//                     [--wasm-bundle=NAME] [--webgpu-bundle=NAME]
// NAME: a folder under models/ (default: default), or micro: the pipeline's code-initialised micro bundle,
// exported into test-output/bundles/micro first (reused with --skip-build).
// Builds the app, serves it with vite preview on 127.0.0.1 (the static-host flow: with Python's
// http.server), runs every flow on both backends in headless Chromium, screenshots each into
// test-output/e2e/, and ends with "N passed, N failed".
import { launchBrowser, microBundle, outputDir, parseArgs, Runner, serveApp } from './harness.mjs';
import { openApp, recordRequests } from './app.mjs';
import { FLOWS as BASIC_FLOWS, startupMessages } from './flows.mjs';
import { KEEP_FLOWS } from './flowsKeep.mjs';
import { UI_FLOWS } from './flowsUi.mjs';
import { staticHost } from './staticHost.mjs';

// The device-loss flow crashes the GPU process: it stays last.
const FLOWS = [...BASIC_FLOWS.slice(0, -1), ...KEEP_FLOWS, ...UI_FLOWS, BASIC_FLOWS.at(-1)];

const args = parseArgs(process.argv.slice(2));
const backends = args.backend ? [args.backend] : ['wasm', 'webgpu'];
const only = typeof args.only === 'string' ? args.only.split(',') : null;
// SwiftShader WebGPU is a CPU emulation: keep its runs short.
const STEPS = { wasm: Number(args['wasm-steps'] ?? 8), webgpu: Number(args['webgpu-steps'] ?? 2) };
const BUNDLE = { wasm: args['wasm-bundle'] ?? 'default', webgpu: args['webgpu-bundle'] ?? 'default' };
const shots = outputDir('test-output/e2e');

async function runFlow(browser, base, backend, flow) {
  const context = await browser.newContext({ viewport: { width: 1440, height: 1000 } });
  const requests = recordRequests(context);
  const offOrigin = [];
  // Only requests that CSP let through get here; off-origin ones are recorded and never sent.
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(`${base}/`)) return route.continue();
    offOrigin.push(url);
    return route.abort('blockedbyclient');
  });
  try {
    // A flow with its own page opens it itself (e.g. to act while the model loads).
    const page = flow.ownPage ? null : await openApp(context, base, { backend, steps: STEPS[backend], bundle: BUNDLE[backend] });
    const manifest = page && (await page.evaluate(() => window.__face0.state().info.manifest));
    const note = await flow.fn({ page, context, base, backend, bundle: BUNDLE[backend], manifest, requests, offOrigin, shots, steps: STEPS[backend] });
    if (offOrigin.length) throw new Error(`off-origin requests got past CSP: ${offOrigin.join(', ')}`);
    return note;
  } catch (err) {
    const logs = context.pages()[0]?.logs ?? [];
    console.log(logs.slice(-25).map((l) => `       | ${l}`).join('\n'));
    throw err;
  } finally {
    const page = context.pages()[0];
    if (page) await page.screenshot({ path: `${shots}${backend}-${flow.name}.png`, fullPage: true }).catch(() => {});
    await context.close();
  }
}

const skipBuild = Boolean(args['skip-build']);
const testBundles = backends.some((b) => BUNDLE[b] === 'micro') ? { micro: microBundle({ reuse: skipBuild }) } : {};
const server = await serveApp({ skipBuild, bundles: testBundles });
console.log(`serving ${server.base}`);
const runner = new Runner();
try {
  for (const backend of backends) {
    console.log(`\n[${backend}] steps=${STEPS[backend]}, bundle ${BUNDLE[backend]}`);
    const browser = await launchBrowser(backend);
    try {
      if (!only || only.includes('startup')) {
        await runner.run(`${backend}: startup-messages`, () =>
          startupMessages({ browser, base: server.base, backend, steps: STEPS[backend], bundle: BUNDLE[backend] }),
        );
      }
      for (const flow of FLOWS) {
        if ((only && !only.includes(flow.name)) || (flow.backends && !flow.backends.includes(backend))) continue;
        await runner.run(`${backend}: ${flow.name}`, () => runFlow(browser, server.base, backend, flow));
      }
      // The build on a plain static host (not vite preview); wasm only: it is about headers, caching and storage.
      if (backend === 'wasm' && (!only || only.includes('static-host'))) {
        await runner.run(`${backend}: static-host`, () => staticHost({ browser, steps: STEPS[backend] }));
      }
    } finally {
      await browser.close();
    }
  }
} finally {
  await server.close();
}
process.exit(runner.summary() ? 0 : 1);
