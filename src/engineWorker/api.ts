/** The engine's public API: implemented by worker.ts, wrapped for the UI by client.ts. */
import type { Manifest } from '../bundle/manifest';
import type { GuidanceParams } from '../diffusion/guidance';
import type { PreviewImage } from '../diffusion/latentPreview';
import type { DetectedFace } from '../face/detectionPasses';
import type { EngineErrorCode } from '../shared/engineError';
import type { Box } from '../face/faceCrop';
import type { GraphTimes } from './pipeline';
import type { WarmupReport } from './warmup';

export type { DetectedFace, EngineErrorCode, GraphTimes, PreviewImage, WarmupReport };

export type Backend = 'webgpu' | 'wasm';
export type BackendPreference = 'auto' | Backend;

export interface EngineInfo {
  backend: Backend;
  wasmThreads: number;              // 1 when not cross-origin isolated
  fallbackReason: string | null;    // e.g. "WebGPU unavailable: no adapter" — shown in the UI
  manifest: Manifest;
  loadMs: number;
  /**
   * Where loadMs went: ms per phase ('webgpu probe', 'manifest', 'fetch <file>', 'sha256 <file>',
   * 'tokenizer', 'session <graph>', 'face detector (during sessions)': its whole creation, which
   * overlaps the sessions, 'face detector (after sessions)': the wait left after them), in the order
   * they started.
   */
  timings: Record<string, number>;
}

export type Progress =
  | { kind: 'load'; file: string; loadedBytes: number; totalBytes: number }
  | { kind: 'session'; graph: string }
  | { kind: 'step'; step: number; steps: number }
  /** After a step: its predicted image at latent resolution (wasm, bundles with a latent_preview, when asked for). */
  | { kind: 'preview'; step: number; steps: number; image: PreviewImage }
  | { kind: 'decode' };

export interface FaceAnalysis {
  imageWidth: number;
  imageHeight: number;
  faces: DetectedFace[];            // in the image's (EXIF-oriented) pixel coordinates, left to right
  chosen: number;                   // largest face unless the caller picked one
  cropBox: Box;
  crop: { width: number; height: number; rgba: Uint8ClampedArray }; // the embedder input (S x S) for preview
  embedding: Float32Array;          // (E)
  ms: number;
}

export interface PromptInfo { tokenCount: number; maxTokens: number; remaining: number; truncated: boolean }

export type FaceInput =
  | { kind: 'none' }
  | { kind: 'embedding'; embedding: Float32Array };   // UI resolves photos / mixes via embedding ops

export interface GenerateRequest extends GuidanceParams {
  prompt: string;
  face: FaceInput;
  steps: number;
  seed: number;
  /** Send a 'preview' progress event after each step. */
  previews?: boolean;
  /**
   * A fast image while a control is being dragged (the UI asks for fewer steps): the client does not
   * stop a draft in flight for a newer draft, which waits instead, so drafts keep arriving mid-drag.
   */
  draft?: boolean;
}

export interface GenerateResult {
  width: number; height: number;
  rgba: Uint8ClampedArray;
  ms: number;
  unetCalls: number;               // == steps (one batched call per step)
  unetBatch: number;               // rows per call (2 for c=1,a=0 with a face)
  backend: Backend;
  // CPU<->GPU copies during this generation (WebGPU: 1 download, the image; wasm: none) and GPU
  // tensors held after it (the cached text encodings).
  deviceStats: { uploads: number; downloads: number; liveTensors: number };
  /** Time inside each graph's runs (on WebGPU: until the work was queued, see GraphTimes). */
  graphTimes: GraphTimes;
}


export interface EngineApi {
  init(bundleUrl: string, preference: BackendPreference, onProgress: (p: Progress) => void): Promise<EngineInfo>;
  analyzeImage(image: Blob, pickFace?: number): Promise<FaceAnalysis>;
  promptInfo(prompt: string): Promise<PromptInfo>;
  randomFace(seed: number): Promise<Float32Array>;
  /** Warms the graphs in the background until wasm tier-up is done (see warmup.ts); real work goes first. */
  warmUp(): Promise<WarmupReport>;
  generate(req: GenerateRequest, onProgress: (p: Progress) => void): Promise<GenerateResult>;
  cancel(): Promise<void>;
}
