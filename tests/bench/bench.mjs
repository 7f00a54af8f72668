// npm run bench [-- --runs=N] [--backend=wasm|webgpu|wasm,webgpu] [--skip-build] [--wasm-steps=N] [--webgpu-steps=N]
//   [--think-ms=N] [--no-native] [--load-only] [--bundles=default,NAME,...] [--mbps=N]
// Times the built app in headless Chromium through its ?test=1 hook (window.__face0). wasm unless
// --backend says otherwise: WebGPU here is SwiftShader, a CPU emulation (seconds per U-Net call), so it is
// timed only when asked, at --webgpu-steps (default 2). Every row is the median of N runs (default 5) with
// its spread (25th-75th percentile) and the machine's 1-minute load average while it ran. Timed rows
// come after the engine's warm-up (wasm tier-up) and one untimed image, except the "first image" rows,
// which measure what a user meets right after load.
//   load      cold (fresh profile) and warm (reload) bundle load, with the phases of the cold one
//   first     per fresh page: its own first image, then, --think-ms (default 8000) after load (a user
//             choosing a photo), photo analysis + the first image with that face; with the warm-up and,
//             as the control, without it (?warmup=0); the warm-up's own duration
//   graphs    ms per graph call measured on the call (wasm; on WebGPU per U-Net call from whole images,
//             (T(n steps) - T(1 step)) / (n - 1), as a run returns once its GPU work is queued), beside
//             native onnxruntime on the same graphs with the same threads (tests/bench/native.py), taken
//             in turns with the browser's runs so both see the same load; step overhead (the image's
//             time outside the graphs, per step) apart
//   image     end to end with a fresh prompt (text encoder runs), with a cached one, and with a cached one at c < 1
//             (the prompt-only term as well: 3 rows per U-Net call)
//   sliders   dragging "Guidance w" with the mouse: move -> first changed pixels, the longest wait for
//             new pixels during the drag, release -> final image
// Writes bench-output/bench.json (this run only) and prints the table.
import { readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { openApp, waitForImage } from '../e2e/app.mjs';
import { launchBrowser, launchProfileContext, outputDir, parseArgs, ROOT, serveApp } from '../e2e/harness.mjs';
import { startNative } from './native.mjs';
import { slowLink } from './slowLink.mjs';
import { graphFeeds, quantiles } from './stats.mjs';

const args = parseArgs(process.argv.slice(2));
const RUNS = Number(args.runs ?? 5);
const LOAD_ONLY = Boolean(args['load-only']);
const NATIVE = !args['no-native'];
const MBPS = args.mbps === undefined ? null : Number(args.mbps);
const THINK_MS = Number(args['think-ms'] ?? 8000);
const backends = String(args.backend ?? 'wasm').split(',');
const BUNDLES = String(args.bundles ?? 'default').split(',');
const STEPS = { wasm: args['wasm-steps'] === undefined ? undefined : Number(args['wasm-steps']), webgpu: Number(args['webgpu-steps'] ?? 2) };
const W = 7.5;
const PROMPT = 'a photo of a person';
const PHOTO = resolve(ROOT, '../shared/data/celeba-identities/id_00209/166636.jpg');
// Guidance settings by the rows they batch (Face0 formula, with a face): 1 needs w=1 (no unconditional term).
const BATCHES = [
  { rows: 1, w: 1, c: 1, a: 0 },
  { rows: 2, w: W, c: 1, a: 0 },
  { rows: 3, w: W, c: 0.5, a: 0 },
  { rows: 4, w: W, c: 0.5, a: 0.5 },
];
// Steps of the images whose U-Net calls are timed: enough calls per run to average, few enough for SwiftShader.
const CALL_STEPS = { wasm: 8, webgpu: 3 };

const round = (x, d = 1) => (x === null || x === undefined || Number.isNaN(x) ? null : Math.round(x * 10 ** d) / 10 ** d);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const load1 = () => loadavg()[0];

/** A row's numbers: median and spread of the runs, rounded, plus the load average while they ran. */
function summary(values, loads) {
  const q = quantiles(values);
  return { median: round(q.median), p25: round(q.p25), p75: round(q.p75), runs: values.map((v) => round(v)), load: [round(Math.min(...loads), 2), round(Math.max(...loads), 2)] };
}

async function engineInfo(page) {
  return page.evaluate(() => {
    const i = window.__face0.state().info;
    return { loadMs: i.loadMs, timings: i.timings, backend: i.backend, wasmThreads: i.wasmThreads, fallbackReason: i.fallbackReason, manifest: i.manifest };
  });
}

/**
 * One generate() through the hook: engine ms, wall ms, per-graph times, U-Net calls and rows per call.
 * `face`: a prior face's seed, an embedding (array), or null for no face.
 */
async function timed(page, req, face = 12345) {
  return page.evaluate(
    async ({ r, face }) => {
      const hook = window.__face0;
      const embedding = face === null ? null : Array.isArray(face) ? new Float32Array(face) : await hook.client.randomFace(face);
      return hook.timedGenerate({ ...r, face: embedding === null ? { kind: 'none' } : { kind: 'embedding', embedding } });
    },
    { r: req, face },
  );
}

/** The photo through detection and the face embedder in the page: ms and the embedding. */
async function analyze(page, b64) {
  return page.evaluate(async (data) => {
    const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
    const t0 = performance.now();
    const a = await window.__face0.client.analyzeImage(new Blob([bytes], { type: 'image/jpeg' }));
    return { ms: performance.now() - t0, embedding: Array.from(a.embedding) };
  }, b64);
}

async function waitForWarmup(page) {
  return page.evaluate(
    () =>
      new Promise((resolveDone) => {
        const check = () => {
          const w = window.__face0.state().warmup;
          if (w.state === 'done' || w.state === 'failed' || w.state === 'off') resolveDone(w);
          else setTimeout(check, 100);
        };
        check();
      }),
  );
}

/**
 * A fresh page as a user meets it: its own first image (fresh prompt, no face), then after THINK_MS a
 * photo analysed and the first image with it (cached prompt), and the warm-up's outcome.
 */
async function firstImages(page, photo, steps) {
  const readyAt = Date.now();
  await waitForImage(page, 0);
  const own = await page.evaluate(() => window.__face0.state().result.ms);
  await sleep(Math.max(0, readyAt + THINK_MS - Date.now()));
  const warmupAtThink = await page.evaluate(() => window.__face0.state().warmup.state);
  const analysis = await analyze(page, photo);
  const first = await timed(page, { prompt: PROMPT, w: W, c: 1, a: 0, steps, seed: 7 }, analysis.embedding);
  const warmup = await waitForWarmup(page);
  return { ownMs: own, analysisMs: analysis.ms, firstMs: first.ms, warmupAtThink, warmup };
}

/** Cold: a fresh profile (empty disk cache); warm: a reload of that page (files revalidated from cache). */
async function loadRuns(base, backend, extra, steps) {
  const cold = [];
  const warm = [];
  const first = [];
  const loads = [];
  for (let i = 0; i < RUNS; i++) {
    loads.push(load1());
    const profile = await launchProfileContext(backend);
    try {
      const page = await openApp(profile.context, base, { backend, steps, extra });
      cold.push(await engineInfo(page));
      if (!LOAD_ONLY && backend === 'wasm') first.push(await firstImages(page, photoB64(), steps));
      await page.reload();
      await page.waitForFunction(() => window.__face0?.state().info != null, null, { timeout: 300_000 });
      warm.push(await engineInfo(page));
    } finally {
      await profile.close();
    }
    loads.push(load1());
  }
  return { cold, warm, first, loads };
}

let photoCache = null;
function photoB64() {
  photoCache ??= readFileSync(PHOTO).toString('base64');
  return photoCache;
}

/** The control for the first-image rows: fresh pages without the warm-up. */
async function firstImagesWithoutWarmup(browser, base, extra, steps) {
  const out = [];
  const loads = [];
  for (let i = 0; i < RUNS; i++) {
    loads.push(load1());
    const context = await browser.newContext();
    try {
      const page = await openApp(context, base, { backend: 'wasm', steps, extra: `${extra}&warmup=0` });
      out.push(await firstImages(page, photoB64(), steps));
    } finally {
      await context.close();
    }
    loads.push(load1());
  }
  return { runs: out, loads };
}

function medianPhases(timings) {
  const phases = [...new Set(timings.flatMap((t) => Object.keys(t)))];
  return Object.fromEntries(phases.map((p) => [p, round(quantiles(timings.filter((t) => p in t).map((t) => t[p])).median)]));
}

/** Mean ms per call of `calls` native calls of one graph at the app's shape. */
async function nativeRun(native, key, feeds, calls) {
  const ms = (await native.ask({ run: key, feeds, n: calls })).ms;
  return ms.reduce((a, b) => a + b, 0) / ms.length;
}

/** Per-call ms of each graph in the browser (from one image's graph times) and natively, run by run in turns. */
async function graphRows(page, backend, manifest, native, threads, steps) {
  const rows = [];
  const nativeKey = (graph) => `${graph}`;
  if (native) {
    for (const graph of ['text_encoder', 'face_projector', 'unet', 'vae_decoder', 'face_embedder']) {
      await native.ask({ load: nativeKey(graph), path: `models/${manifest.bundleFolder}/${manifest[graph].file}`, threads, opt: 'all' });
      await nativeRun(native, nativeKey(graph), graphFeeds(manifest, graph, graph === 'text_encoder' ? 2 : 1), 3); // warm
    }
  }
  const callSteps = CALL_STEPS[backend];
  // SwiftShader: the default batch only, three runs.
  const batches = backend === 'wasm' ? BATCHES : BATCHES.filter((b) => b.rows === 2);
  const runs = backend === 'wasm' ? RUNS : Math.min(RUNS, 3);
  for (const b of batches) {
    const browser = [];
    const nat = [];
    const loads = [];
    for (let i = 0; i < runs; i++) {
      loads.push(load1());
      const req = { prompt: PROMPT, w: b.w, c: b.c, a: b.a, steps: callSteps, seed: i + 1 };
      const r = await timed(page, req);
      if (r.unetBatch !== b.rows) throw new Error(`w=${b.w} c=${b.c} a=${b.a}: batch ${r.unetBatch}, expected ${b.rows}`);
      if (backend === 'wasm') browser.push(r.graphTimes.unet.ms / r.graphTimes.unet.calls);
      else {
        const one = await timed(page, { ...req, steps: 1 });
        browser.push((r.ms - one.ms) / (callSteps - 1));
      }
      if (native) nat.push(await nativeRun(native, nativeKey('unet'), graphFeeds(manifest, 'unet', b.rows), callSteps));
    }
    loads.push(load1());
    rows.push({ name: `U-Net call, batch ${b.rows}`, graph: 'unet', batch: b.rows, browser: summary(browser, loads), native: native ? summary(nat, loads) : null });
    console.log(`  [${backend}] U-Net batch ${b.rows}: ${round(quantiles(browser).median)} ms per call${native ? `; native ${round(quantiles(nat).median)} ms` : ''}`);
  }
  if (backend !== 'wasm') return rows;

  // The other graphs, and the step overhead, from default images (batch 2, a face); the text encoder from
  // images with a fresh prompt.
  const per = { text_encoder: [], face_projector: [], vae_decoder: [], overhead: [] };
  const nat = { text_encoder: [], face_projector: [], vae_decoder: [], face_embedder: [] };
  const embedder = [];
  const loads = [];
  for (let i = 0; i < RUNS; i++) {
    loads.push(load1());
    const r = await timed(page, { prompt: `${PROMPT} ${i % 2 ? 'smiling' : 'with glasses'} ${'and hat '.repeat(i)}`.trim(), w: W, c: 1, a: 0, steps, seed: 100 + i });
    const g = r.graphTimes;
    per.text_encoder.push(g.text_encoder.ms / g.text_encoder.calls);
    per.face_projector.push(g.face_projector.ms / g.face_projector.calls);
    per.vae_decoder.push(g.vae_decoder.ms / g.vae_decoder.calls);
    const inGraphs = Object.values(g).reduce((a, t) => a + t.ms, 0);
    per.overhead.push((r.ms - inGraphs) / steps);
    embedder.push((await analyze(page, photoB64())).ms);
    if (native) {
      for (const graph of Object.keys(nat)) {
        nat[graph].push(await nativeRun(native, nativeKey(graph), graphFeeds(manifest, graph, graph === 'text_encoder' ? 2 : 1), 1));
      }
    }
  }
  loads.push(load1());
  const row = (name, graph, values, batch) => ({ name, graph, batch, browser: summary(values, loads), native: native && nat[graph] ? summary(nat[graph], loads) : null });
  rows.push(row('text encoder call, batch 2 (prompt + empty)', 'text_encoder', per.text_encoder, 2));
  rows.push(row('face projector call', 'face_projector', per.face_projector, 1));
  rows.push(row('VAE decoder call', 'vae_decoder', per.vae_decoder, 1));
  // Not a ratio: the browser's figure includes the face detector (MediaPipe), which has no native twin here.
  rows.push({ ...row('photo analysis (detector + embedder; native: embedder only)', 'face_embedder', embedder, 1), noRatio: true });
  rows.push({ name: 'step overhead outside the graphs (ms per step)', graph: null, batch: null, browser: summary(per.overhead, loads), native: null });
  return rows;
}

async function imageRows(page, backend, steps) {
  const fresh = [];
  const cached = [];
  const promptOverFace = [];
  const loads = [];
  for (let i = 0; i < (backend === 'wasm' ? RUNS : Math.min(RUNS, 3)); i++) {
    loads.push(load1());
    fresh.push((await timed(page, { prompt: `a photo of a person number ${i} ${Date.now() % 1000}`, w: W, c: 1, a: 0, steps, seed: 200 + i })).ms);
    cached.push((await timed(page, { prompt: PROMPT, w: W, c: 1, a: 0, steps, seed: 300 + i })).ms);
    promptOverFace.push((await timed(page, { prompt: PROMPT, ...BATCHES[2], steps, seed: 400 + i })).ms);
  }
  loads.push(load1());
  return [
    { name: `image end to end, fresh prompt (${steps} steps, batch 2)`, browser: summary(fresh, loads), native: null },
    { name: `image end to end, cached prompt (${steps} steps, batch 2)`, browser: summary(cached, loads), native: null },
    { name: `image end to end, cached prompt, c < 1 (${steps} steps, batch 3)`, browser: summary(promptOverFace, loads), native: null },
  ];
}

/** Records, in the page, when the shown image's pixels change, when the result becomes ready, and input/pointer times. */
async function watchResult(page) {
  await page.evaluate(() => {
    const fig = document.querySelector('[data-testid="result"]');
    const watch = { changes: [], ready: [], inputs: [], up: null, on: true };
    window.__watch = watch;
    const hash = (c) => {
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let h = 2166136261;
      for (let i = 0; i < d.length; i++) h = Math.imul(h ^ d[i], 16777619);
      return `${c.width}x${c.height}:${h >>> 0}`;
    };
    let last = null;
    const tick = () => {
      if (!watch.on) return;
      const c = fig.querySelector('canvas');
      const h = c ? hash(c) : 'none';
      if (h !== last) {
        watch.changes.push({ t: performance.now(), shown: fig.dataset.shown });
        last = h;
      }
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
    new MutationObserver(() => {
      if (fig.dataset.state === 'ready') watch.ready.push(performance.now());
    }).observe(fig, { attributes: true, attributeFilter: ['data-state'] });
    document.addEventListener('input', () => watch.inputs.push(performance.now()), true);
    document.addEventListener('pointerup', () => (watch.up = performance.now()), true);
  });
}

/** Drags the "Guidance w" thumb left or right in small moves for ~3 s; returns the drag's timings. */
async function drag(page, direction) {
  const slider = page.getByLabel('Guidance w', { exact: true });
  const box = await slider.boundingBox();
  const value = await page.evaluate(() => window.__face0.state().w);
  const y = box.y + box.height / 2;
  // The thumb's centre, for a thumb ~16 px wide.
  let x = box.x + 8 + ((box.width - 16) * value) / 15;
  await watchResult(page);
  await page.mouse.move(x, y);
  await page.mouse.down();
  const MOVES = 24;
  for (let i = 0; i < MOVES; i++) {
    x += (direction * box.width) / 60;
    await page.mouse.move(x, y);
    await sleep(125);
  }
  await page.mouse.up();
  await page.waitForFunction(
    () => {
      const w = window.__watch;
      return w.ready.some((t) => t > w.up);
    },
    null,
    { timeout: 120_000, polling: 50 },
  );
  return page.evaluate(() => {
    const w = window.__watch;
    w.on = false;
    const start = w.inputs[0];
    const after = w.changes.filter((c) => c.t > start).map((c) => c.t);
    const during = after.filter((t) => t <= w.up);
    const marks = [start, ...during, w.up];
    const gaps = marks.slice(1).map((t, i) => t - marks[i]);
    return {
      // The first new pixels, during the drag or (when no draft came in time) after the release.
      firstChangeMs: after[0] - start,
      longestWaitMs: Math.max(...gaps),
      imagesDuringDrag: during.length,
      dragMs: w.up - start,
      releaseToFinalMs: w.ready.find((t) => t > w.up) - w.up,
    };
  });
}

async function sliderRows(page) {
  // A face, as a user would have before dragging.
  const before = await page.evaluate(() => window.__face0.state().result?.requestId ?? 0);
  await page.getByRole('region', { name: 'Face A' }).getByRole('button', { name: 'Random face' }).click();
  await waitForImage(page, before);
  const first = [];
  const longest = [];
  const count = [];
  const final = [];
  const loads = [];
  for (let i = 0; i < RUNS; i++) {
    loads.push(load1());
    const r = await drag(page, i % 2 ? 1 : -1);
    first.push(r.firstChangeMs);
    longest.push(r.longestWaitMs);
    count.push(r.imagesDuringDrag);
    final.push(r.releaseToFinalMs);
    console.log(`  slider drag ${i + 1}: first change ${Math.round(r.firstChangeMs)} ms, ${r.imagesDuringDrag} images in ${Math.round(r.dragMs)} ms (longest wait ${Math.round(r.longestWaitMs)} ms), release -> final ${Math.round(r.releaseToFinalMs)} ms`);
  }
  loads.push(load1());
  return [
    { name: 'slider drag: move -> first changed pixels', browser: summary(first, loads), native: null },
    { name: 'slider drag: longest wait for new pixels (ms)', browser: summary(longest, loads), native: null },
    { name: 'slider drag: images shown during a ~3 s drag (count)', browser: summary(count, loads), native: null },
    { name: 'slider drag: release -> final image', browser: summary(final, loads), native: null },
  ];
}

async function benchBackend(browser, base, backend, bundleFolder, native) {
  const extra = bundleFolder === 'default' ? '' : `&bundle=${bundleFolder}`;
  const onDisk = JSON.parse(readFileSync(`${ROOT}models/${bundleFolder}/manifest.json`, 'utf8'));
  const steps = STEPS[backend] ?? onDisk.defaults.steps;
  const lr = await loadRuns(base, backend, extra, steps);
  const info = lr.cold[0];
  const manifest = { ...info.manifest, bundleFolder };
  const identity = {
    backend,
    label: info.backend === 'webgpu' ? 'WebGPU' : `wasm, ${info.wasmThreads} threads`,
    fallbackReason: info.fallbackReason,
    bundle: manifest.name,
    bundleFolder,
    network: MBPS === null ? 'local' : `${MBPS} Mbit/s, 20 ms`,
    steps,
  };
  const load = {
    cold: summary(lr.cold.map((r) => r.loadMs), lr.loads),
    warm: summary(lr.warm.map((r) => r.loadMs), lr.loads),
    coldPhasesMs: medianPhases(lr.cold.map((r) => r.timings)),
  };
  console.log(`  [${backend}] load: cold ${load.cold.runs.join(', ')} ms; warm ${load.warm.runs.join(', ')} ms`);
  if (LOAD_ONLY) return { ...identity, load };

  const rows = [];
  if (backend === 'wasm') {
    const off = await firstImagesWithoutWarmup(browser, base, extra, steps);
    const on = lr.first;
    const done = on.map((r) => r.warmup).filter((w) => w.state === 'done');
    rows.push(
      { section: 'first', name: "page's own first image (fresh prompt, no face), with warm-up", browser: summary(on.map((r) => r.ownMs), lr.loads), native: null },
      { section: 'first', name: "page's own first image, without warm-up", browser: summary(off.runs.map((r) => r.ownMs), off.loads), native: null },
      { section: 'first', name: `photo analysis ${THINK_MS / 1000} s after load, with warm-up`, browser: summary(on.map((r) => r.analysisMs), lr.loads), native: null },
      { section: 'first', name: `photo analysis ${THINK_MS / 1000} s after load, without warm-up`, browser: summary(off.runs.map((r) => r.analysisMs), off.loads), native: null },
      { section: 'first', name: `first image with the photo's face, with warm-up`, browser: summary(on.map((r) => r.firstMs), lr.loads), native: null },
      { section: 'first', name: `first image with the photo's face, without warm-up`, browser: summary(off.runs.map((r) => r.firstMs), off.loads), native: null },
      { section: 'first', name: 'warm-up busy time until steady (ms)', browser: summary(done.map((w) => w.report.busyMs), lr.loads), native: null, note: `rounds ${done.map((w) => w.report.rounds).join(', ')}; outcomes ${done.map((w) => w.report.outcome).join(', ')}; finished before the photo in ${on.filter((r) => r.warmupAtThink === 'done').length} of ${on.length}` },
    );
  }

  const context = await browser.newContext({ viewport: { width: 1440, height: 1000 } });
  const page = await openApp(context, base, { backend, steps, extra });
  await waitForImage(page, 0);
  const warmup = await waitForWarmup(page);
  // One untimed image at the timed shapes, then the rows.
  await timed(page, { prompt: PROMPT, w: W, c: 1, a: 0, steps, seed: 1 });
  rows.push(...(await graphRows(page, backend, manifest, backend === 'wasm' ? native : null, info.wasmThreads, steps)).map((r) => ({ section: 'graphs', ...r })));
  rows.push(...(await imageRows(page, backend, steps)).map((r) => ({ section: 'image', ...r })));
  if (backend === 'wasm') rows.push(...(await sliderRows(page)).map((r) => ({ section: 'sliders', ...r })));
  await context.close();
  return { ...identity, load, warmup, rows };
}

function cell(s) {
  return s ? `${s.median} (${s.p25}-${s.p75})` : '';
}

function table(results) {
  const lines = [];
  for (const r of results) {
    lines.push(`\n${r.bundle} (${r.bundleFolder}) on ${r.label}, ${r.network}; medians of ${RUNS} runs (25th-75th percentile); ms unless stated; load = 1-min load average`);
    lines.push('| measure | browser | native onnxruntime | browser/native | load |');
    lines.push('|---|---|---|---|---|');
    lines.push(`| bundle load, cold | ${cell(r.load.cold)} | | | ${r.load.cold.load.join('-')} |`);
    lines.push(`| bundle load, warm (reload) | ${cell(r.load.warm)} | | | ${r.load.warm.load.join('-')} |`);
    for (const row of r.rows ?? []) {
      const ratio = row.native && !row.noRatio ? `${(row.browser.median / row.native.median).toFixed(2)}x` : '';
      lines.push(`| ${row.name} | ${cell(row.browser)} | ${cell(row.native)} | ${ratio} | ${row.browser.load.join('-')} |${row.note ? ` ${row.note}` : ''}`);
    }
    const phases = Object.entries(r.load.coldPhasesMs).map(([p, ms]) => `${p} ${ms}`).join('; ');
    lines.push(`\ncold load phases (medians, ms): ${phases}`);
  }
  return lines.join('\n');
}

const server = await serveApp({ skipBuild: Boolean(args['skip-build']) });
const link = MBPS === null ? null : await slowLink(server.base, { mbps: MBPS });
const native = NATIVE && !LOAD_ONLY ? startNative() : null;
const results = [];
const startedAt = new Date().toISOString();
try {
  for (const backend of backends) {
    const browser = await launchBrowser(backend);
    try {
      for (const bundleFolder of BUNDLES) results.push(await benchBackend(browser, link?.base ?? server.base, backend, bundleFolder, native));
    } finally {
      await browser.close();
    }
  }
} finally {
  native?.close();
  await link?.close();
  await server.close();
}
const probe = await launchBrowser('wasm');
const browserVersion = probe.version();
await probe.close();
const dir = outputDir('bench-output');
const report = { startedAt, statistic: 'median (p25-p75) of runs', runs: RUNS, thinkMs: THINK_MS, browser: `Chromium ${browserVersion} headless`, results };
writeFileSync(`${dir}bench.json`, JSON.stringify(report, null, 2) + '\n');
console.log(`${table(results)}\n\nwritten to bench-output/bench.json (this run only)`);
