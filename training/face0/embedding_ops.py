"""Face-embedding arithmetic (mirror of src/face/embeddingOps.ts): same numbers for the same seed."""

from collections.abc import Mapping, Sequence

import numpy as np

from face0.rng import Rng


def interpolate(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    if a.shape != b.shape:
        raise ValueError(f"cannot interpolate embeddings of shapes {a.shape} and {b.shape}")
    a64 = a.astype(np.float64)
    return (a64 + t * (b.astype(np.float64) - a64)).astype(np.float32)


def weighted_mean(embeddings: Sequence[np.ndarray], weights: Sequence[float]) -> np.ndarray:
    if len(embeddings) == 0:
        raise ValueError("weighted_mean needs at least one embedding")
    if len(embeddings) != len(weights):
        raise ValueError(f"{len(embeddings)} embeddings but {len(weights)} weights")
    total = float(sum(weights))
    if total == 0 or not np.isfinite(total):
        raise ValueError(f"weights must have a finite, non-zero sum (got {total})")
    acc = np.zeros(embeddings[0].shape, dtype=np.float64)
    for e, wt in zip(embeddings, weights, strict=True):
        if e.shape != acc.shape:
            raise ValueError(f"embedding shapes differ: {e.shape} vs {acc.shape}")
        acc += (wt / total) * e.astype(np.float64)
    return acc.astype(np.float32)


def sample_face_prior(prior: Mapping, rng: Rng) -> np.ndarray:
    """One draw from the diagonal GMM: a component by weight (one uniform), then mean + sqrt(var) * normal."""
    weights = [float(x) for x in prior["weights"]]
    total = sum(weights)
    if not weights or total <= 0 or any(x < 0 for x in weights):
        raise ValueError("face prior weights must be non-negative with a positive sum")
    u = rng.uniform() * total
    k = len(weights) - 1
    cumulative = 0.0
    for i, x in enumerate(weights):
        cumulative += x
        if u < cumulative:
            k = i
            break
    mean = np.asarray(prior["means"][k], dtype=np.float64)
    var = np.asarray(prior["variances"][k], dtype=np.float64)
    if var.shape != mean.shape:
        raise ValueError(f"prior component {k}: {mean.shape[0]} means, {var.shape[0]} variances")
    z = rng.normal(mean.shape[0]).astype(np.float64)
    return (mean + np.sqrt(var) * z).astype(np.float32)


def add_noise(e: np.ndarray, scale: float, rng: Rng) -> np.ndarray:
    """e + noise with std scale * rms(e), so the scale means the same for any embedding norm."""
    e64 = e.astype(np.float64)
    rms = float(np.sqrt(np.mean(e64 * e64)))
    z = rng.normal(e64.size).astype(np.float64).reshape(e64.shape)
    return (e64 + scale * rms * z).astype(np.float32)
