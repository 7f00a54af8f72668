/**
 * The engine behind the worker: bundle, ORT sessions, face detector and pipeline, with the WebGPU ->
 * wasm switch. worker.ts exposes it through comlink; errors here are EngineErrors or plain errors
 * that worker.ts turns into 'internal'.
 */
import { loadBundle, type LoadedBundle } from '../bundle/loadBundle';
import type { GraphName } from '../bundle/manifest';
import { Rng } from '../diffusion/rng';
import { cropSourceRect, decodeImage, downscaleForDetection, readRegion } from '../face/decodeImage';
import { Detector, isRuntimeLoadFailure } from '../face/detector';
import { sampleFacePrior } from '../face/embeddingOps';
import { faceCropBox, largestFace } from '../face/faceCrop';
import { cropAndResize, toPixelValues, type RgbImage } from '../face/resample';
import { ClipTokenizer, encodePrompt } from '../text/tokenizer';
import type {
  Backend,
  BackendPreference,
  EngineInfo,
  FaceAnalysis,
  GenerateRequest,
  GenerateResult,
  Progress,
  PromptInfo,
} from './api';
import { chooseBackend, probeWebGpu } from './backend';
import { CancelToken } from './cancel';
import { EngineError } from './errors';
import { configureOrt, watchWebGpuDevice } from './ort';
import { Pipeline } from './pipeline';
import { Serial } from './serial';
import { BackendFailure, GraphSet } from './sessions';
import type { Feeds, Outputs } from './tensors';

interface Loaded {
  bundle: LoadedBundle;
  tokenizer: ClipTokenizer;
  detector: Detector;
  pipeline: Pipeline;
}

