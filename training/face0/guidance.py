"""Face0 guidance as a weighted sum of U-Net predictions (mirror of src/diffusion/guidance.ts).

eps = w*eps_F + (1-w)*eps(z, 0, 0), eps_F = c*eps(z,d,f) + (1-c)*(a*eps(z,0,f) + (1-a)*eps(z,d,0)),
where 0 is the empty prompt or zero face tokens. Expanding it lets the sampler batch only the
conditions with a non-zero weight into one U-Net call per step.
"""

import math
from dataclasses import dataclass
from typing import Literal

Condition = Literal["text_face", "empty_face", "text_noface", "empty_noface"]

CONDITIONS: tuple[Condition, ...] = ("text_face", "empty_face", "text_noface", "empty_noface")

# Without a face the face tokens are zero, so each *_face condition is the same input as its *_noface twin.
_NO_FACE_TWIN: dict[Condition, Condition] = {
    "text_face": "text_noface",
    "empty_face": "empty_noface",
    "text_noface": "text_noface",
    "empty_noface": "empty_noface",
}


@dataclass(frozen=True)
class GuidancePlan:
    conditions: list[Condition]
    weights: list[float]


def plan_guidance(w: float, c: float, a: float, has_face: bool) -> GuidancePlan:
    for name, value in (("w", w), ("c", c), ("a", a)):
        if not math.isfinite(value):
            raise ValueError(f"guidance parameter {name} must be a finite number (got {value!r})")
    expanded: dict[Condition, float] = {
        "text_face": w * c,
        "empty_face": w * (1 - c) * a,
        "text_noface": w * (1 - c) * (1 - a),
        "empty_noface": 1 - w,
    }
    merged: dict[Condition, float] = dict.fromkeys(CONDITIONS, 0.0)
    for cond, weight in expanded.items():
        merged[cond if has_face else _NO_FACE_TWIN[cond]] += weight
    kept = [cond for cond in CONDITIONS if merged[cond] != 0]
    return GuidancePlan(conditions=kept, weights=[merged[cond] for cond in kept])


def combine_guidance(batched_eps, plan: GuidancePlan):
    """batched_eps: (n, C, h, w) numpy array or torch tensor with rows in plan order."""
    if batched_eps.shape[0] != len(plan.conditions):
        raise ValueError(
            f"batched_eps has {batched_eps.shape[0]} rows, the plan needs {len(plan.conditions)}"
        )
    total = plan.weights[0] * batched_eps[0]
    for weight, eps in zip(plan.weights[1:], batched_eps[1:], strict=True):
        total = total + weight * eps
    return total
