"""Training on the micro configuration: captions, overfitting a fixed batch, exact resume (clean stop and
SIGKILL), the NaN guard, the VAE stage, `--face-source other`, and 2-process gloo DDP."""

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp
from conftest import MICRO
from PIL import Image
from shards import BAD_MEMBERS
from torch import nn

import face0.data
from face0.captions import CELEBA_ATTRIBUTES, attribute_caption, caption_vocabulary_text
from face0.checkpoints import (
    checkpoint_path,
    latest_checkpoint,
    load_checkpoint_models,
    load_vae,
    replace_vae_decoder,
    slim_checkpoint,
)
from face0.clip_vocab import clip_tokenizer
from face0.data import (
    EMBEDDING_EXTENSION,
    IdentityIndex,
    Sample,
    SampleReader,
    SampleStream,
    ShardWriter,
    box_in_square,
    npy_bytes,
    read_samples,
)
from face0.diffusion_loss import Denoiser, ddpm_scheduler, diffusion_loss, draw_timesteps, images_to_tensor
from face0.distributed import init_distributed, shutdown
from face0.models import CompactVocabulary, build_models
from face0.step_schedule import scheduled_lr
from face0.train import EMA, TrainOptions, fresh_models, learning_rate, make_batch, train, training_embeddings
from face0.train_vae import face_weights, train_vae, vae_loss

TRAIN_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def micro_options(shards, out, **overrides) -> TrainOptions:
    settings = dict(
        shards=list(shards), out=out, model=MICRO, max_steps=4, global_batch=4, lr=1e-3, ema_decay=0.9,
        checkpoint_every=2, log_every=1, shuffle_buffer=8, threads=1, device="cpu",
    )  # fmt: skip
    settings.update(overrides)
    return TrainOptions(**settings)


def flat(models) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in models.state_dict().items()}


def max_diff(a: dict, b: dict) -> float:
    assert a.keys() == b.keys()
    return max(float((a[k].detach().float() - b[k].detach().float()).abs().max()) for k in a) if a else 0.0


@pytest.fixture(scope="module")
def tokenizer():
    return clip_tokenizer(MICRO.face_token_positions)


def subset_shard(source_shards, path, count, transform=None):
    """A shard with the first `count` samples that have a face (optionally transformed)."""
    taken = 0
    with ShardWriter(path) as writer:
        for shard in source_shards:
            for key, files in read_samples(shard):
                if EMBEDDING_EXTENSION in files and taken < count:
                    writer.write(key, transform(files) if transform else files)
                    taken += 1
    return path


# ---------------------------------------------------------------------------------------------- captions


def test_attribute_captions_are_deterministic_varied_and_in_vocabulary(tokenizer):
    attributes = dict.fromkeys(CELEBA_ATTRIBUTES, 0) | {
        "Male": 1,
        "Smiling": 1,
        "Eyeglasses": 1,
        "Black_Hair": 1,
    }
    captions = [attribute_caption(attributes, random.Random(seed)) for seed in range(40)]
    assert captions == [attribute_caption(attributes, random.Random(seed)) for seed in range(40)]
    assert len(set(captions)) >= 20
    assert all(not any(w in c.split() for w in ("woman", "lady")) for c in captions)
    assert any("glasses" in c or "spectacles" in c for c in captions)
    # Every token a caption can contain is in the vocabulary built from caption_vocabulary_text().
    known = {t for text in caption_vocabulary_text() for t in tokenizer.encode(text)}
    everyone = [
        dict(zip(CELEBA_ATTRIBUTES, random.Random(s).choices((0, 1), k=40), strict=True)) for s in range(60)
    ]
    for s, attrs in enumerate(everyone):
        caption = attribute_caption(attrs, random.Random(s))
        assert set(tokenizer.encode(caption)) <= known, caption


