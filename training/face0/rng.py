"""Seeded random numbers that are bit-identical to src/diffusion/rng.ts.

xoshiro128** (Blackman & Vigna) over 32-bit words, its 128-bit state filled by two outputs of
SplitMix64 from the integer seed. Python ints with explicit masking keep every operation exact, so
the app and the Python sampler draw the same initial latents for the same seed.
"""

import math

import numpy as np

_MASK32 = 0xFFFFFFFF
_MASK64 = 0xFFFFFFFFFFFFFFFF


def _splitmix64(x: int) -> tuple[int, int]:
    """Returns (next state, output)."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK64
    z = x
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return x, z ^ (z >> 31)


def _rotl32(x: int, k: int) -> int:
    return ((x << k) | (x >> (32 - k))) & _MASK32


def seed_state(seed: int) -> list[int]:
    """The four xoshiro128** words: two SplitMix64 outputs from the seed, low word first."""
    if not isinstance(seed, int) or isinstance(seed, bool) or abs(seed) > 2**53 - 1:
        raise ValueError(f"seed must be an integer with |seed| < 2^53 (got {seed!r})")
    # Negative seeds wrap to their 64-bit two's complement, as BigInt.asUintN(64, ...) does in TS.
    x = seed & _MASK64
    x, z0 = _splitmix64(x)
    _, z1 = _splitmix64(x)
    return [z0 & _MASK32, z0 >> 32, z1 & _MASK32, z1 >> 32]


class Rng:
    def __init__(self, seed: int):
        self._s = seed_state(seed)

    @classmethod
    def from_state(cls, state: list[int]) -> "Rng":
        """A generator with explicit xoshiro128** words, e.g. to check published test vectors."""
        if len(state) != 4 or any(not 0 <= w <= _MASK32 for w in state) or not any(state):
            raise ValueError("state must be four uint32 words, not all zero")
        rng = cls(0)
        rng._s = list(state)
        return rng

    def next_uint32(self) -> int:
        s0, s1, s2, s3 = self._s
        result = (_rotl32((s1 * 5) & _MASK32, 7) * 9) & _MASK32
        t = (s1 << 9) & _MASK32
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = _rotl32(s3, 11)
        self._s = [s0, s1, s2, s3]
        return result

    def uniform(self) -> float:
        """A float64 in [0, 1) with 53 random bits (27 from one word, 26 from the next)."""
        a = self.next_uint32() >> 5
        b = self.next_uint32() >> 6
        return (a * 67108864 + b) / 9007199254740992.0

    def normal(self, n: int) -> np.ndarray:
        """n standard normals (float32) by Box-Muller in float64; an odd n drops the last sine value."""
        out = np.empty(n, dtype=np.float64)
        for i in range(0, n, 2):
            u1 = self.uniform()
            u2 = self.uniform()
            # 1 - u1 lies in (0, 1], so the logarithm is finite.
            r = math.sqrt(-2.0 * math.log(1.0 - u1))
            theta = 2.0 * math.pi * u2
            out[i] = r * math.cos(theta)
            if i + 1 < n:
                out[i + 1] = r * math.sin(theta)
        return out.astype(np.float32)
