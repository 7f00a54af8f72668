/**
 * The engine worker in real Chromium (Vite dev server, tests/e2e/engine/smoke.html), against
 * models/default: bundle load, face analysis vs Python (tests/golden/face_reference.json), errors,
 * generation vs the same pipeline on onnxruntime-web's Node build, supersede semantics, and WebGPU
 * (SwiftShader): one default-bundle image equal to wasm's, and the WebGPU plumbing (GPU-resident
 * tensors, one read-back per generation, the text-encoding cache, supersede) on the pipeline's micro
 * bundle (training/tests/micro_bundle.py), where SwiftShader does not take seconds per U-Net call.
 * Run: npx vitest run --config tests/e2e/engine/vitest.config.ts
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createServer, type ViteDevServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEnginePage, serveBundleFolder } from './page';
import type { GenerateRequest } from '../../../src/engineWorker/api';
import { openBundle } from '../../../src/bundle/loadBundle';
import { CancelToken } from '../../../src/engineWorker/cancel';
import { Pipeline } from '../../../src/engineWorker/pipeline';
import { Serial } from '../../../src/engineWorker/serial';
import { GraphSet } from '../../../src/engineWorker/sessions';
import { ClipTokenizer, encodePrompt } from '../../../src/text/tokenizer';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const DEMO = `${ROOT}node_modules/@vladmandic/face-api/demo/`;
const PORT = 5311;
const BASE = `http://127.0.0.1:${PORT}`;
const BUNDLE = '/models/default/';
const DEFAULT_MANIFEST = JSON.parse(readFileSync(`${ROOT}models/default/manifest.json`, 'utf8')) as { image_size: number };
const MICRO_DIR = `${ROOT}test-output/bundles/micro`;
const MICRO_BUNDLE = '/micro-bundle/';

interface RefPhoto {
  width: number;
  height: number;
  faces: number[][];
  chosen: number;
  crop_box: number[];
  embedding: number[];
}
const reference = JSON.parse(readFileSync(new URL('../../golden/face_reference.json', import.meta.url), 'utf8')) as Record<string, RefPhoto>;

const REQUEST: GenerateRequest = { prompt: 'a photo of a smiling person', face: { kind: 'none' }, w: 5, c: 1, a: 0, steps: 3, seed: 42 };

let server: ViteDevServer;
const browsers: Browser[] = [];

async function openPage(webgpu: boolean, path = 'tests/e2e/engine/smoke.html'): Promise<Page> {
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', ...(webgpu ? ['--enable-unsafe-webgpu'] : [])],
  });
  browsers.push(browser);
  return openEnginePage(browser, BASE, path);
}

function bytesOf(name: string): number[] {
  return Array.from(readFileSync(DEMO + name));
}

/** Runs a call in the page; returns its value or the decoded EngineError's code and message. */
async function call<T>(page: Page, fn: string, arg?: unknown): Promise<T | { error: string; message: string }> {
  return page.evaluate(
    async ([body, a]) => {
      try {
        return await new Function('engine', 'arg', `return (${body})(engine, arg)`)(window.engine, a);
      } catch (err) {
        const e = window.toEngineError(err);
        return { error: e.code, message: e.message };
      }
    },
    [fn, arg] as const,
  ) as Promise<T | { error: string; message: string }>;
}

function cosine(a: number[], b: number[]): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  a.forEach((v, i) => ((ab += v * b[i]), (aa += v * v), (bb += b[i] * b[i])));
  return ab / Math.sqrt(aa * bb);
}

/** The same request through the same pipeline on onnxruntime-web's Node build (wasm EP). */
async function nodeReference(req: GenerateRequest): Promise<number[]> {
  const bundle = await openBundle(`${BASE}${BUNDLE}`, () => undefined);
  const m = bundle.manifest;
  const graphs = await GraphSet.create(bundle, 'wasm', new Serial(), () => undefined);
  try {
    const tok = await ClipTokenizer.fromGzipBytes(await bundle.arrived(m.tokenizer.vocab_file));
    const encodeIds = (p: string) => encodePrompt(tok, p, m.tokenizer, m.face_token_positions).inputIds;
    const pipeline = new Pipeline(m, encodeIds, (g, f) => graphs.run(g, f), () => graphs.ops);
    const faceEmbedding = req.face.kind === 'embedding' ? req.face.embedding : null;
    const out = await pipeline.generate({ ...req, faceEmbedding }, new CancelToken());
    return Array.from(out.rgba);
  } finally {
    await graphs.release();
  }
}

