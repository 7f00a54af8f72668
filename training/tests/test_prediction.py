"""v-prediction: the training target against diffusers', its conversions back to epsilon and x0, and the
exported U-Net graph of a v model, which returns epsilon so that bundles and the app stay epsilon."""

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import MICRO

from face0.configs import SchedulerConfig
from face0.diffusion_loss import ddpm_scheduler
from face0.export import GRAPH_FILES, example_inputs, export_graphs, session
from face0.models import CompactVocabulary, build_models
from face0.prediction import (
    EpsilonUNet,
    bundle_scheduler,
    epsilon_from_output,
    training_target,
    x0_from_output,
)
from face0.sample import scheduler_from_config
from face0.train import TrainOptions

V_SCHEDULER = dataclasses.replace(MICRO.scheduler, prediction_type="v_prediction")
V_MICRO = dataclasses.replace(MICRO, scheduler=V_SCHEDULER)
TIMESTEPS = torch.tensor([0, 250, 700, 999])


def test_v_target_is_diffusers_velocity_and_converts_back_to_epsilon_and_x0():
    scheduler = ddpm_scheduler(V_MICRO)
    g = torch.Generator().manual_seed(0)
    latents, noise = torch.randn(4, 4, 8, 8, generator=g), torch.randn(4, 4, 8, 8, generator=g)
    alpha_bar = scheduler.alphas_cumprod[TIMESTEPS][:, None, None, None]
    noisy = scheduler.add_noise(latents, noise, TIMESTEPS)

    v = training_target("v_prediction", latents, noise, alpha_bar)
    torch.testing.assert_close(v, scheduler.get_velocity(latents, noise, TIMESTEPS))
    close = {"atol": 1e-5, "rtol": 0}
    torch.testing.assert_close(epsilon_from_output("v_prediction", v, noisy, alpha_bar), noise, **close)
    torch.testing.assert_close(x0_from_output("v_prediction", v, noisy, alpha_bar), latents, **close)
    # The epsilon path divides by sqrt(alpha-bar): 14.6x float32 rounding at t = 999.
    torch.testing.assert_close(x0_from_output("epsilon", noise, noisy, alpha_bar), latents, atol=1e-4, rtol=0)
    assert training_target("epsilon", latents, noise, alpha_bar) is noise
    with pytest.raises(ValueError, match="prediction_type"):
        SchedulerConfig(prediction_type="sample")


def test_exported_unet_of_a_v_model_returns_epsilon(tmp_path: Path):
    vocabulary = CompactVocabulary(clip_ids=(320, 539, 1125))
    models = build_models(V_MICRO, vocabulary, seed=0)
    export_graphs(models, tmp_path, float16=False, seed=0)

    inputs = example_inputs(V_MICRO, vocabulary, "unet", 2, seed=3)
    inputs["timestep"] = torch.tensor([10.0, 990.0])
    with torch.no_grad():
        v = models.unet(*inputs.values()).sample
    alpha_bar = ddpm_scheduler(V_MICRO).alphas_cumprod[[10, 990]][:, None, None, None]
    expected = (alpha_bar.sqrt() * v + (1 - alpha_bar).sqrt() * inputs["sample"]).numpy()
    (got,) = session(tmp_path / GRAPH_FILES["unet"]).run(None, {k: t.numpy() for k, t in inputs.items()})
    np.testing.assert_allclose(got, expected, atol=1e-4, rtol=0)
    assert bundle_scheduler(V_MICRO.scheduler)["prediction_type"] == "epsilon"


@torch.no_grad()
def test_epsilon_ddim_on_the_converted_unet_equals_diffusers_v_prediction_ddim():
    """What samplers run on a v model (a bundle's epsilon scheduler and EpsilonUNet) against diffusers' DDIM
    stepping the raw v outputs itself."""
    unet = build_models(V_MICRO, CompactVocabulary(clip_ids=(320,)), seed=0).unet.eval()
    epsilon_unet = EpsilonUNet(unet, "v_prediction", ddpm_scheduler(V_MICRO).alphas_cumprod)
    g = torch.Generator().manual_seed(1)
    context = torch.randn(1, 77, V_MICRO.context_width, generator=g)
    start = torch.randn(1, V_MICRO.vae.latent_channels, V_MICRO.latent_size, V_MICRO.latent_size, generator=g)

    def sample(scheduler_entry: dict, model) -> torch.Tensor:
        scheduler = scheduler_from_config(scheduler_entry)
        scheduler.set_timesteps(5)
        latent = start
        for t in scheduler.timesteps:
            output = model(latent, torch.full((1,), float(t)), context)
            latent = scheduler.step(output, t, latent).prev_sample
        return latent

    ours = sample(bundle_scheduler(V_MICRO.scheduler), epsilon_unet)
    theirs = sample({"kind": "ddim", **dataclasses.asdict(V_SCHEDULER)}, lambda *a: unet(*a).sample)
    torch.testing.assert_close(ours, theirs, atol=1e-4, rtol=0)
    assert ours.abs().max() > 0.1


def test_train_refuses_the_v_loss_weighting_on_a_v_model():
    with pytest.raises(ValueError, match="v-loss-cap"):
        TrainOptions(shards=[], out=Path(), model=V_MICRO, max_steps=1, v_loss_cap=50)
