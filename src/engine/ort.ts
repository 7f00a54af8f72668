/**
 * The only module that imports onnxruntime-web. The default entry of onnxruntime-web 1.30 registers
 * both the 'webgpu' (JSEP) and the 'wasm' execution providers and loads
 * ort-wasm-simd-threaded.jsep.{mjs,wasm}, which the app serves from /ort/ (same origin).
 */
import * as ort from 'onnxruntime-web';
import type { Backend } from './api';
import type { Feeds, TensorData } from './pipeline';
import type { GraphValueInfo } from '../bundle/validate';

/**
 * Absolute on purpose: Vite's dev server appends "?import" to root-relative dynamic imports, which
 * breaks ORT's import of its loader from public/; a URL with an origin is left alone.
 */
const ortBase = () => new URL('/ort/', globalThis.location.href).href;

let configuredThreads: number | null = null;

/**
 * ORT reads its wasm settings once, when the first session is created; later calls cannot change
 * the thread count, so the first value wins and is returned.
 */
export function configureOrt(wasmThreads: number): number {
  if (configuredThreads === null) {
    ort.env.wasm.wasmPaths = ortBase();
    ort.env.wasm.numThreads = wasmThreads;
    ort.env.wasm.proxy = false;
    ort.env.logLevel = 'error';
    configuredThreads = wasmThreads;
  }
  return configuredThreads;
}

/** ORT's message when no execution provider could start: the runtime files, not the bundle, are at fault. */
export function isRuntimeStartFailure(why: string): boolean {
  return why.includes('no available backend found');
}

export interface GraphSession {
  readonly inputs: readonly GraphValueInfo[];
  readonly outputs: readonly GraphValueInfo[];
  run(feeds: Feeds): Promise<Record<string, TensorData>>;
  release(): Promise<void>;
}

function toTensor(t: TensorData): ort.Tensor {
  return t.data instanceof BigInt64Array ? new ort.Tensor('int64', t.data, t.dims) : new ort.Tensor('float32', t.data, t.dims);
}

function fromTensor(name: string, t: ort.Tensor): TensorData {
  if (t.type !== 'float32' || !(t.data instanceof Float32Array)) {
    throw new Error(`output ${name} is ${t.type} on ${t.location}, expected float32 on the CPU`);
  }
  return { data: t.data, dims: [...t.dims] };
}

/** `outputNames`: the outputs to compute (a graph may declare more). */
export async function createSession(model: Uint8Array, backend: Backend, outputNames: readonly string[]): Promise<GraphSession> {
  const session = await ort.InferenceSession.create(model, {
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
  });
  return {
    inputs: session.inputMetadata,
    outputs: session.outputMetadata,
    async run(feeds) {
      const ortFeeds: Record<string, ort.Tensor> = {};
      for (const [name, t] of Object.entries(feeds)) ortFeeds[name] = toTensor(t);
      const results = await session.run(ortFeeds, [...outputNames]);
      const out: Record<string, TensorData> = {};
      for (const [name, t] of Object.entries(results)) out[name] = fromTensor(name, t);
      return out;
    },
    release: () => session.release(),
  };
}

/** Calls `onLost` when the WebGPU device ORT created is lost (driver reset, GPU process crash). */
export async function watchWebGpuDevice(onLost: (message: string) => void): Promise<void> {
  const device = (await ort.env.webgpu.device) as { lost?: Promise<{ message: string; reason: string }> } | undefined;
  void device?.lost?.then((info) => onLost(info.message || info.reason || 'device lost'));
}
