/**
 * Face0 generation as pure orchestration over an injected graph runner, so it runs (and is tested)
 * without onnxruntime: text encoder -> face projector -> guided DDIM loop with one batched U-Net
 * call per step -> VAE decoder -> RGBA bytes.
 */
import type { GraphName, Manifest } from '../bundle/manifest';
import { buildContexts } from '../diffusion/context';
import { DDIMScheduler } from '../diffusion/ddim';
import { combineGuidance, planGuidance } from '../diffusion/guidance';
import { Rng } from '../diffusion/rng';
import type { CancelToken } from './cancel';
import { EngineError } from './errors';

export interface TensorData {
  data: Float32Array | BigInt64Array;
  dims: number[];
}

export type Feeds = Record<string, TensorData>;

/** Runs one graph of the bundle; outputs by name. */
export type RunGraph = (graph: GraphName, feeds: Feeds) => Promise<Record<string, TensorData>>;

/** Prompt -> the max_length input ids the text encoder takes (bos, tokens, eos, padding). */
export type EncodeIds = (prompt: string) => Int32Array;

export interface GenerationRequest {
  prompt: string;
  /** (E) face embedding, or null for no face. */
  faceEmbedding: Float32Array | null;
  w: number;
  c: number;
  a: number;
  steps: number;
  seed: number;
}

export interface GenerationOutput {
  width: number;
  height: number;
  rgba: Uint8ClampedArray;
  unetCalls: number;
  unetBatch: number;
}

export interface GenerationHooks {
  onStep?: (step: number, steps: number) => void;
  onDecode?: () => void;
}

interface TextEncoding {
  prompt: Float32Array;
  empty: Float32Array;
}

/** Prompts whose encodings are kept; slider drags reuse one prompt, typing produces a few. */
const TEXT_CACHE_SIZE = 8;

function output(outputs: Record<string, TensorData>, name: string, graph: GraphName): Float32Array {
  const t = outputs[name];
  if (!t || !(t.data instanceof Float32Array)) throw new EngineError('internal', `${graph} returned no float32 "${name}"`);
  return t.data;
}

/** [-1, 1] -> bytes as diffusers does ((x / 2 + 0.5) clamped to [0, 1], times 255, rounded); alpha 255. */
export function imageToRgba(chw: Float32Array, width: number, height: number): Uint8ClampedArray {
  const n = width * height;
  if (chw.length !== 3 * n) throw new EngineError('internal', `decoder output has ${chw.length} values, expected ${3 * n}`);
  const rgba = new Uint8ClampedArray(4 * n);
  for (let p = 0; p < n; p++) {
    for (let c = 0; c < 3; c++) {
      const v = Math.min(1, Math.max(0, chw[c * n + p] / 2 + 0.5));
      rgba[4 * p + c] = Math.round(v * 255);
    }
    rgba[4 * p + 3] = 255;
  }
  return rgba;
}

function checkRequest(req: GenerationRequest, m: Manifest): void {
  const { steps, seed } = req;
  if (!Number.isInteger(steps) || steps < 1 || steps > m.scheduler.num_train_timesteps) {
    throw new EngineError('internal', `steps must be an integer in [1, ${m.scheduler.num_train_timesteps}] (got ${steps})`);
  }
  if (!Number.isSafeInteger(seed)) throw new EngineError('internal', `seed must be an integer (got ${seed})`);
  for (const [name, v] of [['w', req.w], ['c', req.c], ['a', req.a]] as const) {
    if (!Number.isFinite(v)) throw new EngineError('internal', `guidance ${name} must be a finite number (got ${v})`);
  }
  const E = m.face_embedder.embedding_width;
  if (req.faceEmbedding && req.faceEmbedding.length !== E) {
    throw new EngineError('internal', `face embedding has ${req.faceEmbedding.length} values, this bundle uses ${E}`);
  }
}

export class Pipeline {
  private readonly textCache = new Map<string, TextEncoding>();

  constructor(
    private readonly manifest: Manifest,
    private readonly encodeIds: EncodeIds,
    private readonly runGraph: RunGraph,
  ) {}

