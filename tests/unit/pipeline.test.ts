/**
 * The generation pipeline against tests/golden/pipeline.json (training/face0/goldens_pipeline.py): the
 * graphs are the closed-form functions below, the same formulas as the Python script, which
 * evaluates the Face0 guidance formula per condition with diffusers' DDIMScheduler.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { GraphName, Manifest, SchedulerSpec } from '../../src/bundle/manifest';
import { CancelToken } from '../../src/engineWorker/cancel';
import { Pipeline, type RunGraph } from '../../src/engineWorker/pipeline';
import { cpuOps, type TensorOps } from '../../src/engineWorker/tensorOps';
import { hostFloat32, type Feeds, type GraphValue, type Outputs, type TensorData } from '../../src/engineWorker/tensors';

interface GoldenCase {
  name: string;
  prompt: string;
  face_embedding: number[] | null;
  w: number;
  c: number;
  a: number;
  steps: number;
  seed: number;
  scheduler: SchedulerSpec;
  batch: number;
  timesteps: number[];
  final_latents: number[];
  rgba: number[];
}

const golden = JSON.parse(readFileSync(new URL('../golden/pipeline.json', import.meta.url), 'utf8')) as {
  dims: { L: number; D: number; C: number; H: number; image_size: number; E: number; positions: number[]; bos: number; eos: number; pad: number; vae_scaling_factor: number };
  cases: GoldenCase[];
};
const { L, D, C, H, image_size: IMAGE, E, positions, bos, eos, pad, vae_scaling_factor } = golden.dims;

function manifestFor(scheduler: SchedulerSpec): Manifest {
  // Only the fields the pipeline reads matter; the rest is a valid shape for the type.
  return {
    image_size: IMAGE,
    latent_channels: C,
    latent_size: H,
    vae_scaling_factor,
    tokenizer: { kind: 'clip-bpe', vocab_file: 'vocab.txt.gz', max_length: 77, bos_id: bos, eos_id: eos, pad_id: pad },
    context_width: D,
    face_token_positions: positions,
    face_embedder: { embedding_width: E },
    // The golden's stand-in decoder gives [-1, 1], as an AutoencoderKL does.
    vae_decoder: { output_range: [-1, 1] },
    scheduler,
  } as unknown as Manifest;
}

function encodeIds(prompt: string): Int32Array {
  const ids = new Int32Array(L).fill(pad);
  const body = Array.from(prompt.slice(0, 72), (ch) => (ch.charCodeAt(0) % 1000) + 1);
  [bos, ...body, eos].forEach((id, i) => (ids[i] = id));
  return ids;
}

const f32 = (t: GraphValue) => hostFloat32(t, 'a fake graph input');

/** The graphs of goldens_pipeline.py, with a log of every call. */
function fakeGraphs() {
  const calls: { graph: GraphName; feeds: Feeds }[] = [];
  const run = async (graph: GraphName, feeds: Feeds): Promise<Outputs> => {
    calls.push({ graph, feeds });
    if (graph === 'text_encoder') {
      const ids = (feeds.input_ids as TensorData).data as BigInt64Array;
      const B = feeds.input_ids.dims[0];
      const out = new Float32Array(B * L * D);
      for (let b = 0; b < B; b++)
        for (let l = 0; l < L; l++)
          for (let d = 0; d < D; d++) out[(b * L + l) * D + d] = 0.5 * Math.sin(0.001 * Number(ids[b * L + l]) * (d + 1) + 0.1 * l);
      return { last_hidden_state: { data: out, dims: [B, L, D] } };
    }
    if (graph === 'face_projector') {
      const emb = f32(feeds.face_embedding);
      const out = new Float32Array(3 * D);
      for (let k = 0; k < 3; k++)
        for (let d = 0; d < D; d++) {
          let s = 0;
          for (let e = 0; e < E; e++) s += emb[e] * Math.cos(e + 2 * k + 3 * d);
          out[k * D + d] = Math.tanh(s / 2);
        }
      return { face_tokens: { data: out, dims: [1, 3, D] } };
    }
    if (graph === 'unet') {
      const sample = f32(feeds.sample);
      const t = f32(feeds.timestep);
      const ctx = f32(feeds.encoder_hidden_states);
      const B = feeds.sample.dims[0];
      const hw = H * H;
      const out = new Float32Array(sample.length);
      for (let b = 0; b < B; b++)
        for (let c = 0; c < C; c++) {
          let s = 0;
          for (let l = 0; l < L; l++)
            for (let d = 0; d < D; d++) s += ctx[(b * L + l) * D + d] * Math.cos(0.1 * l + 0.7 * d + 1.3 * c);
          s /= L;
          for (let p = 0; p < hw; p++) {
            const i = (b * C + c) * hw + p;
            out[i] = 0.9 * sample[i] + 0.0005 * t[b] + s;
          }
        }
      return { out_sample: { data: out, dims: [...feeds.sample.dims] } };
    }
    if (graph === 'vae_decoder') {
      const z = f32(feeds.latent_sample);
      const out = new Float32Array(3 * IMAGE * IMAGE);
      for (let ch = 0; ch < 3; ch++)
        for (let y = 0; y < IMAGE; y++)
          for (let x = 0; x < IMAGE; x++) {
            const v = z[(ch * H + (y >> 1)) * H + (x >> 1)];
            out[(ch * IMAGE + y) * IMAGE + x] = Math.tanh(0.1 * v * (1 + 0.1 * ch) + 0.05 * x - 0.03 * y);
          }
      return { sample: { data: out, dims: [1, 3, IMAGE, IMAGE] } };
    }
    throw new Error(`unexpected graph ${graph}`);
  };
  return { calls, run };
}