def test_attribute_subsets_make_short_prompts_common(tokenizer):
    """`--captions attribute-subsets` draws each caption's mention probability uniformly, so a face with k set
    attributes is captioned by its noun alone with probability 1 / (k + 1) (the integral of (1 - p)^k),
    against 0.3^k at `attributes`' MENTION_P = 0.7; the sample's shard caption is not used, except by
    `shard-and-subsets`, which keeps it for half the samples."""
    woman = dict.fromkeys(CELEBA_ATTRIBUTES, 0) | dict.fromkeys(
        ("Young", "Smiling", "Wavy_Hair", "Heavy_Makeup", "Blond_Hair"), 1
    )  # five set, all of which attribute_caption can mention
    sample = Sample(
        "k", np.zeros((8, 8, 3), np.uint8), "shard caption", woman, np.zeros(256, np.float32), False, 0
    )
    plain = {"a photo of a woman", "a photo of a lady", "a photo of a female person"}

    def shares(captions: str) -> tuple[float, float]:
        """The shares of noun-only "a photo of" captions and of the shard's caption."""
        options = micro_options([], None, captions=captions, caption_drop_p=0.0)
        batch, _ = make_batch([sample] * 6000, options, tokenizer, np.random.default_rng(3), None)
        n = len(batch.captions)
        return sum(c in plain for c in batch.captions) / n, batch.captions.count("shard caption") / n

    # Of the noun-only captions, "a photo of <noun>" is 1 of 6 photo words x 1 of 3 templates: 1/18 of them.
    assert shares("attribute-subsets") == (pytest.approx(1 / 6 / 18, abs=0.004), 0)  # 3.2 standard errors
    noun_only, shard = shares("attributes")
    assert noun_only < 0.001 and shard == 0  # 0.3^5 / 18 = 1.4e-4: about one in 7,400
    # Half of them keep the shard's caption, and the other half are attribute-subsets' captions.
    assert shares("shard-and-subsets") == (
        pytest.approx(1 / 6 / 18 / 2, abs=0.003),  # 3.4 standard errors
        pytest.approx(0.5, abs=0.02),  # 3.1 standard errors
    )


# ---------------------------------------------------------------------------------------------- training


def fixed_loss(models, samples, tokenizer, seeds=(11, 12, 13, 14)) -> float:
    """Loss on one fixed batch with fixed noise and timesteps (mean over a few draws)."""
    options = micro_options([], None, face_drop_p=0.0, caption_drop_p=0.0)
    batch, _ = make_batch(samples, options, tokenizer, np.random.default_rng(0), None)
    denoiser, scheduler = Denoiser(models, True), ddpm_scheduler(models.config)
    with torch.no_grad():
        losses = [
            diffusion_loss(
                denoiser,
                models.vae,
                scheduler,
                batch,
                torch.Generator().manual_seed(s),
                torch.device("cpu"),
                False,
            )[0]
            for s in seeds
        ]
    return float(np.mean([x.item() for x in losses]))


def test_a_share_of_each_batch_draws_high_timesteps():
    uniform = draw_timesteps(4000, 1000, torch.Generator().manual_seed(0))
    assert uniform.min() == 0 and uniform.max() == 999
    assert abs(float((uniform >= 600).float().mean()) - 0.4) < 0.03
    biased = draw_timesteps(4000, 1000, torch.Generator().manual_seed(0), (0.5, 600))
    assert bool((biased[:2000] >= 600).all()) and biased[:2000].min() == 600 and biased[:2000].max() == 999
    assert abs(float((biased[2000:] >= 600).float().mean()) - 0.4) < 0.03


def test_v_loss_weighting_multiplies_each_sample_by_its_capped_inverse_alpha_bar(
    augmented_shards, tmp_path, tokenizer
):
    """At t = 999 for every sample, the weighted loss is the plain one times min(1 / alpha-bar_999, cap)."""
    samples = SampleReader(
        SampleStream(augmented_shards, 0, 1, 0, 1), MICRO.image_size, 256, False
    ).next_batch(4)
    options = micro_options([], None, face_drop_p=0.0, caption_drop_p=0.0)
    models = fresh_models(micro_options(augmented_shards, tmp_path), tokenizer)
    batch, _ = make_batch(samples, options, tokenizer, np.random.default_rng(0), None)
    denoiser, scheduler = Denoiser(models, True), ddpm_scheduler(models.config)

    def loss(cap: float) -> tuple[float, float]:
        generator = torch.Generator().manual_seed(5)
        with torch.no_grad():
            total, terms = diffusion_loss(
                denoiser,
                models.vae,
                scheduler,
                batch,
                generator,
                torch.device("cpu"),
                False,
                None,
                (1.0, 999),
                cap,
            )
        return total.item(), terms["mse"]

    plain, mse = loss(0.0)
    inverse = 1.0 / float(scheduler.alphas_cumprod[999])
    assert inverse > 100 and plain == pytest.approx(mse, rel=1e-6)
    assert loss(1e4)[0] == pytest.approx(plain * inverse, rel=1e-5) and loss(1e4)[1] == pytest.approx(
        mse, rel=1e-6
    )
    assert loss(50.0)[0] == pytest.approx(plain * 50.0, rel=1e-5)


def test_overfits_a_fixed_batch(augmented_shards, tmp_path, tokenizer):
    """30 steps on the same 4 images: the fixed-batch loss must fall by more than 30%."""
    shard = subset_shard(augmented_shards, tmp_path / "four.tar", 4)
    options = micro_options(
        [shard], tmp_path / "run", max_steps=30, checkpoint_every=0, face_drop_p=0.0, caption_drop_p=0.0
    )
    samples = SampleReader(SampleStream([shard], 0, 1, 0, 1), MICRO.image_size, 256, False).next_batch(4)
    initial = fresh_models(options, tokenizer)
    before = fixed_loss(initial, samples, tokenizer)
    result = train(options)
    after = fixed_loss(result.models, samples, tokenizer)
    print(f"fixed-batch loss {before:.4f} -> {after:.4f}")
    assert after < 0.7 * before
    assert result.nan_skipped == 0 and result.step == 30


