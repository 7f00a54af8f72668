"""The training file formats: checkpoints (`train`'s run folder, and `slim` ones without optimizer state,
which export, sample, evaluate and `--init` read) and train-vae files (a VAE and its latent scaling factor).

A checkpoint's step, data-stream positions, weights, EMA and optimizer state are the whole training state
(face0.train resumes from it exactly). Files written before a change here must still load.
"""

import dataclasses
import os
from dataclasses import asdict
from pathlib import Path

import torch

from face0.config_json import config_from_dict
from face0.models import CompactVocabulary, Face0Models

CHECKPOINT_FORMAT = "face0-checkpoint"
VAE_FORMAT = "face0-vae"
CHECKPOINT_DIR = "checkpoints"
# The keys of TAEF2's published (frozen) weights in a checkpoint.
TAEF2_WEIGHTS = ("vae.encoder.", "vae.decoder.")


# ---------------------------------------------------------------------------------------------- checkpoints


def checkpoint_path(out: Path, step: int) -> Path:
    return out / CHECKPOINT_DIR / f"step-{step:08d}.pt"


def latest_checkpoint(out: Path) -> Path | None:
    found = sorted((out / CHECKPOINT_DIR).glob("step-*.pt"))
    return found[-1] if found else None


def save_atomic(obj, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def read_checkpoint(path: Path) -> dict:
    state = torch.load(path, map_location="cpu", weights_only=False)
    if state.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path}: not a {CHECKPOINT_FORMAT} file")
    return state


def load_checkpoint_models(path: Path, ema: bool = True) -> Face0Models:
    """Face0Models from a training checkpoint, with the EMA weights unless ema=False."""
    state = read_checkpoint(path)
    config = config_from_dict(state["model_config"])
    # A slim checkpoint leaves out TAEF2's published weights (frozen): they come from ../shared again.
    pretrained = config.vae.kind == "taef2" and not any(k.startswith(TAEF2_WEIGHTS) for k in state["models"])
    models = Face0Models(config, CompactVocabulary(tuple(state["vocabulary"])), pretrained_vae=pretrained)
    models.load_state_dict(state["models"], strict=not pretrained)
    missing = set(models.state_dict()) - set(state["models"])
    if any(not k.startswith(TAEF2_WEIGHTS) for k in missing):
        raise ValueError(f"{path}: weights missing: {sorted(missing)[:5]}")
    if ema:
        with torch.no_grad():
            params = dict(models.named_parameters())
            for name, tensor in state["ema"].items():
                params[name].copy_(tensor)
    return models


def slim_checkpoint(path: Path, out: Path, dtype: torch.dtype = torch.float32, ema: bool = True) -> None:
    """`path`'s models with their EMA weights (raw ones if not `ema`), without optimizer state: what export,
    sample and `--init` read. Floating-point tensors are stored as `dtype` (float16 halves a file that has
    to travel), except the frozen VAE's: it defines the latents, and export checks a fine-tuned decoder's
    encoder against it exactly."""
    state = read_checkpoint(path)
    weights = {**state["models"], **state["ema"]} if ema else state["models"]
    if state["model_config"]["vae"].get("kind") == "taef2":
        # TAEF2's published weights are frozen and in ../shared/pretrained; its latent statistics stay.
        weights = {k: v for k, v in weights.items() if not k.startswith(TAEF2_WEIGHTS)}
    cast = {k for k, v in weights.items() if v.is_floating_point() and not k.startswith("vae.")}
    state["models"] = {k: v.to(dtype) if k in cast else v for k, v in weights.items()}
    state["ema"] = {}
    state.pop("optimizer", None)
    save_atomic(state, out)


def save_checkpoint(out, step, models, ema, optimizer, positions, info, nan_skipped, bad, options) -> None:
    state = {
        "format": CHECKPOINT_FORMAT,
        "step": step,
        "model_config": asdict(models.config),
        "vocabulary": list(models.vocabulary.clip_ids),
        "models": {k: v.cpu() for k, v in models.state_dict().items()},
        "ema": ema.state_dict(),
        "optimizer": optimizer.state_dict(),
        "world_size": info.world_size,
        "stream_positions": positions,
        "nan_skipped": nan_skipped,
        "bad_images": bad,
        "options": {
            k: str(v) for k, v in asdict(options).items() if k not in ("model", "vocabulary_captions")
        },
    }
    save_atomic(state, checkpoint_path(out, step))
    kept = sorted((out / CHECKPOINT_DIR).glob("step-*.pt"))
    for old in kept[: -options.keep_checkpoints]:
        old.unlink()


# -------------------------------------------------------------------------------------------- train-vae files


def read_vae_file(path: Path) -> dict:
    state = torch.load(path, map_location="cpu", weights_only=False)
    if state.get("format") != VAE_FORMAT:
        raise ValueError(f"{path}: not a {VAE_FORMAT} file")
    return state


def load_vae(models: Face0Models, path: Path) -> Face0Models:
    """Models whose VAE (and config's scaling factor) come from a train-vae file."""
    state = read_vae_file(path)
    vae_config = dataclasses.replace(models.config.vae, scaling_factor=state["scaling_factor"])
    config = dataclasses.replace(models.config, vae=vae_config)
    models.config = config
    models.vae.load_state_dict(state["vae"])
    models.vae.register_to_config(scaling_factor=state["scaling_factor"])
    return models


def encoder_keys(vae_state: dict) -> list[str]:
    """The VAE tensors that produce latents (diffusers AutoencoderKL names)."""
    return [k for k in vae_state if k.startswith(("encoder.", "quant_conv."))]


def replace_vae_decoder(models: Face0Models, path: Path) -> Face0Models:
    """Models whose VAE decoder comes from a `train-vae --decoder-only` file. The U-Net was trained on the
    encoder's latents, so that file's encoder and scaling factor must be exactly the models' own."""
    state = read_vae_file(path)
    own = models.vae.state_dict()
    changed = [k for k in encoder_keys(own) if not torch.equal(own[k].cpu(), state["vae"][k])]
    if changed or state["scaling_factor"] != models.config.vae.scaling_factor:
        raise ValueError(
            f"{path}: its encoder or scaling factor differs from the model's ({len(changed)} encoder "
            f"tensors differ; scaling factor {state['scaling_factor']} vs "
            f"{models.config.vae.scaling_factor}). Only a decoder fine-tuned from this model's VAE "
            "(train-vae --init ... --decoder-only) can replace its decoder"
        )
    models.vae.load_state_dict(state["vae"])
    return models
