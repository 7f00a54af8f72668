import { describe, expect, it } from 'vitest';
import golden from '../golden/diffusion.json';
import type { SchedulerSpec } from '../../src/bundle/manifest';
import { ddimStep, DDIMScheduler, predictOriginal } from '../../src/diffusion/ddim';
import { Rng } from '../../src/diffusion/rng';

// Goldens: diffusers 0.42.1 DDIMScheduler, written by training/face0/goldens_diffusion.py.
// diffusers keeps alphas in float32, this port in float64: samples agree to 1e-5 * max(1, |x|).
const SAMPLE_TOLERANCE = 1e-5;

describe('DDIMScheduler', () => {
  golden.ddim.forEach((g, index) => {
    const cfg = g.config as SchedulerSpec;
    const label = `config ${index} (${cfg.beta_schedule}, ${cfg.timestep_spacing}, clip ${cfg.clip_sample})`;

    it(`${label}: timesteps equal diffusers exactly`, () => {
      const scheduler = new DDIMScheduler(cfg);
      for (const [n, expected] of Object.entries(g.timesteps as Record<string, number[]>)) {
        scheduler.setTimesteps(Number(n));
        expect(scheduler.timesteps).toEqual(expected);
      }
    });

    it(`${label}: a ${g.trajectory.steps}-step trajectory follows diffusers`, () => {
      const { seed, steps, size, timesteps, samples } = g.trajectory;
      const scheduler = new DDIMScheduler(cfg);
      scheduler.setTimesteps(steps);
      expect(scheduler.timesteps).toEqual(timesteps);
      let sample = new Rng(seed).normal(size);
      const epsRng = new Rng(seed + 1);
      let worst = 0;
      scheduler.timesteps.forEach((t, k) => {
        sample = scheduler.step(epsRng.normal(size), t, sample);
        samples[k].forEach((x, i) => {
          worst = Math.max(worst, Math.abs(sample[i] - x) / Math.max(1, Math.abs(x)));
        });
      });
      expect(worst).toBeLessThanOrEqual(SAMPLE_TOLERANCE);
    });
  });

  const base = golden.ddim[0].config as SchedulerSpec;

  it('recovers a noised sample when eps is the true noise', () => {
    const scheduler = new DDIMScheduler({ ...base, set_alpha_to_one: true });
    scheduler.setTimesteps(1);
    const t = scheduler.timesteps[0];
    const x0 = new Rng(1).normal(16);
    const noise = new Rng(2).normal(16);
    const a = scheduler.alphasCumprod[t];
    const xt = x0.map((x, i) => Math.sqrt(a) * x + Math.sqrt(1 - a) * noise[i]);
    // One step to the end with alpha-bar 1 returns the predicted x0; float32 inputs: 1e-5.
    const out = scheduler.step(noise, t, xt);
    out.forEach((x, i) => expect(Math.abs(x - x0[i])).toBeLessThan(1e-5));
  });

  it('rejects bad configs, step counts and timesteps', () => {
    expect(() => new DDIMScheduler({ ...base, timestep_spacing: 'karras' as never })).toThrow(/timestep_spacing/);
    expect(() => new DDIMScheduler({ ...base, beta_schedule: 'cosine' as never })).toThrow(/beta_schedule/);
    const scheduler = new DDIMScheduler(base);
    expect(() => scheduler.step(new Float32Array(4), 10, new Float32Array(4))).toThrow(/setTimesteps/);
    expect(() => scheduler.setTimesteps(0)).toThrow(/steps/);
    expect(() => scheduler.setTimesteps(base.num_train_timesteps + 1)).toThrow(/steps/);
    scheduler.setTimesteps(10);
    expect(() => scheduler.step(new Float32Array(4), base.num_train_timesteps, new Float32Array(4))).toThrow(/timestep/);
    expect(() => scheduler.step(new Float32Array(4), 10, new Float32Array(5))).toThrow(/values/);
  });
});

describe('DDIMScheduler.stepCoefficients + ddimStep (the form the WebGPU kernel applies)', () => {
  const base = golden.ddim[0].config as SchedulerSpec;

  it('clipping bounds x0: with alpha-bar 1 at the end the step returns the clipped x0', () => {
    const scheduler = new DDIMScheduler({ ...base, clip_sample: true, set_alpha_to_one: true });
    scheduler.setTimesteps(1);
    const k = scheduler.stepCoefficients(scheduler.timesteps[0]);
    expect([k.sqrtAlphaPrev, k.sqrtBetaPrev]).toEqual([1, 0]);
    const out = ddimStep(Float32Array.from([0, 0]), Float32Array.from([50, -50]), k);
    expect(Array.from(out)).toEqual([1, -1]);
  });

  it('predictOriginal is the x0 the step uses: the clean part of a noised sample, clipped like the step', () => {
    const scheduler = new DDIMScheduler(base);
    scheduler.setTimesteps(10);
    const t = scheduler.timesteps[3];
    const k = scheduler.stepCoefficients(t);
    const x0 = new Rng(3).normal(16);
    const noise = new Rng(4).normal(16);
    const xt = x0.map((x, i) => k.sqrtAlphaT * x + k.sqrtBetaT * noise[i]);
    predictOriginal(noise, xt, k).forEach((x, i) => expect(Math.abs(x - x0[i])).toBeLessThan(1e-5));
    // The step is sqrtAlphaPrev * x0 + sqrtBetaPrev * eps with that x0.
    const stepped = ddimStep(noise, xt, k);
    const predicted = predictOriginal(noise, xt, k);
    stepped.forEach((v, i) => expect(Math.abs(v - (k.sqrtAlphaPrev * predicted[i] + k.sqrtBetaPrev * noise[i]))).toBeLessThan(1e-5));
    const clipped = predictOriginal(Float32Array.from([0, 0]), Float32Array.from([50, -50]), { ...k, clipRange: 1 });
    expect(Array.from(clipped)).toEqual([1, -1]);
  });
});
