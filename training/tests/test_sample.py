"""Sampler: the app's initial latents and one batched U-Net call per step, seed determinism, and the
PyTorch sampler against the onnxruntime sampler on a bundle exported with face0.export."""

import argparse
import json

import numpy as np
import pytest
import torch
from conftest import MICRO
from PIL import Image

from face0.bundle import validate_bundle
from face0.clip_vocab import clip_tokenizer
from face0.configs import DATA_DIR
from face0.export import export_bundle
from face0.face_prior import fit_face_prior
from face0.facemodels import DEFAULT_MODEL_DIR
from face0.guidance import plan_guidance
from face0.models import build_models
from face0.rng import Rng
from face0.sample import (
    TorchGraphs,
    bundle_fields,
    load_bundle,
    sample_image,
    scheduler_from_config,
    to_uint8,
)
from face0.sample import run as sample_run
from face0.x0_projection import fit_x0_projection

PROMPT = "a photo of a smiling woman with blond hair"
# PyTorch float32 vs onnxruntime float32 graphs, after 4 guided DDIM steps and the decoder, on the
# [-1, 1] image scale: at most 1e-4 (observed 3.8e-6; one 8-bit level is 7.8e-3).
BUNDLE_TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def models():
    tokenizer = clip_tokenizer(MICRO.face_token_positions)
    from face0.models import build_vocabulary

    vocabulary = build_vocabulary([PROMPT, "a man with glasses"], tokenizer.encode)
    models = build_models(MICRO, vocabulary, seed=3).eval()
    # Non-trivial input standardisation, so the bundle comparison covers the projector's buffers.
    faces = torch.from_numpy(np.random.default_rng(4).normal(0.5, 0.2, size=(64, 256)).astype(np.float32))
    models.face_projector.set_embedding_statistics(faces)
    return models


@pytest.fixture(scope="module")
def tokenizer():
    return clip_tokenizer(MICRO.face_token_positions)


@pytest.fixture(scope="module")
def embedding():
    return np.random.default_rng(5).normal(size=256).astype(np.float32)


class RecordingGraphs(TorchGraphs):
    """The real PyTorch graphs, remembering what the U-Net was called with."""

    def __init__(self, models):
        super().__init__(models)
        self.unet_calls = []

    def unet(self, sample, timestep, context):
        self.unet_calls.append((sample.clone(), timestep.clone(), context.clone()))
        return super().unet(sample, timestep, context)


def test_app_latents_and_one_batched_unet_call_per_step(models, tokenizer, embedding):
    graphs = RecordingGraphs(models)
    fields = bundle_fields(models)
    sample_image(graphs, tokenizer, fields, PROMPT, embedding, seed=42, steps=3, w=7.5, c=0.6, a=0.3)
    plan = plan_guidance(7.5, 0.6, 0.3, True)
    assert len(graphs.unet_calls) == 3
    c, h = MICRO.vae.latent_channels, MICRO.latent_size
    expected = torch.from_numpy(Rng(42).normal(c * h * h)).reshape(1, c, h, h)
    first_sample, first_t, contexts = graphs.unet_calls[0]
    assert first_sample.shape[0] == len(plan.conditions) == 4
    assert torch.equal(first_sample[0], expected[0]) and torch.equal(first_sample[3], expected[0])
    scheduler = scheduler_from_config(fields["scheduler"])
    scheduler.set_timesteps(3)
    assert [float(call[1][0]) for call in graphs.unet_calls] == [float(t) for t in scheduler.timesteps]
    # Face rows carry the projected tokens at positions 74-76, no-face rows zeros.
    tokens = models.face_projector(torch.from_numpy(embedding)[None])[0]
    for row, cond in enumerate(plan.conditions):
        face = contexts[row, list(MICRO.face_token_positions)]
        assert torch.allclose(face, tokens if cond.endswith("_face") else torch.zeros_like(tokens)), cond


