/**
 * A bundle downloaded on one side of a message port and used on the other. The engine worker's
 * event loop is blocked for seconds while onnxruntime-web creates a session, and a fetch whose
 * body nobody reads stalls; downloading in a worker of its own keeps the network busy meanwhile.
 */
import { EngineError, type EngineErrorCode, toEngineError } from '../shared/engineError';
import { Arrivals } from './arrivals';
import { fetchOrder, orderOfNeed } from './fetchOrder';
import { openBundle, type ArrivingBundle, type LoadProgress, type LoadedBundle } from './loadBundle';
import type { Manifest } from './manifest';

/** What both a worker (either side) and a MessagePort offer. */
export interface PortLike {
  postMessage(message: unknown, transfer?: Transferable[]): void;
  addEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
  addEventListener(type: 'error', listener: (event: Event) => void): void;
}

export interface OpenRequest {
  kind: 'open';
  url: string;
}

export type BundleMessage =
  | { kind: 'manifest'; manifest: Manifest }
  | { kind: 'progress'; file: string; loadedBytes: number; totalBytes: number }
  | { kind: 'phase'; phase: string; ms: number }
  | { kind: 'file'; path: string; bytes: Uint8Array }
  | { kind: 'failed'; code: EngineErrorCode; message: string };

/**
 * The downloading side: on an OpenRequest, fetches the bundle in the order init needs it and posts
 * its manifest, progress, phase timings, each verified file (its buffer transferred) and the first failure.
 */
export function serveBundle(port: PortLike, fetchFn: (url: string) => Promise<Response> = fetch): void {
  const post = (message: BundleMessage, transfer: Transferable[] = []) => port.postMessage(message, transfer);
  const timer = {
    async time<T>(phase: string, job: () => Promise<T>): Promise<T> {
      const start = performance.now();
      try {
        return await job();
      } finally {
        post({ kind: 'phase', phase, ms: performance.now() - start });
      }
    },
  };
  const fail = (err: unknown) => {
    const e = toEngineError(err);
    post({ kind: 'failed', code: e.code, message: e.message });
  };
  port.addEventListener('message', (event: MessageEvent) => {
    const request = event.data as OpenRequest;
    if (request?.kind !== 'open') return;
    void (async () => {
      try {
        const onProgress: LoadProgress = (file, loadedBytes, totalBytes) => post({ kind: 'progress', file, loadedBytes, totalBytes });
        const bundle = await openBundle(request.url, onProgress, { fetchFn, timer, order: orderOfNeed });
        post({ kind: 'manifest', manifest: bundle.manifest });
        for (const path of fetchOrder(bundle.manifest, orderOfNeed(bundle.manifest))) {
          const bytes = await bundle.arrived(path);
          post({ kind: 'file', path, bytes }, [bytes.buffer]);
        }
      } catch (err) {
        fail(err);
      }
    })();
  });
}

/**
 * The using side: asks `port` (a serveBundle) for the bundle at `url`; resolves once its manifest is
 * checked, with files arriving as the other side posts them. A port that is a Worker may fire
 * 'error' (its script failed): that fails the bundle like a download failure.
 */
export function receiveBundle(
  port: PortLike,
  url: string,
  onProgress: LoadProgress,
  onPhase: (phase: string, ms: number) => void = () => undefined,
): Promise<ArrivingBundle> {
  return new Promise<ArrivingBundle>((resolveOpen, rejectOpen) => {
    let opened: { manifest: Manifest; arrivals: Arrivals } | null = null;
    let settle: { resolve: (bundle: LoadedBundle) => void; reject: (err: unknown) => void };
    const complete = new Promise<LoadedBundle>((resolve, reject) => (settle = { resolve, reject }));
    complete.catch(() => undefined); // a failure reaches whoever awaits it; never "unhandled"
    const fail = (err: EngineError) => {
      rejectOpen(err); // a no-op once the manifest has arrived
      opened?.arrivals.fail(err);
      settle.reject(err);
    };

    port.addEventListener('message', (event: MessageEvent) => {
      const message = event.data as BundleMessage;
      switch (message.kind) {
        case 'progress':
          onProgress(message.file, message.loadedBytes, message.totalBytes);
          break;
        case 'phase':
          onPhase(message.phase, message.ms);
          break;
        case 'manifest': {
          const { manifest } = message;
          const arrivals = new Arrivals(Object.keys(manifest.files));
          opened = { manifest, arrivals };
          resolveOpen({ manifest, arrived: (path) => arrivals.arrived(path), complete });
          break;
        }
        case 'file': {
          const { manifest, arrivals } = opened!;
          arrivals.deliver(message.path, message.bytes);
          if (arrivals.allDelivered) settle.resolve({ manifest, files: arrivals.files });
          break;
        }
        case 'failed':
          fail(new EngineError(message.code, message.message));
          break;
      }
    });
    port.addEventListener('error', (event: Event) => {
      const why = (event as ErrorEvent).message || 'its script could not be run';
      fail(new EngineError('internal', `The bundle download worker stopped: ${why}`));
    });
    // Resolved here: the other side's own location (its script's URL) is not this one.
    port.postMessage({ kind: 'open', url: new URL(url, globalThis.location?.href).href } satisfies OpenRequest);
  });
}
