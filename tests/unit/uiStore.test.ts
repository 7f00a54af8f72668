import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { EngineInfo } from '../../src/engineWorker/api';
import type { Manifest } from '../../src/bundle/manifest';
import { guidanceOf, useStore } from '../../src/store';

const manifest = JSON.parse(readFileSync(new URL('../../models/default/manifest.json', import.meta.url), 'utf8')) as Manifest;
const info = { backend: 'wasm', wasmThreads: 2, fallbackReason: null, manifest, loadMs: 1, timings: {} } as EngineInfo;

describe('store', () => {
  it("has no guidance values of its own: they are the bundle's, unknown until it loads", () => {
    const s = useStore.getState();
    expect([s.w, s.c, s.a, s.steps]).toEqual([null, null, null, null]);
    expect(() => guidanceOf(s)).toThrow(/before the bundle loaded/);
  });

  it("keeps what the user set while the model loaded; the bundle's defaults fill the rest", () => {
    const s = useStore.getState();
    s.setParam('w', 3);
    s.setParam('steps', 25);
    s.setInfo(info, null);
    const after = useStore.getState();
    expect(after.w).toBe(3);
    expect(after.steps).toBe(25);
    expect(after.c).toBe(manifest.defaults.c);
    expect(after.a).toBe(manifest.defaults.a);
    expect(guidanceOf(after)).toEqual({ ...manifest.defaults, w: 3, steps: 25 });
  });

  it('applies a URL steps override unless the user chose steps', () => {
    useStore.setState({ touched: [] });
    useStore.getState().setInfo(info, 2);
    expect(useStore.getState().steps).toBe(2);
    expect(useStore.getState().w).toBe(manifest.defaults.w);
  });
});
