import { describe, expect, it } from 'vitest';
import { parseUrlOptions } from '../../src/ui/urlOptions';

describe('parseUrlOptions', () => {
  it('defaults to the default bundle, automatic backend, no test hook', () => {
    const o = parseUrlOptions('');
    expect(o).toMatchObject({ bundleName: 'default', bundleUrl: '/models/default/', backend: 'auto', test: false, steps: null, warmup: true });
    expect(o.problems).toEqual([]);
  });

  it('reads bundle, backend, test and steps', () => {
    const o = parseUrlOptions('?bundle=tiny-v2&backend=wasm&test=1&steps=4', '/app/models/');
    expect(o).toMatchObject({ bundleName: 'tiny-v2', bundleUrl: '/app/models/tiny-v2/', backend: 'wasm', test: true, steps: 4 });
  });

  it.each(['../secret', 'a/b', 'https://evil.example/x', '', '..', '.hidden'])('refuses bundle name %j', (name) => {
    const o = parseUrlOptions(`?bundle=${encodeURIComponent(name)}`);
    expect(o.bundleName).toBe('default');
    expect(o.problems).toHaveLength(1);
    expect(o.problems[0]).toContain('Invalid bundle name');
  });

  it('turns the warm-up off with warmup=0 and reports other values', () => {
    expect(parseUrlOptions('?warmup=0').warmup).toBe(false);
    expect(parseUrlOptions('?warmup=1').warmup).toBe(true);
    const o = parseUrlOptions('?warmup=no');
    expect(o.warmup).toBe(true);
    expect(o.problems).toEqual(['Invalid warmup "no": use 0 or 1']);
  });

  it('reports an unknown backend and bad steps and keeps the defaults', () => {
    const o = parseUrlOptions('?backend=cuda&steps=0');
    expect(o.backend).toBe('auto');
    expect(o.steps).toBeNull();
    expect(o.problems).toHaveLength(2);
    expect(parseUrlOptions('?steps=2.5').steps).toBeNull();
    expect(parseUrlOptions('?steps=201').steps).toBeNull();
  });
});