def test_clean_stop_and_resume_is_exact(augmented_shards, tmp_path):
    """6 steps straight vs 3 steps (max_steps) + resume to 6: identical losses, weights, EMA (tolerance 0)."""
    straight = train(micro_options(augmented_shards, tmp_path / "a", max_steps=6, checkpoint_every=3))
    train(micro_options(augmented_shards, tmp_path / "b", max_steps=3, checkpoint_every=3))
    resumed = train(micro_options(augmented_shards, tmp_path / "b", max_steps=6, checkpoint_every=3))
    assert sorted(resumed.losses) == [4, 5, 6]
    assert [resumed.losses[s] for s in (4, 5, 6)] == [straight.losses[s] for s in (4, 5, 6)]
    assert max_diff(flat(resumed.models), flat(straight.models)) == 0.0
    assert max_diff(resumed.ema.state_dict(), straight.ema.state_dict()) == 0.0
    logged = [
        json.loads(line)["loss"] for line in (tmp_path / "b" / "metrics.jsonl").read_text().splitlines()
    ]
    assert logged == [straight.losses[s] for s in range(1, 7)]
    ema_models = load_checkpoint_models(latest_checkpoint(tmp_path / "b"))
    assert (
        max_diff(
            {k: v for k, v in ema_models.named_parameters() if k in resumed.ema.shadow}, resumed.ema.shadow
        )
        == 0
    )


def test_prefetching_in_a_child_process_trains_exactly_like_in_process(augmented_shards, tmp_path):
    """--prefetch 2 with --face-source other and 2 accumulation steps: the same losses, weights, EMA and
    checkpointed stream positions as building batches in-process, also across a resume (tolerance 0)."""
    common = dict(global_batch=4, grad_accum=2, face_source="other", checkpoint_every=3)
    plain = train(micro_options(augmented_shards, tmp_path / "a", max_steps=6, **common))
    train(micro_options(augmented_shards, tmp_path / "b", max_steps=3, prefetch=2, **common))
    ahead = train(micro_options(augmented_shards, tmp_path / "b", max_steps=6, prefetch=2, **common))
    assert [ahead.losses[s] for s in (4, 5, 6)] == [plain.losses[s] for s in (4, 5, 6)]
    assert max_diff(flat(ahead.models), flat(plain.models)) == 0.0
    assert max_diff(ahead.ema.state_dict(), plain.ema.state_dict()) == 0.0
    a, b = (torch.load(checkpoint_path(tmp_path / d, 6), weights_only=False) for d in "ab")
    assert a["stream_positions"] == b["stream_positions"] and a["bad_images"] == b["bad_images"]


