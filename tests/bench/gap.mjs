// node tests/bench/gap.mjs [--bundle=default] [--graph=unet] [--batch=2] [--model=PATH] [--rounds=5] [--calls=8]
//   [--browser=BUILD:THREADS:OPT[:FLAGS],...]  BUILD jsep (the app's on WebGPU) or plain (wasm-only: the app's on wasm);
//                                      OPT all | extended | basic | disabled   (default jsep:2:all);
//                                      FLAGS: nospin (threads sleep instead of spinning between ops),
//                                      fixed (the batch dimension fixed at session creation), xnnpack (the
//                                      XNNPACK execution provider ahead of wasm), joined by +
//   [--native=THREADS:OPT,...]         OPT all | layout (all but NCHWc) | extended | basic | disabled (default 2:all)
//   [--models=PATH,...]                other .onnx files of the same graph to time in every browser setting
//   [--profile]                        also onnxruntime's per-node profile of the first browser and the first native
//                                      setting (extra sessions, after their timing): ms per call by operator type
// What the wasm/native gap is made of: one graph of a bundle, timed call by call in Chromium (one worker per
// setting, onnxruntime-web straight from node_modules) and in native onnxruntime (tests/bench/native.py), at
// the shapes the app runs. Every setting is warmed until its times stop falling (wasm tier-up), then the
// settings take turns, round after round, so that each sees the same machine load. Prints medians, the
// spread (25th-75th percentile) over all calls, and the load average; writes bench-output/gap.json.
import { readFileSync, writeFileSync, existsSync, statSync, createReadStream } from 'node:fs';
import http from 'node:http';
import { loadavg } from 'node:os';
import { extname, resolve, sep } from 'node:path';
import { launchBrowser, outputDir, parseArgs, ROOT } from '../e2e/harness.mjs';
import { startNative } from './native.mjs';
import { graphFeeds, quantiles, warmUntilSteady } from './stats.mjs';

const args = parseArgs(process.argv.slice(2));
const BUNDLE = String(args.bundle ?? 'default');
const GRAPH = String(args.graph ?? 'unet');
const BATCH = Number(args.batch ?? 2);
const ROUNDS = Number(args.rounds ?? 5);
const CALLS = Number(args.calls ?? 8);
const manifest = JSON.parse(readFileSync(`${ROOT}models/${BUNDLE}/manifest.json`, 'utf8'));
const MODEL = String(args.model ?? `models/${BUNDLE}/${manifest[GRAPH].file}`);
const MODELS = [MODEL, ...(args.models ? String(args.models).split(',') : [])];
const ENTRIES = { jsep: '/node_modules/onnxruntime-web/dist/ort.min.mjs', plain: '/node_modules/onnxruntime-web/dist/ort.wasm.min.mjs' };
const browserSettings = String(args.browser ?? 'jsep:2:all').split(',').filter(Boolean).flatMap((s) => {
  const [build, threads, opt, flags = ''] = s.split(':');
  if (!ENTRIES[build]) throw new Error(`unknown build ${build} (jsep or plain)`);
  return MODELS.map((model) => ({ kind: 'browser', build, threads: Number(threads), opt, flags, model }));
});
const nativeSettings = String(args.native ?? '2:all').split(',').filter(Boolean).map((s) => {
  const [threads, opt] = s.split(':');
  return { kind: 'native', threads: Number(threads), opt, model: MODEL };
});
const feeds = graphFeeds(manifest, GRAPH, BATCH);
const PROFILE = Boolean(args.profile);

const TYPES = { '.html': 'text/html', '.mjs': 'text/javascript', '.js': 'text/javascript', '.wasm': 'application/wasm' };

