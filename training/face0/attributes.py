"""Train an independent CelebA attribute classifier, the evaluation's judge of text alignment.

A small CNN reads 64x64 face crops framed like celeba128 (the framing the default model generates) and
predicts CelebA's 40 binary attributes. People are split by identity, so the held-out accuracy is on
faces the classifier never saw. Its accuracy and balanced accuracy per attribute are written beside the
weights: an attribute it cannot tell apart on real photos says nothing about generated ones.

`python -m face0.attributes --out models/eval --minutes 8` (the `train-attributes` stage).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import tarfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from safetensors.torch import load_file, save_file
from torch import nn

from face0.captions import CELEBA_ATTRIBUTES
from face0.configs import DATA_DIR
from face0.progress import format_duration

INPUT_SIZE = 64
WEIGHTS_FILE = "attributes.safetensors"
METRICS_FILE = "attributes.json"
CARD_FILE = "attributes.md"
HELD_OUT_FRACTION = 0.15
SPLIT_SEED = 0
CHANNELS = (16, 32, 64, 128, 256)
MAX_CLASS_WEIGHT = 5.0


class AttributeNet(nn.Module):
    """Conv blocks (first strided, others max-pooled) -> global mean -> 40 logits; ~20M MACs per image."""

    def __init__(self, channels: tuple[int, ...] = CHANNELS, outputs: int = len(CELEBA_ATTRIBUTES)):
        super().__init__()
        layers: list[nn.Module] = []
        width = 3
        for i, out in enumerate(channels):
            stride = 2 if i == 0 else 1
            layers += [
                nn.Conv2d(width, out, 3, stride, 1, bias=False),
                nn.BatchNorm2d(out),
                nn.ReLU(inplace=True),
            ]
            if i > 0:
                layers.append(nn.MaxPool2d(2))
            width = out
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.Dropout(0.2), nn.Linear(width, outputs))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, 64, 64) in [-1, 1] -> (B, 40) logits."""
        return self.head(self.features(images).mean(dim=(2, 3)))


def to_input(images: np.ndarray) -> torch.Tensor:
    """(B, 64, 64, 3) RGB 0..255 (uint8 or float) -> (B, 3, 64, 64) float32 in [-1, 1]."""
    x = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32))
    return x.permute(0, 3, 1, 2) / 127.5 - 1.0


def resize_rgb(rgb: np.ndarray, size: int = INPUT_SIZE) -> np.ndarray:
    """(H, W, 3) RGB 0..255 -> (size, size, 3) float32, antialiased (PIL's bilinear with support scaling)."""
    if rgb.shape[:2] == (size, size):
        return rgb.astype(np.float32)
    pixels = Image.fromarray(np.clip(np.rint(rgb), 0, 255).astype(np.uint8))
    return np.asarray(pixels.resize((size, size), Image.Resampling.BILINEAR), dtype=np.float32)


class AttributeClassifier:
    def __init__(self, model_dir: str | Path):
        self.net = AttributeNet()
        self.net.load_state_dict(load_file(str(Path(model_dir) / WEIGHTS_FILE)))
        self.net.eval()
        self.names = CELEBA_ATTRIBUTES
        self.metrics = json.loads((Path(model_dir) / METRICS_FILE).read_text())

    @torch.no_grad()
    def predict(self, images: list[np.ndarray] | np.ndarray) -> np.ndarray:
        """Images framed like celeba128 ((H, W, 3) RGB 0..255, any size) -> (N, 40) probabilities."""
        batch = np.stack([resize_rgb(im) for im in images])
        return torch.sigmoid(self.net(to_input(batch))).numpy()


