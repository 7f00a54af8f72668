"""Writes tests/golden/pipeline.json: what src/engineWorker/pipeline.ts must produce when its graphs are
the small closed-form functions below (the same formulas are in tests/unit/pipeline.test.ts).

Independent of the TypeScript: guidance is the Face0 formula evaluated per condition (no batching
or plan), contexts are built by hand, and the scheduler is diffusers' DDIMScheduler.

Run from training/: ../.venv/bin/python -m face0.goldens_pipeline
"""

import math

import numpy as np
import torch
from diffusers import DDIMScheduler

from face0.goldens import golden_arguments, write_golden
from face0.goldens_diffusion import DDIM_CONFIGS
from face0.rng import Rng

L, D, C, H, IMAGE, E = 77, 8, 4, 4, 8, 6
POSITIONS = [74, 75, 76]
BOS, EOS, PAD = 49406, 49407, 0
VAE_SCALING = 0.5


def encode_ids(prompt: str) -> np.ndarray:
    """Test tokenizer: bos, (char code mod 1000) + 1 per character (at most 72), eos, padding."""
    body = [ord(ch) % 1000 + 1 for ch in prompt[:72]]
    ids = [BOS, *body, EOS]
    return np.array(ids + [PAD] * (L - len(ids)), dtype=np.int64)


def text_encoder(ids: np.ndarray) -> np.ndarray:
    """(L,) ids -> (L, D): 0.5 * sin(0.001 * id * (d + 1) + 0.1 * l)."""
    l_idx = np.arange(L)[:, None]
    d_idx = np.arange(D)[None, :]
    return 0.5 * np.sin(0.001 * ids[:, None].astype(np.float64) * (d_idx + 1) + 0.1 * l_idx)


def face_projector(emb: np.ndarray) -> np.ndarray:
    """(E,) -> (3, D): tanh(sum_e emb[e] * cos(e + 2k + 3d) / 2)."""
    e = np.arange(E)[:, None, None]
    k = np.arange(3)[None, :, None]
    d = np.arange(D)[None, None, :]
    return np.tanh((emb[:, None, None].astype(np.float64) * np.cos(e + 2 * k + 3 * d)).sum(0) / 2)


def unet(sample: np.ndarray, t: float, ctx: np.ndarray) -> np.ndarray:
    """(C, H, H), t, (L, D) -> 0.9 * sample + 0.0005 * t + s[c],
    s[c] = (1 / L) * sum_{l, d} ctx[l, d] * cos(0.1 l + 0.7 d + 1.3 c)."""
    l_idx = np.arange(L)[:, None, None]
    d_idx = np.arange(D)[None, :, None]
    c_idx = np.arange(C)[None, None, :]
    s = (ctx[:, :, None] * np.cos(0.1 * l_idx + 0.7 * d_idx + 1.3 * c_idx)).sum((0, 1)) / L
    return 0.9 * sample.astype(np.float64) + 0.0005 * t + s[:, None, None]


def vae_decoder(z: np.ndarray) -> np.ndarray:
    """(C, H, H) -> (3, IMAGE, IMAGE): tanh(0.1 z[ch, y // 2, x // 2] (1 + 0.1 ch) + 0.05 x - 0.03 y)."""
    ch = np.arange(3)[:, None, None]
    y = np.arange(IMAGE)[None, :, None]
    x = np.arange(IMAGE)[None, None, :]
    up = z[:3].astype(np.float64).repeat(2, axis=1).repeat(2, axis=2)
    return np.tanh(0.1 * up * (1 + 0.1 * ch) + 0.05 * x - 0.03 * y)


def context(text: np.ndarray, face: np.ndarray | None) -> np.ndarray:
    row = text.copy()
    row[POSITIONS] = 0.0 if face is None else face
    return row


