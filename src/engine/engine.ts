/**
 * The engine behind the worker: bundle, ORT sessions, face detector and pipeline, with the WebGPU ->
 * wasm switch. worker.ts exposes it through comlink; errors here are EngineErrors or plain errors
 * that worker.ts turns into 'internal'.
 */
import { receiveBundle } from '../bundle/bundlePort';
import type { ArrivingBundle } from '../bundle/loadBundle';
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
import { chooseBackend, probeWebGpu, type BackendChoice } from './backend';
import { CancelToken } from './cancel';
import { deviceLostError, EngineError } from '../shared/engineError';
import { configureOrt, watchWebGpuDevice } from './ort';
import { Pipeline } from './pipeline';
import { projectLatent } from '../diffusion/latentPreview';
import { parseX0Projection } from '../diffusion/x0Projection';
import { Serial } from './serial';
import { BackendFailure, GraphSet } from './sessions';
import { PhaseTimes } from './timings';
import type { Feeds, Outputs } from './tensors';
import { Warmup, WARMUP_LIMITS, type WarmupReport } from './warmup';

interface Loaded {
  bundle: ArrivingBundle; // every file arrived
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

async function createDetector(bundle: ArrivingBundle): Promise<Detector> {
  const spec = bundle.manifest.face_detector;
  const bytes = await bundle.arrived(spec.file);
  try {
    return await Detector.create(bytes, spec.min_confidence);
  } catch (err) {
    if (isRuntimeLoadFailure(err)) throw new EngineError('internal', `MediaPipe could not start: ${message(err)}`);
    throw new EngineError('bad_bundle', `Bundle file ${spec.file}: the face detector could not be created (${message(err)})`);
  }
}

export class Engine {
  private loaded: Loaded | null = null;
  private graphs: GraphSet | null = null;
  private serial = new Serial();
  /** On WebGPU: the device loss, once it comes; the next graph run switches to wasm. */
  private loss: DeviceLoss | null = null;
  /** Called once when the WebGPU device is lost: the graph runs waiting on it (see runGraph). */
  private readonly lossListeners = new Set<(loss: DeviceLoss) => void>();
  private webGpuGraph: GraphName | null = null;
  /** A WebGPU run was abandoned to the device loss: ORT refuses the next run once (see runGraph). */
  private abandonedRun = false;
  private switching: Promise<void> | null = null;
  private current: CancelToken | null = null;
  private warmup: Warmup | null = null;

  async init(bundleUrl: string, preference: BackendPreference, onProgress: (p: Progress) => void): Promise<EngineInfo> {
    const t0 = performance.now();
    const times = new PhaseTimes();
    await this.dispose();
    const webgpuProblem = preference === 'wasm' ? 'not requested' : await times.time('webgpu probe', probeWebGpu);
    const choice = chooseBackend(preference, {
      webgpuProblem,
      crossOriginIsolated: globalThis.crossOriginIsolated === true,
      hardwareConcurrency: navigator.hardwareConcurrency,
    });
    const wasmThreads = configureOrt(choice.wasmThreads);

    // Files arrive one at a time while the tokenizer, the detector and the sessions are made from
    // those already here: onnxruntime-web's start-up and the first sessions overlap the download.
    // A worker of its own downloads the files in the order init needs them (see bundlePort.ts).
    const downloader = new Worker(new URL('../bundle/downloadWorker.ts', import.meta.url), {
      type: 'module',
      name: 'face0-bundle-download',
    });
    try {
      const bundle = await receiveBundle(
        downloader,
        bundleUrl,
        (file, loadedBytes, totalBytes) => onProgress({ kind: 'load', file, loadedBytes, totalBytes }),
        (phase, ms) => times.record(phase, ms),
      );
      const info = await this.prepare(bundle, choice, times, onProgress);
      return { ...info, wasmThreads, loadMs: performance.now() - t0, timings: times.toRecord() };
    } finally {
      downloader.terminate(); // every file has arrived, or init failed and the rest is not wanted
    }
  }

