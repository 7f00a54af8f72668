"""ModelConfig from the JSON (dataclasses.asdict) that checkpoints, train-vae files and a run's
model_config.json hold, or from a configuration name (`--config`)."""

import json
from pathlib import Path

from face0.configs import (
    CONFIGS,
    GuidanceDefaults,
    ModelConfig,
    ProjectorConfig,
    SchedulerConfig,
    TextEncoderConfig,
    UNetConfig,
    VAEConfig,
)


def config_from_dict(d: dict) -> ModelConfig:
    """Inverse of dataclasses.asdict for ModelConfig (lists back to tuples)."""

    def build(cls, values: dict):
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})

    return ModelConfig(
        name=d["name"],
        image_size=d["image_size"],
        context_width=d["context_width"],
        text_encoder=build(TextEncoderConfig, d["text_encoder"]),
        unet=build(UNetConfig, d["unet"]),
        vae=build(VAEConfig, d["vae"]),
        projector=build(ProjectorConfig, d["projector"]),
        face_token_positions=tuple(d["face_token_positions"]),
        scheduler=build(SchedulerConfig, d["scheduler"]),
        defaults=build(GuidanceDefaults, d["defaults"]),
    )


def load_model_config(name_or_path: str) -> ModelConfig:
    """A named configuration (configs.CONFIGS) or a JSON file holding asdict(ModelConfig)."""
    if name_or_path in CONFIGS:
        return CONFIGS[name_or_path]
    return config_from_dict(json.loads(Path(name_or_path).read_text()))