def test_sigkill_then_resume_matches_an_uninterrupted_run(augmented_shards, tmp_path, micro_config_file):
    """A CLI run killed with SIGKILL right after a checkpoint resumes to the same losses and weights as an
    uninterrupted in-process run (same seed, 1 thread; tolerance 1e-6, observed 0)."""
    run_dir = tmp_path / "killed"
    code = (
        "import argparse, sys; from face0 import train; p = argparse.ArgumentParser(); "
        "train.add_arguments(p); train.run(p.parse_args(sys.argv[1:]))"
    )
    args = [
        *map(str, augmented_shards), "--out", str(run_dir), "--config", str(micro_config_file),
        "--max-steps", "500", "--global-batch", "4", "--lr", "1e-3", "--ema-decay", "0.9",
        "--checkpoint-every", "2", "--keep-checkpoints", "100", "--log-every", "1", "--shuffle-buffer", "8",
        "--threads", "1", "--device", "cpu",
    ]  # fmt: skip
    proc = subprocess.Popen([sys.executable, "-c", code, *args], cwd=TRAIN_DIR)
    try:
        deadline = time.monotonic() + 120
        while latest_checkpoint(run_dir) is None or latest_checkpoint(run_dir).name < "step-00000004.pt":
            assert proc.poll() is None, "training process ended early"
            assert time.monotonic() < deadline
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    killed_at = int(latest_checkpoint(run_dir).stem.split("-")[1])
    final = killed_at + 3
    resumed = train(micro_options(augmented_shards, run_dir, max_steps=final, keep_checkpoints=100))
    straight = train(micro_options(augmented_shards, tmp_path / "straight", max_steps=final))
    for step in range(killed_at + 1, final + 1):
        assert abs(resumed.losses[step] - straight.losses[step]) <= 1e-6, step
    assert max_diff(flat(resumed.models), flat(straight.models)) <= 1e-6
    steps = [json.loads(line)["step"] for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert steps == list(range(1, final + 1))


def test_nan_guard_skips_steps(augmented_shards, tmp_path, tokenizer):
    """NaN face embeddings make every loss NaN: each step is skipped and counted, weights stay put."""

    def poison(files):
        return {**files, EMBEDDING_EXTENSION: npy_bytes(np.full(256, np.nan, np.float32))}

    shard = subset_shard(augmented_shards, tmp_path / "nan.tar", 4, poison)
    options = micro_options([shard], tmp_path / "run", max_steps=2, checkpoint_every=0)
    result = train(options)
    assert result.nan_skipped == 2
    initial = fresh_models(options, tokenizer)
    weights = lambda models: dict(models.named_parameters())  # noqa: E731 (the buffers are NaN here)
    assert max_diff(weights(result.models), weights(initial)) == 0.0


def test_projector_standardisation_is_fitted_at_a_fresh_start_and_kept_on_resume(augmented_shards, tmp_path):
    embeddings = training_embeddings(augmented_shards, 10_000)
    assert embeddings.shape == (24, 256)  # every face of the fixture shards (the gray square has none)
    options = micro_options(augmented_shards, tmp_path / "run", max_steps=2, checkpoint_every=2)
    projector = train(options).models.face_projector
    torch.testing.assert_close(projector.embedding_mean, torch.from_numpy(embeddings.mean(0)))
    torch.testing.assert_close(projector.embedding_std, torch.from_numpy(embeddings.std(0, ddof=1)))
    # Resume must take the statistics from the checkpoint, not refit them on the (possibly new) shards.
    path = checkpoint_path(tmp_path / "run", 2)
    state = torch.load(path, weights_only=False)
    state["models"]["face_projector.embedding_mean"] = torch.full((256,), 0.25)
    torch.save(state, path)
    resumed = train(micro_options(augmented_shards, tmp_path / "run", max_steps=3, checkpoint_every=0))
    assert torch.equal(resumed.models.face_projector.embedding_mean, torch.full((256,), 0.25))
    # training_embeddings takes ceil(limit / shards) from each shard, in shard order.
    first = training_embeddings(augmented_shards, 4)
    np.testing.assert_array_equal(first, np.concatenate([embeddings[:2], embeddings[12:14]]))


def test_vae_stage_and_frozen_vae(augmented_shards, tmp_path):
    path = tmp_path / "vae.pt"
    state = train_vae(
        augmented_shards, MICRO, path, steps=3, batch=4, lr_warmup=1, lr_final=1e-5, cache_decoded=True
    )
    assert np.isfinite(state["scaling_factor"]) and state["scaling_factor"] > 0
    options = micro_options(
        augmented_shards, tmp_path / "run", max_steps=2, vae=path, validate_every=2, validation_images=2,
        validation_steps=2,
    )  # fmt: skip
    result = train(options)
    grid = Image.open(tmp_path / "run" / "samples" / "step-00000002.png")
    assert grid.size == (3 * MICRO.image_size, 2 * MICRO.image_size)  # image | with face | without face
    assert result.models.config.vae.scaling_factor == state["scaling_factor"]
    assert max_diff(flat(result.models.vae), state["vae"]) == 0.0  # frozen
    reloaded = load_checkpoint_models(latest_checkpoint(tmp_path / "run"))
    assert reloaded.config.vae.scaling_factor == state["scaling_factor"]
    models = load_vae(build_models(MICRO, result.models.vocabulary, 0), path)
    assert models.vae.config.scaling_factor == state["scaling_factor"]


def test_decoder_only_fine_tuning_keeps_the_encoder_and_replaces_a_models_decoder(augmented_shards, tmp_path):
    base = train_vae(augmented_shards, MICRO, tmp_path / "vae.pt", steps=2, batch=4)
    tuned = train_vae(
        augmented_shards, MICRO, tmp_path / "decoder.pt", steps=3, batch=4, lr=1e-2,
        init=tmp_path / "vae.pt", decoder_only=True, face_weight=3.0,
    )  # fmt: skip
    encoder = [k for k in base["vae"] if k.startswith(("encoder.", "quant_conv."))]
    decoder = [k for k in base["vae"] if k.startswith(("decoder.", "post_quant_conv."))]
    assert encoder and decoder and len(encoder) + len(decoder) == len(base["vae"])
    assert max_diff({k: tuned["vae"][k] for k in encoder}, {k: base["vae"][k] for k in encoder}) == 0.0
    assert max_diff({k: tuned["vae"][k] for k in decoder}, {k: base["vae"][k] for k in decoder}) > 1e-4
    assert tuned["scaling_factor"] == base["scaling_factor"]  # the frozen encoder's latents, exactly

    models = load_vae(build_models(MICRO, CompactVocabulary((320, 539)), 0), tmp_path / "vae.pt")
    replace_vae_decoder(models, tmp_path / "decoder.pt")
    assert max_diff(flat(models.vae), tuned["vae"]) == 0.0
    # A VAE trained on its own has other latents: the U-Net would not fit its decoder.
    train_vae(augmented_shards, MICRO, tmp_path / "other.pt", steps=2, batch=4, seed=1)
    with pytest.raises(ValueError, match="encoder or scaling factor differs"):
        replace_vae_decoder(models, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="--init"):
        train_vae(augmented_shards, MICRO, tmp_path / "x.pt", steps=1, batch=4, decoder_only=True)


def test_face_boxes_follow_the_square_resize_and_weigh_the_vae_loss(augmented_shards):
    # A 60 x 100 image: square_resize keeps columns 20-79, then scales by 30 / 60.
    box = {"x": 30, "y": 10, "width": 20, "height": 24}
    assert box_in_square(box, 60, 100, 30) == {"x": 5.0, "y": 5.0, "width": 10.0, "height": 12.0}
    reader = SampleReader(SampleStream(augmented_shards, 0, 1, 0, 1), MICRO.image_size, 256, False)
    samples = reader.next_batch(8)
    by_key = {k: f for shard in augmented_shards for k, f in read_samples(shard)}
    for sample in samples:
        face = json.loads(by_key[sample.key]["json"])["face"]
        if face is None:
            assert sample.face_box is None
            continue
        scale = MICRO.image_size / 128  # celeba128 images are square
        assert sample.face_box == pytest.approx({k: v * scale for k, v in face["box"].items()})
    assert any(s.face_box for s in samples)

    weights = face_weights(samples, MICRO.image_size, 3.0)
    for sample, w in zip(samples, weights, strict=True):
        inside = w[0] == 4.0
        assert set(w.unique().tolist()) <= {1.0, 4.0}
        if sample.face_box is None:
            assert not inside.any()
        else:  # the weighted pixels are the ones whose centres lie in the box
            b = sample.face_box
            assert inside.sum() == pytest.approx(b["width"] * b["height"], abs=b["width"] + b["height"] + 1)
    vae = build_models(MICRO, CompactVocabulary((320, 539)), 0).vae
    images = images_to_tensor(samples)
    plain, _ = vae_loss(vae, images, torch.Generator().manual_seed(0), 0.0)
    ones, _ = vae_loss(vae, images, torch.Generator().manual_seed(0), 0.0, torch.ones_like(weights))
    weighted, z = vae_loss(vae, images, torch.Generator().manual_seed(0), 0.0, weights)
    assert ones.item() == pytest.approx(plain.item(), rel=1e-6)
    error = vae.decode(z).sample - images
    per_pixel = (error.abs() + error.square()).mean(dim=1, keepdim=True)
    expected = (per_pixel * weights).sum() / weights.sum()
    assert weighted.item() == pytest.approx(expected.item(), rel=1e-5)


def test_face_source_other_uses_another_photo_of_the_person(augmented_shards, tokenizer):
    index = IdentityIndex(augmented_shards)
    samples = SampleReader(
        SampleStream(augmented_shards, 0, 1, 0, 1), MICRO.image_size, 256, True
    ).next_batch(8)
    options = micro_options([], None, face_source="other", face_drop_p=0.0, caption_drop_p=0.0)
    batch, missing = make_batch(samples, options, tokenizer, np.random.default_rng(0), index)
    assert missing == 0  # the fixtures hold 3 photos of each person
    for sample, embedding in zip(samples, batch.face_embedding.numpy(), strict=True):
        others = [e for k, e in index.by_identity[sample.identity] if k != sample.key]
        assert not np.array_equal(embedding, sample.embedding)
        assert any(np.array_equal(embedding, e) for e in others)


# ---------------------------------------------------------------------------------------------- DDP


def _ddp_worker(rank: int, world: int, port: int, shards, out, results):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world))
    info = init_distributed("cpu")
    try:
        result = train(micro_options(shards, out, max_steps=3, checkpoint_every=3), info)
        torch.save(
            {"models": flat(result.models), "ema": result.ema.state_dict()}, results / f"rank{rank}.pt"
        )
    finally:
        shutdown(info)


