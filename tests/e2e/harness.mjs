// Shared by the e2e runner and the benchmark: build + serve the app, launch Chromium, a tiny test runner.
import { spawn, spawnSync } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CHROMIUM = '/usr/bin/chromium';
const BASE_ARGS = [
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

export function parseArgs(argv) {
  const args = {};
  for (const a of argv) {
    const m = /^--([^=]+)(?:=(.*))?$/.exec(a);
    if (m) args[m[1]] = m[2] ?? true;
  }
  return args;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Serves bundle folders that do not ship with the app (test bundles) at /models/<name>/, byte for
 * byte, ahead of the app's own models/ middleware.
 */
function testBundles(bundles) {
  return {
    name: 'face0-test-bundles',
    enforce: 'pre',
    configurePreviewServer(server) {
      server.middlewares.use((req, res, next) => {
        const m = /^\/models\/([^/]+)\/(.+)$/.exec(new URL(req.url ?? '/', 'http://x').pathname);
        const dir = m && bundles[m[1]];
        if (!dir) return next();
        const file = resolve(dir, decodeURIComponent(m[2]));
        if (!file.startsWith(dir + sep) || !existsSync(file) || !statSync(file).isFile()) {
          res.statusCode = 404;
          return res.end('Not found');
        }
        res.setHeader('Content-Type', 'application/octet-stream');
        res.setHeader('Content-Length', String(statSync(file).size));
        createReadStream(file).pipe(res);
      });
    },
  };
}

/**
 * vite build (unless skipBuild and dist exists), then vite preview on 127.0.0.1:<free port>;
 * `bundles` ({ name: folder }) are served at /models/<name>/ beside the app's own.
 */
export async function serveApp({ skipBuild = false, bundles = {} } = {}) {
  const vite = await import('vite');
  if (!skipBuild || !existsSync(`${ROOT}dist/index.html`)) {
    const copy = spawnSync(process.execPath, [`${ROOT}scripts/copy-assets.mjs`], { stdio: 'inherit' });
    if (copy.status !== 0) throw new Error('copy-assets failed');
    const t0 = Date.now();
    await vite.build({ root: ROOT, logLevel: 'warn' });
    console.log(`built in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
  const port = await freePort();
  const server = await vite.preview({
    root: ROOT,
    logLevel: 'warn',
    plugins: [testBundles(bundles)],
    preview: { host: '127.0.0.1', port, strictPort: true, open: false },
  });
  const base = `http://127.0.0.1:${port}`;
  return { base, close: () => new Promise((resolve) => server.httpServer.close(() => resolve())) };
}

/**
 * The pipeline's code-initialised micro bundle (training/tests/micro_bundle.py), exported into
 * test-output/bundles/micro (unless `reuse` and it is there); returns its folder.
 */
export function microBundle({ reuse = false } = {}) {
  const out = `${ROOT}test-output/bundles/micro`;
  if (reuse && existsSync(`${out}/manifest.json`)) return out;
  const t0 = Date.now();
  const run = spawnSync(`${ROOT}.venv/bin/python`, ['training/tests/micro_bundle.py', '--out', out], {
    cwd: ROOT,
    env: { ...process.env, PYTHONPATH: `${ROOT}training` },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (run.status !== 0) throw new Error(`training/tests/micro_bundle.py failed (${run.status ?? run.signal}):\n${(run.stdout + run.stderr).slice(-3000)}`);
  console.log(`micro bundle exported in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return out;
}

/**
 * `dir` served by Python's http.server, a plain static server that sends no COOP, COEP or CSP
 * header, as GitHub Pages-like hosts do, under the sub-folder `folder` (as a project site is).
 */
export async function serveStatic(dir, folder) {
  const top = mkdtempSync(join(tmpdir(), 'face0-static-'));
  symlinkSync(dir, join(top, folder));
  const port = await freePort();
  const server = spawn('python3', ['-m', 'http.server', '--bind', '127.0.0.1', String(port), '--directory', top], { stdio: 'ignore' });
  const base = `http://127.0.0.1:${port}/${folder}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (server.exitCode !== null) throw new Error(`python3 -m http.server exited (${server.exitCode})`);
    try {
      if ((await fetch(`${base}/`)).ok) break;
    } catch {
      if (Date.now() > deadline) throw new Error(`python3 -m http.server did not answer at ${base}/`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return {
    base,
    /** Stops the server (the host goes away: nothing answers any more); safe to call twice. */
    async close() {
      if (server.exitCode === null && server.signalCode === null) {
        const exited = new Promise((resolve) => server.once('exit', resolve));
        server.kill();
        await exited;
      }
      rmSync(top, { recursive: true, force: true });
    },
  };
}

function browserOptions(backend) {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} missing: apt-get update && apt-get install -y chromium`);
  const args = backend === 'webgpu' ? [...BASE_ARGS, '--enable-unsafe-webgpu'] : BASE_ARGS;
  return { executablePath: CHROMIUM, headless: true, args };
}

export async function launchBrowser(backend) {
  return chromium.launch(browserOptions(backend));
}

/**
 * A browser context on a fresh profile folder, removed by close(). Unlike browser.newContext() (incognito:
 * an in-memory HTTP cache that evicted the 28 MB onnxruntime wasm and the 12.7 MB U-Net between two
 * loads), its disk cache keeps every file, as a returning user's browser does.
 */
export async function launchProfileContext(backend) {
  const dir = mkdtempSync(join(tmpdir(), 'face0-profile-'));
  const context = await chromium.launchPersistentContext(dir, browserOptions(backend));
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function outputDir(name) {
  const dir = `${ROOT}${name}/`;
  mkdirSync(dir, { recursive: true });
  return dir;
}

export class AssertionError extends Error {}

export function assert(cond, message) {
  if (!cond) throw new AssertionError(message);
}

/** Runs named async checks in order and counts them; a check never stops the others. */
export class Runner {
  constructor() {
    this.passed = 0;
    this.failed = 0;
    this.failures = [];
  }

  async run(name, fn) {
    const t0 = Date.now();
    try {
      const note = await fn();
      this.passed++;
      console.log(`  ok   ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)${note ? `: ${note}` : ''}`);
    } catch (err) {
      this.failed++;
      this.failures.push(name);
      console.log(`  FAIL ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s): ${err?.stack ?? err}`);
    }
  }

  summary() {
    if (this.failures.length) console.log(`failed: ${this.failures.join(', ')}`);
    console.log(`${this.passed} passed, ${this.failed} failed`);
    return this.failed === 0;
  }
}
