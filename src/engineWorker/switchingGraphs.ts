/**
 * The bundle's graphs on the current backend, with the WebGPU -> wasm switch: a failed WebGPU run or the
 * device's loss moves every session to wasm (concurrent callers share one switch), and the run then fails
 * with a message for the UI to retry. All the device-loss state lives here.
 */
import type { BundleSource } from '../bundle/loadBundle';
import type { GraphName } from '../bundle/manifest';
import { deviceLostError, EngineError } from '../shared/engineError';
import type { Backend } from './api';
import { watchWebGpuDevice } from './ort';
import { Serial } from './serial';
import { GraphSet } from './sessions';
import type { TensorOps } from './tensorOps';
import type { Feeds, Outputs } from './tensors';

interface DeviceLoss {
  reason: string;
  /** The graph whose run was awaited on WebGPU when the loss came (its GPU work may queue behind earlier graphs'). */
  during: GraphName | null;
}

class DeviceLostError extends Error {
  constructor(readonly loss: DeviceLoss) {
    super('device lost');
  }
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

export class SwitchingGraphs {
  /** On WebGPU: the device loss, once it comes; the next graph run switches to wasm. */
  private loss: DeviceLoss | null = null;
  /** Called once when the WebGPU device is lost: the graph runs waiting on it (see run). */
  private readonly lossListeners = new Set<(loss: DeviceLoss) => void>();
  private webGpuGraph: GraphName | null = null;
  /** A WebGPU run was abandoned to the device loss: ORT refuses the next run once (see runOnWasm). */
  private abandonedRun = false;
  private switching: Promise<void> | null = null;
  private released = false;

  private constructor(
    private readonly bundle: BundleSource,
    private graphs: GraphSet,
    private serial: Serial,
  ) {}

  /** Takes over `graphs` (created on `serial`); on WebGPU, watches the device for its loss. */
  static async watch(bundle: BundleSource, graphs: GraphSet, serial: Serial): Promise<SwitchingGraphs> {
    const self = new SwitchingGraphs(bundle, graphs, serial);
    if (graphs.backend === 'webgpu') {
      await watchWebGpuDevice((why) => {
        if (self.released || self.graphs !== graphs) return;
        const loss = { reason: why, during: self.webGpuGraph };
        self.loss = loss;
        for (const listener of self.lossListeners) listener(loss);
      });
    }
    return self;
  }

  get backend(): Backend {
    return this.graphs.backend;
  }

  /** The tensor operations between graph runs, on the sessions' device. */
  get ops(): TensorOps {
    return this.graphs.ops;
  }

  async run(graph: GraphName, feeds: Feeds): Promise<Outputs> {
    if (this.switching) await this.switching;
    const graphs = this.graphs;
    if (graphs.backend !== 'webgpu') return this.runOnWasm(graphs, graph, feeds);
    let failure = this.loss === null ? null : deviceLostError(null, this.loss.reason);
    if (failure === null) {
      this.webGpuGraph = graph;
      try {
        return await this.raceDeviceLoss(graphs.run(graph, feeds));
      } catch (err) {
        const loss = err instanceof DeviceLostError ? err.loss : this.loss;
        if (loss === null) {
          failure = new EngineError('webgpu_failed', `${graph} run failed: ${message(err)}`);
        } else {
          failure = deviceLostError(graph, loss.reason);
          this.abandonedRun = true;
        }
      } finally {
        this.webGpuGraph = null;
      }
    }
    return this.leaveWebGpu(graphs, failure);
  }

  /**
   * The work `start` begins on these graphs. On WebGPU the work between graph runs (step kernels, the
   * image readback) is not an ORT run: the device's loss ends the wait for all of it (`onLoss` stops
   * it), and the call fails once the sessions are on wasm, for the UI to repeat it there.
   */
  async unlessDeviceLost<T>(start: () => Promise<T>, onLoss: () => void): Promise<T> {
    const graphs = this.graphs;
    const work = start();
    if (graphs.backend !== 'webgpu') return work;
    try {
      return await this.raceDeviceLoss(work);
    } catch (err) {
      if (!(err instanceof DeviceLostError)) throw err;
      onLoss();
      void work.catch(() => undefined);
      return this.leaveWebGpu(graphs, deviceLostError(err.loss.during ?? 'generation', err.loss.reason));
    }
  }

  async release(): Promise<void> {
    this.released = true;
    this.lossListeners.clear();
    this.loss = null;
    this.webGpuGraph = null;
    this.abandonedRun = false;
    await this.graphs.release();
  }

  /** Recreates every session on wasm; concurrent callers share one switch. */
  private switchToWasm(): Promise<void> {
    this.switching ??= (async () => {
      const old = this.graphs;
      const deviceLost = this.loss !== null;
      this.loss = null;
      if (deviceLost) {
        // A run on the lost device never settles, and everything queued behind it on the old Serial
        // would wait forever: the wasm sessions get a new Serial; the old sessions' release stays
        // queued behind that run (their weights were on the lost GPU). Whether a run was in flight
        // depends on which loss listener ran first, so the one ORT refusal is always allowed for.
        this.serial = new Serial();
        this.abandonedRun = true;
        void old.release();
      } else {
        await old.release();
      }
      this.graphs = await GraphSet.create(this.bundle, 'wasm', this.serial, () => undefined);
    })().finally(() => {
      this.switching = null;
    });
    return this.switching;
  }

  /**
   * `work`, unless the WebGPU device is lost first: then a DeviceLostError. ORT's run on a lost device
   * never settles (seen after GPUDevice.destroy() and after a GPU process crash, tests/e2e/flows.mjs
   * 'webgpu-device-loss'), and a buffer readback may not either, so the loss ends the wait.
   */
  private async raceDeviceLoss<T>(work: Promise<T>): Promise<T> {
    let onLoss!: (loss: DeviceLoss) => void;
    const lost = new Promise<never>((_, reject) => (onLoss = (loss) => reject(new DeviceLostError(loss))));
    this.lossListeners.add(onLoss);
    try {
      return await Promise.race([work, lost]);
    } finally {
      this.lossListeners.delete(onLoss);
    }
  }

  /** Moves every session to wasm (or joins the move under way), then reports why, for the UI to retry. */
  private async leaveWebGpu(graphs: GraphSet, failure: EngineError): Promise<never> {
    if (this.graphs === graphs) await this.switchToWasm();
    else if (this.switching) await this.switching;
    throw failure;
  }

  /**
   * onnxruntime-web 1.30 marks one run as in progress for the whole runtime; a run abandoned on a lost
   * device keeps the mark, so the next run is refused with "Session already started", and ORT clears
   * the mark as it refuses. That one refusal is retried here rather than shown to the user.
   */
  private async runOnWasm(graphs: GraphSet, graph: GraphName, feeds: Feeds): Promise<Outputs> {
    if (!this.abandonedRun) return graphs.run(graph, feeds);
    this.abandonedRun = false;
    try {
      return await graphs.run(graph, feeds);
    } catch (err) {
      if (!message(err).includes('Session already started')) throw err;
      return graphs.run(graph, feeds);
    }
  }
}
