/**
 * DDIM sampling (eta = 0), a port of diffusers 0.42 `DDIMScheduler.set_timesteps` / `step` for the
 * options a bundle's SchedulerSpec can set. Timestep lists reproduce numpy's linspace/arange and
 * round-half-to-even exactly, so they equal diffusers' lists; alphas are float64 here (float32 in
 * diffusers), which moves samples by ~1e-6.
 */
import type { SchedulerSpec } from '../bundle/manifest';

const SPACINGS: readonly SchedulerSpec['timestep_spacing'][] = ['leading', 'trailing', 'linspace'];
/** diffusers' default clip_sample_range; the bundle contract does not override it. */
const CLIP_SAMPLE_RANGE = 1;

/** numpy.round: halves go to the even neighbour. */
function roundHalfEven(x: number): number {
  return Math.abs(x % 1) === 0.5 ? 2 * Math.round(x / 2) : Math.round(x);
}

/** numpy.linspace(start, stop, num) with endpoint: start + i*step, last value exactly stop. */
function linspace(start: number, stop: number, num: number): number[] {
  if (num === 1) return [start];
  const step = (stop - start) / (num - 1);
  const out = Array.from({ length: num }, (_, i) => i * step + start);
  out[num - 1] = stop;
  return out;
}

/** numpy.arange(start, stop, step) for floats: numpy fills start + i*(buffer[1] - buffer[0]). */
function arange(start: number, stop: number, step: number): number[] {
  const length = Math.max(0, Math.ceil((stop - start) / step));
  const second = start + step;
  const delta = second - start;
  return Array.from({ length }, (_, i) => (i === 0 ? start : i === 1 ? second : start + i * delta));
}

function betas(cfg: SchedulerSpec): number[] {
  const n = cfg.num_train_timesteps;
  if (cfg.beta_schedule === 'linear') return linspace(cfg.beta_start, cfg.beta_end, n);
  if (cfg.beta_schedule === 'scaled_linear') {
    return linspace(Math.sqrt(cfg.beta_start), Math.sqrt(cfg.beta_end), n).map((b) => b * b);
  }
  throw new Error(`unsupported beta_schedule ${String(cfg.beta_schedule)}`);
}

function validate(cfg: SchedulerSpec): void {
  if (cfg.kind !== 'ddim') throw new Error(`scheduler kind must be "ddim" (got ${String(cfg.kind)})`);
  if (cfg.prediction_type !== 'epsilon') {
    throw new Error(`only prediction_type "epsilon" is supported (got ${String(cfg.prediction_type)})`);
  }
  if (!SPACINGS.includes(cfg.timestep_spacing)) {
    throw new Error(`unsupported timestep_spacing ${String(cfg.timestep_spacing)}`);
  }
  if (!Number.isInteger(cfg.num_train_timesteps) || cfg.num_train_timesteps < 2) {
    throw new Error(`num_train_timesteps must be an integer >= 2 (got ${cfg.num_train_timesteps})`);
  }
  if (!(cfg.beta_start > 0 && cfg.beta_start <= cfg.beta_end && cfg.beta_end < 1)) {
    throw new Error(`betas must satisfy 0 < beta_start <= beta_end < 1 (got ${cfg.beta_start}, ${cfg.beta_end})`);
  }
  if (!Number.isInteger(cfg.steps_offset) || cfg.steps_offset < 0) {
    throw new Error(`steps_offset must be a non-negative integer (got ${cfg.steps_offset})`);
  }
}

export class DDIMScheduler {
  readonly alphasCumprod: Float64Array;
  /** alpha-bar used after the last step (diffusers' final_alpha_cumprod). */
  readonly finalAlphaCumprod: number;
  timesteps: number[] = [];
  private numInferenceSteps = 0;

  constructor(private readonly cfg: SchedulerSpec) {
    validate(cfg);
    this.alphasCumprod = new Float64Array(cfg.num_train_timesteps);
    let prod = 1;
    betas(cfg).forEach((beta, i) => {
      prod *= 1 - beta;
      this.alphasCumprod[i] = prod;
    });
    this.finalAlphaCumprod = cfg.set_alpha_to_one ? 1 : this.alphasCumprod[0];
  }