function requestOf(g: GoldenCase) {
  const faceEmbedding = g.face_embedding ? Float32Array.from(g.face_embedding) : null;
  return { prompt: g.prompt, faceEmbedding, w: g.w, c: g.c, a: g.a, steps: g.steps, seed: g.seed };
}

describe('Pipeline.generate against the Python golden', () => {
  for (const g of golden.cases) {
    it(`${g.name}: one batched U-Net call per step, final latents and bytes match`, async () => {
      const { calls, run } = fakeGraphs();
      const steps: number[] = [];
      const pipeline = new Pipeline(manifestFor(g.scheduler), encodeIds, run, () => cpuOps);
      const out = await pipeline.generate(requestOf(g), new CancelToken(), { onStep: (s) => steps.push(s) });

      const unetCalls = calls.filter((c) => c.graph === 'unet');
      expect(out.unetCalls).toBe(g.steps);
      expect(unetCalls).toHaveLength(g.steps);
      expect(out.unetBatch).toBe(g.batch);
      expect(unetCalls.map((c) => c.feeds.sample.dims[0])).toEqual(Array(g.steps).fill(g.batch));
      expect(unetCalls.map((c) => Array.from(f32(c.feeds.timestep)))).toEqual(g.timesteps.map((t) => Array(g.batch).fill(t)));
      expect(steps).toEqual(Array.from({ length: g.steps }, (_, i) => i + 1));
      expect(calls.filter((c) => c.graph === 'face_projector')).toHaveLength(g.face_embedding ? 1 : 0);

      // Decoder input = final latents / vae_scaling_factor. Tolerance: 1e-4 relative to max(1, |v|)
      // (float32 sample vs float64 guidance in Python, float64 vs float32 alphas in diffusers).
      const vae = calls.find((c) => c.graph === 'vae_decoder')!;
      const z = f32(vae.feeds.latent_sample);
      expect(z).toHaveLength(C * H * H);
      let worst = 0;
      g.final_latents.forEach((v, i) => {
        worst = Math.max(worst, Math.abs(z[i] * vae_scaling_factor - v) / Math.max(1, Math.abs(v)));
      });
      expect(worst).toBeLessThan(1e-4);

      // Bytes: at most 1 off (rounding of a value within 1e-4 of a .5 boundary).
      expect(out.width).toBe(IMAGE);
      expect(out.height).toBe(IMAGE);
      const diffs = Array.from(out.rgba, (v, i) => Math.abs(v - g.rgba[i]));
      expect(Math.max(...diffs)).toBeLessThanOrEqual(1);
    });
  }

  it('applies the x0 projection at the steps whose timestep is >= its from_timestep, and only there', async () => {
    const g = golden.cases[0];
    const size = C * H * H;
    // Four unit rows: x0 keeps its first 4 values, the rest goes to the mean (0).
    const basis = new Float32Array(4 * size);
    for (let k = 0; k < 4; k++) basis[k * size + k] = 1;
    const projection = (fromTimestep: number) => ({ mean: new Float32Array(size), basis, components: 4, fromTimestep });
    const unetInputs = async (fromTimestep: number | null) => {
      const { calls, run } = fakeGraphs();
      const pipeline = new Pipeline(manifestFor(g.scheduler), encodeIds, run, () => cpuOps, fromTimestep === null ? null : projection(fromTimestep));
      const out = await pipeline.generate(requestOf(g), new CancelToken());
      return { samples: calls.filter((c) => c.graph === 'unet').map((c) => Array.from(f32(c.feeds.sample))), rgba: Array.from(out.rgba) };
    };
    const plain = await unetInputs(null);
    const never = await unetInputs(Math.max(...g.timesteps) + 1);
    expect(never).toEqual(plain);
    // From the first (highest) timestep only: the first step projects, the second does not.
    const firstOnly = await unetInputs(g.timesteps[0]);
    const always = await unetInputs(0);
    expect(firstOnly.samples[0]).toEqual(plain.samples[0]);
    expect(firstOnly.samples[1]).not.toEqual(plain.samples[1]);
    expect(firstOnly.samples[1]).toEqual(always.samples[1]);
    expect(firstOnly.samples[2]).not.toEqual(always.samples[2]);
  });

  it('encodes a prompt once (batch [prompt, ""]) and reuses it on the next run', async () => {
    const g = golden.cases[0];
    const { calls, run } = fakeGraphs();
    const pipeline = new Pipeline(manifestFor(g.scheduler), encodeIds, run, () => cpuOps);
    const first = await pipeline.generate(requestOf(g), new CancelToken());
    const second = await pipeline.generate({ ...requestOf(g), seed: g.seed }, new CancelToken());
    const text = calls.filter((c) => c.graph === 'text_encoder');
    expect(text).toHaveLength(1);
    expect(text[0].feeds.input_ids.dims).toEqual([2, L]);
    const ids = Array.from((text[0].feeds.input_ids as TensorData).data as BigInt64Array, Number);
    expect(ids.slice(0, L)).toEqual(Array.from(encodeIds(g.prompt)));
    expect(ids.slice(L)).toEqual(Array.from(encodeIds('')));
    expect(Array.from(second.rgba)).toEqual(Array.from(first.rgba));
  });

  it('a cancelled token stops the loop between steps and rejects with code "cancelled"', async () => {
    const g = golden.cases[0];
    const { calls, run } = fakeGraphs();
    const token = new CancelToken();
    const pipeline = new Pipeline(manifestFor(g.scheduler), encodeIds, run, () => cpuOps);
    const result = pipeline.generate(requestOf(g), token, { onStep: (s) => s === 2 && token.cancel() });
    await expect(result).rejects.toMatchObject({ code: 'cancelled' });
    expect(calls.filter((c) => c.graph === 'unet')).toHaveLength(2);
    expect(calls.filter((c) => c.graph === 'vae_decoder')).toHaveLength(0);
  });

  it('sees a cancel() that arrives as a separate task while graph runs resolve immediately', async () => {
    // wasm session.run resolves within the microtask queue; the loop must still let other tasks in.
    const g = golden.cases[0];
    const { calls, run } = fakeGraphs();
    const token = new CancelToken();
    const pipeline = new Pipeline(manifestFor(g.scheduler), encodeIds, run, () => cpuOps);
    const result = pipeline.generate(requestOf(g), token);
    setTimeout(() => token.cancel(), 0);
    await expect(result).rejects.toMatchObject({ code: 'cancelled' });
    expect(calls.filter((c) => c.graph === 'unet').length).toBeLessThan(g.steps);
  });

  it('refuses an embedding of the wrong width and a non-integer step count', async () => {
    const g = golden.cases[0];
    const pipeline = new Pipeline(manifestFor(g.scheduler), encodeIds, fakeGraphs().run, () => cpuOps);
    await expect(pipeline.generate({ ...requestOf(g), faceEmbedding: new Float32Array(E + 1) }, new CancelToken())).rejects.toThrow(
      /face embedding has 7 values, this bundle uses 6/,
    );
    await expect(pipeline.generate({ ...requestOf(g), steps: 2.5 }, new CancelToken())).rejects.toThrow(/steps must be an integer/);
  });
});

