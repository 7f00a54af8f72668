import numpy as np
import pytest
import torch

from face0.context import build_contexts
from face0.guidance import combine_guidance, plan_guidance
from face0.rng import Rng

LATENT = (4, 3, 3)


def _eps(seed: int) -> np.ndarray:
    return Rng(seed).normal(int(np.prod(LATENT))).reshape(LATENT).astype(np.float64)


EPS = {"text_face": _eps(1), "empty_face": _eps(2), "text_noface": _eps(3), "empty_noface": _eps(4)}


def face0_formula(w, c, a, eps):
    eps_f = c * eps["text_face"] + (1 - c) * (a * eps["empty_face"] + (1 - a) * eps["text_noface"])
    return w * eps_f + (1 - w) * eps["empty_noface"]


def combined(plan, eps):
    return combine_guidance(np.stack([eps[cond] for cond in plan.conditions]), plan)


@pytest.mark.parametrize(
    ("c", "a", "conditions"),
    [
        (1.0, 0.0, ["text_face", "empty_noface"]),
        (0.5, 0.0, ["text_face", "text_noface", "empty_noface"]),
        (1.4, 1.0, ["text_face", "empty_face", "empty_noface"]),
        (0.3, 0.6, ["text_face", "empty_face", "text_noface", "empty_noface"]),
    ],
)
def test_plan_keeps_only_non_zero_terms_and_matches_formula(c, a, conditions):
    plan = plan_guidance(7.5, c, a, has_face=True)
    assert plan.conditions == conditions
    assert sum(plan.weights) == pytest.approx(1.0)
    np.testing.assert_allclose(combined(plan, EPS), face0_formula(7.5, c, a, EPS), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("c", "a"), [(1.0, 0.0), (0.5, 0.0), (1.4, 1.0), (0.3, 0.6)])
def test_no_face_merges_identical_conditions(c, a):
    plan = plan_guidance(7.5, c, a, has_face=False)
    assert plan.conditions == ["text_noface", "empty_noface"]
    # Without a face f is zero tokens, so each *_face input is its *_noface twin.
    eps = {**EPS, "text_face": EPS["text_noface"], "empty_face": EPS["empty_noface"]}
    np.testing.assert_allclose(combined(plan, eps), face0_formula(7.5, c, a, eps), rtol=1e-12, atol=1e-12)


def test_w_one_drops_unconditional_and_w_zero_keeps_only_it():
    assert plan_guidance(1.0, 1.0, 0.0, has_face=True).conditions == ["text_face"]
    assert plan_guidance(1.0, 0.5, 0.0, has_face=False).conditions == ["text_noface"]
    plan = plan_guidance(0.0, 0.5, 0.3, has_face=True)
    assert (plan.conditions, plan.weights) == (["empty_noface"], [1.0])


def test_rejects_non_finite_parameters_and_wrong_batch():
    with pytest.raises(ValueError):
        plan_guidance(float("nan"), 1.0, 0.0, has_face=True)
    plan = plan_guidance(7.5, 1.0, 0.0, has_face=True)
    with pytest.raises(ValueError):
        combine_guidance(np.zeros((3, *LATENT)), plan)


def test_combine_accepts_torch_tensors():
    plan = plan_guidance(7.5, 0.5, 0.0, has_face=True)
    batch = torch.from_numpy(np.stack([EPS[cond] for cond in plan.conditions]))
    expected = face0_formula(7.5, 0.5, 0.0, EPS)
    np.testing.assert_allclose(combine_guidance(batch, plan).numpy(), expected, rtol=1e-12, atol=1e-12)


def test_build_contexts_places_face_tokens_or_zeros():
    length, width, positions = 10, 4, [7, 8, 9]
    text = torch.arange(length * width, dtype=torch.float32).reshape(length, width) + 1
    empty = -text
    face = torch.full((3, width), 0.5)
    conds = ["text_face", "empty_face", "text_noface", "empty_noface"]
    out = build_contexts(text, empty, face, positions, conds)
    assert out.shape == (4, length, width)
    for row, cond in zip(out, conds, strict=True):
        base = text if cond.startswith("text_") else empty
        torch.testing.assert_close(row[:7], base[:7], rtol=0, atol=0)
        expected = face if cond.endswith("_face") else torch.zeros(3, width)
        torch.testing.assert_close(row[7:], expected, rtol=0, atol=0)
    assert build_contexts(text, empty, None, positions, ["text_noface"]).shape == (1, length, width)
    with pytest.raises(ValueError):
        build_contexts(text, empty, None, positions, ["text_face"])
    with pytest.raises(ValueError):
        build_contexts(text, empty, face, [7, 8, 10], conds)
