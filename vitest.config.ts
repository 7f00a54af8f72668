import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/unit/**/*.test.ts'],
    environment: 'node',
    testTimeout: 120_000,
    // Loading tfjs and the face-api model in a beforeAll took over the 10 s default on a loaded machine.
    hookTimeout: 120_000,
  },
});