/**
 * cpuOps with a ledger like the WebGPU one: every tensor created between graphs, and every graph
 * output, must be disposed exactly once, except the cached text encodings.
 */
function trackedDevice() {
  const live = new Set<GraphValue>();
  const problems: string[] = [];
  const created = new Set<GraphValue>();
  const track = <T extends GraphValue>(v: T): T => (live.add(v), created.add(v), v);
  const ops: TensorOps = {
    transfers: cpuOps.transfers,
    get liveTensors() {
      return live.size;
    },
    upload: (data, dims) => track(cpuOps.upload(data, dims)),
    contexts: (...args) => track(cpuOps.contexts(...args)),
    guidedStep: (...args) => track(cpuOps.guidedStep(...args)),
    predictedLatent: (...args) => cpuOps.predictedLatent(...args),
    dispose: (v) => {
      if (!live.delete(v)) problems.push(`disposed a tensor twice or one it does not own (dims ${v.dims})`);
    },
  };
  const graphs = fakeGraphs();
  const run: RunGraph = async (graph, feeds) => {
    for (const v of Object.values(feeds)) if (created.has(v) && !live.has(v)) problems.push(`${graph} was fed a released tensor`);
    const out = await graphs.run(graph, feeds);
    Object.values(out).forEach(track);
    return out;
  };
  return { ops, live, problems, run, calls: graphs.calls };
}