def run_case(case: dict) -> dict:
    emb = None if case["face_embedding"] is None else np.array(case["face_embedding"], dtype=np.float32)
    text_d = text_encoder(encode_ids(case["prompt"])).astype(np.float32)
    text_0 = text_encoder(encode_ids("")).astype(np.float32)
    face = None if emb is None else face_projector(emb).astype(np.float32)
    w, c, a = case["w"], case["c"], case["a"]
    sched_cfg = {k: v for k, v in case["scheduler"].items() if k != "kind"}
    scheduler = DDIMScheduler(**sched_cfg)
    scheduler.set_timesteps(case["steps"])
    latents = torch.from_numpy(Rng(case["seed"]).normal(C * H * H).reshape(C, H, H))
    for t in scheduler.timesteps:
        z = latents.numpy()
        e_df, e_0f = unet(z, float(t), context(text_d, face)), unet(z, float(t), context(text_0, face))
        e_d0, e_00 = unet(z, float(t), context(text_d, None)), unet(z, float(t), context(text_0, None))
        eps = w * (c * e_df + (1 - c) * (a * e_0f + (1 - a) * e_d0)) + (1 - w) * e_00
        latents = scheduler.step(torch.from_numpy(eps.astype(np.float32)), t, latents).prev_sample
    image = vae_decoder(latents.numpy() / VAE_SCALING)
    rgba = np.full((IMAGE, IMAGE, 4), 255, dtype=np.int64)
    rgba[..., :3] = np.round(np.clip(image / 2 + 0.5, 0, 1) * 255).astype(np.int64).transpose(1, 2, 0)
    return {
        "timesteps": [int(t) for t in scheduler.timesteps],
        "final_latents": [float(v) for v in latents.numpy().ravel()],
        "rgba": [int(v) for v in rgba.ravel()],
    }


SCHED_LEADING = {"kind": "ddim", **DDIM_CONFIGS[0]}  # Stable Diffusion's
SCHED_TRAILING = {
    **SCHED_LEADING,
    "beta_schedule": "linear",
    "beta_start": 0.0001,
    "beta_end": 0.02,
    "set_alpha_to_one": True,
    "steps_offset": 0,
    "timestep_spacing": "trailing",
}

FACE = [round(math.sin(1.7 * i + 0.3), 6) for i in range(E)]

CASES = [
    # Four conditions: every term of the Face0 formula has a non-zero weight.
    {
        "name": "face_all_terms",
        "prompt": "a photo of a person",
        "face_embedding": FACE,
        "w": 3.0,
        "c": 0.6,
        "a": 0.25,
        "steps": 6,
        "seed": 7,
        "scheduler": SCHED_LEADING,
        "batch": 4,
    },
    # c=1, a=0 with a face: text_face and empty_noface only.
    {
        "name": "face_c1_a0",
        "prompt": "portrait, smiling",
        "face_embedding": FACE,
        "w": 2.5,
        "c": 1.0,
        "a": 0.0,
        "steps": 3,
        "seed": -5,
        "scheduler": SCHED_TRAILING,
        "batch": 2,
    },
    # Without a face the *_face terms merge into their *_noface twins: two rows.
    {
        "name": "no_face",
        "prompt": "a smiling face",
        "face_embedding": None,
        "w": 2.0,
        "c": 0.5,
        "a": 0.5,
        "steps": 4,
        "seed": 123,
        "scheduler": SCHED_LEADING,
        "batch": 2,
    },
]


def main() -> None:
    args = golden_arguments(__doc__, "pipeline.json").parse_args()
    out = {
        "dims": {
            "L": L,
            "D": D,
            "C": C,
            "H": H,
            "image_size": IMAGE,
            "E": E,
            "positions": POSITIONS,
            "bos": BOS,
            "eos": EOS,
            "pad": PAD,
            "vae_scaling_factor": VAE_SCALING,
        },
        "cases": [{**case, **run_case(case)} for case in CASES],
    }
    write_golden(args.out, out, indent=1)


if __name__ == "__main__":
    main()
