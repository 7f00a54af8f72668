"""U-Net context rows for a guidance plan (mirror of src/diffusion/context.ts)."""

from collections.abc import Sequence

import torch

from face0.guidance import Condition
from face0.models import insert_face_tokens


def build_contexts(
    text_cond: torch.Tensor,
    text_empty: torch.Tensor,
    face_tokens: torch.Tensor | None,
    positions: Sequence[int],
    conditions: Sequence[Condition],
) -> torch.Tensor:
    """(L, D) prompt and empty-prompt encodings -> (n, L, D), one row per condition.

    The face positions hold face_tokens (len(positions), D) for *_face conditions and zeros for
    *_noface ones, exactly as in training (insert_face_tokens).
    """
    if text_cond.ndim != 2 or text_cond.shape != text_empty.shape:
        raise ValueError(f"text encodings must both be (L, D); got {text_cond.shape} and {text_empty.shape}")
    length, width = text_cond.shape
    if len(set(positions)) != len(positions) or any(not 0 <= p < length for p in positions):
        raise ValueError(f"face token positions {list(positions)} must be distinct and within [0, {length})")
    has_face = torch.tensor([cond.endswith("_face") for cond in conditions])
    if face_tokens is None:
        if has_face.any():
            raise ValueError(f"conditions {list(conditions)} need face tokens")
        face_tokens = text_cond.new_zeros(len(positions), width)
    if face_tokens.shape != (len(positions), width):
        raise ValueError(f"face tokens must be ({len(positions)}, {width}); got {tuple(face_tokens.shape)}")
    texts = torch.stack([text_cond if cond.startswith("text_") else text_empty for cond in conditions])
    tokens = face_tokens.to(texts.dtype).expand(len(conditions), -1, -1)
    return insert_face_tokens(texts, tokens, has_face, positions)
