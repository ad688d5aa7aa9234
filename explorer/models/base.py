"""What every trainable model provides, so one training engine can drive them all.

A model module (``ae.py``, ``siamese.py``, ``gae.py``, ...) defines a ``@dataclass`` config and
a subclass of :class:`TrainableModel` registered with :func:`register`. The engine in
``explorer/training`` knows nothing model-specific: it asks the model for its batches, its loss
and its validation figures.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, ClassVar, Iterator

import numpy as np
import torch
from torch import nn

from explorer.core.imageset import ImageSet

MODELS: dict[str, type["TrainableModel"]] = {}


def register(cls: type["TrainableModel"]) -> type["TrainableModel"]:
    """Class decorator: make a model trainable by key from the CLI and the GUI."""
    MODELS[cls.key] = cls
    return cls


class TrainableModel(nn.Module):
    key: ClassVar[str] = ""
    description: ClassVar[str] = ""
    Config: ClassVar[type] = object  # a @dataclass with defaults for every field
    needs_labels: ClassVar[bool] = False  # metric models need class labels
    needs_pairs: ClassVar[bool] = False  # relational models train on (x, y) pairs

    def __init__(self, config: Any, input_shape: tuple[int, int, int]) -> None:
        super().__init__()
        self.config = config
        self.input_shape = tuple(int(s) for s in input_shape)

    # ---- what the engine calls ------------------------------------------------------------
    def batches(
        self, data: ImageSet, batch_size: int, rng: np.random.Generator
    ) -> Iterator[dict[str, np.ndarray]]:
        """One epoch of training batches from ``data`` as numpy arrays (float32 images in [0, 1])."""
        raise NotImplementedError

    def loss(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        """Scalar training loss of one batch (tensors on the model's device) and extra numbers."""
        raise NotImplementedError

    @torch.no_grad()
    def validate(self, data: ImageSet) -> dict[str, float]:
        """Validation figures on held-out ``data``: at least ``val_loss``, plus the model's own
        metric (``auc`` for metric models, ``nmse`` for relational ones)."""
        raise NotImplementedError

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) float images in [0, 1] -> (B, D) codes."""
        raise NotImplementedError

    @torch.no_grad()
    def sample_panel(self, images: np.ndarray) -> np.ndarray | None:
        """Images for the training dialog's live panel (e.g. inputs over reconstructions), or None."""
        return None

    def after_step(self) -> None:
        """Hook after each optimiser step (filter normalisation in the gated autoencoder)."""

    def config_dict(self) -> dict:
        return asdict(self.config)
