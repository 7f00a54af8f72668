/**
 * The guided DDIM step of guidedDdim.wgsl.ts with the bundle's x0 projection
 * (src/diffusion/x0Projection.ts projectedEpsilon, then ddimStep), in three kernels:
 *   centred:      x0 of the guided epsilon, minus the mean (one invocation per latent value);
 *   coefficients: B (x0 - mean), one workgroup per basis row reducing over the latent;
 *   step:         x0' = mean + B^T coefficients, eps' = (latent - sqrt_alpha_t x0') / sqrt_beta_t, and
 *                 the step from x0' (clamped where the scheduler clips) and eps', as guidedDdim writes it.
 * Params share guidedDdim's layout; `components` sits in its padding (byte 40).
 */
export const X0_PROJECTION_WORKGROUP = 64;

export const X0_PROJECTION_WGSL = /* wgsl */ `
struct Params {
  size: u32,
  rows_in: u32,
  rows_out: u32,
  clip: u32,
  sqrt_alpha_t: f32,
  sqrt_beta_t: f32,
  sqrt_alpha_prev: f32,
  sqrt_beta_prev: f32,
  clip_range: f32,
  divisor: f32,
  components: u32,
  weights: vec4<f32>,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> eps: array<f32>;
@group(0) @binding(2) var<storage, read> latent: array<f32>;
@group(0) @binding(3) var<storage, read> mean: array<f32>;
@group(0) @binding(4) var<storage, read> basis: array<f32>;
@group(0) @binding(5) var<storage, read_write> centred: array<f32>;
@group(0) @binding(6) var<storage, read> centred_in: array<f32>;
@group(0) @binding(7) var<storage, read_write> coefficients: array<f32>;
@group(0) @binding(8) var<storage, read> coefficients_in: array<f32>;
@group(0) @binding(9) var<storage, read_write> next: array<f32>;

@compute @workgroup_size(${X0_PROJECTION_WORKGROUP})
fn centre_x0(@builtin(global_invocation_id) id: vec3<u32>) {
  let j = id.x;
  if (j >= p.size) {
    return;
  }
  var e = 0.0;
  for (var i = 0u; i < p.rows_in; i = i + 1u) {
    e = e + p.weights[i] * eps[i * p.size + j];
  }
  centred[j] = (latent[j] - p.sqrt_beta_t * e) / p.sqrt_alpha_t - mean[j];
}

var<workgroup> partial: array<f32, ${X0_PROJECTION_WORKGROUP}>;

@compute @workgroup_size(${X0_PROJECTION_WORKGROUP})
fn project_x0(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let row = group.x * p.size;
  var sum = 0.0;
  for (var j = lane; j < p.size; j = j + ${X0_PROJECTION_WORKGROUP}u) {
    sum = sum + basis[row + j] * centred_in[j];
  }
  partial[lane] = sum;
  workgroupBarrier();
  for (var stride = ${X0_PROJECTION_WORKGROUP / 2}u; stride > 0u; stride = stride / 2u) {
    if (lane < stride) {
      partial[lane] = partial[lane] + partial[lane + stride];
    }
    workgroupBarrier();
  }
  if (lane == 0u) {
    coefficients[group.x] = partial[0];
  }
}

@compute @workgroup_size(${X0_PROJECTION_WORKGROUP})
fn projected_step(@builtin(global_invocation_id) id: vec3<u32>) {
  let j = id.x;
  if (j >= p.size) {
    return;
  }
  var x0 = mean[j];
  for (var k = 0u; k < p.components; k = k + 1u) {
    x0 = x0 + coefficients_in[k] * basis[k * p.size + j];
  }
  let e = (latent[j] - p.sqrt_alpha_t * x0) / p.sqrt_beta_t;
  if (p.clip != 0u) {
    x0 = clamp(x0, -p.clip_range, p.clip_range);
  }
  let z = (p.sqrt_alpha_prev * x0 + p.sqrt_beta_prev * e) / p.divisor;
  for (var b = 0u; b < p.rows_out; b = b + 1u) {
    next[b * p.size + j] = z;
  }
}
`;
