import { defineConfig } from 'vitest/config';

// Browser-level checks of the engine (Chromium + Vite dev server); slow, so kept out of the unit run.
export default defineConfig({
  test: {
    root: new URL('../../..', import.meta.url).pathname,
    include: ['tests/e2e/engine/**/*.test.ts'],
    environment: 'node',
    fileParallelism: false,
    testTimeout: 600_000,
    hookTimeout: 120_000,
  },
});
