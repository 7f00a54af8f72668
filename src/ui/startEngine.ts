import { useStore } from '../store';
import type { EngineClient } from './engineContext';
import { noticeFromError } from './messages';
import type { UrlOptions } from './urlOptions';

/** Loads the bundle once at startup (outside React, so StrictMode cannot load it twice). */
export async function startEngine(client: EngineClient, options: UrlOptions): Promise<void> {
  const store = useStore.getState();
  for (const [i, problem] of options.problems.entries()) {
    store.raise(`url-${i}`, { level: 'warning', title: 'Ignored URL parameter', detail: problem });
  }
  store.setLoad({ file: '', loadedBytes: 0, totalBytes: 0, stage: 'download' });
  try {
    const info = await client.init(options.bundleUrl, options.backend, (p) => {
      if (p.kind === 'load') {
        useStore.getState().setLoad({ file: p.file, loadedBytes: p.loadedBytes, totalBytes: p.totalBytes, stage: 'download' });
      } else if (p.kind === 'session') {
        const load = useStore.getState().load;
        useStore.getState().setLoad({
          file: p.graph,
          loadedBytes: load?.loadedBytes ?? 0,
          totalBytes: load?.totalBytes ?? 0,
          stage: 'session',
        });
      }
    });
    const s = useStore.getState();
    s.setInfo(info, options.steps);
    s.setLoad({ file: '', loadedBytes: s.load?.totalBytes ?? 0, totalBytes: s.load?.totalBytes ?? 0, stage: 'ready' });
    if (info.backend === 'wasm' && info.fallbackReason !== null) {
      s.raise('backend', { level: 'warning', title: 'Using wasm', detail: info.fallbackReason });
    }
  } catch (err) {
    const s = useStore.getState();
    s.setLoad({ file: '', loadedBytes: 0, totalBytes: 0, stage: 'failed' });
    s.raise('bundle', noticeFromError(err, `Bundle "${options.bundleName}" (${options.bundleUrl})`));
  }
}
