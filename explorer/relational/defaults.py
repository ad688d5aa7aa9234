"""The default gated autoencoder shipped in sample_data/models, and how it is trained.

    from explorer.relational.defaults import build_relational_models
    build_relational_models("sample_data/models")   # writes gae_shifts.safetensors (seeded)

It is trained by the common engine on fresh 13x13 random-dot pairs shifted by up to 3 pixels, the
distribution of ``sample:shifts``, with the settings below; the same seed gives the same file.
"""

from __future__ import annotations

import os
from typing import Iterator

import numpy as np

from explorer.core.imageset import ImageSet
from explorer.core.progress import Progress, run_to_end

SHIFTS_FILE = "gae_shifts.safetensors"
# 16 mapping units for the first 3000 steps, then 64: a wide layer from the start first learns to
# pass the content of y through (a conditional autoencoder) instead of the transformation
SHIFTS_OPTIONS = {"factors": 256, "mapping": 64, "warmup_units": 16, "warmup_steps": 3000}
SHIFTS_TRAIN = {"pairs": 30_000, "epochs": 30, "batch_size": 100, "lr": 3e-3}


def shift_training_set(count: int, seed: int, size: int = 13) -> ImageSet:
    """``count`` fresh shifted random-dot pairs, like sample:shifts (49 shift classes)."""
    from explorer.data.generators import shift_class_names, shift_labels, shift_pairs

    x, y, dx, dy = shift_pairs(count, np.random.default_rng(seed), size=size)
    return ImageSet(images=x[:, None], partners=y[:, None], labels=shift_labels(dx, dy),
                    class_names=shift_class_names(), transforms={"dx": dx, "dy": dy},
                    name="shifts", format="generated")


def train_shifts_job(path: str, seed: int = 0, **overrides) -> Iterator[Progress]:
    """Train the default shift model and write it to ``path``; yields Progress, returns the summary."""
    from explorer.training.engine import TrainConfig, train

    settings = {**SHIFTS_TRAIN, **{k: v for k, v in overrides.items() if k in SHIFTS_TRAIN}}
    options = {**SHIFTS_OPTIONS, **{k: v for k, v in overrides.items() if k not in SHIFTS_TRAIN}}
    data = shift_training_set(int(settings["pairs"]), seed=1000 + seed)
    config = TrainConfig(model="gae", epochs=int(settings["epochs"]), batch_size=int(settings["batch_size"]),
                         lr=float(settings["lr"]), seed=seed, device="cpu", val_fraction=0.05,
                         options=options, checkpoint=path, probe_every=0)
    result = yield from train(config, data)
    return result.summary


def build_relational_models(out_dir: str, seed: int = 0, **overrides) -> list[str]:
    """Train the default relational model(s) into ``out_dir``; returns the files written."""
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, SHIFTS_FILE)
    run_to_end(train_shifts_job(path, seed=seed, **overrides))
    return [path]


if __name__ == "__main__":  # python -m explorer.relational.defaults OUT_DIR
    import sys

    print(build_relational_models(sys.argv[1] if len(sys.argv) > 1 else "sample_data/models"))
