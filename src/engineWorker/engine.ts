/**
 * The engine behind the worker, a facade: start-up (bundle, tokenizer, sessions, face detector), then
 * each call handed to its part: the face pipeline (extraction.ts), generation (pipeline.ts) on the graphs
 * with their WebGPU -> wasm switch (switchingGraphs.ts), the warm-up. worker.ts exposes it through
 * comlink; errors here are EngineErrors or plain errors that worker.ts turns into 'internal'.
 */
import { receiveBundle } from '../bundle/bundlePort';
import type { ArrivingBundle } from '../bundle/loadBundle';
import type { GraphName } from '../bundle/manifest';
import { Rng } from '../diffusion/rng';
import { sampleFacePrior } from '../face/embeddingOps';
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
import { EngineError } from '../shared/engineError';
import { FaceExtractor } from './extraction';
import { configureOrt } from './ort';
import { Pipeline } from './pipeline';
import { projectLatent } from '../diffusion/latentPreview';
import { parseX0Projection } from '../diffusion/x0Projection';
import { Serial } from './serial';
import { BackendFailure, GraphSet } from './sessions';
import { SwitchingGraphs } from './switchingGraphs';
import { PhaseTimes } from './timings';
import { Warmup, WARMUP_LIMITS, type WarmupReport } from './warmup';

interface Loaded {
  bundle: ArrivingBundle; // every file arrived
  tokenizer: ClipTokenizer;
  faces: FaceExtractor;
  pipeline: Pipeline;
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

export class Engine {
  private loaded: Loaded | null = null;
  private graphs: SwitchingGraphs | null = null;
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
    const detecting = times.time('face detector (during sessions)', () => FaceExtractor.create(bundle));
    void detecting.catch(() => undefined); // awaited below; a failure must not count as unhandled meanwhile
    let fallbackReason = choice.fallbackReason;
    const serial = new Serial();
    let graphs: GraphSet;
    try {
      try {
        graphs = await GraphSet.create(bundle, choice.backend, serial, onGraph);
      } catch (err) {
        if (!(err instanceof BackendFailure)) throw err;
        fallbackReason = `WebGPU failed: ${err.message}`;
        lapSuffix = ' (wasm, after WebGPU failed)';
        graphs = await GraphSet.create(bundle, 'wasm', serial, onGraph);
      }
    } catch (err) {
      void detecting.then((d) => d.close(), () => undefined);
      throw err;
    }
    times.lap(null);
    const switching = await SwitchingGraphs.watch(bundle, graphs, serial);
    this.graphs = switching;

    onProgress({ kind: 'session', graph: 'face_detector' });
    let faces: FaceExtractor;
    try {
      faces = await times.time('face detector (after sessions)', () => detecting);
      await bundle.complete; // every file the graphs read has arrived; one nothing read would fail here
    } catch (err) {
      void detecting.then((d) => d.close(), () => undefined);
      await switching.release();
      this.graphs = null;
      throw err;
    }

    const encodeIds = (prompt: string) => encodePrompt(tokenizer, prompt, m.tokenizer, m.face_token_positions).inputIds;
    const projection = m.x0_projection;
    const size = m.latent_channels * m.latent_size * m.latent_size;
    const x0Projection = projection
      ? parseX0Projection(await bundle.arrived(projection.file), projection.components, size, projection.from_timestep)
      : null;
    const pipeline = new Pipeline(m, encodeIds, (graph, feeds) => switching.run(graph, feeds), () => switching.ops, x0Projection);
    this.loaded = { bundle, tokenizer, faces, pipeline };
    return { backend: switching.backend, fallbackReason, manifest: m };
  }

  private require(): Loaded {
    if (!this.loaded) throw new EngineError('internal', 'The engine is not initialised (call init first)');
    return this.loaded;
  }

  private get backend(): Backend {
    return this.graphs?.backend ?? 'wasm';
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
      await this.graphs!.run('face_embedder', { pixel_values: { data: new Float32Array(3 * S * S), dims: [1, 3, S, S] } });
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
    return this.foreground(async () => {
      const { faces } = this.require();
      return faces.extract(image, pickFace, (graph, feeds) => this.graphs!.run(graph, feeds));
    });
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
      // `draft` tells the client how to supersede a request; the pipeline takes the rest as it is.
      const { face, previews, draft: _draft, ...request } = req;
      const preview = previews ? m.latent_preview : undefined;
      const t0 = performance.now();
      const out = await this.graphs!.unlessDeviceLost(
        () =>
          pipeline.generate(
            { ...request, faceEmbedding: face.kind === 'embedding' ? face.embedding : null },
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
          ),
        () => token.cancel(),
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
    this.warmup?.stop();
    this.warmup = null;
    this.cancel();
    this.loaded?.faces.close();
    this.loaded = null;
    await this.graphs?.release();
    this.graphs = null;
  }
}