function rgbToRgba(img: RgbImage): Uint8ClampedArray {
  const n = img.width * img.height;
  const out = new Uint8ClampedArray(4 * n);
  for (let p = 0; p < n; p++) {
    out[4 * p] = img.data[3 * p];
    out[4 * p + 1] = img.data[3 * p + 1];
    out[4 * p + 2] = img.data[3 * p + 2];
    out[4 * p + 3] = 255;
  }
  return out;
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

export class Engine {
  private loaded: Loaded | null = null;
  private graphs: GraphSet | null = null;
  private readonly serial = new Serial();
  /** Set when the WebGPU device is lost; the next graph run switches to wasm. */
  private deviceLost: string | null = null;
  private switching: Promise<void> | null = null;
  private current: CancelToken | null = null;

  async init(bundleUrl: string, preference: BackendPreference, onProgress: (p: Progress) => void): Promise<EngineInfo> {
    const t0 = performance.now();
    await this.dispose();
    const webgpuProblem = preference === 'wasm' ? 'not requested' : await probeWebGpu();
    const choice = chooseBackend(preference, {
      webgpuProblem,
      crossOriginIsolated: globalThis.crossOriginIsolated === true,
      hardwareConcurrency: navigator.hardwareConcurrency,
    });
    const wasmThreads = configureOrt(choice.wasmThreads);

    const bundle = await loadBundle(bundleUrl, (file, loadedBytes, totalBytes) =>
      onProgress({ kind: 'load', file, loadedBytes, totalBytes }),
    );
    const m = bundle.manifest;
    let tokenizer: ClipTokenizer;
    try {
      tokenizer = await ClipTokenizer.fromGzipBytes(bundle.files.get(m.tokenizer.vocab_file)!);
    } catch (err) {
      throw new EngineError('bad_bundle', `Bundle file ${m.tokenizer.vocab_file}: not a CLIP BPE merges file (${message(err)})`);
    }

    const onGraph = (graph: GraphName) => onProgress({ kind: 'session', graph });
    let fallbackReason = choice.fallbackReason;
    try {
      this.graphs = await GraphSet.create(bundle, choice.backend, this.serial, onGraph);
    } catch (err) {
      if (!(err instanceof BackendFailure)) throw err;
      fallbackReason = `WebGPU failed: ${err.message}`;
      this.graphs = await GraphSet.create(bundle, 'wasm', this.serial, onGraph);
    }
    if (this.graphs.backend === 'webgpu') {
      await watchWebGpuDevice((why) => {
        this.deviceLost = why;
      });
    }

    onProgress({ kind: 'session', graph: 'face_detector' });
    let detector: Detector;
    try {
      detector = await Detector.create(bundle.files.get(m.face_detector.file)!, m.face_detector.min_confidence);
    } catch (err) {
      if (isRuntimeLoadFailure(err)) throw new EngineError('internal', `MediaPipe could not start: ${message(err)}`);
      throw new EngineError('bad_bundle', `Bundle file ${m.face_detector.file}: the face detector could not be created (${message(err)})`);
    }

    const encodeIds = (prompt: string) => encodePrompt(tokenizer, prompt, m.tokenizer, m.face_token_positions).inputIds;
    const pipeline = new Pipeline(m, encodeIds, (graph, feeds) => this.runGraph(graph, feeds), () => this.graphs!.ops);
    this.loaded = { bundle, tokenizer, detector, pipeline };
    return { backend: this.graphs.backend, wasmThreads, fallbackReason, manifest: m, loadMs: performance.now() - t0 };
  }

  private require(): Loaded {
    if (!this.loaded) throw new EngineError('internal', 'The engine is not initialised (call init first)');
    return this.loaded;
  }

  private get backend(): Backend {
    return this.graphs?.backend ?? 'wasm';
  }

  /** Recreates every session on wasm; concurrent callers share one switch. */
  private switchToWasm(): Promise<void> {
    this.switching ??= (async () => {
      const old = this.graphs!;
      await old.release();
      this.graphs = await GraphSet.create(this.require().bundle, 'wasm', this.serial, () => undefined);
      this.deviceLost = null;
    })().finally(() => {
      this.switching = null;
    });
    return this.switching;
  }

  private async runGraph(graph: GraphName, feeds: Feeds): Promise<Outputs> {
    if (this.switching) await this.switching;
    const graphs = this.graphs!;
    let failure: string | null = graphs.backend === 'webgpu' ? this.deviceLost : null;
    if (failure === null) {
      try {
        return await graphs.run(graph, feeds);
      } catch (err) {
        if (graphs.backend !== 'webgpu') throw err;
        failure = `${graph} failed on WebGPU: ${message(err)}`;
      }
    }
    if (this.graphs === graphs) await this.switchToWasm();
    else if (this.switching) await this.switching;
    throw new EngineError('webgpu_failed', `WebGPU failed (${failure}); switched to wasm`);
  }

  async analyzeImage(image: Blob, pickFace?: number): Promise<FaceAnalysis> {
    const { bundle, detector } = this.require();
    const m = bundle.manifest;
    const t0 = performance.now();
    const img = await decodeImage(image);
    try {
      const small = await downscaleForDetection(img, m.face_detector.max_detect_side);
      let faces;
      try {
        faces = detector.detect(small.image, small.scale);
      } finally {
        small.image.close();
      }
      if (faces.length === 0) throw new EngineError('no_face', 'No face found in this photo');
      let chosen = largestFace(faces);
      if (pickFace !== undefined) {
        if (!Number.isInteger(pickFace) || pickFace < 0 || pickFace >= faces.length) {
          throw new EngineError('internal', `There is no face ${pickFace} in this photo (it has ${faces.length})`);
        }
        chosen = pickFace;
      }
      const emb = m.face_embedder;
      const S = emb.input_size;
      const cropBox = faceCropBox(faces[chosen].box, emb.crop_margins);
      const rect = cropSourceRect(cropBox, S, img.width, img.height);
      const region = readRegion(img, rect);
      const crop = cropAndResize(region, { ...cropBox, x: cropBox.x - rect.x, y: cropBox.y - rect.y }, S);
      const pixelValues = toPixelValues(crop, emb.mean, emb.std);
      const out = await this.runGraph('face_embedder', { pixel_values: { data: pixelValues, dims: [1, 3, S, S] } });
      const embedding = out.face_embedding && 'data' in out.face_embedding ? out.face_embedding.data : undefined;
      if (!(embedding instanceof Float32Array) || embedding.length !== emb.embedding_width) {
        throw new EngineError('internal', `The face embedder returned ${embedding?.length ?? 0} values, expected ${emb.embedding_width}`);
      }
      return {
        imageWidth: img.width,
        imageHeight: img.height,
        faces,
        chosen,
        cropBox,
        crop: { width: S, height: S, rgba: rgbToRgba(crop) },
        embedding,
        ms: performance.now() - t0,
      };
    } finally {
      img.bitmap.close();
    }
  }

  promptInfo(prompt: string): PromptInfo {
    const { tokenizer, bundle } = this.require();
    const m = bundle.manifest;
    const { tokenCount, maxTokens, remaining, truncated } = encodePrompt(tokenizer, prompt, m.tokenizer, m.face_token_positions);
    return { tokenCount, maxTokens, remaining, truncated };
  }

  randomFace(seed: number): Float32Array {
    if (!Number.isSafeInteger(seed)) throw new EngineError('internal', `seed must be an integer (got ${seed})`);
    return sampleFacePrior(this.require().bundle.manifest.face_prior, new Rng(seed));
  }

  async generate(req: GenerateRequest, onProgress: (p: Progress) => void): Promise<GenerateResult> {
    // Set before any await, so a cancel() sent right after this call always finds this run's token.
    this.current?.cancel();
    const token = new CancelToken();
    this.current = token;
    try {
      const { pipeline } = this.require();
      const t0 = performance.now();
      const out = await pipeline.generate(
        {
          prompt: req.prompt,
          faceEmbedding: req.face.kind === 'embedding' ? req.face.embedding : null,
          w: req.w,
          c: req.c,
          a: req.a,
          steps: req.steps,
          seed: req.seed,
        },
        token,
        {
          onStep: (step, steps) => onProgress({ kind: 'step', step, steps }),
          onDecode: () => onProgress({ kind: 'decode' }),
        },
      );
      return { ...out, ms: performance.now() - t0, backend: this.backend };
    } finally {
      if (this.current === token) this.current = null;
    }
  }

  cancel(): void {
    this.current?.cancel();
    this.current = null;
  }

  private async dispose(): Promise<void> {
    this.cancel();
    this.loaded?.detector.close();
    this.loaded = null;
    await this.graphs?.release();
    this.graphs = null;
    this.deviceLost = null;
  }
}
