/**
 * The guided DDIM step of guidedDdim.wgsl.ts with the bundle's x0 projection
 * (src/diffusion/x0Projection.ts projectedEpsilon, then ddimStep), in three kernels:
 *   centre_x0:      x0 of the guided epsilon, minus the mean (one invocation per latent value);
 *   project_x0:     B (x0 - mean), one workgroup per basis row reducing over the latent;
 *   projected_step: x0' = mean + B^T coefficients, eps' = (latent - sqrt_alpha_t x0') / sqrt_beta_t, and
 *                   the step from x0' (clamped where the scheduler clips) and eps', as guidedDdim writes it.
 */
import { GUIDED_STEP_COMMON_WGSL } from './guidedDdim.wgsl';

export const X0_PROJECTION_WORKGROUP = 64;

export const X0_PROJECTION_WGSL = /* wgsl */ `
${GUIDED_STEP_COMMON_WGSL}
@group(0) @binding(4) var<storage, read> mean: array<f32>;
@group(0) @binding(5) var<storage, read> basis: array<f32>;
@group(0) @binding(6) var<storage, read_write> centred: array<f32>;
@group(0) @binding(7) var<storage, read> centred_in: array<f32>;
@group(0) @binding(8) var<storage, read_write> coefficients: array<f32>;
@group(0) @binding(9) var<storage, read> coefficients_in: array<f32>;

@compute @workgroup_size(${X0_PROJECTION_WORKGROUP})
fn centre_x0(@builtin(global_invocation_id) id: vec3<u32>) {
  let j = id.x;
  if (j >= p.size) {
    return;
  }
  centred[j] = (latent[j] - p.sqrt_beta_t * guided_eps(j)) / p.sqrt_alpha_t - mean[j];
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
  write_step(j, x0, (latent[j] - p.sqrt_alpha_t * x0) / p.sqrt_beta_t);
}
`;
