"""What the U-Net is trained to predict, and the epsilon that every sampler runs on.

"epsilon" predicts the noise. "v_prediction" predicts v = sqrt(a) * noise - sqrt(1 - a) * x0 (a: alpha-bar
at t), which at high noise is -x0 itself: an epsilon model's x0 is its error times sqrt((1 - a) / a), 14.6x at
t = 999 on SD's schedule (docs/training.md, section 10). Bundles carry epsilon either way: the exported U-Net
graph converts v to epsilon = sqrt(a) * v + sqrt(1 - a) * x_t, so the bundle contract, the app's DDIM and its
x0 projection stay as they are.
"""

from dataclasses import asdict

import torch
from torch import nn

from face0.configs import SchedulerConfig


def training_target(
    prediction_type: str, latents: torch.Tensor, noise: torch.Tensor, alpha_bar: torch.Tensor
) -> torch.Tensor:
    """The regression target for `noise` added to `latents`; alpha_bar broadcasts over (B, C, h, w).
    `prediction_type` is a SchedulerConfig's, validated there."""
    if prediction_type == "epsilon":
        return noise
    return alpha_bar.sqrt() * noise - (1 - alpha_bar).sqrt() * latents


def epsilon_from_output(
    prediction_type: str, output: torch.Tensor, noisy: torch.Tensor, alpha_bar: torch.Tensor
) -> torch.Tensor:
    if prediction_type == "epsilon":
        return output
    return alpha_bar.sqrt() * output + (1 - alpha_bar).sqrt() * noisy


def x0_from_output(
    prediction_type: str, output: torch.Tensor, noisy: torch.Tensor, alpha_bar: torch.Tensor
) -> torch.Tensor:
    if prediction_type == "v_prediction":
        return alpha_bar.sqrt() * noisy - (1 - alpha_bar).sqrt() * output
    eps = epsilon_from_output(prediction_type, output, noisy, alpha_bar)
    return (noisy - (1 - alpha_bar).sqrt() * eps) / alpha_bar.sqrt()


class EpsilonUNet(nn.Module):
    """A diffusers U-Net whose output, whatever it was trained to predict, is returned as epsilon; the
    timestep is one float per batch row (an integer value), as the bundle's U-Net graph takes it."""

    def __init__(self, unet: nn.Module, prediction_type: str, alphas_cumprod: torch.Tensor):
        super().__init__()
        self.unet = unet
        self.prediction_type = prediction_type
        self.register_buffer("alphas_cumprod", alphas_cumprod.float().clone(), persistent=False)

    def forward(self, sample, timestep, encoder_hidden_states):
        output = self.unet(sample, timestep, encoder_hidden_states, return_dict=False)[0]
        if self.prediction_type == "epsilon":
            return output
        alpha_bar = self.alphas_cumprod[timestep.long()][:, None, None, None]
        return epsilon_from_output(self.prediction_type, output, sample, alpha_bar)


def bundle_scheduler(scheduler: SchedulerConfig) -> dict:
    """The manifest's `scheduler` entry of a model trained on `scheduler`: its U-Net graph returns epsilon."""
    return {"kind": "ddim", **asdict(scheduler), "prediction_type": "epsilon"}