  /** Makes the tokenizer, the sessions and the detector from the bundle's files as they arrive. */
  private async prepare(
    bundle: ArrivingBundle,
    choice: BackendChoice,
    times: PhaseTimes,
    onProgress: (p: Progress) => void,
  ): Promise<Omit<EngineInfo, 'wasmThreads' | 'loadMs' | 'timings'>> {
    const m = bundle.manifest;
    let tokenizer: ClipTokenizer;
    try {
      const vocab = await bundle.arrived(m.tokenizer.vocab_file);
      tokenizer = await times.time('tokenizer', () => ClipTokenizer.fromGzipBytes(vocab));
    } catch (err) {
      if (err instanceof EngineError) throw err;
      throw new EngineError('bad_bundle', `Bundle file ${m.tokenizer.vocab_file}: not a CLIP BPE merges file (${message(err)})`);
    }

    // GraphSet.create announces each graph as it waits for its files and as it creates its session:
    // a lap for each.
    let lapSuffix = '';
    const onGraph = (graph: GraphName, stage: 'files' | 'session') => {
      if (stage === 'files') {
        times.lap(`waiting for ${graph}'s files`);
        return;
      }
      times.lap(`session ${graph}${lapSuffix}`);
      onProgress({ kind: 'session', graph });
    };
    // MediaPipe (its own wasm runtime) starts while the ORT sessions are created, one at a time as
    // before: its download, compile and graph setup overlap theirs (tests/bench: load phases).
    const detecting = times.time('face detector (during sessions)', () => createDetector(bundle));
    void detecting.catch(() => undefined); // awaited below; a failure must not count as unhandled meanwhile
    let fallbackReason = choice.fallbackReason;
    try {
      try {
        this.graphs = await GraphSet.create(bundle, choice.backend, this.serial, onGraph);
      } catch (err) {
        if (!(err instanceof BackendFailure)) throw err;
        fallbackReason = `WebGPU failed: ${err.message}`;
        lapSuffix = ' (wasm, after WebGPU failed)';
        this.graphs = await GraphSet.create(bundle, 'wasm', this.serial, onGraph);
      }
    } catch (err) {
      void detecting.then((d) => d.close(), () => undefined);
      throw err;
    }
    times.lap(null);
    if (this.graphs.backend === 'webgpu') {
      const graphs = this.graphs;
      await watchWebGpuDevice((why) => {
        if (this.graphs !== graphs) return;
        const loss = { reason: why, during: this.webGpuGraph };
        this.loss = loss;
        for (const listener of this.lossListeners) listener(loss);
      });
    }

    onProgress({ kind: 'session', graph: 'face_detector' });
    let detector: Detector;
    try {
      detector = await times.time('face detector (after sessions)', () => detecting);
      await bundle.complete; // every file the graphs read has arrived; one nothing read would fail here
    } catch (err) {
      void detecting.then((d) => d.close(), () => undefined);
      await this.graphs.release();
      this.graphs = null;
      throw err;
    }

    const encodeIds = (prompt: string) => encodePrompt(tokenizer, prompt, m.tokenizer, m.face_token_positions).inputIds;
    const projection = m.x0_projection;
    const size = m.latent_channels * m.latent_size * m.latent_size;
    const x0Projection = projection
      ? parseX0Projection(await bundle.arrived(projection.file), projection.components, size, projection.from_timestep)
      : null;
    const pipeline = new Pipeline(m, encodeIds, (graph, feeds) => this.runGraph(graph, feeds), () => this.graphs!.ops, x0Projection);
    this.loaded = { bundle, tokenizer, detector, pipeline };
    return { backend: this.graphs.backend, fallbackReason, manifest: m };
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
      this.graphs = await GraphSet.create(this.require().bundle, 'wasm', this.serial, () => undefined);
    })().finally(() => {
      this.switching = null;
    });
    return this.switching;
  }

  private async runGraph(graph: GraphName, feeds: Feeds): Promise<Outputs> {
    if (this.switching) await this.switching;
    const graphs = this.graphs!;
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

  /**
   * Runs the graphs at the app's shapes until the U-Net's time per call stops falling (wasm tier-up),
   * pausing whenever real work comes; resolves when it ends. On WebGPU one round (one step) compiles
   * the kernels.
   */
  warmUp(): Promise<WarmupReport> {
    const { pipeline, bundle } = this.require();
    const m = bundle.manifest;
    const S = m.face_embedder.input_size;
    let round = 0;
    const limits = this.backend === 'webgpu' ? { ...WARMUP_LIMITS, maxBusyMs: 0 } : WARMUP_LIMITS;
    this.warmup ??= new Warmup(async (token) => {
      round++;
      const out = await pipeline.generate(
        {
          prompt: '',
          faceEmbedding: sampleFacePrior(m.face_prior, new Rng(round)),
          ...m.defaults,
          steps: this.backend === 'webgpu' ? 1 : m.defaults.steps,
          seed: round,
        },
        token,
      );
      token.throwIfCancelled();
      await this.runGraph('face_embedder', { pixel_values: { data: new Float32Array(3 * S * S), dims: [1, 3, S, S] } });
      const unet = out.graphTimes.unet!;
      return unet.ms / unet.calls;
    }, limits);
    return this.warmup.run();
  }

  /** Real work: the warm-up (if any) waits for it. */
  private foreground<T>(job: () => Promise<T>): Promise<T> {
    return this.warmup ? this.warmup.foreground(job) : job();
  }

  analyzeImage(image: Blob, pickFace?: number): Promise<FaceAnalysis> {
    return this.foreground(() => this.analyze(image, pickFace));
  }

  private async analyze(image: Blob, pickFace?: number): Promise<FaceAnalysis> {
    const { bundle, detector } = this.require();
    const m = bundle.manifest;
    const t0 = performance.now();
    const img = await decodeImage(image);
    try {
      const small = await downscaleForDetection(img, m.face_detector.max_detect_side);
      let faces;
      try {
        faces = await detector.detect(small.image, small.scale);
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

  generate(req: GenerateRequest, onProgress: (p: Progress) => void): Promise<GenerateResult> {
    return this.foreground(() => this.generateNow(req, onProgress));
  }

  private async generateNow(req: GenerateRequest, onProgress: (p: Progress) => void): Promise<GenerateResult> {
    // Set before any await, so a cancel() sent right after this call always finds this run's token.
    this.current?.cancel();
    const token = new CancelToken();
    this.current = token;
    try {
      const { pipeline, bundle } = this.require();
      const m = bundle.manifest;
      const preview = req.previews ? m.latent_preview : undefined;
      const t0 = performance.now();
      const graphs = this.graphs;
      const running = pipeline.generate(
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
          ...(preview
            ? {
                onLatent: (latent: Float32Array, step: number, steps: number) =>
                  onProgress({ kind: 'preview', step, steps, image: projectLatent(latent, preview, m.latent_size, m.latent_size) }),
              }
            : {}),
          onDecode: () => onProgress({ kind: 'decode' }),
        },
      );
      const out = graphs?.backend === 'webgpu' ? await this.unlessDeviceLost(running, graphs, token) : await running;
      return { ...out, ms: performance.now() - t0, backend: this.backend };
    } finally {
      if (this.current === token) this.current = null;
    }
  }

  /**
   * Between graph runs the pipeline's GPU work (step kernels, the image readback) is not an ORT run:
   * the loss ends the wait for the whole generation, which the UI then repeats on wasm.
   */
  private async unlessDeviceLost<T>(work: Promise<T>, graphs: GraphSet, token: CancelToken): Promise<T> {
    try {
      return await this.raceDeviceLoss(work);
    } catch (err) {
      if (!(err instanceof DeviceLostError)) throw err;
      token.cancel();
      void work.catch(() => undefined);
      return this.leaveWebGpu(graphs, deviceLostError(err.loss.during ?? 'generation', err.loss.reason));
    }
  }

  cancel(): void {
    this.current?.cancel();
    this.current = null;
  }

  private async dispose(): Promise<void> {
    this.warmup?.stop();
    this.warmup = null;
    this.cancel();
    this.loaded?.detector.close();
    this.loaded = null;
    await this.graphs?.release();
    this.graphs = null;
    this.lossListeners.clear();
    this.loss = null;
    this.webGpuGraph = null;
    this.abandonedRun = false;
  }
}