  setTimesteps(n: number): void {
    const total = this.cfg.num_train_timesteps;
    if (!Number.isInteger(n) || n < 1 || n > total) {
      throw new Error(`number of steps must be an integer in [1, ${total}] (got ${n})`);
    }
    let ts: number[];
    if (this.cfg.timestep_spacing === 'linspace') {
      ts = linspace(0, total - 1, n).map(roundHalfEven).reverse();
    } else if (this.cfg.timestep_spacing === 'leading') {
      const ratio = Math.floor(total / n);
      ts = Array.from({ length: n }, (_, i) => (n - 1 - i) * ratio + this.cfg.steps_offset);
    } else {
      ts = arange(total, 0, -total / n).map((t) => roundHalfEven(t) - 1);
    }
    this.numInferenceSteps = n;
    this.timesteps = ts;
  }

  /** The coefficients of the eta = 0 DDIM step from timestep t (see ddimStep). */
  stepCoefficients(t: number): DdimStepCoefficients {
    if (this.numInferenceSteps === 0) throw new Error('call setTimesteps before step');
    const total = this.cfg.num_train_timesteps;
    if (!Number.isInteger(t) || t < 0 || t >= total) throw new Error(`timestep ${t} is outside [0, ${total})`);
    // diffusers steps back by num_train_timesteps // n for every spacing; kept for identical results.
    const prevT = t - Math.floor(total / this.numInferenceSteps);
    const alphaT = this.alphasCumprod[t];
    const alphaPrev = prevT >= 0 ? this.alphasCumprod[prevT] : this.finalAlphaCumprod;
    return {
      sqrtAlphaT: Math.sqrt(alphaT),
      sqrtBetaT: Math.sqrt(1 - alphaT),
      sqrtAlphaPrev: Math.sqrt(alphaPrev),
      sqrtBetaPrev: Math.sqrt(1 - alphaPrev),
      clipRange: this.cfg.clip_sample ? CLIP_SAMPLE_RANGE : null,
    };
  }

  /** One eta = 0 DDIM step from timestep t: returns the previous (less noisy) sample. */
  step(eps: Float32Array, t: number, sample: Float32Array): Float32Array {
    return ddimStep(eps, sample, this.stepCoefficients(t));
  }
}

/**
 * One eta = 0 DDIM step as plain coefficients, so that a GPU kernel can apply the very step the
 * scheduler computes (diffusers' thresholding is not part of the bundle contract):
 *   x0 = (sample - sqrtBetaT * eps) / sqrtAlphaT, clamped to [-clipRange, clipRange] unless null;
 *   prev = sqrtAlphaPrev * x0 + sqrtBetaPrev * eps.
 */
export interface DdimStepCoefficients {
  sqrtAlphaT: number;
  sqrtBetaT: number;
  sqrtAlphaPrev: number;
  sqrtBetaPrev: number;
  clipRange: number | null;
}

function checkLengths(eps: Float32Array, sample: Float32Array): void {
  if (eps.length !== sample.length) {
    throw new Error(`eps has ${eps.length} values but sample has ${sample.length}`);
  }
}

function originalAt(sample: number, eps: number, k: DdimStepCoefficients): number {
  const x0 = (sample - k.sqrtBetaT * eps) / k.sqrtAlphaT;
  return k.clipRange === null ? x0 : Math.min(k.clipRange, Math.max(-k.clipRange, x0));
}

export function ddimStep(eps: Float32Array, sample: Float32Array, k: DdimStepCoefficients): Float32Array {
  checkLengths(eps, sample);
  const out = new Float32Array(sample.length);
  for (let i = 0; i < sample.length; i++) out[i] = k.sqrtAlphaPrev * originalAt(sample[i], eps[i], k) + k.sqrtBetaPrev * eps[i];
  return out;
}

/** The step's prediction of the clean latent (diffusers' pred_original_sample): what a preview shows. */
export function predictOriginal(eps: Float32Array, sample: Float32Array, k: DdimStepCoefficients): Float32Array {
  checkLengths(eps, sample);
  const out = new Float32Array(sample.length);
  for (let i = 0; i < sample.length; i++) out[i] = originalAt(sample[i], eps[i], k);
  return out;
}