  /** The prompt's and the empty prompt's (L, D) encodings, from one batch-2 text encoder call. */
  async encodeText(prompt: string): Promise<TextEncoding> {
    const cached = this.textCache.get(prompt);
    if (cached) {
      // Re-insert so the Map's insertion order is least-recently-used first.
      this.textCache.delete(prompt);
      this.textCache.set(prompt, cached);
      return cached;
    }
    const L = this.manifest.tokenizer.max_length;
    const D = this.manifest.context_width;
    const ids = new BigInt64Array(2 * L);
    [this.encodeIds(prompt), this.encodeIds('')].forEach((row, b) => {
      if (row.length !== L) throw new EngineError('internal', `tokenizer returned ${row.length} ids, expected ${L}`);
      row.forEach((id, i) => (ids[b * L + i] = BigInt(id)));
    });
    const out = await this.runGraph('text_encoder', { input_ids: { data: ids, dims: [2, L] } });
    const hidden = output(out, 'last_hidden_state', 'text_encoder');
    if (hidden.length !== 2 * L * D) throw new EngineError('internal', `text encoder returned ${hidden.length} values`);
    const encoding = { prompt: hidden.slice(0, L * D), empty: hidden.slice(L * D) };
    this.textCache.set(prompt, encoding);
    if (this.textCache.size > TEXT_CACHE_SIZE) this.textCache.delete(this.textCache.keys().next().value!);
    return encoding;
  }

  async projectFace(embedding: Float32Array): Promise<Float32Array> {
    const E = this.manifest.face_embedder.embedding_width;
    const out = await this.runGraph('face_projector', { face_embedding: { data: embedding, dims: [1, E] } });
    const tokens = output(out, 'face_tokens', 'face_projector');
    const expected = this.manifest.face_token_positions.length * this.manifest.context_width;
    if (tokens.length !== expected) throw new EngineError('internal', `face projector returned ${tokens.length} values, expected ${expected}`);
    return tokens;
  }

  async generate(req: GenerationRequest, token: CancelToken, hooks: GenerationHooks = {}): Promise<GenerationOutput> {
    const m = this.manifest;
    checkRequest(req, m);
    const D = m.context_width;
    const L = m.tokenizer.max_length;
    const C = m.latent_channels;
    const h = m.latent_size;
    const latentSize = C * h * h;

    token.throwIfCancelled();
    const text = await this.encodeText(req.prompt);
    token.throwIfCancelled();
    const faceTokens = req.faceEmbedding ? await this.projectFace(req.faceEmbedding) : null;

    const plan = planGuidance({ w: req.w, c: req.c, a: req.a }, faceTokens !== null);
    const n = plan.conditions.length;
    const contexts = buildContexts(text.prompt, text.empty, faceTokens, m.face_token_positions, D, plan.conditions);
    const scheduler = new DDIMScheduler(m.scheduler);
    scheduler.setTimesteps(req.steps);
    // DDIM's initial noise sigma is 1, so the seeded normals are the initial latents as they are.
    let latents = new Rng(req.seed).normal(latentSize);

    let unetCalls = 0;
    const steps = scheduler.timesteps.length;
    for (let i = 0; i < steps; i++) {
      await token.checkpoint();
      const t = scheduler.timesteps[i];
      const sample = new Float32Array(n * latentSize);
      for (let b = 0; b < n; b++) sample.set(latents, b * latentSize);
      const out = await this.runGraph('unet', {
        sample: { data: sample, dims: [n, C, h, h] },
        timestep: { data: new Float32Array(n).fill(t), dims: [n] },
        encoder_hidden_states: { data: contexts, dims: [n, L, D] },
      });
      unetCalls++;
      token.throwIfCancelled();
      const eps = output(out, 'out_sample', 'unet');
      if (eps.length !== n * latentSize) throw new EngineError('internal', `U-Net returned ${eps.length} values, expected ${n * latentSize}`);
      latents = scheduler.step(combineGuidance(eps, plan), t, latents);
      hooks.onStep?.(i + 1, steps);
    }

    await token.checkpoint();
    hooks.onDecode?.();
    const scaled = latents.map((v) => v / m.vae_scaling_factor);
    const decoded = await this.runGraph('vae_decoder', { latent_sample: { data: scaled, dims: [1, C, h, h] } });
    token.throwIfCancelled();
    const size = m.image_size;
    const rgba = imageToRgba(output(decoded, 'sample', 'vae_decoder'), size, size);
    return { width: size, height: size, rgba, unetCalls, unetBatch: n };
  }
}
