/**
 * The only module that imports onnxruntime-web. It ships two builds, each loaded only when needed and
 * served from /ort/ (same origin, scripts/copy-assets.mjs):
 * - the JSEP build (entry 'onnxruntime-web', ort-wasm-simd-threaded.jsep.{mjs,wasm}, 28 MB), which
 *   registers the 'webgpu' and the 'wasm' execution providers; its wasm is built with Asyncify so
 *   that WebGPU kernels can await, which makes every wasm kernel call slower too;
 * - the wasm-only build (entry 'onnxruntime-web/wasm', ort-wasm-simd-threaded.{mjs,wasm}, 14 MB),
 *   for an engine on wasm: smaller, faster to start, faster per call (docs/performance.md).
 * Each build is its own runtime (own `env`, `Tensor` class, thread pool): a session and its tensors
 * come from the same one.
 */
/// <reference types="@webgpu/types" />
import type * as Ort from 'onnxruntime-web';
import { appRoot } from '../appRoot';
import type { Backend } from './api';
import { GpuTensor, type GpuLedger } from './gpuTensor';
import type { Feeds, Outputs, TensorData } from './tensors';
import type { ExternalDataFile } from '../bundle/externalData';
import type { GraphValueInfo } from '../bundle/validate';

type Runtime = typeof Ort;

/**
 * A URL with an origin on purpose: Vite's dev server appends "?import" to root-relative dynamic
 * imports, which breaks ORT's import of its loader from public/; a URL with an origin is left alone.
 */
const ortBase = () => new URL('ort/', appRoot()).href;

let configuredThreads: number | null = null;
let jsepRuntime: Promise<Runtime> | null = null;
/** The JSEP runtime once it has started (a failed start leaves it null, and may be tried again). */
let jsepStarted: Runtime | null = null;
let wasmRuntime: Promise<Runtime> | null = null;

/** The runtime's own script could not be loaded: the app's files, not the bundle, are at fault. */
export class RuntimeStartFailure extends Error {}

/**
 * ORT reads its wasm settings once, when a runtime's first session is created; later calls cannot
 * change the thread count, so the first value wins (for both builds) and is returned.
 */
export function configureOrt(wasmThreads: number): number {
  configuredThreads ??= wasmThreads;
  return configuredThreads;
}

async function start(load: () => Promise<Runtime>): Promise<Runtime> {
  let ort: Runtime;
  try {
    ort = await load();
  } catch (err) {
    // e.g. the runtime's script is missing from the host, or not cached when offline.
    throw new RuntimeStartFailure(`onnxruntime-web's runtime could not be loaded: ${err instanceof Error ? err.message : String(err)}`);
  }
  // Unconfigured (a test's Node process, tests/e2e/engine): onnxruntime-web's own defaults.
  if (configuredThreads !== null) {
    ort.env.wasm.wasmPaths = ortBase();
    ort.env.wasm.numThreads = configuredThreads;
    ort.env.wasm.proxy = false;
    ort.env.logLevel = 'error';
  }
  return ort;
}

/**
 * The runtime for a backend. WebGPU needs the JSEP build. wasm gets the wasm-only build, except after
 * WebGPU failed or its device was lost in this worker: the JSEP build, already started, runs wasm
 * too, with no second 14 MB download (which an offline page may not have cached) nor thread pool.
 */
function runtimeFor(backend: Backend): Promise<Runtime> {
  if (backend === 'webgpu') {
    jsepRuntime ??= start(() => import('onnxruntime-web')).then(
      (ort) => (jsepStarted = ort),
      (err: unknown) => {
        jsepRuntime = null;
        throw err;
      },
    );
    return jsepRuntime;
  }
  if (jsepStarted) return Promise.resolve(jsepStarted);
  wasmRuntime ??= start(() => import('onnxruntime-web/wasm')).catch((err: unknown) => {
    wasmRuntime = null;
    throw err;
  });
  return wasmRuntime;
}

/** The runtime could not be loaded, or (ORT's message) no execution provider could start: the app's files, not the bundle, are at fault. */
export function isRuntimeStartFailure(err: unknown): boolean {
  return err instanceof RuntimeStartFailure || (err instanceof Error && err.message.includes('no available backend found'));
}

export interface GraphSession {
  readonly inputs: readonly GraphValueInfo[];
  readonly outputs: readonly GraphValueInfo[];
  run(feeds: Feeds): Promise<Outputs>;
  release(): Promise<void>;
}