def load_celeba(data_dir: Path, limit: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """celeba128 at 64x64: (images (N, 64, 64, 3) uint8, labels (N, 40) uint8, identities (N,))."""
    with open(data_dir / "attributes.csv", newline="") as f:
        rows = {row["key"]: row for row in csv.DictReader(f)}
    images, labels, identities = [], [], []
    for shard in sorted(data_dir.glob("celeba128-*.tar")):
        with tarfile.open(shard) as tar:
            for member in tar:
                key, _, ext = member.name.partition(".")
                if ext != "jpg" or key not in rows:
                    continue
                with Image.open(io.BytesIO(tar.extractfile(member).read())) as im:
                    small = im.convert("RGB").resize((INPUT_SIZE, INPUT_SIZE), Image.Resampling.BILINEAR)
                images.append(np.asarray(small, dtype=np.uint8))
                labels.append([int(rows[key][name]) for name in CELEBA_ATTRIBUTES])
                identities.append(int(rows[key]["celeba_identity"]))
                if limit is not None and len(images) >= limit:
                    break
        if limit is not None and len(images) >= limit:
            break
    return np.stack(images), np.asarray(labels, dtype=np.uint8), np.asarray(identities)


def held_out(
    identities: np.ndarray, fraction: float = HELD_OUT_FRACTION, seed: int = SPLIT_SEED
) -> np.ndarray:
    """Boolean mask of held-out samples: all photos of about `fraction` of the people.

    Decided per identity by a hash, so any subset of the data (a test's few images) splits the same way.
    """

    def held(identity: int) -> bool:
        digest = hashlib.sha256(f"{seed}:{identity}".encode()).digest()
        return int.from_bytes(digest[:4], "little") / 2**32 < fraction

    decided = {int(i): held(int(i)) for i in np.unique(identities)}
    return np.array([decided[int(i)] for i in identities], dtype=bool)


def attribute_metrics(probabilities: np.ndarray, labels: np.ndarray) -> dict[str, dict[str, float]]:
    """Per attribute: accuracy, balanced accuracy (mean of the two per-class recalls) and positive rate."""
    predicted = probabilities >= 0.5
    truth = labels.astype(bool)
    out = {}
    for i, name in enumerate(CELEBA_ATTRIBUTES):
        p, t = predicted[:, i], truth[:, i]
        recalls = [float(np.mean(p[t == cls] == cls)) for cls in (True, False) if np.any(t == cls)]
        out[name] = {
            "accuracy": float(np.mean(p == t)),
            "balanced_accuracy": float(np.mean(recalls)),
            "positive_rate": float(np.mean(t)),
        }
    return out


@torch.no_grad()
def predict_all(net: AttributeNet, images: np.ndarray, batch: int = 512) -> np.ndarray:
    net.eval()
    return np.concatenate(
        [torch.sigmoid(net(to_input(images[i : i + batch]))).numpy() for i in range(0, len(images), batch)]
    )


def train_attributes(
    images: np.ndarray, labels: np.ndarray, minutes: float, seed: int = 0, batch: int = 64, lr: float = 3e-3
) -> tuple[AttributeNet, int]:
    """Trains until the time budget is spent (whole batches); returns the net and the number of steps.

    The learning rate follows a cosine over the budget, so a shorter budget still ends annealed.
    """
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    net = AttributeNet().to(memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-4)
    # Class-balanced: most attributes are rare (Eyeglasses 6%) or nearly always set (No_Beard 81%), and
    # an unweighted loss learns to answer the majority. Each class of each attribute gets half the weight.
    rate = labels.mean(axis=0).clip(1e-3, 1 - 1e-3)
    weight_on = torch.from_numpy((0.5 / rate).clip(None, MAX_CLASS_WEIGHT).astype(np.float32))
    weight_off = torch.from_numpy((0.5 / (1 - rate)).clip(None, MAX_CLASS_WEIGHT).astype(np.float32))
    loss_fn = nn.BCEWithLogitsLoss(reduction="none")
    budget = minutes * 60.0
    start = time.monotonic()
    step = 0
    order = rng.permutation(len(images))
    cursor = 0
    net.train()
    while (elapsed := time.monotonic() - start) < budget:
        for group in optimizer.param_groups:
            group["lr"] = lr * 0.5 * (1 + np.cos(np.pi * elapsed / budget))
        if cursor + batch > len(order):
            order, cursor = rng.permutation(len(images)), 0
        idx = order[cursor : cursor + batch]
        cursor += batch
        x = images[idx]
        flip = rng.random(len(idx)) < 0.5
        x[flip] = x[flip, :, ::-1]
        logits = net(to_input(x).contiguous(memory_format=torch.channels_last))
        target = torch.from_numpy(labels[idx].astype(np.float32))
        loss = (loss_fn(logits, target) * torch.where(target > 0, weight_on, weight_off)).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        step += 1
        if step % 50 == 0:
            print(
                f"train-attributes step {step} loss {loss.item():.4f} {format_duration(elapsed)}", flush=True
            )
    return net.to(memory_format=torch.contiguous_format), step


def write_card(out: Path, metrics: dict) -> None:
    rows = "\n".join(
        f"| {name} | {m['accuracy']:.3f} | {m['balanced_accuracy']:.3f} | {m['positive_rate']:.3f} |"
        for name, m in metrics["held_out"].items()
    )
    (out / CARD_FILE).write_text(
        f"""# Attribute classifier (evaluation only)

Judge of text alignment for `python -m face0.evaluate` (see docs/evaluation.md); not part of any bundle.

- Network: `face0.attributes.AttributeNet`, {metrics["parameters"]:,} parameters, 64x64 RGB input framed
  like celeba128, 40 sigmoid outputs in CelebA's `list_attr_celeba.txt` order.
- Data: ../shared/data/celeba128 (CelebA, non-commercial research use only), images resized 128 -> 64.
  Split by identity (seed {SPLIT_SEED}): {metrics["train_images"]} training images,
  {metrics["held_out_images"]} held-out images of {metrics["held_out_people"]} people never seen in training.
- Training: AdamW, cosine learning rate, horizontal flips, class-balanced loss (each class of an
  attribute weighted 0.5 / its frequency, at most {MAX_CLASS_WEIGHT:g}), {metrics["steps"]} steps of batch
  {metrics["batch"]} in {metrics["train_seconds"]:.0f} s on CPU.
- Labels carry CelebA's annotation noise; balanced accuracy (mean recall of both classes) is the number to
  trust for rare attributes, since always answering "no" already gives accuracy = 1 - positive rate.

## Held-out accuracy

Mean accuracy {metrics["mean_accuracy"]:.3f}, mean balanced accuracy {metrics["mean_balanced_accuracy"]:.3f}.

| attribute | accuracy | balanced accuracy | positive rate |
|---|---|---|---|
{rows}
"""
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, default=DATA_DIR / "celeba128")
    parser.add_argument("--out", type=Path, default=Path("models/eval"))
    parser.add_argument("--minutes", type=float, default=4.0, help="training time budget on CPU")
    parser.add_argument("--limit", type=int, default=None, help="use only the first N images (smoke runs)")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)


