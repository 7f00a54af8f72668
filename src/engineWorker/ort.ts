/**
 * The only module that imports onnxruntime-web. The default entry of onnxruntime-web 1.30 registers
 * both the 'webgpu' (JSEP) and the 'wasm' execution providers and loads
 * ort-wasm-simd-threaded.jsep.{mjs,wasm}, which the app serves from /ort/ (same origin).
 */
/// <reference types="@webgpu/types" />
import * as ort from 'onnxruntime-web';
import { appRoot } from '../appRoot';
import type { Backend } from './api';
import { GpuTensor, type GpuLedger } from './gpuTensor';
import type { Feeds, Outputs, TensorData } from './tensors';
import type { ExternalDataFile } from '../bundle/externalData';
import type { GraphValueInfo } from '../bundle/validate';

/**
 * A URL with an origin on purpose: Vite's dev server appends "?import" to root-relative dynamic
 * imports, which breaks ORT's import of its loader from public/; a URL with an origin is left alone.
 */
const ortBase = () => new URL('ort/', appRoot()).href;

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
  run(feeds: Feeds): Promise<Outputs>;
  release(): Promise<void>;
}

/** A WebGPU session's bookkeeping: the ledger that owns GPU tensors and counts copies. */
export interface GpuPlacement {
  ledger: GpuLedger;
  /** Outputs stay on the GPU as GpuTensors (else ORT copies them to JS memory). */
  keepOutputs: boolean;
}

function toTensor(t: Feeds[string]): ort.Tensor {
  if (t instanceof GpuTensor) return ort.Tensor.fromGpuBuffer(t.buffer, { dataType: 'float32', dims: t.dims });
  return t.data instanceof BigInt64Array ? new ort.Tensor('int64', t.data, t.dims) : new ort.Tensor('float32', t.data, t.dims);
}

function fromTensor(name: string, t: ort.Tensor, gpu: GpuPlacement | null): Outputs[string] {
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
    ...(externalData.length > 0 ? { externalData } : {}),
    ...(gpu?.keepOutputs ? { preferredOutputLocation: 'gpu-buffer' as const } : {}),
  });
  return {
    inputs: session.inputMetadata,
    outputs: session.outputMetadata,
    async run(feeds) {
      const ortFeeds: Record<string, ort.Tensor> = {};
      for (const [name, t] of Object.entries(feeds)) {
        ortFeeds[name] = toTensor(t);
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
  const device = await ort.env.webgpu.device;
  if (!device) throw new Error('onnxruntime-web has no WebGPU device');
  return device;
}

/** Calls `onLost` when the WebGPU device ORT created is lost (driver reset, GPU process crash). */
export async function watchWebGpuDevice(onLost: (message: string) => void): Promise<void> {
  const device = await webGpuDevice();
  void device.lost.then((info) => onLost(info.message || info.reason || 'device lost'));
}
