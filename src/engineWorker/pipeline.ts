/**
 * Face0 generation as pure orchestration over an injected graph runner and the tensor operations of
 * the current backend (tensorOps.ts), so it runs (and is tested) without onnxruntime: text encoder ->
 * face projector -> guided DDIM loop with one batched U-Net call per step -> VAE decoder -> RGBA
 * bytes. On WebGPU every tensor between graphs stays on the GPU; only the image is read back.
 */
import type { GraphName, Manifest } from '../bundle/manifest';
import { DDIMScheduler } from '../diffusion/ddim';
import { planGuidance, type GuidanceParams, type GuidancePlan } from '../diffusion/guidance';
import { Rng } from '../diffusion/rng';
import type { X0Projection } from '../diffusion/x0Projection';
import type { CancelToken } from './cancel';
import { EngineError } from '../shared/engineError';
import { planarToRgba } from '../shared/pixels';
import type { TensorOps } from './tensorOps';
import type { TransferCounts } from './gpuTensor';
import { hostFloat32, type Feeds, type GraphValue, type Outputs } from './tensors';

/** Runs one graph of the bundle; outputs by name. */
export type RunGraph = (graph: GraphName, feeds: Feeds) => Promise<Outputs>;

/** Prompt -> the max_length input ids the text encoder takes (bos, tokens, eos, padding). */
export type EncodeIds = (prompt: string) => Int32Array;

export interface GenerationRequest extends GuidanceParams {
  prompt: string;
  /** (E) face embedding, or null for no face. */
  faceEmbedding: Float32Array | null;
  steps: number;
  seed: number;
}

/** CPU<->GPU copies during one generation, and the device tensors held after it (the text cache). */
export interface DeviceStats extends TransferCounts {
  liveTensors: number;
}

/**
 * Wall-clock ms inside each graph's runs during one generation, and the runs. On wasm a run's time is
 * its computation; on WebGPU a run returns once its work is queued, so the GPU's time is not in it.
 */
export type GraphTimes = Partial<Record<GraphName, { calls: number; ms: number }>>;

export interface GenerationOutput {
  width: number;
  height: number;
  rgba: Uint8ClampedArray;
  unetCalls: number;
  unetBatch: number;
  deviceStats: DeviceStats;
  graphTimes: GraphTimes;
}

export interface GenerationHooks {
  onStep?: (step: number, steps: number) => void;
  /** After each step: the (C, h, w) clean latent it predicts (backends that hold latents in JS memory only). */
  onLatent?: (latent: Float32Array, step: number, steps: number) => void;
  onDecode?: () => void;
}

/** Prompts whose encodings are kept; slider drags reuse one prompt, typing produces a few. */
const TEXT_CACHE_SIZE = 8;

const count = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);

/** A graph's output `name`, which must hold `size` values; a wrong one is released before the error. */
function output(outputs: Outputs, name: string, graph: GraphName, size: number, ops: TensorOps): GraphValue {
  const t = outputs[name];
  if (!t) throw new EngineError('internal', `${graph} returned no "${name}"`);
  if (count(t.dims) !== size) {
    ops.dispose(t);
    throw new EngineError('internal', `${graph} returned ${count(t.dims)} values for "${name}", expected ${size}`);
  }
  return t;
}

function checkRequest(req: GenerationRequest, m: Manifest): void {
  const { steps, seed } = req;
  if (!Number.isInteger(steps) || steps < 1 || steps > m.scheduler.num_train_timesteps) {
    throw new EngineError('internal', `steps must be an integer in [1, ${m.scheduler.num_train_timesteps}] (got ${steps})`);
  }
  if (!Number.isSafeInteger(seed)) throw new EngineError('internal', `seed must be an integer (got ${seed})`);
  const E = m.face_embedder.embedding_width;
  if (req.faceEmbedding && req.faceEmbedding.length !== E) {
    throw new EngineError('internal', `face embedding has ${req.faceEmbedding.length} values, this bundle uses ${E}`);
  }
}

export class Pipeline {
  /** (2, L, D) text encodings [prompt, empty prompt] by prompt, least recently used first, on cacheOps' device. */
  private readonly textCache = new Map<string, GraphValue>();
  private cacheOps: TensorOps | null = null;

  constructor(
    private readonly manifest: Manifest,
    private readonly encodeIds: EncodeIds,
    private readonly runGraph: RunGraph,
    /** The current backend's tensor operations (the engine may switch from WebGPU to wasm). */
    private readonly ops: () => TensorOps,
    /** The bundle's x0 projection (manifest `x0_projection`), or null. */
    private readonly x0Projection: X0Projection | null = null,
  ) {}

  private evict(prompt: string): void {
    const entry = this.textCache.get(prompt);
    if (entry === undefined) return;
    this.textCache.delete(prompt);
    this.cacheOps!.dispose(entry);
  }