def test_same_seed_same_image(models, tokenizer, embedding):
    graphs, fields = TorchGraphs(models), bundle_fields(models)
    first = sample_image(graphs, tokenizer, fields, PROMPT, embedding, 7, 3, 7.5, 1.0, 0.0)
    again = sample_image(graphs, tokenizer, fields, PROMPT, embedding, 7, 3, 7.5, 1.0, 0.0)
    other = sample_image(graphs, tokenizer, fields, PROMPT, embedding, 8, 3, 7.5, 1.0, 0.0)
    assert first.shape == (MICRO.image_size, MICRO.image_size, 3)
    np.testing.assert_array_equal(first, again)
    assert np.abs(first - other).max() > 1e-3


@pytest.fixture(scope="module")
def bundle(models, tmp_path_factory):
    """A bundle exported from the micro models with face0.export (float32 weights), with an x0 projection
    (on random latents) from t = 500 on."""
    out = tmp_path_factory.mktemp("bundle")
    prior = fit_face_prior(np.random.default_rng(0).normal(size=(16, 256)), components=2)
    c, size = models.config.vae.latent_channels, models.config.latent_size
    latents = torch.randn(32, c, size, size, generator=torch.Generator().manual_seed(0))
    export_bundle(
        models, out, "micro", "MIT", "test bundle", prior, DEFAULT_MODEL_DIR, DATA_DIR / "clip",
        float16=False, seed=0, x0_projection=fit_x0_projection(latents, 4, 500),
    )  # fmt: skip
    assert validate_bundle(out) == []
    return out


@pytest.mark.parametrize("with_face", [True, False])
def test_pytorch_sampler_matches_the_onnxruntime_bundle_sampler(
    models, tokenizer, embedding, bundle, with_face
):
    face = embedding if with_face else None
    graphs, bundle_tokenizer, manifest = load_bundle(bundle)
    expected = sample_image(
        TorchGraphs(models, graphs.x0_projection), tokenizer, bundle_fields(models), PROMPT, face, 11, 4,
        7.5, 1.0, 0.0,
    )  # fmt: skip
    got = sample_image(graphs, bundle_tokenizer, manifest, PROMPT, face, 11, 4, 7.5, 1.0, 0.0)
    diff = float(np.abs(got - expected).max())
    print(f"PyTorch vs onnxruntime sampler (face={with_face}): max |diff| {diff:.2e}")
    assert diff <= BUNDLE_TOLERANCE
    assert np.abs(to_uint8(got).astype(int) - to_uint8(expected).astype(int)).max() <= 1


def test_the_x0_projection_moves_the_steps_it_applies_to(models, tokenizer, embedding, bundle):
    graphs, _, manifest = load_bundle(bundle)
    assert graphs.x0_projection is not None and graphs.x0_projection.from_timestep == 500
    fields = bundle_fields(models)
    projected = sample_image(graphs, tokenizer, fields, PROMPT, embedding, 11, 4, 7.5, 1.0, 0.0)
    graphs.x0_projection = None
    plain = sample_image(graphs, tokenizer, fields, PROMPT, embedding, 11, 4, 7.5, 1.0, 0.0)
    assert np.abs(projected - plain).max() > 1e-2


def test_sample_command_writes_a_grid_from_a_bundle(bundle, embedding, tmp_path):
    np.save(tmp_path / "face.npy", embedding)
    args = argparse.Namespace(
        bundle=bundle, checkpoint=None, no_ema=False, prompt=PROMPT, face=tmp_path / "face.npy",
        face_models=DEFAULT_MODEL_DIR, seeds=[1, 2], steps=2, w=None, c=None, a=None,
        out=tmp_path / "grid.png",
    )  # fmt: skip
    sample_run(args)
    size = json.loads((bundle / "manifest.json").read_text())["image_size"]
    assert Image.open(tmp_path / "grid.png").size == (2 * size, size)
