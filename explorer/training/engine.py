"""The one training loop, written as a generator of progress records.

    gen = train(TrainConfig(model="dae", epochs=5), data)
    result = drive(gen)            # CLI: explorer.core.progress.drive; GUI: ui.workers.TaskRunner

``train`` yields a :class:`~explorer.core.progress.Progress` after every optimiser step and once
more after each epoch's validation. Stop it by closing the generator (``gen.close()``, or the
TaskRunner's cancel): it stops between two steps, writes the checkpoint so far (when
``config.checkpoint`` is set) and ends. Its ``return`` value is a :class:`TrainResult`.

Each record carries
  step, total   optimiser steps done / planned
  message       "epoch 2/5"
  loss          this step's training loss (after an epoch: that epoch's mean training loss)
  metrics       epoch (float, e.g. 1.5 = half way through the second), items_per_s, eta_s,
                lr, the model's extra loss terms, and from the first validation on the latest
                validation figures: val_loss, the model's metric (auc, mse, nmse, ...) and
                val_epoch (which epoch they belong to)
  payload       a dict, always with the LATEST of (so a record dropped by a rate-limited worker
                loses nothing; compare the *_step / *_epoch keys to see what is new):
                  "epoch_end":      True on the record after an epoch's validation
                  "probe_indices":  int64 (P,) items of ``data`` in the probe set (sorted)
                  "probe_codes":    float32 (P, code_dim) their codes at "probe_step"
                  "probe_step":     the step those codes are from (-1: none yet)
                  "samples":        float32 (rows, n, C, H, W) the model's sample panel
                  "samples_epoch":  the epoch that panel is from (-1: none yet)

Any TrainableModel subclass (see explorer/models/base.py) plugs in: pass its key in
``TrainConfig.model`` once it is registered, or pass a built model as ``model=``. The run's state
and its parts (probe, record, save, step, end of epoch) are :class:`explorer.training.run.TrainRun`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Generator, Mapping

import numpy as np
import torch

from explorer.core.errors import TrainingError
from explorer.core.imageset import ImageSet
from explorer.core.progress import Progress
from explorer.training.devices import resolve_device, set_cpu_threads
from explorer.training.code_check import code_sentence, run_code_check
from explorer.training.image_size import at_training_size, training_spec
from explorer.training.run import TrainRun, is_out_of_memory, shift_images

__all__ = ["TrainConfig", "TrainResult", "shift_images", "split_indices", "train"]


@dataclass(frozen=True)
class TrainConfig:
    """Everything one training run needs besides the data.

    model:            registered model key ("ae", "dae", "cae", "siamese", "triplet", "gae", ...)
    epochs, batch_size, lr: the usual; ``None`` takes the model's own default (Model.defaults).
    code_dim:         size of the code; None = the model's default.
    device:           'auto' (CUDA, then MPS, then CPU) | 'cpu' | 'cuda' | 'mps'.
    seed:             seeds torch and numpy: the same config and data give the same model.
    val_fraction:     share of the data held out for validation (stratified by label).
    augment:          shift training images by a pixel or two (models opt in per batch key).
    options:          model-specific config fields, e.g. {"linear": True}, {"distance": "cosine"}.
    checkpoint:       path of a .safetensors file to write after every epoch, every
                      ``checkpoint_every`` steps (0 = epoch ends only), when stopped, and at the end.
    probe_size:       how many items of the data (at most) to encode for the live scatter.
    probe_every:      encode the probe set every this many steps (0 = never; also at step 0).
    panel_size:       how many validation images go in the sample panel after each epoch.
    amp:              mixed precision (float16 autocast + grad scaling) when on CUDA.
    threads:          CPU threads for torch (None: one on a busy machine, else all cores;
                      see devices.set_cpu_threads).
    weight_decay:     Adam weight decay.
    keep_best:        end with the weights of the epoch whose validation scored best on the model's
                      selection metric (metric models: the pair AUC), not the last epoch's; None =
                      automatic: on when the validation split holds out whole classes (identities
                      the model never saw, so the score is the one a user cares about), off when it
                      splits within classes (a score on seen classes would pick the overfit epoch).
    image_size:       the shorter side, in pixels, to train at (aspect ratio kept; the model
                      remembers it and encodes any data by the same resize); None = automatic
                      (images of at most 64x64 pixels as they are, larger ones at 64); 0 = as they
                      are. See explorer.training.image_size.
    """

    model: str = "ae"
    epochs: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    code_dim: int | None = None
    device: str = "auto"
    seed: int = 0
    val_fraction: float = 0.1
    augment: bool = False
    options: Mapping[str, Any] = field(default_factory=dict)
    checkpoint: str | None = None
    checkpoint_every: int = 0
    probe_size: int = 5000
    probe_every: int = 0
    panel_size: int = 8
    amp: bool = True
    threads: int | None = None
    weight_decay: float = 0.0
    image_size: int | None = None
    keep_best: bool | None = None


@dataclass
class TrainResult:
    """What a finished (or stopped) run returns.

    model:      the trained TrainableModel, in eval mode, on the training device.
    history:    one dict per finished epoch: epoch, step, loss (mean train loss), val_loss, metrics.
    summary:    JSON-able facts (also written into the checkpoint): model, epochs, steps, seconds,
                items_per_s, device, data, final loss and validation figures, stopped ("completed"
                or "cancelled"); a completed run's "code_check" (explorer.training.code_check) and,
                when its codes collapsed, "warning": one sentence saying so.
    checkpoint: the path written, or None.
    """

    model: Any
    history: list[dict] = field(default_factory=list)
    summary: dict = field(default_factory=dict)
    checkpoint: str | None = None


def split_indices(data: ImageSet, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded (train, validation) index arrays, stratified by label where there are labels."""
    n = data.count
    if fraction <= 0 or n < 10:
        return np.arange(n), np.zeros(0, dtype=np.int64)
    rng = np.random.default_rng([seed, 7])
    groups = data.labels if data.labels is not None else np.zeros(n, dtype=np.int64)
    val = []
    for g in np.unique(groups):
        members = rng.permutation(np.flatnonzero(groups == g))
        k = int(round(len(members) * fraction))
        if len(members) >= 2:
            val.append(members[: min(k, len(members) - 1)])
    val_idx = np.sort(np.concatenate(val)) if val else np.zeros(0, dtype=np.int64)
    if data.labels is not None and not _has_same_label_pair(groups[val_idx]):
        # few items per label (identities): one validation item per label has no same-label
        # pair, so a verification AUC is nan and a triplet loss 0; hold out two of some instead
        paired = _paired_validation(groups, fraction, rng)
        if paired is not None:
            val_idx = paired
    if len(val_idx) == 0:  # many tiny classes: fall back to a plain random split
        val_idx = np.sort(rng.permutation(n)[: max(1, int(round(n * fraction)))])
    train_idx = np.setdiff1d(np.arange(n), val_idx)
    return train_idx, val_idx


