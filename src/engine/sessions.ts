/** The bundle's ONNX graphs as ORT sessions on one backend, checked against the manifest, run one at a time. */
import type { LoadedBundle } from '../bundle/loadBundle';
import { GRAPH_IO, type GraphName } from '../bundle/manifest';
import { bundleError, validateGraphIO } from '../bundle/validate';
import type { Backend } from './api';
import { EngineError } from './errors';
import { createSession, isRuntimeStartFailure, type GraphSession } from './ort';
import type { Feeds, TensorData } from './pipeline';
import { Serial } from './serial';

const GRAPHS = Object.keys(GRAPH_IO) as GraphName[];

function graphFile(bundle: LoadedBundle, graph: GraphName): string {
  return bundle.manifest[graph].file;
}

/** A session-creation failure on WebGPU; the caller retries on wasm. */
export class BackendFailure extends Error {}

export class GraphSet {
  private constructor(
    readonly backend: Backend,
    private readonly sessions: Map<GraphName, GraphSession>,
    private readonly serial: Serial,
  ) {}

  /** Creates every graph's session, one at a time, and checks its inputs and outputs. */
  static async create(bundle: LoadedBundle, backend: Backend, serial: Serial, onGraph: (graph: GraphName) => void): Promise<GraphSet> {
    const sessions = new Map<GraphName, GraphSession>();
    const releaseAll = () => Promise.all([...sessions.values()].map((s) => s.release().catch(() => undefined)));
    try {
      for (const graph of GRAPHS) {
        onGraph(graph);
        const file = graphFile(bundle, graph);
        const bytes = bundle.files.get(file)!;
        let session: GraphSession;
        try {
          session = await serial.run(() => createSession(bytes, backend, GRAPH_IO[graph].outputs));
        } catch (err) {
          const why = err instanceof Error ? err.message : String(err);
          if (backend === 'webgpu') throw new BackendFailure(`creating ${file} on WebGPU failed: ${why}`);
          if (isRuntimeStartFailure(why)) throw new EngineError('internal', `onnxruntime-web could not start: ${why}`);
          throw bundleError(file, [`onnxruntime could not load it (${why})`]);
        }
        sessions.set(graph, session);
        validateGraphIO(graph, file, bundle.manifest, session.inputs, session.outputs);
      }
    } catch (err) {
      await releaseAll();
      throw err;
    }
    return new GraphSet(backend, sessions, serial);
  }

  run(graph: GraphName, feeds: Feeds): Promise<Record<string, TensorData>> {
    const session = this.sessions.get(graph);
    if (!session) return Promise.reject(new EngineError('internal', `no session for ${graph}`));
    return this.serial.run(() => session.run(feeds));
  }

  async release(): Promise<void> {
    await Promise.all([...this.sessions.values()].map((s) => this.serial.run(() => s.release()).catch(() => undefined)));
    this.sessions.clear();
  }
}
