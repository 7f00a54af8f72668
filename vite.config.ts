import { createReadStream, cpSync, existsSync, readdirSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defaultClientConditions, defineConfig, type Plugin } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));
const modelsDir = resolve(root, 'models');

/**
 * connect-src 'self' is what keeps the app private: every photo stays on the device, and
 * @mediapipe/tasks-vision's logger (it POSTs to a Google host, with no option to turn it off)
 * is refused by the browser. The header (not a meta tag) matters: a worker gets its policy
 * from its own script's response, and the face detector runs in the worker.
 */
function contentSecurityPolicy(dev: boolean): string {
  return [
    "default-src 'self'",
    // Dev only: plugin-react's refresh preamble is an inline script.
    `script-src 'self' 'wasm-unsafe-eval'${dev ? " 'unsafe-inline'" : ''}`,
    "worker-src 'self' blob:",
    // Dev only: HMR websocket.
    `connect-src 'self'${dev ? ' ws:' : ''}`,
    "img-src 'self' blob: data:",
    // Dev only: Vite injects CSS as <style> elements.
    `style-src 'self'${dev ? " 'unsafe-inline'" : ''}`,
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

function securityHeaders(dev: boolean): Record<string, string> {
  return {
    // Cross-origin isolation gives SharedArrayBuffer, hence multi-threaded wasm.
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Embedder-Policy': 'require-corp',
    'Content-Security-Policy': contentSecurityPolicy(dev),
  };
}

const MODEL_TYPES: Record<string, string> = {
  '.json': 'application/json',
  '.onnx': 'application/octet-stream',
  '.tflite': 'application/octet-stream',
  // Served as opaque bytes: the tokenizer gunzips the vocabulary itself.
  '.gz': 'application/octet-stream',
  '.bin': 'application/octet-stream',
  '.md': 'text/markdown; charset=utf-8',
};

/** Serves the repository's models/ at /models/ (dev and preview) and copies it into the build. */
function modelsFolder(): Plugin {
  let outDir = 'dist';
  let headers: Record<string, string> = {};
  const serve = (req: IncomingMessage, res: ServerResponse, next: () => void): void => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (!url.pathname.startsWith('/models/') || (req.method !== 'GET' && req.method !== 'HEAD')) {
      next();
      return;
    }
    const file = resolve(modelsDir, '.' + decodeURIComponent(url.pathname.slice('/models'.length)));
    if (!file.startsWith(modelsDir + sep) || !existsSync(file) || !statSync(file).isFile()) {
      res.statusCode = 404;
      for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
      res.end('Not found');
      return;
    }
    const stat = statSync(file);
    const etag = `"${stat.size.toString(16)}-${Math.floor(stat.mtimeMs).toString(16)}"`;
    for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
    res.setHeader('ETag', etag);
    res.setHeader('Cache-Control', 'no-cache');
    if (req.headers['if-none-match'] === etag) {
      res.statusCode = 304;
      res.end();
      return;
    }
    res.setHeader('Content-Type', MODEL_TYPES[extname(file)] ?? 'application/octet-stream');
    res.setHeader('Content-Length', String(stat.size));
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    createReadStream(file).pipe(res);
  };
  return {
    name: 'face0-models-folder',
    configResolved(config) {
      outDir = resolve(config.root, config.build.outDir);
      headers = securityHeaders(config.command === 'serve' && config.mode !== 'production');
    },
    configureServer(server) {
      server.middlewares.use(serve);
    },
    configurePreviewServer(server) {
      headers = securityHeaders(false);
      server.middlewares.use(serve);
    },
    writeBundle() {
      if (!existsSync(modelsDir)) return;
      // Only bundles (folders with a manifest.json) ship with the app; models/eval is a test tool.
      for (const name of readdirSync(modelsDir)) {
        const folder = join(modelsDir, name);
        if (existsSync(join(folder, 'manifest.json'))) cpSync(folder, join(outDir, 'models', name), { recursive: true });
      }
    },
  };
}

export default defineConfig({
  plugins: [react(), modelsFolder()],
  resolve: {
    // onnxruntime-web's entry without the 28 MB wasm inlined as an asset: src/engine/ort.ts points
    // it at /ort/, where scripts/copy-assets.mjs puts the same files.
    conditions: ['onnxruntime-web-use-extern-wasm', ...defaultClientConditions],
  },
  server: { headers: securityHeaders(true) },
  preview: { headers: securityHeaders(false) },
  worker: { format: 'es' },
  build: { target: 'es2022', chunkSizeWarningLimit: 2048 },
});