def test_ddp_two_gloo_ranks_keep_identical_weights(augmented_shards, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mp.spawn(_ddp_worker, args=(2, port, augmented_shards, tmp_path / "run", tmp_path), nprocs=2, join=True)
    rank0, rank1 = (torch.load(tmp_path / f"rank{r}.pt") for r in (0, 1))
    assert max_diff(rank0["models"], rank1["models"]) == 0.0
    assert max_diff(rank0["ema"], rank1["ema"]) == 0.0
    state = torch.load(latest_checkpoint(tmp_path / "run"), weights_only=False)
    # Global batch 4 over 2 ranks: each rank read 2 samples per step from its own shard.
    assert state["world_size"] == 2 and state["stream_positions"] == [(0, 6), (0, 6)]
    initial = build_models(MICRO, load_checkpoint_models(latest_checkpoint(tmp_path / "run")).vocabulary, 0)
    assert max_diff(rank0["models"], flat(initial)) > 0


def test_cached_decoding_gives_the_same_samples_bad_counts_and_positions(raw_shards, monkeypatch):
    """SampleReader(cache=True) over three epochs: the samples, order, bad-image counts and stream positions
    of the uncached reader, with each shard read from disk once instead of once per epoch."""
    reads: list[str] = []

    def counting_read(shard):
        reads.append(Path(shard).name)
        return read_samples(shard)

    monkeypatch.setattr(face0.data, "read_samples", counting_read)

    def run(cache: bool):
        reads.clear()
        reader = SampleReader(SampleStream(raw_shards, 0, 1, 0, 5), MICRO.image_size, 256, False, cache=cache)
        batches = []
        for _ in range(9):  # 72 good samples: 25 a pass, so three epochs
            batch = reader.next_batch(8)
            images = np.stack([s.image for s in batch])
            batches.append(([s.key for s in batch], images, reader.stream.position))
        return batches, reader.bad, sorted(reads)

    plain, plain_bad, plain_reads = run(cache=False)
    cached, cached_bad, cached_reads = run(cache=True)
    for (keys, images, position), (keys_c, images_c, position_c) in zip(plain, cached, strict=True):
        assert keys == keys_c and position == position_c
        np.testing.assert_array_equal(images, images_c)
    assert plain[-1][2].epoch == 2
    assert plain_bad == cached_bad >= 2 * len(BAD_MEMBERS)  # counted on every pass, cached or not
    assert plain_reads == sorted([p.name for p in raw_shards] * 3)
    assert cached_reads == sorted(p.name for p in raw_shards)


def test_ema_decay_warms_up_so_a_short_run_forgets_its_initialisation():
    param = nn.Parameter(torch.zeros(3))
    ema = EMA({"p": param}, 0.999)
    assert [ema.decay_at(s) for s in (0, 90)] == [pytest.approx(0.1), pytest.approx(0.91)]
    assert ema.decay_at(100_000) == 0.999
    with torch.no_grad():
        param.fill_(1.0)
    ema.update(0)
    assert ema.shadow["p"].tolist() == pytest.approx([0.9] * 3)  # 0.1 * init + 0.9 * weights
    for step in range(1, 1299):
        ema.update(step)
    # A fixed 0.999 would still hold 0.999^1299 = 27% of the zero initialisation here.
    assert ema.shadow["p"].min().item() > 0.99


def test_learning_rate_warms_up_holds_then_decays_by_cosine():
    options = micro_options([], None, lr=1e-3, lr_warmup=10, max_steps=100, lr_decay_from=60, lr_final=1e-4)
    assert learning_rate(0, options) == pytest.approx(1e-4)
    assert learning_rate(9, options) == pytest.approx(1e-3)
    assert learning_rate(60, options) == pytest.approx(1e-3)
    assert learning_rate(80, options) == pytest.approx(1e-4 + 0.9e-3 * 0.5)  # halfway: cos(pi/2) = 0
    assert learning_rate(100, options) == pytest.approx(1e-4)
    rates = [learning_rate(s, options) for s in range(60, 101)]
    assert all(a >= b for a, b in zip(rates[:-1], rates[1:], strict=True))
    assert learning_rate(99, micro_options([], None, lr=1e-3, max_steps=100)) == 1e-3
    # train-vae's schedule: cosine from the end of warm-up to lr_final at the last step
    assert scheduled_lr(0, 1e-3, 4, 4, 1e-5, 20) == pytest.approx(2.5e-4)
    assert scheduled_lr(4, 1e-3, 4, 4, 1e-5, 20) == pytest.approx(1e-3)
    assert scheduled_lr(12, 1e-3, 4, 4, 1e-5, 20) == pytest.approx(1e-5 + (1e-3 - 1e-5) / 2)
    assert scheduled_lr(20, 1e-3, 4, 4, 1e-5, 20) == pytest.approx(1e-5)


def test_resume_with_a_decay_added_later_equals_a_run_that_had_it_from_the_start(augmented_shards, tmp_path):
    """The schedule depends on the step alone: 3 constant-lr steps, then resume with --lr-decay-from 3,
    gives the weights of one 6-step run with the same schedule (tolerance 0)."""
    decay = dict(lr_decay_from=3, lr_final=1e-5)
    straight = train(
        micro_options(augmented_shards, tmp_path / "a", max_steps=6, checkpoint_every=3, **decay)
    )
    train(micro_options(augmented_shards, tmp_path / "b", max_steps=3, checkpoint_every=3))
    resumed = train(micro_options(augmented_shards, tmp_path / "b", max_steps=6, checkpoint_every=3, **decay))
    assert max_diff(flat(resumed.models), flat(straight.models)) == 0.0
    lrs = [json.loads(line)["lr"] for line in (tmp_path / "b" / "metrics.jsonl").read_text().splitlines()]
    assert lrs[:3] == [1e-3] * 3 and lrs[3] == 1e-3 and lrs[3] > lrs[4] > lrs[5] > 1e-5


def test_slim_checkpoints_keep_the_ema_weights_and_init_starts_a_new_phase(augmented_shards, tmp_path):
    """`slim` keeps a checkpoint's EMA weights without optimizer state (float32: exact; float16: within
    float16 rounding, relative 2^-11, the frozen VAE exact). `--init` from the float16 file starts at step 0
    with exactly those weights (float16 -> float32 is exact), its EMA equal to them and the warm-up from its
    first step."""
    train(micro_options(augmented_shards, tmp_path / "a", max_steps=3, checkpoint_every=3))
    full = latest_checkpoint(tmp_path / "a")
    slim_checkpoint(full, tmp_path / "slim32.pt")
    from face0.__main__ import main

    main(["slim", str(full), "--out", str(tmp_path / "slim16.pt"), "--float16"])
    ema_weights = flat(load_checkpoint_models(full))
    assert max_diff(flat(load_checkpoint_models(tmp_path / "slim32.pt")), ema_weights) == 0.0
    assert "optimizer" not in torch.load(tmp_path / "slim16.pt", weights_only=False)
    half = flat(load_checkpoint_models(tmp_path / "slim16.pt"))
    for name, weight in ema_weights.items():
        torch.testing.assert_close(half[name], weight, rtol=2**-11, atol=2**-24)
    assert max_diff(half, ema_weights) > 0  # it is float16: the check above is not vacuous
    vae = [k for k in ema_weights if k.startswith("vae.")]
    assert vae and max_diff({k: half[k] for k in vae}, {k: ema_weights[k] for k in vae}) == 0.0
    slim_checkpoint(full, tmp_path / "raw.pt", ema=False)
    raw = flat(load_checkpoint_models(tmp_path / "raw.pt"))
    assert max_diff(raw, flat(load_checkpoint_models(full, ema=False))) == 0.0
    assert max_diff(raw, ema_weights) > 0

    options = dict(init=tmp_path / "slim16.pt", lr_warmup=4, checkpoint_every=0)
    start = train(micro_options(augmented_shards, tmp_path / "b", max_steps=0, **options))
    assert start.step == 0 and max_diff(flat(start.models), half) == 0.0
    assert max_diff(start.ema.state_dict(), {k: half[k] for k in start.ema.shadow}) == 0.0
    phase = train(micro_options(augmented_shards, tmp_path / "c", max_steps=2, **options))
    assert sorted(phase.losses) == [1, 2]
    lrs = [json.loads(line)["lr"] for line in (tmp_path / "c" / "metrics.jsonl").read_text().splitlines()]
    assert lrs == pytest.approx([1e-3 / 4, 2e-3 / 4])

    # A new noise schedule is a fine-tune: the run's schedule replaces the checkpoint's (checkpoints too).
    linear = replace(MICRO, scheduler=replace(MICRO.scheduler, beta_schedule="linear", beta_end=0.02))
    moved = train(
        micro_options(
            augmented_shards,
            tmp_path / "f",
            **{**options, "max_steps": 1, "model": linear, "checkpoint_every": 1},
        )
    )
    assert moved.models.config.scheduler == linear.scheduler
    assert load_checkpoint_models(latest_checkpoint(tmp_path / "f")).config.scheduler == linear.scheduler
    with pytest.raises(ValueError, match="model configuration"):
        train(micro_options(augmented_shards, tmp_path / "d", init=full, model=replace(MICRO, name="other")))
    with pytest.raises(ValueError, match="brings its own VAE"):
        micro_options(augmented_shards, tmp_path / "e", init=full, vae=tmp_path / "vae.pt")


# ---------------------------------------------------------------------------------------------- GPU options


def test_bf16_and_gradient_checkpointing_match_float32(augmented_shards, tokenizer):
    """The GPU options run on CPU too: gradient checkpointing gives the float32 gradients (rtol 1e-4), and
    a bf16-autocast loss is within 1% of the float32 loss on the same batch, noise and timesteps (bfloat16
    keeps 8 bits of mantissa: ~0.4% per op, a few ops deep)."""
    samples = SampleReader(
        SampleStream(list(augmented_shards), 0, 1, 0, 1), MICRO.image_size, 256, False
    ).next_batch(4)
    options = micro_options(augmented_shards, None, face_drop_p=0.0, caption_drop_p=0.0)
    batch, _ = make_batch(samples, options, tokenizer, np.random.default_rng(0), None)

    def loss_and_grads(bf16: bool, checkpointing: bool) -> tuple[float, dict[str, torch.Tensor]]:
        models = fresh_models(options, tokenizer)
        if checkpointing:
            models.unet.enable_gradient_checkpointing()
        models.unet.train()
        denoiser, scheduler = Denoiser(models, True), ddpm_scheduler(models.config)
        generator = torch.Generator().manual_seed(5)
        loss, _ = diffusion_loss(denoiser, models.vae, scheduler, batch, generator, torch.device("cpu"), bf16)
        loss.backward()
        grads = {n: p.grad.detach().clone() for n, p in models.unet.named_parameters() if p.grad is not None}
        return float(loss.detach()), grads

    plain_loss, plain_grads = loss_and_grads(False, False)
    checkpointed_loss, checkpointed_grads = loss_and_grads(False, True)
    bf16_loss, bf16_grads = loss_and_grads(True, True)
    assert checkpointed_loss == pytest.approx(plain_loss, rel=1e-6)
    assert plain_grads.keys() == checkpointed_grads.keys() and len(plain_grads) > 10
    for name, grad in plain_grads.items():
        torch.testing.assert_close(checkpointed_grads[name], grad, rtol=1e-4, atol=1e-7, msg=name)
    print(f"loss float32 {plain_loss:.5f}, bf16 {bf16_loss:.5f}")
    assert bf16_loss == pytest.approx(plain_loss, rel=0.01)
    assert all(torch.isfinite(g).all() for g in bf16_grads.values())


@pytest.mark.parametrize("launcher", ["torchrun", "accelerate"])
def test_the_documented_launchers_run_two_ranks(launcher, augmented_shards, tmp_path, micro_config_file):
    """docs/training.md's multi-process commands, as written (`torchrun ... -m face0 train`, `accelerate
    launch ... -m face0 train`), on 2 CPU processes: one process group of 2, rank 0 alone logs and saves."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = str(s.getsockname()[1])
    launch = {
        "torchrun": [
            sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", port,
        ],
        "accelerate": [
            # accelerate's --cpu means one process (or mpirun); --multi_gpu is its torchrun path, which
            # the GPU command uses and which runs on CPU too.
            sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
            "--num_machines", "1", "--main_process_port", port, "--mixed_precision", "no",
            "--dynamo_backend", "no",
        ],
    }[launcher]  # fmt: skip
    run_dir = tmp_path / "run"
    args = [
        "-m", "face0", "train", *map(str, augmented_shards), "--out", str(run_dir), "--config",
        str(micro_config_file), "--max-steps", "2", "--global-batch", "4", "--checkpoint-every", "2",
        "--log-every", "1", "--shuffle-buffer", "8", "--threads", "1", "--device", "cpu",
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "ACCELERATE_CONFIG_FILE": str(tmp_path / "none.yaml")}
    done = subprocess.run(
        [*launch, *args], cwd=TRAIN_DIR, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    state = torch.load(latest_checkpoint(run_dir), weights_only=False)
    assert state["world_size"] == 2 and state["step"] == 2
    assert state["stream_positions"] == [(0, 4), (0, 4)]
    logged = [json.loads(line)["step"] for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert logged == [1, 2]


def test_bench_reports_a_rate_and_flops_per_sample_that_scale_with_the_image():
    """`python -m face0 bench`: FLOPs per sample do not depend on the batch, and doubling the image side
    multiplies them by about 4 (convolutions 4x, attention more, text encoder and projector not at all)."""
    from face0.bench import bench

    torch.set_num_threads(1)
    rate, flops = bench(MICRO, batch=1, steps=1, warmup=0, bf16=False, gradient_checkpointing=False)
    _, flops_batch2 = bench(MICRO, batch=2, steps=1, warmup=0, bf16=False, gradient_checkpointing=False)
    big = replace(MICRO, image_size=2 * MICRO.image_size)
    _, flops_big = bench(big, batch=1, steps=1, warmup=0, bf16=False, gradient_checkpointing=False)
    assert rate > 0 and flops > 0
    assert flops_batch2 == pytest.approx(flops, rel=1e-6)
    assert 3.0 < flops_big / flops < 4.5, flops_big / flops
