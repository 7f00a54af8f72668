import { defineConfig } from 'vitest/config';

// Browser-level checks of the engine (Chromium + Vite dev server); slow, so kept out of the unit run.
export default defineConfig({
  // The Node reference runs the engine's sessions in Node: onnxruntime-web's wasm-only entry has no Node
  // build (it fails on require('node:os')), and its main entry's Node build is wasm-only already.
  resolve: { alias: [{ find: /^onnxruntime-web\/wasm$/, replacement: 'onnxruntime-web' }] },
  test: {
    root: new URL('../../..', import.meta.url).pathname,
    include: ['tests/e2e/engine/**/*.test.ts'],
    environment: 'node',
    fileParallelism: false,
    testTimeout: 600_000,
    hookTimeout: 120_000,
  },
});
