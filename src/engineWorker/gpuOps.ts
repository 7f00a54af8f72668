/// <reference types="@webgpu/types" />
/**
 * TensorOps on WebGPU: the U-Net contexts, guidance and DDIM steps run on the device ORT uses, over
 * GPU buffers that ORT reads and writes directly (inputs via Tensor.fromGpuBuffer, outputs with
 * preferredOutputLocation 'gpu-buffer'), so a generation copies nothing back but the image.
 *
 * Ordering: ORT's WebGPU backend submits its pending commands when session.run resolves, and this
 * module submits right away, so queue order is program order: a kernel here sees the U-Net's output,
 * and the next U-Net run sees the kernel's.
 */
import { contextCopies } from '../diffusion/context';
import type { DdimStepCoefficients } from '../diffusion/ddim';
import type { Condition, GuidancePlan } from '../diffusion/guidance';
import { EngineError } from '../shared/engineError';
import { GpuTensor, type GpuLedger } from './gpuTensor';
import {
  GUIDED_DDIM_MAX_ROWS,
  GUIDED_DDIM_PARAMS_BYTES,
  GUIDED_DDIM_WGSL,
  GUIDED_DDIM_WORKGROUP,
} from './guidedDdim.wgsl';
import type { StepOutput, TensorOps } from './tensorOps';
import type { X0Projection } from '../diffusion/x0Projection';
import { X0_PROJECTION_WGSL, X0_PROJECTION_WORKGROUP } from './x0Projection.wgsl';
import type { GraphValue } from './tensors';

const F32 = 4;

function onGpu(value: GraphValue, what: string): GpuTensor {
  if (!(value instanceof GpuTensor)) throw new EngineError('internal', `${what} is not on the GPU`);
  return value;
}

/** The x0 projection's kernels (x0Projection.wgsl.ts), by entry point. */
interface ProjectionPipelines {
  centre: GPUComputePipeline;
  project: GPUComputePipeline;
  step: GPUComputePipeline;
}

/** One projection's constants on the device, and the scratch its steps write. */
interface ProjectionBuffers {
  of: X0Projection;
  mean: GPUBuffer;
  basis: GPUBuffer;
  centred: GPUBuffer;
  coefficients: GPUBuffer;
}

export class GpuOps implements TensorOps {
  private projectionBuffers: ProjectionBuffers | null = null;

  private constructor(
    private readonly device: GPUDevice,
    private readonly ledger: GpuLedger,
    private readonly step: GPUComputePipeline,
    private readonly projection: ProjectionPipelines,
    private readonly params: GPUBuffer,
  ) {}