beforeAll(async () => {
  const micro = spawnSync(`${ROOT}.venv/bin/python`, ['training/tests/micro_bundle.py', '--out', MICRO_DIR], {
    cwd: ROOT,
    env: { ...process.env, PYTHONPATH: `${ROOT}training` },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (micro.status !== 0) throw new Error(`training/tests/micro_bundle.py failed:\n${(micro.stdout + micro.stderr).slice(-3000)}`);
  server = await createServer({
    root: ROOT,
    logLevel: 'warn',
    plugins: [serveBundleFolder(MICRO_BUNDLE, MICRO_DIR)],
    server: { host: '127.0.0.1', port: PORT, strictPort: true },
  });
  await server.listen();
}, 600_000);

afterAll(async () => {
  for (const b of browsers) await b.close();
  await server?.close();
});

/** Generates in the page; returns the result with its pixels as an array and the progress it reported. */
const GPU_RUN = `async (engine, req) => {
  const steps = [];
  const face = req.face.kind === 'embedding' ? { kind: 'embedding', embedding: Float32Array.from(req.face.embedding) } : req.face;
  const r = await engine.generate({ ...req, face }, (p) => steps.push(p.kind === 'step' ? p.step : p.kind));
  return { ...r, rgba: Array.from(r.rgba), steps };
}`;

describe('engine worker in Chromium (wasm)', () => {
  let page: Page;
  let wasmImage: number[];
  let faceEmbedding: number[];

  it('loads and verifies the bundle, reporting progress per file and graph', async () => {
    page = await openPage(false);
    const r = await call<{ info: any; events: any[] }>(
      page,
      `async (engine) => {
        const events = [];
        const info = await engine.init('${BUNDLE}', 'auto', (p) => events.push(p));
        return { info: { ...info, manifest: info.manifest.name }, events };
      }`,
    );
    if ('error' in r) throw new Error(r.message);
    console.log('init', r.info);
    expect(r.info.backend).toBe('wasm');
    expect(r.info.fallbackReason).toMatch(/^WebGPU unavailable: /);
    expect(r.info.wasmThreads).toBeGreaterThanOrEqual(1);
    const graphs = r.events.filter((e) => e.kind === 'session').map((e) => e.graph);
    expect(graphs).toEqual(['text_encoder', 'face_projector', 'unet', 'vae_decoder', 'face_embedder', 'face_detector']);
    const unetDone = r.events.find((e) => e.kind === 'load' && e.file === 'unet.onnx' && e.loadedBytes === e.totalBytes);
    expect(unetDone.totalBytes).toBeGreaterThan(1_000_000);
  }, 300_000);

  it('analyzes photos like the Python extractor (boxes within 3 px, embedding cosine > 0.999)', async () => {
    for (const [name, ref] of Object.entries(reference)) {
      const r = await call<any>(
        page,
        `async (engine, bytes) => {
          const a = await engine.analyzeImage(new Blob([new Uint8Array(bytes)], { type: 'image/jpeg' }));
          return { ...a, embedding: Array.from(a.embedding), crop: { width: a.crop.width, n: a.crop.rgba.length } };
        }`,
        bytesOf(name),
      );
      if ('error' in r) throw new Error(`${name}: ${r.message}`);
      expect([r.imageWidth, r.imageHeight]).toEqual([ref.width, ref.height]);
      expect(r.faces).toHaveLength(ref.faces.length);
      expect(r.chosen).toBe(ref.chosen);
      const box = r.faces[r.chosen].box;
      const refBox = ref.faces[ref.chosen];
      const boxErr = Math.max(...[box.x, box.y, box.width, box.height].map((v: number, i: number) => Math.abs(v - refBox[i])));
      const cos = cosine(r.embedding, ref.embedding);
      console.log(name, `${r.faces.length} faces, box error ${boxErr.toFixed(2)} px, cosine ${cos.toFixed(6)}, ${r.ms.toFixed(0)} ms`);
      expect(boxErr).toBeLessThan(3);
      expect(cos).toBeGreaterThan(0.999);
      expect(r.crop).toEqual({ width: 150, n: 150 * 150 * 4 });
      if (name === 'sample2.jpg') faceEmbedding = r.embedding;
    }
    const picked = await call<any>(
      page,
      `async (engine, bytes) => (await engine.analyzeImage(new Blob([new Uint8Array(bytes)]), 1)).chosen`,
      bytesOf('sample1.jpg'),
    );
    expect(picked).toBe(1);
  }, 300_000);

  it('reports not_an_image, corrupt_image (truncated JPEG) and no_face, then keeps working', async () => {
    const text = await call<any>(page, `(engine) => engine.analyzeImage(new Blob(['hello'], { type: 'text/plain' }))`);
    expect(text).toEqual({ error: 'not_an_image', message: expect.stringContaining('read as text/plain') });
    const jpeg = bytesOf('sample2.jpg');
    const cut = await call<any>(page, `(engine, bytes) => engine.analyzeImage(new Blob([new Uint8Array(bytes)]))`, jpeg.slice(0, 100_000));
    expect(cut).toEqual({ error: 'corrupt_image', message: expect.stringContaining('truncated') });
    const blank = await call<any>(
      page,
      `async (engine) => {
        const c = new OffscreenCanvas(320, 240);
        const g = c.getContext('2d'); g.fillStyle = '#777'; g.fillRect(0, 0, 320, 240);
        return engine.analyzeImage(await c.convertToBlob({ type: 'image/png' }));
      }`,
    );
    expect(blank).toEqual({ error: 'no_face', message: 'No face found in this photo' });
    const info = await call<any>(page, `(engine) => engine.promptInfo('a photo of a person')`);
    expect(info).toEqual({ tokenCount: 5, maxTokens: 72, remaining: 67, truncated: false });
  }, 120_000);

  it('generates with a face: one batched U-Net call per step, deterministic, equal to the Node run', async () => {
    const req: GenerateRequest = { ...REQUEST, face: { kind: 'embedding', embedding: Float32Array.from(faceEmbedding) } };
    const run = `async (engine, req) => {
      const steps = [];
      const r = await engine.generate({ ...req, face: { kind: 'embedding', embedding: Float32Array.from(req.face.embedding) } },
        (p) => steps.push(p.kind === 'step' ? p.step : p.kind));
      return { ...r, rgba: Array.from(r.rgba), steps };
    }`;
    const arg = { ...req, face: { kind: 'embedding', embedding: faceEmbedding } };
    const a = await call<any>(page, run, arg);
    if ('error' in a) throw new Error(a.message);
    const b = await call<any>(page, run, arg);
    console.log('generate wasm', { ms: a.ms, again: b.ms, batch: a.unetBatch, calls: a.unetCalls });
    const size = DEFAULT_MANIFEST.image_size;
    expect([a.width, a.height, a.unetCalls, a.unetBatch, a.backend]).toEqual([size, size, 3, 2, 'wasm']);
    expect(a.steps).toEqual([1, 2, 3, 'decode']);
    expect(a.deviceStats).toEqual({ uploads: 0, downloads: 0, liveTensors: 0 });
    expect(b.rgba).toEqual(a.rgba);
    wasmImage = a.rgba;
    const ref = await nodeReference(req);
    const diff = Math.max(...ref.map((v, i) => Math.abs(v - wasmImage[i])));
    console.log('browser vs node max byte diff', diff);
    // Same kernels; only thread-count-dependent summation order differs.
    expect(diff).toBeLessThanOrEqual(1);
  }, 300_000);

  it('a newer generate() supersedes the running one, which rejects with "cancelled"', async () => {
    const r = await call<any>(
      page,
      `async (engine, req) => {
        const settle = (p) => p.then((v) => ({ ok: v.unetCalls }), (e) => ({ err: window.toEngineError(e).code }));
        const first = settle(engine.generate({ ...req, steps: 30 }, () => {}));
        const second = settle(engine.generate({ ...req, steps: 5 }, () => {}));
        const third = settle(engine.generate({ ...req, steps: 2 }, () => {}));
        return [await first, await second, await third];
      }`,
      REQUEST,
    );
    expect(r).toEqual([{ err: 'cancelled' }, { err: 'cancelled' }, { ok: 2 }]);
  }, 300_000);

  it('makes on WebGPU (SwiftShader) the image wasm makes with the default bundle: the one default-bundle WebGPU image', async () => {
    const gpu = await openPage(true);
    const info = await call<any>(gpu, `async (engine) => { const i = await engine.init('${BUNDLE}', 'auto', () => {}); return { ...i, manifest: null }; }`);
    if ('error' in info) throw new Error(info.message);
    expect(info.backend).toBe('webgpu');
    expect(info.fallbackReason).toBeNull();
    const r = await call<any>(gpu, GPU_RUN, { ...REQUEST, face: { kind: 'embedding', embedding: faceEmbedding } });
    if ('error' in r) throw new Error(r.message);
    const diff = Math.max(...r.rgba.map((v: number, i: number) => Math.abs(v - wasmImage[i])));
    console.log('generate webgpu (default bundle)', { ms: r.ms, diffVsWasm: diff, deviceStats: r.deviceStats });
    expect(r.backend).toBe('webgpu');
    expect([r.unetCalls, r.unetBatch]).toEqual([3, 2]);
    expect(r.steps).toEqual([1, 2, 3, 'decode']);
    // Different kernels (GPU vs CPU float32 accumulation): at most 2 levels of 255.
    expect(diff).toBeLessThanOrEqual(2);
  }, 600_000);

  it('keeps tensors on the GPU (micro bundle): one read-back per image, the text-encoding cache, supersede', async () => {
    // A page of its own: a worker's MediaPipe module cannot be created a second time ("ModuleFactory not set").
    const gpu = await openPage(true);
    const info = await call<any>(gpu, `async (engine) => { const i = await engine.init('${MICRO_BUNDLE}', 'webgpu', () => {}); return { ...i, manifest: i.manifest.name }; }`);
    if ('error' in info) throw new Error(info.message);
    expect([info.backend, info.manifest]).toEqual(['webgpu', 'face0-micro']);
    const r = await call<any>(gpu, GPU_RUN, { ...REQUEST, face: { kind: 'embedding', embedding: faceEmbedding } });
    if ('error' in r) throw new Error(r.message);
    console.log('generate webgpu (micro bundle)', { ms: r.ms, deviceStats: r.deviceStats });
    expect([r.backend, r.unetCalls, r.unetBatch]).toEqual(['webgpu', 3, 2]);
    expect(r.steps).toEqual([1, 2, 3, 'decode']);
    // One download (the image). Uploads, all small: token ids, face embedding, initial latents, and
    // per step the timestep and the step kernel's parameters; once per bundle, the x0 projection's mean
    // and basis (the micro bundle's applies from t = 500). Held after it: the cached text encoding.
    expect(r.deviceStats).toEqual({ uploads: 3 + 2 * 3 + 2, downloads: 1, liveTensors: 1 });

    // Another prompt without a face, 1 step: its encoding joins the cache; nothing else is left behind.
    const r2 = await call<any>(gpu, GPU_RUN, { ...REQUEST, prompt: 'a photo of a person', steps: 1 });
    if ('error' in r2) throw new Error(r2.message);
    console.log('generate webgpu (micro bundle), 1 step', { ms: r2.ms, deviceStats: r2.deviceStats });
    expect([r2.unetCalls, r2.unetBatch]).toEqual([1, 2]);
    expect(r2.deviceStats).toEqual({ uploads: 2 + 2 * 1, downloads: 1, liveTensors: 2 });

    // Supersede on WebGPU: the first run rejects and releases its buffers (only the 2 cached encodings remain).
    const settled = await call<any>(
      gpu,
      `async (engine, req) => {
        const settle = (p) => p.then((v) => ({ ok: v.unetCalls, live: v.deviceStats.liveTensors }), (e) => ({ err: window.toEngineError(e).code }));
        const first = settle(engine.generate({ ...req, steps: 30 }, () => {}));
        const second = settle(engine.generate({ ...req, steps: 1 }, () => {}));
        return [await first, await second];
      }`,
      REQUEST,
    );
    expect(settled).toEqual([{ err: 'cancelled' }, { ok: 1, live: 2 }]);
  }, 300_000);
});

describe('WebGPU kernels (SwiftShader), tests/e2e/engine/gpuKernels.ts', () => {
  it('the guided DDIM step (with and without an x0 projection) and the context copies give what the CPU implementation gives', async () => {
    const page = await openPage(true, 'tests/e2e/engine/gpuKernels.html');
    const r = await page.evaluate(() => (window as any).compareGpuOps());
    console.log('gpu kernels', JSON.stringify(r));
    // float32 arithmetic (and possibly fused multiply-adds) on the GPU vs float64 rounded to float32
    // on the CPU: 1e-5 relative to max(1, |v|) for values up to ~30.
    for (const step of r.steps) expect(step.worst, step.name).toBeLessThan(1e-5);
    expect(r.steps.map((s: any) => s.rows)).toEqual([2, 4, 2, 1, 2, 4]);
    // The clip_sample cases do clamp x0 (else they would not test the clamp).
    expect(r.steps.map((s: any) => s.clipped > 0)).toEqual([false, true, false, true, false, true]);
    // Pure copies: bit-identical.
    expect(r.contexts.map((c: any) => c.equal)).toEqual([true, true]);
    expect(r.live).toBe(0);
  }, 300_000);
});
