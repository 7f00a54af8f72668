import { createReadStream, cpSync, existsSync, readdirSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defaultClientConditions, defineConfig, type Plugin } from 'vite';
import { securityHeaders } from './src/security/headers.ts';
import { mediapipeTelemetryOff, telemetryCheck } from './vite-plugins/mediapipeTelemetryOff.ts';
import { serviceWorker } from './vite-plugins/serviceWorker.ts';

const root = fileURLToPath(new URL('.', import.meta.url));
const modelsDir = resolve(root, 'models');

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
  // Relative URLs in the build: it works from any folder of any static host (e.g. a GitHub Pages
  // project site); src/appRoot.ts finds that folder at run time.
  base: './',
  plugins: [react(), modelsFolder(), mediapipeTelemetryOff(), telemetryCheck(), serviceWorker()],
  // Not pre-bundled in dev, so that the telemetry patch (a transform) applies there too.
  optimizeDeps: { exclude: ['@mediapipe/tasks-vision'] },
  resolve: {
    // onnxruntime-web's entry without the 28 MB wasm inlined as an asset: src/engineWorker/ort.ts points
    // it at /ort/, where scripts/copy-assets.mjs puts the same files.
    conditions: ['onnxruntime-web-use-extern-wasm', ...defaultClientConditions],
  },
  server: { headers: securityHeaders(true) },
  preview: { headers: securityHeaders(false) },
  worker: { format: 'es', plugins: () => [mediapipeTelemetryOff()] },
  build: { target: 'es2022', chunkSizeWarningLimit: 2048 },
});
