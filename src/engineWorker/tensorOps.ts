/**
 * The tensor operations of a generation between graph runs, behind one interface so the pipeline is
 * the same orchestration on every backend: on wasm they are the JS functions of src/diffusion (this
 * module), on WebGPU kernels over buffers that never leave the GPU (gpuOps.ts).
 */
import { buildContexts } from '../diffusion/context';
import { ddimStep, predictOriginal, type DdimStepCoefficients } from '../diffusion/ddim';
import { combineGuidance, type Condition, type GuidancePlan } from '../diffusion/guidance';
import { projectedEpsilon, type X0Projection } from '../diffusion/x0Projection';
import type { TransferCounts } from './gpuTensor';
import { hostFloat32, type GraphValue } from './tensors';

/** What a guided step writes: `rows` copies of the new latent divided by `divisor`. */
export interface StepOutput {
  /** The U-Net batch for the next step, or 1 for the VAE decoder. */
  rows: number;
  /** 1 between steps; vae_scaling_factor for the decoder input. */
  divisor: number;
}

export interface TensorOps {
  /** Copies between CPU and GPU so far (a running total: callers take differences). */
  readonly transfers: Readonly<TransferCounts>;
  /** Device tensors not yet disposed (0 on the CPU, where arrays are garbage collected). */
  readonly liveTensors: number;
  /** A device tensor with these values. */
  upload(data: Float32Array, dims: number[]): GraphValue;
  /**
   * (n, L, D) U-Net contexts, one row per condition, from the text encoder's (2, L, D) output
   * [prompt, empty prompt] and the projector's (1, P, D) face tokens (null: no face), as
   * src/diffusion/context.ts lays them out.
   */
  contexts(text: GraphValue, faceTokens: GraphValue | null, positions: number[], conditions: Condition[]): GraphValue;
  /**
   * Face0 guidance over the (n, C, h, w) U-Net output `eps` (rows in plan order), the x0 projection
   * where the step has one, then the DDIM step `k` from the latent in row 0 of `sample` (the U-Net
   * input: n equal rows).
   */
  guidedStep(eps: GraphValue, sample: GraphValue, plan: GuidancePlan, k: DdimStepCoefficients, projection: X0Projection | null, out: StepOutput): GraphValue;
  /**
   * The (C, h, w) clean latent the same step predicts, in JS memory, for a preview; null where reading
   * it would cost a GPU read-back (WebGPU).
   */
  predictedLatent(eps: GraphValue, sample: GraphValue, plan: GuidancePlan, k: DdimStepCoefficients, projection: X0Projection | null): Float32Array | null;
  dispose(value: GraphValue): void;
}

function guidedEpsilon(eps: GraphValue, latent: Float32Array, plan: GuidancePlan, k: DdimStepCoefficients, projection: X0Projection | null): Float32Array {
  const guided = combineGuidance(hostFloat32(eps, 'U-Net output'), plan);
  return projection === null ? guided : projectedEpsilon(guided, latent, k, projection);
}

/** wasm: JS arrays, the functions of src/diffusion. */
export const cpuOps: TensorOps = {
  transfers: Object.freeze({ uploads: 0, downloads: 0 }),
  liveTensors: 0,

  upload: (data, dims) => ({ data, dims }),

  contexts(text, faceTokens, positions, conditions) {
    const [, L, D] = text.dims;
    const face = faceTokens === null ? null : hostFloat32(faceTokens, 'face tokens');
    const data = buildContexts(hostFloat32(text, 'text encoding'), face, positions, D, conditions);
    return { data, dims: [conditions.length, L, D] };
  },

  guidedStep(eps, sample, plan, k, projection, out) {
    const [, ...latentDims] = sample.dims;
    const size = latentDims.reduce((a, b) => a * b, 1);
    const latent0 = hostFloat32(sample, 'sample').subarray(0, size);
    let latent = ddimStep(guidedEpsilon(eps, latent0, plan, k, projection), latent0, k);
    if (out.divisor !== 1) latent = latent.map((v) => v / out.divisor);
    const data = new Float32Array(out.rows * size);
    for (let b = 0; b < out.rows; b++) data.set(latent, b * size);
    return { data, dims: [out.rows, ...latentDims] };
  },

  predictedLatent(eps, sample, plan, k, projection) {
    const latent0 = hostFloat32(sample, 'sample').subarray(0, hostFloat32(eps, 'U-Net output').length / plan.weights.length);
    return predictOriginal(guidedEpsilon(eps, latent0, plan, k, projection), latent0, k);
  },

  dispose: () => undefined,
};
