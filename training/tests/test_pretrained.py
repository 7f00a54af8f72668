"""`--pretrained`: Face0 models from a Stable Diffusion 1.x diffusers-layout directory.

Real SD weights cannot be downloaded here, so the directory is written the way runwayml/stable-diffusion-v1-5
is laid out (model_index.json, unet/, vae/, text_encoder/ with a 49408-token CLIPTextModel in SD 1.5's
transformers-4 key names, tokenizer/ with CLIP's vocab.json + merges.txt, scheduler/ with a PNDMScheduler)
from micro-sized, randomly initialised diffusers/transformers models. SD 1.5's own configs (no weights) check
that the real directory derives the `sd15` shapes.
"""

import argparse
import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch
from conftest import export_checkpoint
from diffusers import AutoencoderKL, PNDMScheduler, UNet2DConditionModel
from safetensors.torch import load_file, save_file
from transformers import CLIPTextConfig, CLIPTextModel

from face0 import export
from face0 import train as train_stage
from face0.checkpoints import latest_checkpoint, load_checkpoint_models
from face0.clip_vocab import clip_tokenizer
from face0.configs import DATA_DIR, SD15, SchedulerConfig
from face0.diffusion_loss import ddpm_scheduler
from face0.models import CLIP_BOS_ID, CLIP_EOS_ID, FULL_VOCABULARY
from face0.pretrained import load_pretrained_models, pretrained_model_config

CLIP_DIR = DATA_DIR / "clip"  # vocab.json + merges.txt: the files of SD 1.5's tokenizer/ folder

WIDTH = 32  # text width = cross_attention_dim
SCALING_FACTOR = 0.37  # not SD's 0.18215, so carrying it is visible
# Not SD's schedule (scaled_linear 0.00085..0.012) either, so the bundle spec visibly comes from the file.
SCHEDULE = dict(beta_schedule="linear", beta_start=0.0001, beta_end=0.02)

PROMPTS = [
    "a photo of a smiling woman with blond hair",
    "an astronaut riding a horse on mars, oil painting by Rembrandt",  # words no CelebA caption has
    "",
]

MODEL_INDEX = {
    "_class_name": "StableDiffusionPipeline",
    "_diffusers_version": "0.6.0",
    "feature_extractor": ["transformers", "CLIPImageProcessor"],
    "safety_checker": ["stable_diffusion", "StableDiffusionSafetyChecker"],
    "scheduler": ["diffusers", "PNDMScheduler"],
    "text_encoder": ["transformers", "CLIPTextModel"],
    "tokenizer": ["transformers", "CLIPTokenizer"],
    "unet": ["diffusers", "UNet2DConditionModel"],
    "vae": ["diffusers", "AutoencoderKL"],
}
TOKENIZER_CONFIG = {
    "tokenizer_class": "CLIPTokenizer",
    "model_max_length": 77,
    "do_lower_case": True,
    "bos_token": "<|startoftext|>",
    "eos_token": "<|endoftext|>",
    "unk_token": "<|endoftext|>",
    "pad_token": "<|endoftext|>",
}
CROSS_DOWN = ("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",)
CROSS_UP = ("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3
# runwayml/stable-diffusion-v1-5's config files as published (diffusers 0.6.0, transformers 4.22).
SD15_FILES = {
    "unet/config.json": {
        "_class_name": "UNet2DConditionModel", "_diffusers_version": "0.6.0", "act_fn": "silu",
        "attention_head_dim": 8, "block_out_channels": [320, 640, 1280, 1280], "center_input_sample": False,
        "cross_attention_dim": 768, "down_block_types": list(CROSS_DOWN), "downsample_padding": 1,
        "flip_sin_to_cos": True, "freq_shift": 0, "in_channels": 4, "layers_per_block": 2,
        "mid_block_scale_factor": 1, "norm_eps": 1e-05, "norm_num_groups": 32, "out_channels": 4,
        "sample_size": 64, "up_block_types": list(CROSS_UP),
    },
    "vae/config.json": {
        "_class_name": "AutoencoderKL", "_diffusers_version": "0.6.0", "act_fn": "silu",
        "block_out_channels": [128, 256, 512, 512], "down_block_types": ["DownEncoderBlock2D"] * 4,
        "in_channels": 3, "latent_channels": 4, "layers_per_block": 2, "norm_num_groups": 32,
        "out_channels": 3, "sample_size": 512, "up_block_types": ["UpDecoderBlock2D"] * 4,
    },
    "text_encoder/config.json": {
        "_name_or_path": "openai/clip-vit-large-patch14", "architectures": ["CLIPTextModel"],
        "attention_dropout": 0.0, "bos_token_id": 0, "dropout": 0.0, "eos_token_id": 2,
        "hidden_act": "quick_gelu", "hidden_size": 768, "initializer_factor": 1.0, "initializer_range": 0.02,
        "intermediate_size": 3072, "layer_norm_eps": 1e-05, "max_position_embeddings": 77,
        "model_type": "clip_text_model", "num_attention_heads": 12, "num_hidden_layers": 12,
        "pad_token_id": 1, "projection_dim": 768, "torch_dtype": "float32",
        "transformers_version": "4.22.0.dev0", "vocab_size": 49408,
    },
    "scheduler/scheduler_config.json": {
        "_class_name": "PNDMScheduler", "_diffusers_version": "0.6.0", "beta_end": 0.012,
        "beta_schedule": "scaled_linear", "beta_start": 0.00085, "num_train_timesteps": 1000,
        "set_alpha_to_one": False, "skip_prk_steps": True, "steps_offset": 1, "trained_betas": None,
        "clip_sample": False,
    },
}  # fmt: skip


def write_json(path: Path, value: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=2))