  static async create(device: GPUDevice, ledger: GpuLedger): Promise<GpuOps> {
    const module = device.createShaderModule({ code: GUIDED_DDIM_WGSL });
    const step = await device.createComputePipelineAsync({ layout: 'auto', compute: { module, entryPoint: 'main' } });
    const x0 = device.createShaderModule({ code: X0_PROJECTION_WGSL });
    const entry = (entryPoint: string) => device.createComputePipelineAsync({ layout: 'auto', compute: { module: x0, entryPoint } });
    const [centre, project, projectedStep] = await Promise.all([entry('centre_x0'), entry('project_x0'), entry('projected_step')]);
    // One uniform buffer for every step: queue.writeBuffer is ordered with the submits around it.
    const params = device.createBuffer({ size: GUIDED_DDIM_PARAMS_BYTES, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    return new GpuOps(device, ledger, step, { centre, project, step: projectedStep }, params);
  }

  get transfers(): GpuLedger {
    return this.ledger;
  }

  get liveTensors(): number {
    return this.ledger.liveTensors;
  }

  /** Usage as ORT's own tensors: bound as storage, and copied from and to. */
  private allocate(dims: number[]): GpuTensor {
    const bytes = dims.reduce((a, b) => a * b, 1) * F32;
    const buffer = this.device.createBuffer({
      size: bytes,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    });
    return this.ledger.adopt(buffer, dims, () => buffer.destroy());
  }

  upload(data: Float32Array, dims: number[]): GpuTensor {
    const t = this.allocate(dims);
    this.device.queue.writeBuffer(t.buffer, 0, data.buffer, data.byteOffset, data.byteLength);
    this.ledger.uploads++;
    return t;
  }

  contexts(text: GraphValue, faceTokens: GraphValue | null, positions: number[], conditions: Condition[]): GpuTensor {
    const hidden = onGpu(text, 'text encoding');
    const face = faceTokens === null ? null : onGpu(faceTokens, 'face tokens');
    const [, L, D] = hidden.dims;
    const out = this.allocate([conditions.length, L, D]);
    const encoder = this.device.createCommandEncoder();
    for (const c of contextCopies(L, D, positions, conditions, face !== null)) {
      if (c.from === 'zero') encoder.clearBuffer(out.buffer, c.dstOffset * F32, c.length * F32);
      else encoder.copyBufferToBuffer((c.from === 'text' ? hidden : face!).buffer, c.srcOffset * F32, out.buffer, c.dstOffset * F32, c.length * F32);
    }
    this.device.queue.submit([encoder.finish()]);
    return out;
  }

  guidedStep(eps: GraphValue, sample: GraphValue, plan: GuidancePlan, k: DdimStepCoefficients, projection: X0Projection | null, out: StepOutput): GpuTensor {
    const e = onGpu(eps, 'U-Net output');
    const s = onGpu(sample, 'sample');
    const rows = plan.weights.length;
    if (rows > GUIDED_DDIM_MAX_ROWS) throw new EngineError('internal', `the step kernel combines at most ${GUIDED_DDIM_MAX_ROWS} rows (got ${rows})`);
    const [, ...latentDims] = s.dims;
    const size = s.size / s.dims[0];
    const next = this.allocate([out.rows, ...latentDims]);

    const params = new ArrayBuffer(GUIDED_DDIM_PARAMS_BYTES);
    new Uint32Array(params, 0, 4).set([size, rows, out.rows, k.clipRange === null ? 0 : 1]);
    new Float32Array(params, 16, 6).set([k.sqrtAlphaT, k.sqrtBetaT, k.sqrtAlphaPrev, k.sqrtBetaPrev, k.clipRange ?? 0, out.divisor]);
    new Float32Array(params, 48, 4).set(plan.weights);
    if (projection) new Uint32Array(params, 40, 1).set([projection.components]);
    this.device.queue.writeBuffer(this.params, 0, params);
    this.ledger.uploads++;
    if (projection) {
      this.projectedStep(e, s, size, this.projectionOnDevice(projection), next);
      return next;
    }

    const bindGroup = this.device.createBindGroup({
      layout: this.step.getBindGroupLayout(0),
      entries: [
        { binding: 0, resource: { buffer: this.params } },
        // ORT's buffers may be larger than their tensors (size buckets): bind the tensor's bytes.
        { binding: 1, resource: { buffer: e.buffer, size: e.size * F32 } },
        { binding: 2, resource: { buffer: s.buffer, size: size * F32 } },
        { binding: 3, resource: { buffer: next.buffer } },
      ],
    });
    const encoder = this.device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    pass.setPipeline(this.step);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(Math.ceil(size / GUIDED_DDIM_WORKGROUP));
    pass.end();
    this.device.queue.submit([encoder.finish()]);
    return next;
  }

  /** The projection's mean and basis, uploaded once per projection, and scratch buffers for its steps. */
  private projectionOnDevice(projection: X0Projection): ProjectionBuffers {
    if (this.projectionBuffers?.of === projection) return this.projectionBuffers;
    this.releaseProjection();
    const storage = (bytes: number) => this.device.createBuffer({ size: bytes, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
    const constant = (values: Float32Array) => {
      const buffer = storage(values.byteLength);
      this.device.queue.writeBuffer(buffer, 0, values.buffer, values.byteOffset, values.byteLength);
      this.ledger.uploads++;
      return buffer;
    };
    this.projectionBuffers = {
      of: projection,
      mean: constant(projection.mean),
      basis: constant(projection.basis),
      centred: storage(projection.mean.byteLength),
      coefficients: storage(projection.components * F32),
    };
    return this.projectionBuffers;
  }

  private releaseProjection(): void {
    const b = this.projectionBuffers;
    if (b) for (const buffer of [b.mean, b.basis, b.centred, b.coefficients]) buffer.destroy();
    this.projectionBuffers = null;
  }

  /** guidedStep with the projection: three dispatches in one submit (x0Projection.wgsl.ts). */
  private projectedStep(e: GpuTensor, s: GpuTensor, size: number, b: ProjectionBuffers, next: GpuTensor): void {
    const group = (pipeline: GPUComputePipeline, entries: [number, GPUBuffer, number?][]) =>
      this.device.createBindGroup({
        layout: pipeline.getBindGroupLayout(0),
        entries: entries.map(([binding, buffer, bytes]) => ({ binding, resource: bytes === undefined ? { buffer } : { buffer, size: bytes } })),
      });
    const { centre, project, step } = this.projection;
    const latentBytes = size * F32;
    const encoder = this.device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    pass.setPipeline(centre);
    // ORT's buffers may be larger than their tensors (size buckets): bind the tensor's bytes.
    pass.setBindGroup(0, group(centre, [[0, this.params], [1, e.buffer, e.size * F32], [2, s.buffer, latentBytes], [4, b.mean], [6, b.centred]]));
    pass.dispatchWorkgroups(Math.ceil(size / X0_PROJECTION_WORKGROUP));
    pass.setPipeline(project);
    pass.setBindGroup(0, group(project, [[0, this.params], [5, b.basis], [7, b.centred], [8, b.coefficients]]));
    pass.dispatchWorkgroups(b.of.components);
    pass.setPipeline(step);
    pass.setBindGroup(0, group(step, [[0, this.params], [2, s.buffer, latentBytes], [3, next.buffer], [4, b.mean], [5, b.basis], [9, b.coefficients]]));
    pass.dispatchWorkgroups(Math.ceil(size / X0_PROJECTION_WORKGROUP));
    pass.end();
    this.device.queue.submit([encoder.finish()]);
  }

  predictedLatent(): null {
    return null; // a read-back per step would stall the queue that keeps the GPU busy
  }

  dispose(value: GraphValue): void {
    if (value instanceof GpuTensor) value.dispose();
  }
}
