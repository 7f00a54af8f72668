/// <reference types="@webgpu/types" />
/**
 * GPU-resident float32 tensors on the WebGPU backend and the ledger that owns them, so that every
 * buffer is released exactly once (by the pipeline, or all at once when the sessions are released)
 * and CPU<->GPU copies are counted.
 */

export class GpuTensor {
  private released = false;

  constructor(
    readonly buffer: GPUBuffer,
    readonly dims: readonly number[],
    private readonly ledger: GpuLedger,
    private readonly free: () => void,
  ) {}

  /** Idempotent: the pipeline and GpuLedger.releaseAll may both reach a tensor. */
  dispose(): void {
    if (this.released) return;
    this.released = true;
    this.ledger.forget(this);
    this.free();
  }

  get size(): number {
    return this.dims.reduce((a, b) => a * b, 1);
  }
}

/** CPU<->GPU copies; always zero on wasm. */
export interface TransferCounts {
  uploads: number;
  downloads: number;
}

export class GpuLedger implements TransferCounts {
  uploads = 0;
  downloads = 0;
  private readonly live = new Set<GpuTensor>();

  /** Wraps a buffer; `free` returns it (GPUBuffer.destroy, or ORT's Tensor.dispose for its outputs). */
  adopt(buffer: GPUBuffer, dims: readonly number[], free: () => void): GpuTensor {
    const t = new GpuTensor(buffer, [...dims], this, free);
    this.live.add(t);
    return t;
  }

  forget(t: GpuTensor): void {
    this.live.delete(t);
  }

  /** Tensors not yet disposed: after a generation, only the cached text encodings. */
  get liveTensors(): number {
    return this.live.size;
  }

  releaseAll(): void {
    for (const t of [...this.live]) t.dispose();
  }
}
