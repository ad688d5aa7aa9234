"""What every trainable model provides, so one training engine can drive them all.

A model module (``ae.py``, ``siamese.py``, ``gae.py``, ...) defines a ``@dataclass`` config and
a subclass of :class:`TrainableModel` registered with :func:`register`. The engine in
``explorer/training`` knows nothing model-specific: it asks the model for its batches, its loss
and its validation figures.

Every module in this package is imported on the first call of :func:`model_class` /
:func:`model_keys`, so a new model only has to exist and use ``@register`` to be trainable from the
CLI and the GUI.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import pkgutil
import threading
from dataclasses import asdict
from typing import Any, ClassVar, Iterator

import numpy as np
import torch
from torch import nn

from explorer.core.errors import ExplorerError
from explorer.core.imageset import ImageSet

MODELS: dict[str, type[TrainableModel]] = {}

# modules of this package that hold no model (not imported by the registry scan)
_NOT_MODELS = {
    "base",
    "checkpoint",
    "encoders",
    "external",
    "safe_load",
    "sampling",
    "torch_encoder",
    "towers",
}


def register(cls: type[TrainableModel]) -> type[TrainableModel]:
    """Class decorator: make a model trainable by key from the CLI and the GUI."""
    MODELS[cls.key] = cls
    return cls


class TrainableModel(nn.Module):
    key: ClassVar[str] = ""
    description: ClassVar[str] = ""
    Config: ClassVar[type] = object  # a @dataclass with defaults for every field
    needs_labels: ClassVar[bool] = False  # metric models need class labels
    needs_pairs: ClassVar[bool] = False  # relational models train on (x, y) pairs
    # batch keys holding images the engine may shift by a pixel or two when augment is on
    augment_keys: ClassVar[tuple[str, ...]] = ()
    # per-model defaults for the training dialog and `explorer train` (epochs, batch_size, lr)
    defaults: ClassVar[dict[str, Any]] = {"epochs": 10, "batch_size": 128, "lr": 1e-3}
    # what the rows of sample_panel are, for the dialog's caption; None: inputs over reconstructions
    sample_caption: ClassVar[str | None] = None
    # what encode() expects: None means float images in [0, 1] as they come
    normalisation: dict | None = None
    # the InputSpec (explorer.core.preprocess) the model trained at, when that was not the data's own
    # size (explorer.training.image_size): encoders bring any image to it; None = images as they are
    preprocess: Any = None

    def __init__(self, config: Any, input_shape: tuple[int, int, int]) -> None:
        super().__init__()
        self.config = config
        self.input_shape = tuple(int(s) for s in input_shape)

    # ---- what the engine calls ------------------------------------------------------------
    @classmethod
    def prepare_data(cls, data: ImageSet) -> ImageSet:
        """The data set this model trains on, made from what the user opened (default: as is).
        The gated autoencoder turns a folder of sequences into pairs of consecutive frames."""
        return data

    @classmethod
    def pair_problem(cls, data: ImageSet) -> str | None:
        """Why ``data`` cannot give this model the (x, y) pairs it learns from, in a sentence, or
        None (also for models that need no pairs). Cheap (no images copied): a GUI asks it before
        a run, and it says yes exactly when :meth:`prepare_data` makes pairs."""
        if not cls.needs_pairs or data.partners is not None:
            return None
        return f"'{cls.key}' learns from image pairs: open a paired set such as sample:shifts."

    @classmethod
    def validation_split(
        cls, data: ImageSet, fraction: float, seed: int, options: dict
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """Seeded (train, validation) index arrays into ``data`` for this model, or None for the
        engine's split (random, stratified by label). Metric models hold out whole classes, so
        validation measures identities never seen in training. ``options``: the model's options."""
        return None

    @classmethod
    def saved_config(cls, config: dict) -> dict:
        """A checkpoint's config as saved -> the options to rebuild it with: fields whose default
        changed since older files were written get the value those files meant. Default: as is."""
        return config

    @classmethod
    def data_options(cls, data: ImageSet) -> dict:
        """Options the training data decides (the user's own options win), e.g. how many classes
        a proxy loss needs a proxy for; the engine applies them when it builds the model."""
        return {}

    def batches(
        self, data: ImageSet, batch_size: int, rng: np.random.Generator
    ) -> Iterator[dict[str, np.ndarray]]:
        """One epoch of training batches from ``data`` as numpy arrays (float32 images in [0, 1])."""
        raise NotImplementedError

    def num_batches(self, data: ImageSet, batch_size: int) -> int:
        """How many batches :meth:`batches` yields per epoch (for the progress total)."""
        return -(-data.count // batch_size)

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
        """Images for the training dialog's live panel, or None.

        ``images``: float32 (n, C, H, W) validation images. Returns float32 (rows, n, C, H, W) in
        [0, 1], e.g. inputs over reconstructions (rows = 2) for autoencoders.
        """
        return None

    def plan(self, total_steps: int) -> None:
        """Told once before training how many optimiser steps the run will take (schedules that
        should scale with the run's length, such as a warm-up, read it)."""

    def after_step(self) -> None:
        """Hook after each optimiser step (filter normalisation in the gated autoencoder)."""

    def fit_data(self, data: ImageSet) -> None:
        """Hook with the training images at the end of a run (finished or stopped, before the
        checkpoint) and, when validation picks the best epoch, before each validation: statistics
        encode() depends on, such as the whitening of the triplet model's features, are fitted
        here. Default: nothing."""

    def param_groups(self, lr: float) -> list[dict]:
        """Optimiser parameter groups; fine-tuning overrides this to give new layers more lr."""
        return [{"params": [p for p in self.parameters() if p.requires_grad], "lr": lr}]

    def config_dict(self) -> dict:
        return asdict(self.config)

    # ---- conveniences ---------------------------------------------------------------------
    @property
    def device(self) -> torch.device:
        for p in self.parameters():
            return p.device
        return torch.device("cpu")

    @property
    def code_dim(self) -> int:
        return int(getattr(self.config, "code_dim", 0))


def model_keys() -> list[str]:
    """Keys of every registered model (imports every model module of this package once)."""
    _import_model_modules()
    return sorted(MODELS)


def model_class(key: str) -> type[TrainableModel]:
    """The model class registered under ``key``; ExplorerError naming the known keys if none."""
    if key not in MODELS:
        _import_model_modules()
    if key not in MODELS and key in _BROKEN:
        raise ExplorerError(f"Model '{key}' could not be loaded ({_BROKEN[key]}).")
    if key not in MODELS:
        raise ExplorerError(f"Unknown model '{key}'; choose one of: {', '.join(model_keys())}.")
    return MODELS[key]


def make_config(key: str, code_dim: int | None = None, options: dict | None = None) -> Any:
    """The model's config with ``options`` (field -> value) and ``code_dim`` applied.

    Lists become tuples (JSON round trips), and an unknown option is an ExplorerError.
    """
    cls = model_class(key)
    fields = {f.name: f for f in dataclasses.fields(cls.Config)}
    values = dict(options or {})
    if code_dim is not None:
        values["code_dim"] = int(code_dim)
    for name in list(values):
        if name not in fields:
            raise ExplorerError(
                f"Model '{key}' has no option '{name}'; its options are: {', '.join(fields)}."
            )
        if isinstance(values[name], list):
            values[name] = tuple(values[name])
    return cls.Config(**values)


def build_model(
    key: str, input_shape: tuple[int, int, int], code_dim: int | None = None, options: dict | None = None
) -> TrainableModel:
    """A fresh model of kind ``key`` for images of ``input_shape`` (C, H, W)."""
    return model_class(key)(make_config(key, code_dim, options), tuple(input_shape))


_scanned = False
_scan_done = False
_scan_lock = threading.RLock()  # another thread's scan is waited for, not seen half done
_BROKEN: dict[str, str] = {}  # module name -> why it failed to import


def _import_model_modules() -> None:
    global _scanned, _scan_done
    if _scan_done:
        return
    with _scan_lock:
        if _scanned:  # done, or under way in this thread (a model module importing this one)
            return
        _scanned = True
        _scan_modules()
        _scan_done = True


def _scan_modules() -> None:
    # the package's folder, not ``explorer.models.__path__``: importing the package from here
    # would make models/__init__ -> encoders -> checkpoint -> base -> models a cycle
    for info in pkgutil.iter_modules([os.path.dirname(os.path.abspath(__file__))]):
        if info.name.startswith("_") or info.name in _NOT_MODELS:
            continue
        try:
            importlib.import_module(f"explorer.models.{info.name}")
        except Exception as err:  # one broken model module must not take the others down
            _BROKEN[info.name] = f"{type(err).__name__}: {err}"


# ---- small helpers shared by the model modules -----------------------------------------------
def shuffled_batches(n: int, batch_size: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """Index arrays covering ``range(n)`` once in a random order (the last batch may be short)."""
    order = rng.permutation(n)
    for start in range(0, n, batch_size):
        yield order[start : start + batch_size]


def batched_images(data: ImageSet, batch_size: int = 512) -> Iterator[np.ndarray]:
    """float32 (b, C, H, W) image batches of ``data`` in order."""
    for start in range(0, data.count, batch_size):
        yield data.float_images(slice(start, min(data.count, start + batch_size)))
