"""Identity loss (beyond Face0, as in PuLID and the FaceID papers): the conditioning embedder's embedding of
the face in the decoded x0-prediction should point where the input face's embedding points.

At low-noise timesteps the x0-prediction is nearly the image; it is decoded by the (frozen, differentiable)
TAEF2 decoder, the sample's face crop box (augment's detector box with Face0's margins, in the training
image's pixels) is resampled to the embedder's 150x150 input exactly as face0.face_crop.crop_and_resize
does when enlarging (bilinear, outside pixels black), and embedded by face-api's network in PyTorch
(face0.facemodels.torch_embedder). The loss is 1 - cosine of the two embeddings standardised with the
FaceProjector's statistics: raw embeddings of different people have cosine ~0.98, standardised ones ~0.0
(same person ~0.39, measured on a celeba128 shard). The evaluation's judge (human's faceres) never enters.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from face0.data import Sample
from face0.face_crop import FACE0_CROP_MARGINS, Box, face_crop_box
from face0.facemodels.embedder import INPUT_SIZE
from face0.facemodels.torch_embedder import FaceEmbedderTorch


def crop_boxes(samples: list[Sample]) -> torch.Tensor:
    """(B, 4) float32 face crop boxes (x, y, side, side) in each sample's image pixels; NaN without a face."""
    rows = []
    for s in samples:
        if s.face_box is None:
            rows.append([float("nan")] * 4)
            continue
        b = face_crop_box(Box(**s.face_box), FACE0_CROP_MARGINS)
        rows.append([b.x, b.y, b.width, b.height])
    return torch.tensor(rows, dtype=torch.float32)


def crop_faces(images: torch.Tensor, boxes: torch.Tensor, size: int = INPUT_SIZE) -> torch.Tensor:
    """(B, 3, S, S) images, (B, 4) pixel boxes -> (B, 3, size, size) bilinear crops, zeros outside."""
    side = images.shape[-1]
    x, y, w, h = boxes.unbind(1)
    theta = torch.zeros(len(boxes), 2, 3, dtype=images.dtype, device=images.device)
    # Output coordinate u in [-1, 1] (pixel centres, align_corners=False) samples input pixel
    # x + (u + 1) / 2 * w, i.e. normalised input 2 (x + w/2) / S - 1 + u * w / S.
    theta[:, 0, 0] = w / side
    theta[:, 0, 2] = 2 * (x + w / 2) / side - 1
    theta[:, 1, 1] = h / side
    theta[:, 1, 2] = 2 * (y + h / 2) / side - 1
    grid = F.affine_grid(theta, [len(boxes), 3, size, size], align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


class IdentityLoss(nn.Module):
    def __init__(self, embedder: FaceEmbedderTorch, max_timestep: int, max_samples: int):
        super().__init__()
        self.embedder = embedder.requires_grad_(False)
        self.max_timestep = max_timestep
        self.max_samples = max_samples

    def selected(self, timesteps: torch.Tensor, has_face: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
        """Indices of the samples the loss applies to: conditioned on a face, with a box, at a timestep below
        max_timestep; at most max_samples of them (the first), which bounds the decoder's cost per step."""
        eligible = (timesteps < self.max_timestep) & has_face & ~boxes[:, 0].isnan()
        return eligible.nonzero()[:, 0][: self.max_samples]

    def forward(
        self,
        images: torch.Tensor,
        boxes: torch.Tensor,
        target: torch.Tensor,
        mean: torch.Tensor,
        std: torch.Tensor,
    ) -> torch.Tensor:
        """Mean of 1 - cosine over the batch: [-1, 1] images (B, 3, S, S), their crop boxes (B, 4), the input
        faces' embeddings (B, E), standardised by mean/std (E,)."""
        rgb = (images.clamp(-1.0, 1.0) + 1.0) * 127.5
        embedding, _ = self.embedder(self.embedder.pixel_values(crop_faces(rgb, boxes)))
        cosine = F.cosine_similarity((embedding - mean) / std, (target - mean) / std, dim=1)
        return (1.0 - cosine).mean()