/** A WebGPU session's bookkeeping: the ledger that owns GPU tensors and counts copies. */
export interface GpuPlacement {
  ledger: GpuLedger;
  /** Outputs stay on the GPU as GpuTensors (else ORT copies them to JS memory). */
  keepOutputs: boolean;
}

function toTensor(ort: Runtime, t: Feeds[string]): Ort.Tensor {
  if (t instanceof GpuTensor) return ort.Tensor.fromGpuBuffer(t.buffer, { dataType: 'float32', dims: t.dims });
  return t.data instanceof BigInt64Array ? new ort.Tensor('int64', t.data, t.dims) : new ort.Tensor('float32', t.data, t.dims);
}

function fromTensor(name: string, t: Ort.Tensor, gpu: GpuPlacement | null): Outputs[string] {
  if (t.type !== 'float32') throw new Error(`output ${name} is ${t.type}, expected float32`);
  if (t.location === 'gpu-buffer' && gpu) return gpu.ledger.adopt(t.gpuBuffer, t.dims, () => t.dispose());
  if (!(t.data instanceof Float32Array)) throw new Error(`output ${name} is on ${t.location}, expected the CPU`);
  if (gpu) gpu.ledger.downloads++;
  return { data: t.data, dims: [...t.dims] } satisfies TensorData;
}

/**
 * `outputNames`: the outputs to compute (a graph may declare more). `gpu`: on WebGPU, where outputs
 * go and which ledger counts the copies between JS memory and the GPU.
 */
export async function createSession(
  model: Uint8Array,
  externalData: readonly ExternalDataFile[],
  backend: Backend,
  outputNames: readonly string[],
  gpu: GpuPlacement | null,
): Promise<GraphSession> {
  const ort = await runtimeFor(backend);
  let session: Ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(model, {
      // Only the chosen provider: a WebGPU failure must surface (and switch the whole engine), not
      // silently place a graph on another provider.
      executionProviders: [
        backend === 'webgpu'
          ? // With ORT 1.30's default NHWC layout the WebGPU U-Net output differed from wasm by 0.16 (of
            // max 1.3); NCHW matches wasm to 5e-6 (measured on SwiftShader, models/default/unet.onnx).
            { name: 'webgpu', preferredLayout: 'NCHW' }
          : 'wasm',
      ],
      graphOptimizationLevel: 'all',
      ...(externalData.length > 0 ? { externalData } : {}),
      ...(gpu?.keepOutputs ? { preferredOutputLocation: 'gpu-buffer' as const } : {}),
    });
  } catch (err) {
    // The JSEP runtime did not start (not WebGPU alone failing): wasm must not fall back onto it.
    if (ort === jsepStarted && isRuntimeStartFailure(err)) jsepStarted = null;
    throw err;
  }
  return {
    inputs: session.inputMetadata,
    outputs: session.outputMetadata,
    async run(feeds) {
      const ortFeeds: Record<string, Ort.Tensor> = {};
      for (const [name, t] of Object.entries(feeds)) {
        ortFeeds[name] = toTensor(ort, t);
        if (gpu && !(t instanceof GpuTensor)) gpu.ledger.uploads++;
      }
      const results = await session.run(ortFeeds, [...outputNames]);
      const out: Outputs = {};
      const entries = Object.entries(results);
      try {
        for (const [name, t] of entries) out[name] = fromTensor(name, t, gpu);
      } catch (err) {
        // Adopted outputs are released through the ledger, the others directly.
        for (const [name, t] of entries) {
          const v = out[name];
          if (v instanceof GpuTensor) v.dispose();
          else if (!v) t.dispose();
        }
        throw err;
      }
      return out;
    },
    release: () => session.release(),
  };
}

/** The GPUDevice ORT's WebGPU backend created (after its first session). */
export async function webGpuDevice(): Promise<GPUDevice> {
  const ort = await runtimeFor('webgpu');
  const device = await ort.env.webgpu.device;
  if (!device) throw new Error('onnxruntime-web has no WebGPU device');
  return device;
}

/** Calls `onLost` when the WebGPU device ORT created is lost (driver reset, GPU process crash). */
export async function watchWebGpuDevice(onLost: (message: string) => void): Promise<void> {
  const device = await webGpuDevice();
  void device.lost.then((info) => onLost(info.message || info.reason || 'device lost'));
}
