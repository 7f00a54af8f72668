import { useStore, type LoadState } from '../../store';
import type { EngineClient } from '../../engineClient/client';
import { loadQueuedPhotos } from './faceActions';
import { noticeFromError } from '../messages';
import type { UrlOptions } from '../urlOptions';

/** Loads the bundle once at startup (outside React, so StrictMode cannot load it twice). */
export async function startEngine(client: EngineClient, options: UrlOptions): Promise<void> {
  const store = useStore.getState();
  for (const [i, problem] of options.problems.entries()) {
    store.raise(`url-${i}`, { level: 'warning', title: 'Ignored URL parameter', detail: problem });
  }
  const idle = { file: '', loadedBytes: 0, totalBytes: 0, preparing: null };
  store.setLoad({ ...idle, stage: 'loading' });
  const update = (change: Partial<LoadState>) => {
    const load = useStore.getState().load ?? { ...idle, stage: 'loading' as const };
    useStore.getState().setLoad({ ...load, ...change });
  };
  try {
    const info = await client.init(options.bundleUrl, options.backend, (p) => {
      if (p.kind === 'load') update({ file: p.file, loadedBytes: p.loadedBytes, totalBytes: p.totalBytes });
      else if (p.kind === 'session') update({ preparing: p.graph });
    });
    const s = useStore.getState();
    s.setInfo(info, options.steps);
    update({ preparing: null, stage: 'ready' });
    loadQueuedPhotos(client);
    if (info.backend === 'wasm' && info.fallbackReason !== null) {
      s.raise('backend', { level: 'warning', title: 'Using wasm', detail: info.fallbackReason });
    }
    if (options.warmup) void warmUp(client);
  } catch (err) {
    const s = useStore.getState();
    update({ preparing: null, stage: 'failed' });
    useStore.setState({ queued: { A: [], B: [] } });
    s.raise('bundle', noticeFromError(err, `Bundle "${options.bundleName}" (${options.bundleUrl})`));
  }
}

/** Warms the graphs in the background (real work goes first); its outcome is kept for the bench and tests. */
async function warmUp(client: EngineClient): Promise<void> {
  const s = useStore.getState();
  s.setWarmup({ state: 'running' });
  try {
    s.setWarmup({ state: 'done', report: await client.warmUp() });
  } catch (err) {
    // Not worth an alert: the images are only slower for the first seconds.
    s.setWarmup({ state: 'failed', message: err instanceof Error ? err.message : String(err) });
  }
}