  /**
   * The U-Net contexts for the prompt. A cached text encoding is used without an await in between,
   * so no other generation can evict (and free) it while it is read.
   */
  private async contexts(
    ops: TensorOps,
    run: RunGraph,
    prompt: string,
    faceTokens: GraphValue | null,
    plan: GuidancePlan,
  ): Promise<GraphValue> {
    if (this.cacheOps !== ops) {
      [...this.textCache.keys()].forEach((p) => this.evict(p));
      this.cacheOps = ops;
    }
    let text = this.textCache.get(prompt);
    if (text !== undefined) {
      // Re-insert so the Map's insertion order is least-recently-used first.
      this.textCache.delete(prompt);
      this.textCache.set(prompt, text);
    } else {
      const L = this.manifest.tokenizer.max_length;
      const D = this.manifest.context_width;
      const ids = new BigInt64Array(2 * L);
      [this.encodeIds(prompt), this.encodeIds('')].forEach((row, b) => {
        if (row.length !== L) throw new EngineError('internal', `tokenizer returned ${row.length} ids, expected ${L}`);
        row.forEach((id, i) => (ids[b * L + i] = BigInt(id)));
      });
      const out = await run('text_encoder', { input_ids: { data: ids, dims: [2, L] } });
      text = output(out, 'last_hidden_state', 'text_encoder', 2 * L * D, ops);
      if (this.cacheOps !== ops) {
        // The backend switched while this (superseded) generation waited: use the encoding once.
        try {
          return ops.contexts(text, faceTokens, this.manifest.face_token_positions, plan.conditions);
        } finally {
          ops.dispose(text);
        }
      }
      // A superseded generation may have encoded the same prompt meanwhile.
      this.evict(prompt);
      this.textCache.set(prompt, text);
      if (this.textCache.size > TEXT_CACHE_SIZE) this.evict(this.textCache.keys().next().value!);
    }
    return ops.contexts(text, faceTokens, this.manifest.face_token_positions, plan.conditions);
  }

  private async projectFace(ops: TensorOps, run: RunGraph, embedding: Float32Array): Promise<GraphValue> {
    const E = this.manifest.face_embedder.embedding_width;
    const out = await run('face_projector', { face_embedding: { data: embedding, dims: [1, E] } });
    return output(out, 'face_tokens', 'face_projector', this.manifest.face_token_positions.length * this.manifest.context_width, ops);
  }

  async generate(req: GenerationRequest, token: CancelToken, hooks: GenerationHooks = {}): Promise<GenerationOutput> {
    const m = this.manifest;
    checkRequest(req, m);
    const C = m.latent_channels;
    const h = m.latent_size;
    const latentSize = C * h * h;
    const ops = this.ops();
    const before = { uploads: ops.transfers.uploads, downloads: ops.transfers.downloads };
    const plan = planGuidance(req, req.faceEmbedding !== null); // checks w, c and a
    const n = plan.conditions.length;
    const scheduler = new DDIMScheduler(m.scheduler);
    scheduler.setTimesteps(req.steps);

    const graphTimes: GraphTimes = {};
    const run: RunGraph = async (graph, feeds) => {
      const start = performance.now();
      try {
        return await this.runGraph(graph, feeds);
      } finally {
        const entry = (graphTimes[graph] ??= { calls: 0, ms: 0 });
        entry.calls++;
        entry.ms += performance.now() - start;
      }
    };
    // Device tensors of this generation, released however it ends (cached text encodings excepted).
    const held = new Set<GraphValue>();
    const hold = (v: GraphValue) => (held.add(v), v);
    const release = (v: GraphValue) => {
      held.delete(v);
      ops.dispose(v);
    };
    try {
      token.throwIfCancelled();
      const faceTokens = req.faceEmbedding ? hold(await this.projectFace(ops, run, req.faceEmbedding)) : null;
      token.throwIfCancelled();
      const contexts = hold(await this.contexts(ops, run, req.prompt, faceTokens, plan));
      if (faceTokens) release(faceTokens);

      // DDIM's initial noise sigma is 1, so the seeded normals are the initial latents as they are.
      const latents = new Rng(req.seed).normal(latentSize);
      const rows = new Float32Array(n * latentSize);
      for (let b = 0; b < n; b++) rows.set(latents, b * latentSize);
      let sample = hold(ops.upload(rows, [n, C, h, h]));

      let unetCalls = 0;
      const steps = scheduler.timesteps.length;
      for (let i = 0; i < steps; i++) {
        await token.checkpoint();
        const t = scheduler.timesteps[i];
        const out = await run('unet', {
          sample,
          timestep: { data: new Float32Array(n).fill(t), dims: [n] },
          encoder_hidden_states: contexts,
        });
        unetCalls++;
        const eps = hold(output(out, 'out_sample', 'unet', n * latentSize, ops));
        token.throwIfCancelled();
        // After the last step the decoder's input: one latent, divided by the VAE scaling factor.
        const next = i + 1 < steps ? { rows: n, divisor: 1 } : { rows: 1, divisor: m.vae_scaling_factor };
        const k = scheduler.stepCoefficients(t);
        const projection = this.x0Projection !== null && t >= this.x0Projection.fromTimestep ? this.x0Projection : null;
        const latent = hooks.onLatent ? ops.predictedLatent(eps, sample, plan, k, projection) : null;
        const stepped = hold(ops.guidedStep(eps, sample, plan, k, projection, next));
        release(eps);
        release(sample);
        sample = stepped;
        hooks.onStep?.(i + 1, steps);
        if (latent) hooks.onLatent?.(latent, i + 1, steps);
      }
      release(contexts);

      await token.checkpoint();
      hooks.onDecode?.();
      const decoded = await run('vae_decoder', { latent_sample: sample });
      release(sample);
      const size = m.image_size;
      const image = hold(output(decoded, 'sample', 'vae_decoder', 3 * size * size, ops));
      token.throwIfCancelled();
      const rgba = planarToRgba(hostFloat32(image, 'the decoded image'), size, size, m.vae_decoder.output_range);
      release(image);
      const deviceStats = {
        uploads: ops.transfers.uploads - before.uploads,
        downloads: ops.transfers.downloads - before.downloads,
        liveTensors: ops.liveTensors,
      };
      return { width: size, height: size, rgba, unetCalls, unetBatch: n, deviceStats, graphTimes };
    } finally {
      held.forEach((v) => ops.dispose(v));
    }
  }
}