/** Serves the repository with the headers that give cross-origin isolation (wasm threads). */
async function serveRepo() {
  const server = http.createServer((req, res) => {
    const file = resolve(ROOT, '.' + decodeURIComponent(new URL(req.url, 'http://x').pathname));
    res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
    if (!file.startsWith(ROOT.replace(/\/$/, '') + sep) || !existsSync(file) || !statSync(file).isFile()) {
      res.statusCode = 404;
      res.end();
      return;
    }
    res.setHeader('Content-Type', TYPES[extname(file)] ?? 'application/octet-stream');
    createReadStream(file).pipe(res);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { base: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((r) => server.close(r)) };
}

/** ms per call by operator type from onnxruntime profile events (the '<node>_kernel_time' ones). */
function byOperator(events, calls) {
  const ms = {};
  for (const e of events) {
    if (e.cat !== 'Node' || !String(e.name).endsWith('_kernel_time')) continue;
    const op = e.args?.op_name ?? '?';
    ms[op] = (ms[op] ?? 0) + e.dur / 1000 / calls;
  }
  return ms;
}

/** Profiles the first browser and the first native setting (fresh sessions with profiling on). */
async function profileOps(page, native, settings) {
  const calls = ROUNDS * CALLS;
  const out = {};
  const b = settings.find((s) => s.kind === 'browser');
  if (b) {
    const lines = await page.evaluate(
      async ({ load, calls }) => {
        const w = new Worker('/tests/bench/graphs/worker.mjs', { type: 'module' });
        const ask = (msg) =>
          new Promise((res, rej) => {
            w.onmessage = ({ data }) => (data.error ? rej(new Error(data.error)) : res(data));
            w.postMessage(msg);
          });
        await ask({ load });
        // Warm (tier-up) before the profiled calls: the profile covers every call since creation, so
        // the warm calls are profiled too and subtracted below by running the same number twice.
        let previous = Infinity;
        for (;;) {
          const ms = (await ask({ run: 4 })).ms.sort((x, y) => x - y)[2];
          if (ms >= previous * 0.95) break;
          previous = ms;
        }
        await ask({ run: calls });
        const printed = (await ask({ endProfiling: true })).lines;
        w.terminate();
        return printed;
      },
      { load: { entry: ENTRIES[b.build], threads: b.threads, model: `/${b.model}`, optLevel: b.opt, flags: [...b.flags.split('+'), 'profile'], batch: BATCH, feeds }, calls },
    );
    const events = [];
    for (const line of lines) {
      for (const part of line.split('\n')) {
        try {
          const e = JSON.parse(part.trim().replace(/^\[/, '').replace(/[,\]]+$/, ''));
          if (e && typeof e === 'object') events.push(e);
        } catch {
          // not an event line
        }
      }
    }
    if (events.length === 0) console.log(`no profile events in the browser's output; first lines:\n${lines.slice(0, 5).join('\n')}`);
    // Calls after creation: every one was profiled; keep the last `calls` of each node by dropping the earliest.
    out.browser = byOperator(lastCalls(events, calls), calls);
  }
  const n = settings.find((s) => s.kind === 'native');
  if (n) {
    await native.ask({ load: 'profile', path: n.model, threads: n.threads, opt: n.opt, profile: true });
    await warmUntilSteady(async (k) => (await native.ask({ run: 'profile', feeds, n: k })).ms);
    await native.ask({ run: 'profile', feeds, n: calls });
    out.native = byOperator(lastCalls((await native.ask({ profile: 'profile' })).events, calls), calls);
  }
  return out;
}

/** Of each node's kernel events, the last `calls` (the profiled calls after the warm ones). */
function lastCalls(events, calls) {
  const byNode = new Map();
  for (const e of events) {
    if (e.cat !== 'Node' || !String(e.name).endsWith('_kernel_time')) continue;
    if (!byNode.has(e.name)) byNode.set(e.name, []);
    byNode.get(e.name).push(e);
  }
  return [...byNode.values()].flatMap((list) => list.sort((a, b) => a.ts - b.ts).slice(-calls));
}

function printProfiles(p) {
  const ops = [...new Set([...Object.keys(p.browser ?? {}), ...Object.keys(p.native ?? {})])];
  const total = (m) => Object.values(m ?? {}).reduce((a, b) => a + b, 0);
  const tb = total(p.browser);
  const tn = total(p.native);
  ops.sort((a, b) => (p.browser?.[b] ?? 0) - (p.browser?.[a] ?? 0));
  console.log(`\nper operator type, ms per call (kernel time; first browser vs first native setting):`);
  console.log('| operator | browser | native | browser/native | share of browser |\n|---|---|---|---|---|');
  for (const op of ops) {
    const bm = p.browser?.[op] ?? 0;
    const nm = p.native?.[op] ?? 0;
    console.log(`| ${op} | ${bm.toFixed(2)} | ${nm.toFixed(2)} | ${nm ? (bm / nm).toFixed(2) + 'x' : ''} | ${tb ? ((100 * bm) / tb).toFixed(1) : ''}% |`);
  }
  console.log(`| all kernels | ${tb.toFixed(2)} | ${tn.toFixed(2)} | ${tn ? (tb / tn).toFixed(2) + 'x' : ''} | 100% |`);
}

async function main() {
  const server = await serveRepo();
  const browser = await launchBrowser('wasm');
  const native = startNative();
  const page = await browser.newPage();
  await page.goto(`${server.base}/tests/bench/graphs/index.html`);
  const isolated = await page.evaluate(() => self.crossOriginIsolated);
  if (!isolated) throw new Error('the page is not cross-origin isolated: wasm would run on one thread');

  const settings = [...browserSettings, ...nativeSettings];
  const label = (s) => (s.kind === 'browser' ? `wasm ${s.build}, ${s.threads} thr, opt ${s.opt}${s.flags ? `, ${s.flags}` : ''}` : `native, ${s.threads} thr, opt ${s.opt}`) + (MODELS.length > 1 ? `, ${s.model.split('/').pop()}` : '');
  // One function per setting that times n calls.
  const timers = [];
  for (const [i, s] of settings.entries()) {
    if (s.kind === 'browser') {
      const loaded = await page.evaluate(
        async ({ i, load }) => {
          window.workers ??= [];
          const w = new Worker('/tests/bench/graphs/worker.mjs', { type: 'module' });
          window.workers[i] = w;
          w.ask = (msg) =>
            new Promise((res, rej) => {
              w.onmessage = ({ data }) => (data.error ? rej(new Error(data.error)) : res(data));
              w.postMessage(msg);
            });
          return (await w.ask({ load })).loaded;
        },
        { i, load: { entry: ENTRIES[s.build], threads: s.threads, model: `/${s.model}`, optLevel: s.opt, flags: s.flags.split('+'), batch: BATCH, feeds } },
      );
      s.createMs = loaded.ms;
      timers.push((n) => page.evaluate(async ({ i, n }) => (await window.workers[i].ask({ run: n })).ms, { i, n }));
    } else {
      const key = `s${i}`;
      s.createMs = (await native.ask({ load: key, path: s.model, threads: s.threads, opt: s.opt })).ms;
      timers.push(async (n) => (await native.ask({ run: key, feeds, n })).ms);
    }
    const warm = await warmUntilSteady(timers[i], { window: 4, tolerance: 0.05, maxMs: 40_000 });
    s.warmup = warm;
    console.log(`${label(s)}: created in ${Math.round(s.createMs)} ms; warm after ${warm.calls} calls (${(warm.ms / 1000).toFixed(1)} s), first call ${warm.first.toFixed(1)} ms`);
  }
  const samples = settings.map(() => []);
  const loads = [];
  for (let r = 0; r < ROUNDS; r++) {
    loads.push(loadavg()[0]);
    for (const [i] of settings.entries()) samples[i].push(...(await timers[i](CALLS)));
  }
  loads.push(loadavg()[0]);
  const profiles = PROFILE ? await profileOps(page, native, settings) : null;
  await browser.close();
  native.close();
  await server.close();

  const rows = settings.map((s, i) => ({ setting: label(s), ...s, ...quantiles(samples[i]), calls: samples[i].length }));
  const reference = rows.find((r) => r.kind === 'native') ?? rows[0];
  console.log(`\n${GRAPH}, batch ${BATCH} (${MODEL}); ${ROUNDS} rounds x ${CALLS} calls per setting, settings in turn; load average ${Math.min(...loads).toFixed(2)}-${Math.max(...loads).toFixed(2)}`);
  console.log(`| setting | median ms | p25-p75 | vs ${reference.setting} |\n|---|---|---|---|`);
  for (const r of rows) console.log(`| ${r.setting} | ${r.median.toFixed(1)} | ${r.p25.toFixed(1)}-${r.p75.toFixed(1)} | ${(r.median / reference.median).toFixed(2)}x |`);
  if (profiles) printProfiles(profiles, settings.map(label));
  const dir = outputDir('bench-output');
  writeFileSync(`${dir}gap.json`, JSON.stringify({ graph: GRAPH, batch: BATCH, model: MODEL, rounds: ROUNDS, calls: CALLS, loadAverage: loads, rows, profiles }, null, 2) + '\n');
}

await main();
