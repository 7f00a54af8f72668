import { Rng } from '../diffusion/rng';
import { addNoise, interpolate } from '../face/embeddingOps';

export interface FaceMix {
  a: Float32Array | null;
  b: Float32Array | null;
  /** 0 = face A, 1 = face B; used only when both exist. */
  t: number;
  /** addNoise scale (noise std relative to the embedding's rms); 0 = none. */
  variety: number;
  /** Seeds the variety noise, so one seed always gives the same image. */
  seed: number;
}

/** The embedding sent to the generator, or null for "no face". */
export function mixFaces(mix: FaceMix): Float32Array | null {
  let e: Float32Array | null;
  if (mix.a && mix.b) e = interpolate(mix.a, mix.b, mix.t);
  else e = mix.a ?? mix.b;
  if (e === null || mix.variety <= 0) return e;
  return addNoise(e, mix.variety, new Rng(mix.seed));
}
