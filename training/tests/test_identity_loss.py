"""The identity loss: face-api's network in PyTorch (rebuilt from the bundle's ONNX), the differentiable crop,
and the loss term in training."""

import numpy as np
import pytest
import torch
from conftest import FACE_MODELS

from face0.configs import CONFIGS, DATA_DIR
from face0.data import Sample
from face0.diffusion_loss import Batch, Denoiser, Identity, ddpm_scheduler, diffusion_loss
from face0.evaluate import framing_box
from face0.extraction import FaceExtractor, load_image, to_pixel_values
from face0.face_crop import FACE0_CROP_MARGINS, Box, crop_and_resize, face_crop_box
from face0.facemodels.embedder import INPUT_SIZE
from face0.facemodels.torch_embedder import FaceEmbedderTorch
from face0.identity_loss import IdentityLoss, crop_boxes, crop_faces
from face0.models import build_models, build_vocabulary


@pytest.fixture(scope="module")
def embedder() -> FaceEmbedderTorch:
    return FaceEmbedderTorch.from_bundle(FACE_MODELS)


@pytest.fixture(scope="module")
def faces():
    """(photo, extraction) of the first photo of 8 held-out people."""
    people = sorted(p for p in (DATA_DIR / "celeba-identities").iterdir() if p.is_dir())[:8]
    found = []
    with FaceExtractor(FACE_MODELS) as extractor:
        for folder in people:
            rgb = load_image(sorted(folder.glob("*.jpg"))[0])
            found.append((rgb, extractor.extract(rgb)))
    return found


def framed_128(rgb, extraction) -> tuple[np.ndarray, Box]:
    """The photo framed like a celeba128 training image, and its face box there."""
    frame = framing_box(extraction.box)
    scale = 128 / frame.width
    b = extraction.box
    box = Box((b.x - frame.x) * scale, (b.y - frame.y) * scale, b.width * scale, b.height * scale)
    return crop_and_resize(rgb, frame, 128), box


def test_pytorch_embedder_matches_the_onnx_graph_on_real_crops(embedder, faces):
    """The conditioning embedder in PyTorch against face_embedder.onnx in onnxruntime: within 1e-4."""
    pixel_values = np.concatenate([to_pixel_values(ex.crop) for _, ex in faces])
    with torch.no_grad():
        embedding, descriptor = embedder(torch.from_numpy(pixel_values))
    expected = np.stack([ex.embedding for _, ex in faces])
    assert np.abs(embedding.numpy() - expected).max() < 1e-4
    assert descriptor.shape == (len(faces), 128)


def test_differentiable_crop_equals_the_extraction_crop_when_enlarging(faces):
    """A 128 px face's crop box is under 150 px, where crop_and_resize's triangle filter is bilinear."""
    small, face = framed_128(*faces[0])
    box = face_crop_box(face, FACE0_CROP_MARGINS)
    assert box.width < INPUT_SIZE
    expected = crop_and_resize(small, box, INPUT_SIZE)
    image = torch.from_numpy(small).permute(2, 0, 1)[None]
    got = crop_faces(image, torch.tensor([[box.x, box.y, box.width, box.height]]))[0].permute(1, 2, 0).numpy()
    assert np.abs(got - expected).max() < 1e-2  # levels of 0..255


def test_loss_is_zero_for_the_photo_itself_and_larger_for_another_person(embedder, faces):
    images, boxes, targets = [], [], []
    for rgb, ex in faces[:2]:
        small, box = framed_128(rgb, ex)
        sample = Sample(
            "k", small.astype(np.uint8), "", None, np.zeros(256, np.float32), True, None, vars(box)
        )
        boxes.append(crop_boxes([sample])[0])
        images.append(torch.from_numpy(small).permute(2, 0, 1) / 127.5 - 1)
        with torch.no_grad():
            targets.append(
                embedder(
                    embedder.pixel_values(crop_faces(images[-1][None] * 127.5 + 127.5, boxes[-1][None]))
                )[0][0]
            )
    loss = IdentityLoss(embedder, max_timestep=1000, max_samples=8)
    # Centred near (not at) the two faces' mean: exactly there they would point exactly apart, where the
    # cosine is stationary too.
    mean, std = 0.9 * torch.stack(targets).mean(0), torch.ones(256)
    x = torch.stack(images).requires_grad_(True)
    same = loss(x, torch.stack(boxes), torch.stack(targets), mean, std)
    swapped = loss(x.detach(), torch.stack(boxes), torch.stack(targets[::-1]), mean, std)
    assert same.item() < 1e-5 < 0.5 < swapped.item()  # two people point apart once centred
    same.backward()
    at_minimum = x.grad.abs().sum().item()
    x.grad = None
    loss(x, torch.stack(boxes), torch.stack(targets[::-1]), mean, std).backward()
    assert at_minimum < 1e-3 * x.grad.abs().sum().item()  # stationary at its minimum, pulled elsewhere


def test_selection_keeps_face_conditioned_low_noise_samples_up_to_the_cap(embedder):
    loss = IdentityLoss(embedder, max_timestep=400, max_samples=2)
    timesteps = torch.tensor([10, 500, 20, 30, 40])
    has_face = torch.tensor([True, True, False, True, True])
    boxes = torch.tensor([[0.0, 0, 9, 9]] * 4 + [[float("nan")] * 4])
    assert loss.selected(timesteps, has_face, boxes).tolist() == [0, 3]


def test_training_loss_adds_the_weighted_identity_term_and_reaches_the_unet(embedder):
    config = CONFIGS["celeba128-taef2"]
    models = build_models(config, build_vocabulary(["a photo of a woman"], lambda t: [320, 539]), seed=0)
    models.vae.requires_grad_(False)  # as train() freezes it
    denoiser, scheduler = Denoiser(models, True), ddpm_scheduler(config)
    g = torch.Generator().manual_seed(0)
    batch = Batch(
        images=torch.zeros(3, 3, 128, 128),
        input_ids=torch.zeros(3, 77, dtype=torch.int64),
        face_embedding=torch.randn(3, 256, generator=g),
        has_face=torch.tensor([True, True, False]),
        captions=[],
        latents=torch.randn(3, 32, 16, 16, generator=g),
        crop_boxes=torch.tensor([[20.0, 20, 90, 90]] * 3),
    )
    identity = Identity(IdentityLoss(embedder, max_timestep=1000, max_samples=8), weight=0.5)
    total, terms = diffusion_loss(
        denoiser,
        models.vae,
        scheduler,
        batch,
        torch.Generator().manual_seed(1),
        torch.device("cpu"),
        False,
        identity,
    )
    assert terms["identity_samples"] == 2  # the third has no face
    assert total.item() == pytest.approx(terms["mse"] + 0.5 * terms["identity"], rel=1e-6)
    total.backward()
    assert models.unet.conv_out.weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in models.vae.parameters())  # the autoencoder stays frozen