def model_split(cls, data: ImageSet, fraction: float, seed: int, options: dict):
    """The seeded (train, validation) index arrays a model of ``cls`` trains with, and whether
    they are the model's own split (``validation_split``, e.g. whole classes held out) rather
    than :func:`split_indices`."""
    split = cls.validation_split(data, fraction, seed, options)
    if split is not None:
        return split[0], split[1], True
    return (*split_indices(data, fraction, seed), False)


def _has_same_label_pair(labels: np.ndarray) -> bool:
    """True when ``labels`` hold two labels, one of them at least twice (a same and a different pair)."""
    _, counts = np.unique(labels[labels >= 0], return_counts=True)
    return len(counts) >= 2 and counts.max() >= 2


def _paired_validation(groups: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray | None:
    """Two items each of randomly chosen labels with at least three (so each keeps one or more for
    training), until about ``fraction`` of the items; None when fewer than two labels qualify."""
    labels, counts = np.unique(groups[groups >= 0], return_counts=True)
    eligible = rng.permutation(labels[counts >= 3])
    if len(eligible) < 2:
        return None
    want = max(4, int(round(len(groups) * fraction)))
    val: list[int] = []
    for g in eligible:
        if len(val) >= want:
            break
        val.extend(rng.permutation(np.flatnonzero(groups == g))[:2].tolist())
    return np.sort(np.asarray(val, dtype=np.int64))


def train(
    config: TrainConfig, data: ImageSet, model=None, live_budget=None
) -> Generator[Progress, None, TrainResult]:
    """Train ``config.model`` (or the given ``model``) on ``data``; see the module docstring.
    ``live_budget`` (a :class:`explorer.core.live_budget.LiveBudget`) paces the probe frames."""
    from explorer.models.base import build_model, model_class

    # the data must suit the model (images; labels or pairs if it learns from them)
    if not data.has_images:
        raise TrainingError(
            f"{data.name or 'This data set'} holds precomputed codes, not images; "
            "open an image data set to train a model."
        )
    cls = type(model) if model is not None else model_class(config.model)
    label = data.name or "the data set"
    if cls.needs_labels and not data.has_labels:
        raise TrainingError(
            f"A '{cls.key}' model learns from class labels, and {label} has none; "
            "open a labelled data set (a folder with one sub-folder per class)."
        )
    data = cls.prepare_data(data)  # e.g. a folder of sequences -> pairs of frames for a gated AE
    # photos train at a small size (a model handed in, e.g. a fine-tune's backbone, keeps its own)
    size_spec = None
    if model is None and data.shape is not None and not cls.needs_pairs:
        size_spec = training_spec(data.shape, config.image_size)
        data = at_training_size(data, size_spec)
    if cls.needs_pairs and data.partners is None:
        raise TrainingError(
            f"A '{cls.key}' model learns from image pairs, and {label} has none; "
            "open a paired data set such as sample:shifts."
        )
    # what the config leaves open, the model's defaults decide
    epochs = int(config.epochs or cls.defaults.get("epochs", 10))
    batch_size = int(config.batch_size or cls.defaults.get("batch_size", 128))
    lr = float(config.lr or cls.defaults.get("lr", 1e-3))
    if epochs < 1 or batch_size < 1 or not lr > 0 or not math.isfinite(lr):
        raise TrainingError("Epochs and batch size must be at least 1 and the learning rate above 0.")

    # device, threads and seeds, then the seeded split and the model
    device = resolve_device(config.device)
    threads = set_cpu_threads(config.threads) if device.type == "cpu" else None
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)

    train_idx, val_idx, own_split = model_split(
        cls, data, config.val_fraction, config.seed, dict(config.options)
    )
    train_set = data.subset(train_idx)
    val_set = data.subset(val_idx) if len(val_idx) else None
    if cls.needs_labels and len(np.unique(train_set.labels[train_set.labels >= 0])) < 2:
        raise TrainingError(f"A '{cls.key}' model needs at least two classes with labels in {label}.")

    if model is None and config.model == "finetune":  # its backbone and classes come from elsewhere
        raise TrainingError(
            "A fine-tune starts from a loaded encoder: build it with "
            "explorer.training.finetune.finetune_model (the CLI's --backbone FILE)."
        )
    if model is None:
        options = {**cls.data_options(train_set), **dict(config.options)}  # the user's options win
        model = build_model(config.model, data.shape, config.code_dim, options)
        model.preprocess = size_spec
    model.to(device).train()
    keep_best = own_split if config.keep_best is None else bool(config.keep_best)
    run = TrainRun(
        config, data, train_set, val_set, model, device, threads, epochs, batch_size, lr, rng, keep_best
    )
    run.live_budget = live_budget
    try:
        # the untrained model's probe codes, and a first record (step 0)
        run.probe()
        yield run.record(None, f"epoch 1/{epochs}", {})
        for epoch in range(epochs):
            # the epoch's steps, a record after each; out of memory: free what the failed step
            # held and redo the epoch at half the batch size, once (halve_batch raises the second time)
            while True:
                try:
                    losses = yield from run.run_epoch(epoch)
                    break
                except RuntimeError as err:  # torch.OutOfMemoryError is a RuntimeError too
                    if not is_out_of_memory(err):
                        raise
                    run.halve_batch(epoch)
            # end of epoch: validation, sample panel, probe, history, checkpoint
            yield run.end_epoch(epoch, losses)
    except GeneratorExit:
        # closed between two steps (the TaskRunner's cancel): keep what was learnt, then stop
        run.cancel()
        raise
    run.stopped = "completed"  # checkpoints written during the run say "running"
    run.restore_best()
    model.fit_data(train_set)  # statistics encode() depends on (a whitening), for the final weights
    # did the images get distinct codes? (a short run can send many to one code: code_check); in
    # the summary and so in the checkpoint written next
    check = run_code_check(model, data, config.seed, device)
    if check is not None:
        run.end_facts["code_check"] = check.as_dict()
        warning = code_sentence(check, run.step)
        if warning:
            run.end_facts["warning"] = warning
    if config.checkpoint and run.saved:
        run.save()
    model.eval()
    return TrainResult(model=model, history=run.history, summary=run.summary(), checkpoint=config.checkpoint)
