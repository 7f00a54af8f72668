/** The bundle's ONNX graphs as ORT sessions on one backend, checked against the manifest, run one at a time. */
import { externalDataFor } from '../bundle/externalData';
import type { BundleSource } from '../bundle/loadBundle';
import { GRAPH_IO, GRAPH_NAMES, type GraphName } from '../bundle/manifest';
import { bundleError, validateGraphIO } from '../bundle/validate';
import type { Backend } from './api';
import { EngineError } from '../shared/engineError';
import { GpuLedger } from './gpuTensor';
import { GpuOps } from './gpuOps';
import { createSession, isRuntimeStartFailure, webGpuDevice, type GraphSession } from './ort';
import { Serial } from './serial';
import { cpuOps, type TensorOps } from './tensorOps';
import type { Feeds, Outputs } from './tensors';

/**
 * On WebGPU, graphs whose outputs feed the next graph keep them on the GPU; the decoder's image and
 * the face embedding (read by JS) are copied back by ORT.
 */
const GPU_RESIDENT_OUTPUTS: ReadonlySet<GraphName> = new Set(['text_encoder', 'face_projector', 'unet']);

function graphFile(bundle: BundleSource, graph: GraphName): string {
  return bundle.manifest[graph].file;
}

/** A session-creation failure on WebGPU; the caller retries on wasm. */
export class BackendFailure extends Error {}

export class GraphSet {
  private constructor(
    readonly backend: Backend,
    private readonly sessions: Map<GraphName, GraphSession>,
    private readonly serial: Serial,
    /** The tensor operations between graph runs, on the same device as the sessions. */
    readonly ops: TensorOps,
    private readonly ledger: GpuLedger | null,
  ) {}

  /**
   * Creates every graph's session, one at a time as its files arrive (the first ones while later
   * files still download), and checks its inputs and outputs.
   */
  static async create(
    bundle: BundleSource,
    backend: Backend,
    serial: Serial,
    onGraph: (graph: GraphName, stage: 'files' | 'session') => void,
  ): Promise<GraphSet> {
    const sessions = new Map<GraphName, GraphSession>();
    const ledger = backend === 'webgpu' ? new GpuLedger() : null;
    const releaseAll = () => Promise.all([...sessions.values()].map((s) => s.release().catch(() => undefined)));
    let ops: TensorOps = cpuOps;
    try {
      for (const graph of GRAPH_NAMES) {
        const file = graphFile(bundle, graph);
        onGraph(graph, 'files');
        const bytes = await bundle.arrived(file);
        const externalData = await externalDataFor(bundle, graph);
        onGraph(graph, 'session');
        const gpu = ledger && { ledger, keepOutputs: GPU_RESIDENT_OUTPUTS.has(graph) };
        let session: GraphSession;
        try {
          session = await serial.run(() => createSession(bytes, externalData, backend, GRAPH_IO[graph].outputs, gpu));
        } catch (err) {
          const why = err instanceof Error ? err.message : String(err);
          if (backend === 'webgpu') throw new BackendFailure(`could not create ${file}: ${why}`);
          if (isRuntimeStartFailure(err)) throw new EngineError('internal', `onnxruntime-web could not start: ${why}`);
          throw bundleError(file, [`onnxruntime could not load it (${why})`]);
        }
        sessions.set(graph, session);
        validateGraphIO(graph, file, bundle.manifest, session.inputs, session.outputs);
      }
      if (ledger) {
        try {
          ops = await GpuOps.create(await webGpuDevice(), ledger);
        } catch (err) {
          throw new BackendFailure(`could not compile the denoising-step kernel: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
    } catch (err) {
      await releaseAll();
      throw err;
    }
    return new GraphSet(backend, sessions, serial, ops, ledger);
  }

  run(graph: GraphName, feeds: Feeds): Promise<Outputs> {
    const session = this.sessions.get(graph);
    if (!session) return Promise.reject(new EngineError('internal', `no session for ${graph}`));
    return this.serial.run(() => session.run(feeds));
  }

  /** Releases every GPU tensor still held (e.g. cached text encodings), then the sessions. */
  async release(): Promise<void> {
    this.ledger?.releaseAll();
    await Promise.all([...this.sessions.values()].map((s) => this.serial.run(() => s.release()).catch(() => undefined)));
    this.sessions.clear();
  }
}
