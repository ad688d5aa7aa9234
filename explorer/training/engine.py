"""The one training loop, written as a generator of progress records.

    gen = train(TrainConfig(model="dae", epochs=5), data)
    result = drive(gen)            # CLI: explorer.commands._common.drive; GUI: ui.workers.TaskRunner

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
``TrainConfig.model`` once it is registered, or pass a built model as ``model=``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Generator, Mapping

import numpy as np
import torch

from explorer.core.errors import TrainingError
from explorer.core.imageset import ImageSet
from explorer.core.progress import Progress
from explorer.training.devices import resolve_device, set_cpu_threads


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


@dataclass
class TrainResult:
    """What a finished (or stopped) run returns.

    model:      the trained TrainableModel, in eval mode, on the training device.
    history:    one dict per finished epoch: epoch, step, loss (mean train loss), val_loss, metrics.
    summary:    JSON-able facts (also written into the checkpoint): model, epochs, steps, seconds,
                items_per_s, device, data, final loss and validation figures, stopped ("completed"
                or "cancelled").
    checkpoint: the path written, or None.
    """

    model: Any
    history: list[dict] = field(default_factory=list)
    summary: dict = field(default_factory=dict)
    checkpoint: str | None = None


def split_indices(
    data: ImageSet, fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
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


def shift_images(images: np.ndarray, max_shift: int, rng: np.random.Generator) -> np.ndarray:
    """Each image moved by up to ``max_shift`` pixels in x and y, zero-filled (float32)."""
    out = np.zeros_like(images)
    _, _, h, w = images.shape
    for i, (dy, dx) in enumerate(rng.integers(-max_shift, max_shift + 1, size=(len(images), 2))):
        ys, yd = (slice(0, h - dy), slice(dy, h)) if dy >= 0 else (slice(-dy, h), slice(0, h + dy))
        xs, xd = (slice(0, w - dx), slice(dx, w)) if dx >= 0 else (slice(-dx, w), slice(0, w + dx))
        out[i, :, yd, xd] = images[i, :, ys, xs]
    return out


def train(
    config: TrainConfig, data: ImageSet, model=None
) -> Generator[Progress, None, TrainResult]:
    """Train ``config.model`` (or the given ``model``) on ``data``; see the module docstring."""
    from explorer.models.base import build_model, model_class

    if not data.has_images:
        raise TrainingError(f"{data.name or 'This data set'} holds precomputed codes, not images; "
                            "open an image data set to train a model.")
    cls = type(model) if model is not None else model_class(config.model)
    label = data.name or "the data set"
    if cls.needs_labels and not data.has_labels:
        raise TrainingError(f"A '{cls.key}' model learns from class labels, and {label} has none; "
                            "open a labelled data set (a folder with one sub-folder per class).")
    data = cls.prepare_data(data)  # e.g. a folder of sequences -> pairs of frames for a gated AE
    if cls.needs_pairs and data.partners is None:
        raise TrainingError(f"A '{cls.key}' model learns from image pairs, and {label} has none; "
                            "open a paired data set such as sample:shifts.")
    epochs = int(config.epochs or cls.defaults.get("epochs", 10))
    batch_size = int(config.batch_size or cls.defaults.get("batch_size", 128))
    lr = float(config.lr or cls.defaults.get("lr", 1e-3))
    if epochs < 1 or batch_size < 1 or not lr > 0 or not math.isfinite(lr):
        raise TrainingError("Epochs and batch size must be at least 1 and the learning rate above 0.")

    device = resolve_device(config.device)
    threads = set_cpu_threads(config.threads) if device.type == "cpu" else None
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)

    train_idx, val_idx = split_indices(data, config.val_fraction, config.seed)
    train_set = data.subset(train_idx)
    val_set = data.subset(val_idx) if len(val_idx) else None
    if cls.needs_labels and len(np.unique(train_set.labels[train_set.labels >= 0])) < 2:
        raise TrainingError(f"A '{cls.key}' model needs at least two classes with labels in {label}.")

    if model is None and config.model == "finetune":  # its backbone and classes come from elsewhere
        raise TrainingError("A fine-tune starts from a loaded encoder: build it with "
                            "explorer.training.finetune.finetune_model (the CLI's --backbone FILE).")
    if model is None:
        model = build_model(config.model, data.shape, config.code_dim, dict(config.options))
    model.to(device).train()
    optimizer = torch.optim.Adam(model.param_groups(lr), weight_decay=config.weight_decay)
    use_amp = bool(config.amp and device.type == "cuda")
    scaler = torch.amp.GradScaler("cuda") if use_amp else None

    per_epoch = max(1, model.num_batches(train_set, batch_size))
    total = epochs * per_epoch
    max_shift = max(1, round(min(data.shape[1:]) / 14))

    probe_rng = np.random.default_rng([config.seed, 11])
    # pair scorers (pairnet) have no per-image code to lay out
    has_codes = getattr(model, "has_codes", True)
    n_probe = min(config.probe_size, data.count) if config.probe_every > 0 and has_codes else 0
    probe_idx = np.sort(probe_rng.choice(data.count, n_probe, replace=False)).astype(np.int64)
    panel_source = val_set if val_set is not None else train_set
    panel_images = panel_source.float_images(slice(0, min(config.panel_size, panel_source.count)))
    payload: dict[str, Any] = {
        "epoch_end": False,
        "probe_indices": probe_idx,
        "probe_codes": None,
        "probe_step": -1,
        "samples": None,
        "samples_epoch": -1,
    }
    history: list[dict] = []
    val_metrics: dict[str, float] = {}
    state = {"step": 0, "epoch": 0, "items": 0, "train_seconds": 0.0, "stopped": "completed"}
    started = time.perf_counter()

    def summary() -> dict:
        seconds = time.perf_counter() - started
        last = history[-1] if history else {}
        return {
            "model": model.key,
            "data": data.name,
            "train_items": int(train_set.count),
            "val_items": int(0 if val_set is None else val_set.count),
            "epochs": state["epoch"],
            "epochs_planned": epochs,
            "steps": state["step"],
            "batch_size": batch_size,
            "lr": lr,
            "seed": config.seed,
            "device": str(device),
            "threads": threads,
            "augment": bool(config.augment),
            "seconds": round(seconds, 3),
            "items_per_s": round(state["items"] / max(state["train_seconds"], 1e-9), 1),
            "loss": last.get("loss"),
            **{k: v for k, v in val_metrics.items()},
            "stopped": state["stopped"],
        }

    def save_checkpoint() -> bool:
        """Write the checkpoint, unless the weights went NaN/Inf: then the last good one stays."""
        if not config.checkpoint:
            return True
        if not all(bool(torch.isfinite(t).all()) for t in model.state_dict().values() if t.is_floating_point()):
            return False
        from explorer.models.checkpoint import save

        was_training = model.training
        save(config.checkpoint, model, class_names=list(data.class_names), summary=summary())
        model.train(was_training)
        state["saved"] = True
        return True

    def diverged(what: str) -> TrainingError:
        state["stopped"] = "diverged"
        keep = f" ({config.checkpoint} keeps the last good state)" if state.get("saved") else ""
        return TrainingError(f"Training stopped: {what}{keep}; try a lower learning rate.")

    def probe() -> None:
        if n_probe == 0:
            return
        model.eval()
        with torch.no_grad():
            parts = []
            for start in range(0, n_probe, 1024):
                x = torch.from_numpy(data.float_images(probe_idx[start : start + 1024])).to(device)
                parts.append(model.encode(x).float().cpu().numpy())
        model.train()
        payload["probe_codes"] = np.concatenate(parts).astype(np.float32)
        payload["probe_step"] = state["step"]

    def record(loss: float | None, message: str, extra: dict, epoch_end: bool = False) -> Progress:
        step = state["step"]
        elapsed = time.perf_counter() - started
        metrics = {
            "epoch": state["epoch"] + (0.0 if epoch_end else (step % per_epoch) / per_epoch),
            "items_per_s": state["items"] / max(state["train_seconds"], 1e-9),
            "lr": lr,
            **extra,
            **val_metrics,
        }
        if step:  # no estimate before the first step
            metrics["eta_s"] = elapsed / step * max(total - step, 0)
        return Progress(step=step, total=max(total, step), message=message, loss=loss,
                        metrics=metrics, payload=dict(payload, epoch_end=epoch_end))

    def run_epoch(epoch: int):
        """One pass over the training batches; yields a record per step, returns the losses."""
        losses: list[float] = []
        tick = time.perf_counter()
        for batch in model.batches(train_set, batch_size, rng):
            if config.augment and model.augment_keys:
                batch = dict(batch)
                for k in model.augment_keys:
                    if k in batch:
                        batch[k] = shift_images(batch[k], max_shift, rng)
            tensors = {k: _to_tensor(v, device) for k, v in batch.items()}
            with torch.autocast(device_type="cuda", dtype=torch.float16, enabled=use_amp):
                loss, extra = model.loss(tensors)
            value = float(loss.detach())
            if not math.isfinite(value):
                raise diverged(f"the loss became {value} at step {state['step'] + 1} (epoch {epoch + 1})")
            optimizer.zero_grad(set_to_none=True)
            try:
                if scaler is not None:
                    scaler.scale(loss).backward()
                    scaler.step(optimizer)
                    scaler.update()
                else:
                    loss.backward()
                    optimizer.step()
            except RuntimeError as err:  # e.g. Adam: "value cannot be converted ... without overflow"
                if "overflow" not in str(err):
                    raise
                raise diverged(f"the weights overflowed at step {state['step'] + 1} (epoch {epoch + 1})") from None
            model.after_step()
            losses.append(value)
            state["step"] += 1
            state["items"] += len(next(iter(batch.values())))
            now = time.perf_counter()
            state["train_seconds"] += now - tick
            if config.probe_every > 0 and state["step"] % config.probe_every == 0:
                probe()
            if config.checkpoint_every > 0 and state["step"] % config.checkpoint_every == 0:
                if not save_checkpoint():
                    raise diverged(f"the weights became NaN or infinite at step {state['step']}")
            yield record(value, f"epoch {epoch + 1}/{epochs}", {k: float(v) for k, v in extra.items()})
            tick = time.perf_counter()
        return losses

    try:
        probe()
        yield record(None, f"epoch 1/{epochs}", {})
        for epoch in range(epochs):
            while True:
                try:
                    losses = yield from run_epoch(epoch)
                    break
                except RuntimeError as err:  # torch.OutOfMemoryError is a RuntimeError too
                    if not _is_out_of_memory(err):
                        raise
                    if state.get("halved") or batch_size < 2:
                        raise TrainingError(
                            f"Out of memory on {device} even at batch size {batch_size}; choose a "
                            "smaller batch size or model, or train on the CPU.") from None
                    # once: free what the failed step held and redo this epoch at half the batch
                    state["halved"] = True
                    batch_size //= 2
                    per_epoch = max(1, model.num_batches(train_set, batch_size))
                    total = state["step"] + (epochs - epoch) * per_epoch
                    optimizer.zero_grad(set_to_none=True)
                    if device.type == "cuda":
                        torch.cuda.empty_cache()
            # ---- end of epoch: validate, sample panel, checkpoint ----
            state["epoch"] = epoch + 1
            model.eval()
            if val_set is not None:
                val_metrics = {k: float(v) for k, v in model.validate(val_set).items()}
                val_metrics["val_epoch"] = float(epoch + 1)
            panel = model.sample_panel(panel_images)
            model.train()
            if config.probe_every > 0:
                probe()
            if panel is not None:
                payload["samples"] = np.asarray(panel, dtype=np.float32)
                payload["samples_epoch"] = epoch + 1
            mean_loss = float(np.mean(losses)) if losses else math.nan
            history.append({"epoch": epoch + 1, "step": state["step"], "loss": mean_loss, **val_metrics})
            bad = [k for k, v in val_metrics.items() if k == "val_loss" and not math.isfinite(v)]
            if bad:
                raise diverged(f"the validation loss became {val_metrics['val_loss']} after epoch {epoch + 1}")
            if not save_checkpoint():
                raise diverged(f"the weights became NaN or infinite in epoch {epoch + 1}")
            yield record(mean_loss, f"epoch {epoch + 1}/{epochs} done", {}, epoch_end=True)
    except GeneratorExit:
        state["stopped"] = "cancelled"
        if state["step"] > 0:
            save_checkpoint()
        model.eval()
        raise
    model.eval()
    result = TrainResult(model=model, history=history, summary=summary(), checkpoint=config.checkpoint)
    return result


def _is_out_of_memory(err: BaseException) -> bool:
    return isinstance(err, torch.OutOfMemoryError) or "out of memory" in str(err).lower()


def _to_tensor(value, device: torch.device) -> torch.Tensor:
    t = torch.as_tensor(np.asarray(value))
    if t.is_floating_point():
        t = t.float()
    return t.to(device, non_blocking=True)