describe('Pipeline tensor lifetimes (what keeps WebGPU buffers from leaking)', () => {
  const g = golden.cases.find((c) => c.face_embedding !== null)!;

  it('holds only the cached text encodings after each generation, at most 8, evicting least recently used', async () => {
    const device = trackedDevice();
    const pipeline = new Pipeline(manifestFor(g.scheduler), encodeIds, device.run, () => device.ops);
    const held: number[] = [];
    for (let i = 0; i < 10; i++) {
      const out = await pipeline.generate({ ...requestOf(g), prompt: `prompt ${i}` }, new CancelToken());
      held.push(out.deviceStats.liveTensors);
    }
    expect(held).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 8, 8]);
    expect(device.live.size).toBe(8);
    // prompt 2 is cached (0 and 1 were evicted): no text encoder run.
    const before = device.calls.filter((c) => c.graph === 'text_encoder').length;
    await pipeline.generate({ ...requestOf(g), prompt: 'prompt 2' }, new CancelToken());
    expect(device.calls.filter((c) => c.graph === 'text_encoder')).toHaveLength(before);
    expect(device.problems).toEqual([]);
  });

  it('releases everything of a cancelled generation, and the old cache when the backend changes', async () => {
    const gpu = trackedDevice();
    let device = gpu;
    const pipeline = new Pipeline(manifestFor(g.scheduler), encodeIds, (graph, feeds) => device.run(graph, feeds), () => device.ops);
    const token = new CancelToken();
    await expect(pipeline.generate(requestOf(g), token, { onStep: (s) => s === 2 && token.cancel() })).rejects.toMatchObject({ code: 'cancelled' });
    expect(gpu.live.size).toBe(1);
    // A fallback to wasm: the next generation runs on other ops and frees the old device's cache.
    device = trackedDevice();
    await pipeline.generate(requestOf(g), new CancelToken());
    expect(gpu.live.size).toBe(0);
    expect(device.live.size).toBe(1);
    expect([...gpu.problems, ...device.problems]).toEqual([]);
  });

  it('reports no CPU<->GPU copies on the CPU', async () => {
    const pipeline = new Pipeline(manifestFor(g.scheduler), encodeIds, fakeGraphs().run, () => cpuOps);
    const out = await pipeline.generate(requestOf(g), new CancelToken());
    expect(out.deviceStats).toEqual({ uploads: 0, downloads: 0, liveTensors: 0 });
  });
});