def write_tokenizer_and_index(directory: Path) -> None:
    write_json(directory / "model_index.json", MODEL_INDEX)
    (directory / "tokenizer").mkdir(parents=True, exist_ok=True)
    for name in ("vocab.json", "merges.txt"):
        shutil.copyfile(CLIP_DIR / name, directory / "tokenizer" / name)
    write_json(directory / "tokenizer" / "tokenizer_config.json", TOKENIZER_CONFIG)


def write_sd_directory(directory: Path) -> None:
    """A micro SD 1.x directory: 32x32 images, 8x8x4 latents, context width 32, random weights."""
    torch.manual_seed(0)
    write_tokenizer_and_index(directory)
    clip = CLIPTextModel(
        CLIPTextConfig(
            vocab_size=49408, hidden_size=WIDTH, intermediate_size=64, num_hidden_layers=2,
            num_attention_heads=2, max_position_embeddings=77, hidden_act="quick_gelu",
            bos_token_id=0, eos_token_id=2, pad_token_id=1, projection_dim=WIDTH,
        )
    )  # fmt: skip
    clip.save_pretrained(directory / "text_encoder")
    # SD 1.5's text encoder file has transformers-4 names (text_model.*) and the position_ids buffer.
    weights = directory / "text_encoder" / "model.safetensors"
    state = {f"text_model.{k}": v for k, v in load_file(weights).items()}
    state["text_model.embeddings.position_ids"] = torch.arange(77)[None]
    save_file(state, weights, metadata={"format": "pt"})
    UNet2DConditionModel(
        sample_size=8, block_out_channels=(32, 64), layers_per_block=1, attention_head_dim=2,
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"), cross_attention_dim=WIDTH,
    ).save_pretrained(directory / "unet")  # fmt: skip
    AutoencoderKL(
        block_out_channels=(32, 32, 32), down_block_types=("DownEncoderBlock2D",) * 3,
        up_block_types=("UpDecoderBlock2D",) * 3, layers_per_block=1, latent_channels=4, sample_size=32,
        scaling_factor=SCALING_FACTOR,
    ).save_pretrained(directory / "vae")  # fmt: skip
    PNDMScheduler(**SCHEDULE, set_alpha_to_one=False, skip_prk_steps=True, steps_offset=1).save_pretrained(
        directory / "scheduler"
    )


