"""`pack`: shards small enough for an accelerator machine that train reads like the originals."""

import dataclasses

import numpy as np
import pytest
import torch
from conftest import MICRO

from face0.clip_vocab import clip_tokenizer
from face0.configs import CONFIGS
from face0.data import SampleReader, SampleStream, list_shards, read_samples
from face0.pack import pack
from face0.taef2 import Taef2Autoencoder
from face0.train import TrainOptions, make_batch


def all_samples(shards, image_size=MICRO.image_size):
    count = sum(1 for shard in shards for _ in read_samples(shard))
    reader = SampleReader(SampleStream(shards, 0, 1, 0, 1), image_size, 256, False)
    return {s.key: s for s in reader.next_batch(count - reader.bad)}, reader.bad


def test_packed_shards_hold_the_same_samples_smaller(augmented_shards, tmp_path):
    packed = pack(augmented_shards, tmp_path / "packed", MICRO.image_size)
    assert list_shards([tmp_path / "packed"]) == packed  # a folder of .tar.gz is a shard source
    assert [p.name for p in packed] == [f"{p.name}.gz" for p in augmented_shards]
    assert sum(p.stat().st_size for p in packed) < sum(p.stat().st_size for p in augmented_shards) / 2
    original, bad = all_samples(augmented_shards)
    again, bad_packed = all_samples(packed)
    assert bad == bad_packed == 0 and sorted(again) == sorted(original) and len(original) >= 20
    psnr = []
    for key, s in original.items():
        p = again[key]
        assert (p.caption, p.attributes, p.identity, p.has_face) == (
            s.caption,
            s.attributes,
            s.identity,
            s.has_face,
        )
        assert p.face_box == (None if s.face_box is None else pytest.approx(s.face_box, abs=1e-9))
        # float16 storage: within half a unit in the last place of float16 (2^-11 relative)
        np.testing.assert_allclose(p.embedding, s.embedding, rtol=2**-11, atol=1e-7)
        mse = np.mean((p.image.astype(np.float64) - s.image) ** 2)
        psnr.append(10 * np.log10(255**2 / max(mse, 1e-12)))
    # WebP quality 90 (4:2:0 chroma) measured 37 dB mean at 64 px on CelebA; these images are smaller.
    print(f"PSNR min {min(psnr):.1f} dB, mean {np.mean(psnr):.1f} dB")
    assert min(psnr) > 25 and np.mean(psnr) > 30


def test_taef2_latents_are_packed_once_for_the_image_and_its_mirror(augmented_shards, tmp_path):
    """Each packed sample carries TAEF2's raw latents of the training image and of its mirror image (encoded
    in bfloat16: within 3% RMS of float32), and training batches take one of the two at random."""
    config = dataclasses.replace(MICRO, image_size=64, vae=CONFIGS["celeba128-taef2"].vae)
    packed = pack(augmented_shards[:1], tmp_path / "latents", config.image_size, autoencoder="taef2")
    reader = SampleReader(SampleStream(packed, 0, 1, 0, 1), config.image_size, 256, False)
    samples = reader.next_batch(8)
    latents = np.stack([s.latents for s in samples])
    assert latents.shape == (8, 2, 32, 8, 8) and latents.dtype == np.float32

    originals = dict(all_samples(augmented_shards[:1], config.image_size)[0])
    images = torch.from_numpy(np.stack([originals[s.key].image for s in samples])).permute(0, 3, 1, 2)
    x = images.float() / 127.5 - 1
    with torch.no_grad():
        autoencoder = Taef2Autoencoder()
        expected = torch.stack([autoencoder.encode_raw(x), autoencoder.encode_raw(x.flip(3))], 1).numpy()
    rms = np.sqrt(np.mean((latents - expected) ** 2) / np.mean(expected**2))
    assert rms < 0.03
    # The mirror image's latent is its own encoding, not the mirrored latent (TAEF2 is not mirror-symmetric).
    assert np.sqrt(np.mean((latents[:, 1] - latents[:, 0, ..., ::-1]) ** 2)) > 10 * np.sqrt(
        np.mean((latents - expected) ** 2)
    )

    options = TrainOptions(shards=packed, out=tmp_path, model=config, max_steps=1)
    batch, _ = make_batch(samples, options, clip_tokenizer((74, 75, 76)), np.random.default_rng(0), None)
    chosen = batch.latents.numpy()
    sides = [int(np.array_equal(c, s.latents[1])) for c, s in zip(chosen, samples, strict=True)]
    assert all(np.array_equal(c, s.latents[side]) for c, s, side in zip(chosen, samples, sides, strict=True))
    assert 0 < sum(sides) < len(sides)  # both sides drawn in 8 samples (seeded)
