/**
 * The whole loop of issue 3, on real data: training/tests/chain.py cuts two dozen celeba128 images into
 * shards, augments them with the app's face extraction, packs them with their TAEF2 latents, trains the tiny
 * U-Net on them a few steps, exports a bundle (TAEF2's decoder, output in [0, 1]) and samples one image from
 * the checkpoint in PyTorch; then the app's engine worker loads that bundle in Chromium and renders the same
 * request, which must give the same image.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { createServer, type ViteDevServer } from 'vite';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { evaluateStable, openEnginePage, serveBundleFolder } from './page';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const OUT = 'test-output/chain';
const PORT = 5312;

interface ChainRequest {
  prompt: string;
  face_embedding: number[];
  seed: number;
  steps: number;
  w: number;
  c: number;
  a: number;
  width: number;
  height: number;
}

const BUNDLE_URL = '/chain-bundle/';

let server: ViteDevServer;
let browser: Browser;

beforeAll(async () => {
  const run = spawnSync(`${ROOT}.venv/bin/python`, ['training/tests/chain.py', '--out', OUT], {
    cwd: ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 900_000,
  });
  const log = (run.stdout ?? '') + (run.stderr ?? '');
  console.log(log.split('\n').filter((l) => l.startsWith('chain:') || l.startsWith('augment:') || l.includes('max_abs_diff')).join('\n'));
  if (run.status !== 0) throw new Error(`training/tests/chain.py failed (${run.status ?? run.signal}):\n${log.slice(-4000)}`);
  server = await createServer({ root: ROOT, logLevel: 'warn', plugins: [serveBundleFolder(BUNDLE_URL, resolve(ROOT, OUT, 'bundle'))], server: { host: '127.0.0.1', port: PORT, strictPort: true } });
  await server.listen();
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox'] });
}, 960_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

it('the app renders the freshly trained and exported bundle as the PyTorch sampler does', async () => {
  const req = JSON.parse(readFileSync(`${ROOT}${OUT}/request.json`, 'utf8')) as ChainRequest;
  const python = readFileSync(`${ROOT}${OUT}/python.rgb`);
  const manifest = JSON.parse(readFileSync(`${ROOT}${OUT}/bundle/manifest.json`, 'utf8'));
  expect(manifest.unet.external_data).toEqual(['unet.onnx.data']);
  const page = await openEnginePage(browser, `http://127.0.0.1:${PORT}`);
  const r = await evaluateStable(
    page,
    async ([bundle, q]: readonly [string, ChainRequest]) => {
      try {
        const info = await window.engine.init(bundle, 'wasm', () => {});
        const out = await window.engine.generate(
          {
            prompt: q.prompt,
            face: { kind: 'embedding', embedding: Float32Array.from(q.face_embedding) },
            seed: q.seed,
            steps: q.steps,
            w: q.w,
            c: q.c,
            a: q.a,
          },
          () => {},
        );
        return { name: info.manifest.name, width: out.width, height: out.height, unetBatch: out.unetBatch, rgba: Array.from(out.rgba) };
      } catch (err) {
        return { error: window.toEngineError(err).message };
      }
    },
    [BUNDLE_URL, req] as const,
  );
  if ('error' in r) throw new Error(r.error);
  expect([r.name, r.width, r.height, r.unetBatch]).toEqual(['chain-tiny-taef2', req.width, req.height, 4]);
  let maxDiff = 0;
  let sum = 0;
  let sumSq = 0;
  for (let p = 0; p < req.width * req.height; p++) {
    for (let ch = 0; ch < 3; ch++) {
      const v = python[3 * p + ch];
      maxDiff = Math.max(maxDiff, Math.abs(r.rgba[4 * p + ch] - v));
      sum += v;
      sumSq += v * v;
    }
  }
  const n = 3 * req.width * req.height;
  const std = Math.sqrt(sumSq / n - (sum / n) ** 2);
  console.log('chain: browser (wasm) vs PyTorch max byte diff', maxDiff, 'image std', std.toFixed(1));
  // A flat image would make the comparison vacuous.
  expect(std).toBeGreaterThan(5);
  // float32 PyTorch vs float32 onnxruntime-web, 4 guided steps: at most 2 of 255 (one rounding each side).
  expect(maxDiff).toBeLessThanOrEqual(2);
}, 600_000);
