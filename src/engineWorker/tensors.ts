/** Values that flow into and out of the bundle's graphs. */
import { EngineError } from '../shared/engineError';
import type { GpuTensor } from './gpuTensor';

/** A tensor in JS memory. */
export interface TensorData {
  data: Float32Array | BigInt64Array;
  dims: number[];
}

/** A graph input or output: in JS memory, or (on WebGPU) a float32 GPU buffer that stays there. */
export type GraphValue = TensorData | GpuTensor;

export type Feeds = Record<string, GraphValue>;

export type Outputs = Record<string, GraphValue>;

/** The float32 values of a value in JS memory; `what` names it in the error. */
export function hostFloat32(value: GraphValue | undefined, what: string): Float32Array {
  if (!value || !('data' in value) || !(value.data instanceof Float32Array)) {
    throw new EngineError('internal', `${what} is not a float32 tensor in JS memory`);
  }
  return value.data;
}
