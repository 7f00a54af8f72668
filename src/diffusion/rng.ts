/**
 * Seeded random numbers, bit-identical to training/face0/rng.py, so the app and the Python
 * sampler draw the same initial latents for the same seed.
 *
 * xoshiro128** (Blackman & Vigna) over 32-bit words; its 128-bit state is two SplitMix64 outputs
 * of the integer seed. Only the seeding needs 64-bit arithmetic (BigInt); drawing is 32-bit.
 */

const MASK64 = (1n << 64n) - 1n;

function splitmix64(x: bigint): [bigint, bigint] {
  const next = (x + 0x9e3779b97f4a7c15n) & MASK64;
  let z = next;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
  return [next, z ^ (z >> 31n)];
}

/** The four xoshiro128** words: two SplitMix64 outputs from the seed, low word first. */
export function seedState(seed: number): number[] {
  if (!Number.isSafeInteger(seed)) throw new Error(`seed must be an integer with |seed| < 2^53 (got ${seed})`);
  // Negative seeds wrap to their 64-bit two's complement, as `seed & MASK64` does in Python.
  const [x, z0] = splitmix64(BigInt.asUintN(64, BigInt(seed)));
  const [, z1] = splitmix64(x);
  return [z0 & 0xffffffffn, z0 >> 32n, z1 & 0xffffffffn, z1 >> 32n].map(Number);
}

function rotl32(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

export class Rng {
  private readonly s = new Uint32Array(4);

  constructor(seed: number) {
    this.s.set(seedState(seed));
  }

  /** A generator with explicit xoshiro128** words, e.g. to check published test vectors. */
  static fromState(state: readonly number[]): Rng {
    const valid = state.length === 4 && state.every((w) => Number.isInteger(w) && w >= 0 && w <= 0xffffffff);
    if (!valid || state.every((w) => w === 0)) throw new Error('state must be four uint32 words, not all zero');
    const rng = new Rng(0);
    rng.s.set(state);
    return rng;
  }

  nextUint32(): number {
    const s = this.s;
    const result = Math.imul(rotl32(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl32(s[3], 11);
    return result;
  }

  /** A float64 in [0, 1) with 53 random bits (27 from one word, 26 from the next). */
  uniform(): number {
    const a = this.nextUint32() >>> 5;
    const b = this.nextUint32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  /** n standard normals by Box-Muller in float64, stored as float32; an odd n drops the last sine value. */
  normal(n: number): Float32Array {
    if (!Number.isInteger(n) || n < 0) throw new Error(`normal(n) needs a non-negative integer (got ${n})`);
    const out = new Float32Array(n);
    for (let i = 0; i < n; i += 2) {
      const u1 = this.uniform();
      const u2 = this.uniform();
      // 1 - u1 lies in (0, 1], so the logarithm is finite.
      const r = Math.sqrt(-2 * Math.log(1 - u1));
      const theta = 2 * Math.PI * u2;
      out[i] = r * Math.cos(theta);
      if (i + 1 < n) out[i + 1] = r * Math.sin(theta);
    }
    return out;
  }
}