@pytest.fixture(scope="module")
def sd_dir(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("sd") / "micro-sd"
    write_sd_directory(directory)
    return directory


@pytest.fixture(scope="module")
def pretrained(sd_dir):
    return load_pretrained_models(sd_dir, seed=0).eval()


@pytest.fixture(scope="module")
def reference_clip(sd_dir):
    # Eager attention, as face0.models.TextEncoder uses (it traces to plain MatMul/Softmax for ONNX).
    return CLIPTextModel.from_pretrained(sd_dir / "text_encoder", attn_implementation="eager").eval()


def config_only_copy(sd_dir: Path, out: Path) -> Path:
    shutil.copytree(sd_dir, out, ignore=shutil.ignore_patterns("*.safetensors", "*.bin"))
    return out


def prompt_ids() -> torch.Tensor:
    """Real CLIP ids of PROMPTS, then rows of random words from the whole vocabulary."""
    tokenizer = clip_tokenizer(SD15.face_token_positions)
    ids = torch.from_numpy(tokenizer(PROMPTS))
    random_words = torch.randint(CLIP_BOS_ID, (2, 77), generator=torch.Generator().manual_seed(0))
    random_words[:, 0], random_words[:, -1] = CLIP_BOS_ID, CLIP_EOS_ID
    return torch.cat([ids, random_words])


def test_model_config_comes_from_the_directory(sd_dir):
    config = pretrained_model_config(sd_dir)
    assert config.name == "micro-sd"
    assert (config.image_size, config.latent_size, config.context_width) == (32, 8, WIDTH)
    assert (config.text_encoder.width, config.text_encoder.layers, config.text_encoder.heads) == (WIDTH, 2, 2)
    assert config.text_encoder.intermediate == 64 and config.text_encoder.hidden_act == "quick_gelu"
    assert config.unet.block_out_channels == (32, 64) and config.unet.attention_heads == 2
    assert config.vae.block_out_channels == (32, 32, 32) and config.vae.scaling_factor == SCALING_FACTOR
    # The noise schedule is the directory's, in the bundle spec (as DDIM settings) and in training.
    expected = dataclasses.replace(SchedulerConfig(), **SCHEDULE)
    assert config.scheduler == expected
    file_betas = PNDMScheduler.from_pretrained(sd_dir, subfolder="scheduler").betas
    assert torch.equal(ddpm_scheduler(config).betas, file_betas)


def test_stable_diffusion_1_5_configs_derive_the_sd15_configuration(tmp_path):
    directory = tmp_path / "stable-diffusion-v1-5"
    write_tokenizer_and_index(directory)
    for name, value in SD15_FILES.items():
        write_json(directory / name, value)
    # vae/config.json has no scaling_factor: diffusers' default, SD's 0.18215.
    assert pretrained_model_config(directory) == dataclasses.replace(SD15, name="stable-diffusion-v1-5")


def test_text_encoder_outputs_what_the_pretrained_clip_outputs(pretrained, reference_clip):
    """Full vocabulary: every real CLIP id reaches its own pretrained row. Same weights and the same
    operations, so the outputs are equal bit for bit (tolerance 0)."""
    assert pretrained.vocabulary == FULL_VOCABULARY and pretrained.vocabulary.size == 49409
    ids = prompt_ids()
    with torch.no_grad():
        got = pretrained.text_encoder(ids)
        want = reference_clip(input_ids=ids).last_hidden_state
    assert want.abs().max() > 0.1
    assert torch.equal(got, want)


def test_unet_and_vae_decoder_equal_the_pretrained_ones(pretrained, sd_dir):
    """Same weights, same diffusers modules: equal outputs (tolerance 0)."""
    unet = UNet2DConditionModel.from_pretrained(sd_dir, subfolder="unet").eval()
    vae = AutoencoderKL.from_pretrained(sd_dir, subfolder="vae").eval()
    g = torch.Generator().manual_seed(1)
    latents = torch.randn(2, 4, 8, 8, generator=g)
    context = torch.randn(2, 77, WIDTH, generator=g)
    timesteps = torch.tensor([10.0, 900.0])
    with torch.no_grad():
        got = pretrained.unet(latents, timesteps, context).sample
        want = unet(latents, timesteps, context).sample
        decoded = pretrained.vae.decode(latents).sample
        decoded_want = vae.decode(latents).sample
    assert want.abs().max() > 0.1 and decoded_want.abs().max() > 0.1
    assert torch.equal(got, want) and torch.equal(decoded, decoded_want)
    assert pretrained.vae.config.scaling_factor == SCALING_FACTOR


def test_face_tokens_replace_positions_74_to_76_of_the_pretrained_context(pretrained, reference_clip):
    ids = prompt_ids()[:2]
    faces = torch.randn(2, 256, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        context = pretrained.context(ids, faces, torch.tensor([True, False]))
        text = reference_clip(input_ids=ids).last_hidden_state
        tokens = pretrained.face_projector(faces)
    assert torch.equal(context[:, :74], text[:, :74])
    assert torch.equal(context[0, 74:], tokens[0])
    assert torch.equal(context[1, 74:], torch.zeros(3, WIDTH))


@pytest.mark.parametrize(
    ("file", "edit", "field"),
    [
        ("text_encoder/config.json", {"max_position_embeddings": 100}, "max_position_embeddings"),
        ("text_encoder/config.json", {"layer_norm_eps": 1e-6}, "layer_norm_eps"),
        ("unet/config.json", {"cross_attention_dim": 48}, "cross_attention_dim"),
        ("unet/config.json", {"use_linear_projection": True}, "use_linear_projection"),  # SD 2.x
        ("unet/config.json", {"in_channels": 9}, "in_channels"),  # inpainting
        ("scheduler/scheduler_config.json", {"prediction_type": "v_prediction"}, "prediction_type"),
        ("scheduler/scheduler_config.json", {"beta_schedule": "squaredcos_cap_v2"}, "beta_schedule"),
        (
            "model_index.json",
            {"text_encoder": ["transformers", "CLIPTextModelWithProjection"]},
            "text_encoder",
        ),
        ("tokenizer/vocab.json", {"a</w>": 1125, "photo</w>": 320}, "vocabulary"),
    ],
)
def test_refuses_what_the_face0_graphs_cannot_express(sd_dir, tmp_path, file, edit, field):
    directory = config_only_copy(sd_dir, tmp_path / "edited")
    path = directory / file
    write_json(path, {**json.loads(path.read_text()), **edit})
    with pytest.raises(ValueError, match=field) as refused:
        pretrained_model_config(directory)
    assert str(path.parent if file.startswith("tokenizer") else path) in str(refused.value)


# The tracer warns about shape checks in diffusers/transformers code (as in test_export).
@pytest.mark.filterwarnings("ignore::torch.jit.TracerWarning")
def test_train_resume_and_export_from_a_pretrained_directory(augmented_shards, sd_dir, pretrained, tmp_path):
    """`train --pretrained`: U-Net and projector trained, VAE and CLIP frozen; checkpoints keep the full
    vocabulary and resume; `export --checkpoint` gives a valid bundle with the directory's schedule."""
    parser = argparse.ArgumentParser()
    train_stage.add_arguments(parser)
    run = tmp_path / "run"

    def argv(steps: int) -> list[str]:
        return [
            *map(str, augmented_shards), "--out", str(run), "--pretrained", str(sd_dir),
            "--max-steps", str(steps), "--global-batch", "4", "--lr", "1e-3", "--ema-decay", "0.5",
            "--checkpoint-every", "1", "--shuffle-buffer", "8", "--threads", "1", "--device", "cpu",
        ]  # fmt: skip

    with pytest.raises(ValueError, match="--vae"):
        train_stage.run(parser.parse_args([*argv(2), "--vae", "vae.pt"]))
    train_stage.run(parser.parse_args(argv(2)))
    first = torch.load(latest_checkpoint(run), map_location="cpu", weights_only=False)
    assert first["step"] == 2 and first["options"]["train_text_encoder"] == "False"
    assert first["vocabulary"] == list(FULL_VOCABULARY.clip_ids)
    train_stage.run(parser.parse_args(argv(3)))  # resumes from step 2
    checkpoint = latest_checkpoint(run)
    assert torch.load(checkpoint, map_location="cpu", weights_only=False)["step"] == 3

    trained = load_checkpoint_models(checkpoint, ema=False)
    assert trained.vocabulary == FULL_VOCABULARY and trained.config == pretrained.config
    before, after = pretrained.state_dict(), trained.state_dict()
    for part, frozen in (
        ("text_encoder.", True),
        ("vae.", True),
        ("unet.", False),
        ("face_projector.mlp", False),
    ):
        same = all(torch.equal(before[k], after[k]) for k in before if k.startswith(part))
        assert same == frozen, part

    out = tmp_path / "bundle"
    manifest = export_checkpoint(checkpoint, out, "sd")
    assert manifest["scheduler"] == {"kind": "ddim", **dataclasses.asdict(pretrained.config.scheduler)}
    assert manifest["scheduler"]["beta_schedule"] == "linear"
    assert manifest["vae_scaling_factor"] == SCALING_FACTOR and manifest["image_size"] == 32
    assert manifest["vocabulary_seen"] == []
    # The exported text encoder still reads real CLIP ids as the pretrained CLIP does; float32 graphs are
    # held to export's GRAPH_TOLERANCE (1e-4 x max(1, |output|)).
    ids = prompt_ids()
    session = ort.InferenceSession(str(out / "text_encoder.onnx"), providers=["CPUExecutionProvider"])
    (states,) = session.run(None, {"input_ids": ids.numpy()})
    with torch.no_grad():
        want = CLIPTextModel.from_pretrained(sd_dir / "text_encoder").eval()(input_ids=ids).last_hidden_state
    assert np.abs(states - want.numpy()).max() <= export.GRAPH_TOLERANCE * max(1.0, float(want.abs().max()))
