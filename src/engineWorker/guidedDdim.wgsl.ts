/**
 * One WGSL kernel per denoising step: Face0 guidance (a weighted sum over the U-Net batch) and the
 * eta = 0 DDIM step of src/diffusion/ddim.ts ddimStep, writing the next U-Net input (the new latent
 * in every row) or, after the last step, the VAE decoder input (latent / vae_scaling_factor).
 * One invocation per latent value; it reads eps and the latent and writes only its own column, so
 * invocations never race.
 */
export const GUIDED_DDIM_WORKGROUP = 64;

/** Params as laid out in the uniform buffer (`components` at byte 40; WGSL alignment puts `weights` at 48). */
export const GUIDED_DDIM_PARAMS_BYTES = 64;
export const GUIDED_DDIM_MAX_ROWS = 4;

/**
 * What every step kernel shares (this one and x0Projection.wgsl.ts): the params, the U-Net output and
 * the latent at bindings 0-2, the output at 3, the guided epsilon at one latent value and the step.
 */
export const GUIDED_STEP_COMMON_WGSL = /* wgsl */ `
struct Params {
  size: u32,             // values per latent (C * h * w)
  rows_in: u32,          // U-Net rows, one per guidance condition (at most 4)
  rows_out: u32,         // copies of the new latent to write
  clip: u32,             // 1: clamp x0 to [-clip_range, clip_range] (diffusers' clip_sample)
  sqrt_alpha_t: f32,
  sqrt_beta_t: f32,
  sqrt_alpha_prev: f32,
  sqrt_beta_prev: f32,
  clip_range: f32,
  divisor: f32,
  components: u32,       // the x0 projection's rows (x0Projection.wgsl.ts only)
  weights: vec4<f32>,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> eps: array<f32>;
@group(0) @binding(2) var<storage, read> latent: array<f32>;
@group(0) @binding(3) var<storage, read_write> next: array<f32>;

fn guided_eps(j: u32) -> f32 {
  var e = 0.0;
  for (var i = 0u; i < p.rows_in; i = i + 1u) {
    e = e + p.weights[i] * eps[i * p.size + j];
  }
  return e;
}

// The DDIM step from x0 (clamped where the scheduler clips) and epsilon, into every output row.
fn write_step(j: u32, x0_unclipped: f32, e: f32) {
  var x0 = x0_unclipped;
  if (p.clip != 0u) {
    x0 = clamp(x0, -p.clip_range, p.clip_range);
  }
  let z = (p.sqrt_alpha_prev * x0 + p.sqrt_beta_prev * e) / p.divisor;
  for (var b = 0u; b < p.rows_out; b = b + 1u) {
    next[b * p.size + j] = z;
  }
}
`;

export const GUIDED_DDIM_WGSL = /* wgsl */ `
${GUIDED_STEP_COMMON_WGSL}

@compute @workgroup_size(${GUIDED_DDIM_WORKGROUP})
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  let j = id.x;
  if (j >= p.size) {
    return;
  }
  let e = guided_eps(j);
  write_step(j, (latent[j] - p.sqrt_beta_t * e) / p.sqrt_alpha_t, e);
}
`;
