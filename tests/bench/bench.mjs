// npm run bench [-- --runs=N] [--backend=wasm|webgpu] [--skip-build] [--wasm-steps=N] [--webgpu-steps=N] [--load-only]
//   [--bundles=default,NAME,...]  bundles (folders under models/) measured one after another in the same run
//   [--mbps=N]  everything served over one link of N Mbit/s, 20 ms latency per request (slowLink.mjs)
// Times the built app in headless Chromium through the ?test=1 hook (window.__face0): cold and warm
// bundle load with its per-phase breakdown (EngineInfo.timings), ms per U-Net call by batch size,
// U-Net calls per step for three guidance settings, and end-to-end ms per image (not with
// --load-only). Reports medians of N runs; writes bench-output/bench.json.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { openApp, waitForImage } from '../e2e/app.mjs';
import { launchBrowser, launchProfileContext, outputDir, parseArgs, serveApp } from '../e2e/harness.mjs';
import { slowLink } from './slowLink.mjs';

const args = parseArgs(process.argv.slice(2));
const RUNS = Number(args.runs ?? 5);
const LOAD_ONLY = Boolean(args['load-only']);
const MBPS = args.mbps === undefined ? null : Number(args.mbps);
const backends = args.backend ? [args.backend] : ['wasm', 'webgpu'];
const BUNDLES = String(args.bundles ?? 'default').split(',');
// wasm times the bundle's default step count unless told otherwise. SwiftShader WebGPU is a CPU emulation,
// several seconds per U-Net call: fewer steps there.
const STEPS = { wasm: args['wasm-steps'] === undefined ? undefined : Number(args['wasm-steps']), webgpu: Number(args['webgpu-steps'] ?? 4) };
const W = 7.5;
// Guidance settings by the rows they batch (Face0 formula, with a face): 1 needs w=1 (no unconditional term).
const BATCHES = [
  { rows: 1, w: 1, c: 1, a: 0 },
  { rows: 2, w: W, c: 1, a: 0 },
  { rows: 3, w: W, c: 0.5, a: 0 },
  { rows: 4, w: W, c: 0.5, a: 0.5 },
];
const PLANS = [
  { c: 1, a: 0 },
  { c: 0.5, a: 0 },
  { c: 1.4, a: 1 },
];

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const round = (x, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

async function engineInfo(page) {
  return page.evaluate(() => {
    const i = window.__face0.state().info;
    return {
      loadMs: i.loadMs,
      timings: i.timings,
      backend: i.backend,
      wasmThreads: i.wasmThreads,
      fallbackReason: i.fallbackReason,
      name: i.manifest.name,
      defaultSteps: i.manifest.defaults.steps,
    };
  });
}

/** Cold: a fresh profile (empty disk cache); warm: a reload of that page (files revalidated from cache). */
async function coldAndWarmLoad(base, backend, extra) {
  const profile = await launchProfileContext(backend);
  try {
    const page = await openApp(profile.context, base, { backend, steps: STEPS[backend], extra });
    const cold = await engineInfo(page);
    await page.reload();
    await page.waitForFunction(() => window.__face0?.state().info != null, null, { timeout: 300_000 });
    const warm = await engineInfo(page);
    return { cold, warm };
  } finally {
    await profile.close();
  }
}

/** One generate() through the hook with a random face: engine ms, wall ms, U-Net calls and rows per call. */
async function timed(page, req) {
  return page.evaluate(async (r) => {
    const hook = window.__face0;
    const embedding = await hook.client.randomFace(12345);
    return hook.timedGenerate({ ...r, face: { kind: 'embedding', embedding } });
  }, req);
}

/**
 * ms per U-Net call from whole generations: (T(n steps) - T(1 step)) / (n - 1). Step timestamps would
 * not do on WebGPU, where a step returns once its work is queued and the GPU finishes it later.
 */
async function perUnetCall(page, req, steps) {
  const many = await timed(page, { ...req, steps });
  const one = await timed(page, { ...req, steps: 1 });
  return { ...many, perCallMs: (many.ms - one.ms) / (steps - 1) };
}

/** Median ms per load phase over runs (a phase missing from a run counts as absent, not as 0). */
function medianPhases(timings) {
  const phases = [...new Set(timings.flatMap((t) => Object.keys(t)))];
  return Object.fromEntries(phases.map((p) => [p, round(median(timings.filter((t) => p in t).map((t) => t[p])))]));
}

async function benchBackend(browser, base, backend, bundleFolder) {
  const extra = bundleFolder === 'default' ? '' : `&bundle=${bundleFolder}`;
  const cold = [];
  const warm = [];
  let info;
  for (let i = 0; i < RUNS; i++) {
    const r = await coldAndWarmLoad(base, backend, extra);
    cold.push(r.cold);
    warm.push(r.warm);
    info = r.cold;
  }
  const coldMs = cold.map((r) => r.loadMs);
  const warmMs = warm.map((r) => r.loadMs);
  console.log(`  [${backend}] load: cold ${coldMs.map(Math.round).join(', ')} ms; warm ${warmMs.map(Math.round).join(', ')} ms`);
  const load = {
    coldMs: round(median(coldMs)),
    warmMs: round(median(warmMs)),
    coldRuns: coldMs.map(Math.round),
    warmRuns: warmMs.map(Math.round),
    coldPhasesMs: medianPhases(cold.map((r) => r.timings)),
    warmPhasesMs: medianPhases(warm.map((r) => r.timings)),
  };
  const identity = {
    backend,
    label: info.backend === 'webgpu' ? 'WebGPU' : `wasm, ${info.wasmThreads} threads`,
    fallbackReason: info.fallbackReason,
    bundle: info.name,
    bundleFolder,
    network: MBPS === null ? 'local' : `${MBPS} Mbit/s, 20 ms`,
  };
  if (LOAD_ONLY) return { ...identity, load };
  const steps = STEPS[backend] ?? info.defaultSteps;

  const context = await browser.newContext();
  const page = await openApp(context, base, { backend, steps, extra });
  // Let the page's own first image finish so it does not share the engine with the measurements.
  await waitForImage(page, 0);
  const common = { prompt: 'a photo of a person', seed: 1 };

  const perCall = [];
  // Enough steps for several intervals, few enough for software WebGPU.
  const callSteps = backend === 'webgpu' ? 3 : 8;
  for (const b of BATCHES) {
    const ms = [];
    for (let i = 0; i < RUNS; i++) {
      const r = await perUnetCall(page, { ...common, w: b.w, c: b.c, a: b.a }, callSteps);
      if (r.unetBatch !== b.rows) throw new Error(`w=${b.w} c=${b.c} a=${b.a}: batch ${r.unetBatch}, expected ${b.rows}`);
      ms.push(r.perCallMs);
    }
    perCall.push({ rows: b.rows, w: b.w, c: b.c, a: b.a, msPerCall: round(median(ms)), runs: ms.map((x) => round(x)) });
    console.log(`  [${backend}] batch ${b.rows}: ${round(median(ms))} ms per U-Net call`);
  }

  const plans = [];
  for (const p of PLANS) {
    const r = await timed(page, { ...common, w: W, ...p, steps });
    plans.push({ ...p, w: W, unetCallsPerStep: r.unetCalls / steps, rowsPerCall: r.unetBatch });
  }

  const e2e = [];
  const wall = [];
  for (let i = 0; i < RUNS; i++) {
    const r = await timed(page, { ...common, w: W, c: 1, a: 0, steps, seed: i + 1 });
    e2e.push(r.ms);
    wall.push(r.wallMs);
  }
  await context.close();
  return {
    ...identity,
    load,
    unetMsPerCall: perCall,
    unetCallsPerStep: plans,
    endToEnd: { steps, w: W, c: 1, a: 0, ms: round(median(e2e)), wallMs: round(median(wall)), runs: e2e.map(Math.round) },
  };
}

function table(results) {
  const lines = [];
  const row = (cells) => lines.push(`| ${cells.join(' | ')} |`);
  row(['measure', ...results.map((r) => `${r.backend} (${r.label}), ${r.bundle}`)]);
  row(['---', ...results.map(() => '---')]);
  row(['network', ...results.map((r) => r.network ?? 'local')]);
  row(['bundle load, cold (ms)', ...results.map((r) => r.load.coldMs)]);
  row(['bundle load, warm (ms)', ...results.map((r) => r.load.warmMs)]);
  const phases = [...new Set(results.flatMap((r) => Object.keys(r.load.coldPhasesMs ?? {})))];
  for (const p of phases) row([`  cold: ${p} (ms)`, ...results.map((r) => r.load.coldPhasesMs?.[p] ?? '')]);
  if (results.some((r) => !r.unetMsPerCall)) return lines.join('\n');
  for (const [i, b] of BATCHES.entries()) row([`U-Net call, batch ${b.rows} (ms)`, ...results.map((r) => r.unetMsPerCall[i].msPerCall)]);
  for (const [i, p] of PLANS.entries()) {
    row([`c=${p.c}, a=${p.a}: calls/step x rows`, ...results.map((r) => `${r.unetCallsPerStep[i].unetCallsPerStep} x ${r.unetCallsPerStep[i].rowsPerCall}`)]);
  }
  row(['image end to end (ms)', ...results.map((r) => `${r.endToEnd.ms} (${r.endToEnd.steps} steps)`)]);
  return lines.join('\n');
}

const server = await serveApp({ skipBuild: Boolean(args['skip-build']) });
const link = MBPS === null ? null : await slowLink(server.base, { mbps: MBPS });
const results = [];
try {
  for (const backend of backends) {
    const browser = await launchBrowser(backend);
    try {
      for (const bundleFolder of BUNDLES) results.push(await benchBackend(browser, link?.base ?? server.base, backend, bundleFolder));
    } finally {
      await browser.close();
    }
  }
} finally {
  await link?.close();
  await server.close();
}
const probe = await launchBrowser('wasm');
const browserVersion = probe.version();
await probe.close();
const dir = outputDir('bench-output');
// Backends can be measured in separate invocations (software WebGPU is slow): keep the other's results.
const previous = existsSync(`${dir}bench.json`) ? JSON.parse(readFileSync(`${dir}bench.json`, 'utf8')).results : [];
const measured = (r) => backends.includes(r.backend) && BUNDLES.includes(r.bundleFolder ?? 'default');
const merged = [...previous.filter((r) => !measured(r)), ...results.map((r) => ({ ...r, runs: RUNS, date: new Date().toISOString() }))];
const report = { statistic: 'median', browser: `Chromium ${browserVersion} headless`, results: merged };
writeFileSync(`${dir}bench.json`, JSON.stringify(report, null, 2) + '\n');
console.log(`\n${table(merged)}\n\nmedians of N runs per backend (N in bench.json); written to bench-output/bench.json`);
