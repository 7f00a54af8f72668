"""The face prior: a diagonal Gaussian mixture over face embeddings, for sampling random faces.

The paper samples random face embeddings from "a simple mixture of Gaussians" to decouple the
generated face from biases tied to the prompt; the app samples from the manifest's `face_prior`.
"""

import tarfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
from sklearn.mixture import GaussianMixture


def fit_face_prior(embeddings: np.ndarray, components: int = 8, seed: int = 0) -> dict:
    """Manifest `face_prior` (kind "gmm-diag", weights[K], means[K][E], variances[K][E]) of (N, E) data."""
    if embeddings.ndim != 2 or len(embeddings) < components:
        raise ValueError(f"need (N, E) embeddings with N >= {components}; got {embeddings.shape}")
    gmm = GaussianMixture(n_components=components, covariance_type="diag", random_state=seed)
    gmm.fit(np.asarray(embeddings, dtype=np.float64))
    return {
        "kind": "gmm-diag",
        "weights": gmm.weights_.tolist(),
        "means": gmm.means_.tolist(),
        "variances": gmm.covariances_.tolist(),
    }


def shard_images(shards: Sequence[Path], per_shard: int) -> Iterator[tuple[str, bytes]]:
    """(key, JPEG bytes) of the first `per_shard` samples of each WebDataset shard, in shard order."""
    for shard in shards:
        taken = 0
        with tarfile.open(shard) as tar:
            for member in tar:
                if taken == per_shard:
                    break
                if member.isfile() and member.name.endswith(".jpg"):
                    taken += 1
                    yield member.name.removesuffix(".jpg"), tar.extractfile(member).read()


def embed_shard_faces(shards: Sequence[Path], per_shard: int, face_models: Path) -> np.ndarray:
    """Face embeddings (N, E) of the shard images in which the extraction pipeline finds a face."""
    from face0.extraction import FaceExtractor, load_image

    embeddings = []
    with FaceExtractor(face_models) as extractor:
        for _key, jpeg in shard_images(shards, per_shard):
            extraction = extractor.extract(load_image(jpeg))
            if extraction is not None:
                embeddings.append(extraction.embedding)
    return np.stack(embeddings).astype(np.float32)