def run(args: argparse.Namespace) -> None:
    torch.set_num_threads(args.threads)
    t0 = time.monotonic()
    images, labels, identities = load_celeba(args.data, args.limit)
    held = held_out(identities)
    print(f"loaded {len(images)} images in {time.monotonic() - t0:.0f} s; {held.sum()} held out", flush=True)
    t1 = time.monotonic()
    net, steps = train_attributes(images[~held], labels[~held], args.minutes, args.seed, args.batch)
    train_seconds = time.monotonic() - t1
    per_attribute = attribute_metrics(predict_all(net, images[held]), labels[held])
    metrics = {
        "parameters": sum(p.numel() for p in net.parameters()),
        "train_images": int((~held).sum()),
        "held_out_images": int(held.sum()),
        "held_out_people": int(len(np.unique(identities[held]))),
        "steps": steps,
        "batch": args.batch,
        "train_seconds": train_seconds,
        "mean_accuracy": float(np.mean([m["accuracy"] for m in per_attribute.values()])),
        "mean_balanced_accuracy": float(np.mean([m["balanced_accuracy"] for m in per_attribute.values()])),
        "held_out": per_attribute,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(args.out / WEIGHTS_FILE))
    (args.out / METRICS_FILE).write_text(json.dumps(metrics, indent=1) + "\n")
    write_card(args.out, metrics)
    print(
        f"held-out mean accuracy {metrics['mean_accuracy']:.3f}, "
        f"balanced {metrics['mean_balanced_accuracy']:.3f}; wrote {args.out}",
        flush=True,
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m face0.attributes", description=__doc__.splitlines()[0])
    add_arguments(parser)
    run(parser.parse_args())
