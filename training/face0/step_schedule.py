"""What a training step draws and uses as functions of (seed, step, ...) alone, so that a resumed run
reproduces the uninterrupted one: the seeds of its random draws and its learning rate."""

import math

import numpy as np


def derived_seed(*parts: int) -> int:
    return int(np.random.SeedSequence(list(parts)).generate_state(1, np.uint64)[0] >> 1)


def scheduled_lr(
    step: int, lr: float, warmup: int, decay_from: int | None, final: float, max_steps: int
) -> float:
    """The lr of 0-based `step`: linear warm-up over `warmup` steps, then constant, then (from decay_from)
    cosine decay reaching `final` at max_steps."""
    lr = lr * min(1.0, (step + 1) / warmup) if warmup else lr
    if decay_from is None or step < decay_from or max_steps <= decay_from:
        return lr
    progress = min(1.0, (step - decay_from) / (max_steps - decay_from))
    return final + (lr - final) * 0.5 * (1.0 + math.cos(math.pi * progress))
