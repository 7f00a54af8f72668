import json
from pathlib import Path

import numpy as np
import pytest

from face0.embedding_ops import add_noise, interpolate, sample_face_prior, weighted_mean
from face0.rng import Rng, seed_state

GOLDEN = Path(__file__).resolve().parents[2] / "tests" / "golden" / "diffusion.json"


def test_xoshiro128starstar_reference_vector():
    # First outputs of the reference xoshiro128starstar.c from state {0, 1, 2, 3}.
    rng = Rng.from_state([0, 1, 2, 3])
    assert [rng.next_uint32() for _ in range(8)] == [
        5760,
        17280,
        2966400,
        32451840,
        2604340873,
        3891234569,
        1254043636,
        216095511,
    ]


def test_seed_state_is_splitmix64_reference_outputs():
    # SplitMix64 seeded with 1234567 (Rosetta Code reference): 6457827717110365317, 3203168211198807973.
    z0, z1 = 6457827717110365317, 3203168211198807973
    assert seed_state(1234567) == [z0 & 0xFFFFFFFF, z0 >> 32, z1 & 0xFFFFFFFF, z1 >> 32]


@pytest.mark.parametrize("seed", [1.0, True, 2**53, -(2**53), "3"])
def test_rejects_seeds_that_typescript_cannot_represent(seed):
    with pytest.raises(ValueError):
        Rng(seed)


def test_from_state_rejects_zero_state():
    with pytest.raises(ValueError):
        Rng.from_state([0, 0, 0, 0])


def test_uniform_uses_53_bits_from_two_words():
    words, floats = Rng(5), Rng(5)
    for _ in range(100):
        a, b = words.next_uint32() >> 5, words.next_uint32() >> 6
        u = floats.uniform()
        assert u == (a * 2**26 + b) / 2**53
        assert 0.0 <= u < 1.0


def test_normal_moments_and_odd_length():
    z = Rng(0).normal(20000)
    assert z.dtype == np.float32
    # Standard errors: 1/sqrt(n) = 0.007 for the mean, ~0.005 for the std.
    assert abs(float(z.mean())) < 0.03
    assert abs(float(z.std()) - 1.0) < 0.03
    np.testing.assert_array_equal(Rng(3).normal(5), Rng(3).normal(6)[:5])


def test_committed_rng_goldens_match_this_implementation():
    for case in json.loads(GOLDEN.read_text())["rng"]:
        rng = Rng(case["seed"])
        assert [rng.next_uint32() for _ in case["uint32"]] == case["uint32"]
        np.testing.assert_array_equal(Rng(case["seed"]).normal(len(case["normal"])), case["normal"])


def test_interpolate_and_weighted_mean():
    a, b = Rng(1).normal(8), Rng(2).normal(8)
    np.testing.assert_array_equal(interpolate(a, b, 0.0), a)
    np.testing.assert_allclose(interpolate(a, b, 1.0), b, atol=1e-7)
    np.testing.assert_allclose(weighted_mean([a, b], [3.0, 1.0]), 0.75 * a + 0.25 * b, atol=1e-6)
    np.testing.assert_allclose(weighted_mean([a, b], [2.0, 2.0]), interpolate(a, b, 0.5), atol=1e-6)
    for embeddings, weights in (([], []), ([a, b], [1.0, -1.0]), ([a], [1.0, 2.0])):
        with pytest.raises(ValueError):
            weighted_mean(embeddings, weights)


def test_sample_face_prior_follows_the_mixture():
    prior = {
        "kind": "gmm-diag",
        "weights": [0.25, 0.75],
        "means": [[-2.0, 0.0, 1.0], [2.0, 1.0, -1.0]],
        "variances": [[0.01, 0.04, 0.09], [0.01, 0.04, 0.09]],
    }
    rng = Rng(4)
    draws = np.stack([sample_face_prior(prior, rng) for _ in range(2000)])
    # The first coordinate tells the components apart (means -2 and 2, std 0.1).
    share_second = float((draws[:, 0] > 0).mean())
    assert abs(share_second - 0.75) < 0.04  # binomial std 0.0097
    second = draws[draws[:, 0] > 0]
    np.testing.assert_allclose(second.mean(axis=0), [2.0, 1.0, -1.0], atol=0.02)
    np.testing.assert_allclose(second.std(axis=0), [0.1, 0.2, 0.3], rtol=0.1)
    with pytest.raises(ValueError):
        sample_face_prior({**prior, "weights": [0.0, 0.0]}, Rng(0))


def test_add_noise_scales_with_embedding_rms():
    e = 5.0 * Rng(6).normal(4096)
    np.testing.assert_array_equal(add_noise(e, 0.0, Rng(1)), e)
    noise = add_noise(e, 0.1, Rng(1)) - e
    rms_e = float(np.sqrt(np.mean(e.astype(np.float64) ** 2)))
    assert abs(float(noise.std()) / (0.1 * rms_e) - 1.0) < 0.05
