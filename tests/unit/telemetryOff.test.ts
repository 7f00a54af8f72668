/**
 * The build-time patch that switches @mediapipe/tasks-vision's usage telemetry off, applied to the
 * installed bundle (its effect in a browser: tests/e2e/engine/telemetry.test.ts).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { LOG_ENDPOINT, patchTelemetry, TELEMETRY_OFF } from '../../vite-plugins/mediapipeTelemetryOff';

const dir = fileURLToPath(new URL('../../node_modules/@mediapipe/tasks-vision/', import.meta.url));
const FILES = ['vision_bundle.mjs', 'vision_bundle.cjs', 'vision_bundle.js'];

describe('mediapipe telemetry patch', () => {
  it.each(FILES)('%s: the uploader starts in its off state instead of its 60 s timer', (name) => {
    const original = readFileSync(dir + name, 'utf8');
    const patched = patchTelemetry(original, name);
    expect(original).toMatch(/setInterval\(\(\)=>\{this\.flush\(\)\},6e4\)/);
    expect(patched).not.toMatch(/setInterval\(\(\)=>\{this\.flush\(\)\},6e4\)/);
    expect(patched.split(TELEMETRY_OFF)).toHaveLength(2);
    expect(patched).toContain(`this.error=Error(${JSON.stringify(TELEMETRY_OFF)})`);
    // Nothing else changes.
    expect(patched.replace(/this\.error=Error\("[^"]*"\)/, '')).toBe(original.replace(/this\.\w+=setInterval\(\(\)=>\{this\.flush\(\)\},6e4\)/, ''));
  });

  it('refuses a bundle it was not written for, naming what is missing', () => {
    const original = readFileSync(dir + FILES[0], 'utf8');
    expect(() => patchTelemetry(original.replace('},6e4)', '},3e4)'), 'changed.mjs')).toThrow(/changed\.mjs: .*uploader timer .* found 0 times/);
    expect(() => patchTelemetry(original.replace('flush(t,e){if(this.error)', 'flush(t,e){if(this.failed)'), 'x')).toThrow(/flush guard/);
    expect(() => patchTelemetry(original + `fetch("${LOG_ENDPOINT}")`, 'x')).toThrow(/log endpoint .* found 2 times/);
  });
});
