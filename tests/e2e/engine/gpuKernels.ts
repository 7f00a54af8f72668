/// <reference types="@webgpu/types" />
// A page for tests/e2e/engine/browser.test.ts: src/engine/gpuOps.ts on a WebGPU device against the CPU
// implementation (src/engine/tensorOps.ts cpuOps) on the same random inputs.
import type { SchedulerSpec } from '../../../src/bundle/manifest';
import { DDIMScheduler } from '../../../src/diffusion/ddim';
import { CONDITIONS, planGuidance, type Condition } from '../../../src/diffusion/guidance';
import { Rng } from '../../../src/diffusion/rng';
import type { X0Projection } from '../../../src/diffusion/x0Projection';
import { GpuOps } from '../../../src/engineWorker/gpuOps';
import { GpuLedger, GpuTensor } from '../../../src/engineWorker/gpuTensor';
import { cpuOps } from '../../../src/engineWorker/tensorOps';
import { hostFloat32 } from '../../../src/engineWorker/tensors';

const SCHEDULER: SchedulerSpec = {
  kind: 'ddim',
  num_train_timesteps: 1000,
  beta_schedule: 'scaled_linear',
  beta_start: 0.00085,
  beta_end: 0.012,
  prediction_type: 'epsilon',
  clip_sample: false,
  set_alpha_to_one: false,
  steps_offset: 1,
  timestep_spacing: 'leading',
};

async function read(device: GPUDevice, t: GpuTensor): Promise<Float32Array> {
  const staging = device.createBuffer({ size: t.size * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const encoder = device.createCommandEncoder();
  encoder.copyBufferToBuffer(t.buffer, 0, staging, 0, t.size * 4);
  device.queue.submit([encoder.finish()]);
  await staging.mapAsync(GPUMapMode.READ);
  const out = new Float32Array(staging.getMappedRange().slice(0));
  staging.destroy();
  return out;
}

interface StepCase {
  name: string;
  params: { w: number; c: number; a: number };
  hasFace: boolean;
  clip: boolean;
  last: boolean;
  projection?: boolean;
}

/** A random x0 projection: K orthonormal rows (Gram-Schmidt on seeded normals) and a mean. */
function randomProjection(size: number, components: number, seed: number): X0Projection {
  const rng = new Rng(seed);
  const basis = new Float32Array(components * size);
  for (let k = 0; k < components; k++) {
    const row = Float64Array.from(rng.normal(size));
    for (let j = 0; j < k; j++) {
      const other = basis.subarray(j * size, (j + 1) * size);
      const dot = row.reduce((acc, v, i) => acc + v * other[i], 0);
      row.forEach((v, i) => (row[i] = v - dot * other[i]));
    }
    const norm = Math.hypot(...row);
    basis.set(row.map((v) => v / norm), k * size);
  }
  return { mean: rng.normal(size), basis, components, fromTimestep: 0 };
}

const STEP_CASES: StepCase[] = [
  { name: 'face, c=1 a=0 (2 rows)', params: { w: 5, c: 1, a: 0 }, hasFace: true, clip: false, last: false },
  { name: 'face, all 4 rows, clip_sample', params: { w: 3, c: 0.6, a: 0.3 }, hasFace: true, clip: true, last: false },
  { name: 'no face, last step (decoder input)', params: { w: 5, c: 1, a: 0 }, hasFace: false, clip: false, last: true },
  { name: 'w=1 (1 row), clip_sample, last step', params: { w: 1, c: 1, a: 0 }, hasFace: true, clip: true, last: true },
  { name: 'face, c=1 a=0, x0 projection', params: { w: 5, c: 1, a: 0 }, hasFace: true, clip: false, last: false, projection: true },
  { name: 'all 4 rows, clip_sample, x0 projection, last step', params: { w: 3, c: 0.6, a: 0.3 }, hasFace: true, clip: true, last: true, projection: true },
];

async function compare() {
  const adapter = await navigator.gpu.requestAdapter();
  const device = await adapter!.requestDevice();
  const ledger = new GpuLedger();
  const gpu = await GpuOps.create(device, ledger);
  const [C, h] = [4, 16];
  const size = C * h * h;
  const steps: { name: string; rows: number; clipped: number; worst: number }[] = [];
  for (const [i, sc] of STEP_CASES.entries()) {
    const plan = planGuidance(sc.params, sc.hasFace);
    const n = plan.conditions.length;
    const scheduler = new DDIMScheduler({ ...SCHEDULER, clip_sample: sc.clip });
    scheduler.setTimesteps(4);
    const k = scheduler.stepCoefficients(scheduler.timesteps[1]);
    const latent = new Rng(10 + i).normal(size).map((v) => 3 * v);
    const sample = new Float32Array(n * size);
    for (let b = 0; b < n; b++) sample.set(latent, b * size);
    const eps = new Rng(20 + i).normal(n * size);
    const out = sc.last ? { rows: 1, divisor: 0.5631603002548218 } : { rows: n, divisor: 1 };
    const projection = sc.projection ? randomProjection(size, 8, 30 + i) : null;
    const expected = hostFloat32(cpuOps.guidedStep({ data: eps, dims: [n, C, h, h] }, { data: sample, dims: [n, C, h, h] }, plan, k, projection, out), 'cpu step');
    const gs = gpu.upload(sample, [n, C, h, h]);
    const ge = gpu.upload(eps, [n, C, h, h]);
    const result = gpu.guidedStep(ge, gs, plan, k, projection, out);
    const got = await read(device, result);
    [gs, ge, result].forEach((t) => t.dispose());
    let worst = got.length === expected.length ? 0 : Infinity;
    expected.forEach((v, j) => (worst = Math.max(worst, Math.abs(got[j] - v) / Math.max(1, Math.abs(v)))));
    // How many x0 hit the clip range: the clip cases must exercise the clamp.
    let clipped = 0;
    const guided = hostFloat32(cpuOps.guidedStep({ data: eps, dims: [n, C, h, h] }, { data: sample, dims: [n, C, h, h] }, plan, { ...k, clipRange: null }, projection, out), 'cpu step');
    guided.forEach((v, j) => (clipped += v !== expected[j] ? 1 : 0));
    steps.push({ name: sc.name, rows: n, clipped, worst });
  }

  const [L, D, positions] = [77, 8, [74, 75, 76]];
  const text = new Rng(1).normal(2 * L * D);
  const face = new Rng(2).normal(3 * D);
  const contexts: { conditions: Condition[]; equal: boolean }[] = [];
  for (const [conditions, hasFace] of [[[...CONDITIONS], true], [['text_noface', 'empty_noface'], false]] as [Condition[], boolean][]) {
    const expected = hostFloat32(cpuOps.contexts({ data: text, dims: [2, L, D] }, hasFace ? { data: face, dims: [1, 3, D] } : null, positions, conditions), 'cpu contexts');
    const gt = gpu.upload(text, [2, L, D]);
    const gf = hasFace ? gpu.upload(face, [1, 3, D]) : null;
    const result = gpu.contexts(gt, gf, positions, conditions);
    const got = await read(device, result);
    [gt, gf, result].forEach((t) => t?.dispose());
    contexts.push({ conditions, equal: got.length === expected.length && got.every((v, j) => Object.is(v, expected[j])) });
  }
  const live = ledger.liveTensors;
  device.destroy();
  return { steps, contexts, live, uploads: ledger.uploads };
}

declare global {
  interface Window {
    compareGpuOps: typeof compare;
    ready: boolean;
  }
}
window.compareGpuOps = compare;
window.ready = true;
