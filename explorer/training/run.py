"""One training run: the state :func:`explorer.training.engine.train` steps through, and its parts
(probe, record, save, step, epoch, end of epoch). Built by ``train`` once the data, the split and
the model are checked; nothing here decides what to train."""

from __future__ import annotations

import math
import time
from typing import Any, Iterator

import numpy as np
import torch

from explorer.core.errors import TrainingError
from explorer.core.imageset import ImageSet
from explorer.core.progress import Progress

PROBE_BATCH = 1024
# a validation loss this many times its best so far means the run blew up (finite, but useless)
DIVERGED_RATIO = 10.0


class TrainRun:
    """The optimiser, the counters and the latest payload of one run.

    config: the TrainConfig; data / train_set / val_set: the (prepared) data set and its split;
    model: a TrainableModel already on ``device``; epochs, batch_size, lr: resolved values; rng:
    the run's numpy generator (batch order, augmentation); threads: CPU threads torch uses;
    live_budget: an :class:`explorer.core.live_budget.LiveBudget` that decides at every step
    whether to probe (the training thread's CPU goes to it, and each probe's cost), or None: every
    ``config.probe_every`` steps.
    """

    def __init__(
        self,
        config,
        data: ImageSet,
        train_set: ImageSet,
        val_set: ImageSet | None,
        model,
        device: torch.device,
        threads: int | None,
        epochs: int,
        batch_size: int,
        lr: float,
        rng: np.random.Generator,
        keep_best: bool = False,
        live_budget=None,
    ) -> None:
        self.config, self.data, self.train_set, self.val_set = config, data, train_set, val_set
        self.model, self.device, self.threads, self.rng = model, device, threads, rng
        self.epochs, self.batch_size, self.lr = epochs, batch_size, lr
        self.optimizer = torch.optim.Adam(model.param_groups(lr), weight_decay=config.weight_decay)
        # a model config's lr_schedule "cosine" lowers every group's rate to 0 along a half cosine
        self.schedule = str(getattr(model.config, "lr_schedule", "constant"))
        self.base_lrs = [group["lr"] for group in self.optimizer.param_groups]
        self.use_amp = bool(config.amp and device.type == "cuda")
        self.scaler = torch.amp.GradScaler("cuda") if self.use_amp else None
        self.per_epoch = max(1, model.num_batches(train_set, batch_size))
        self.total = epochs * self.per_epoch
        model.plan(self.total)  # schedules (e.g. the gated AE's warm-up) scale with the run's length
        self.max_shift = max(1, round(min(data.shape[1:]) / 14))

        probe_rng = np.random.default_rng([config.seed, 11])
        # pair scorers (pairnet) have no per-image code to lay out
        has_codes = getattr(model, "has_codes", True)
        self.n_probe = min(config.probe_size, data.count) if config.probe_every > 0 and has_codes else 0
        self.probe_idx = np.sort(probe_rng.choice(data.count, self.n_probe, replace=False)).astype(np.int64)
        panel_source = val_set if val_set is not None else train_set
        self.panel_images = panel_source.float_images(slice(0, min(config.panel_size, panel_source.count)))
        self.payload: dict[str, Any] = {
            "epoch_end": False,
            "probe_indices": self.probe_idx,
            "probe_codes": None,
            "probe_step": -1,
            "samples": None,
            "samples_epoch": -1,
        }
        self.history: list[dict] = []
        self.val_metrics: dict[str, float] = {}
        self.step = 0  # optimiser steps done
        self.epoch = 0  # epochs finished
        self.items = 0  # training items seen
        self.train_seconds = 0.0  # time in training steps (not probes, validation, checkpoints)
        self.train_cpu = 0.0  # this thread's CPU seconds in training steps
        self.live_budget = live_budget
        self.end_facts: dict = {}  # what a completed run adds to its summary (the code check)
        self.stopped = "running"  # checkpoints written during the run say so; the end: "completed"
        self.best_val: float | None = None
        # best-epoch keeping (validation on held-out identities): the model's selection metric
        # (higher is better), the best epoch's weights (on the CPU) and validation figures
        self.keep_best = bool(keep_best and getattr(model, "selection_metric", None))
        self.best_score: float | None = None
        self.best_epoch: int | None = None
        self.best_state: dict[str, torch.Tensor] | None = None
        self.best_metrics: dict[str, float] = {}
        self.saved = False  # a checkpoint has been written
        self.halved = False  # the batch size was halved after running out of memory
        self.started = time.perf_counter()

    # ---- what the run reports ---------------------------------------------------------------
    def summary(self) -> dict:
        """JSON-able facts of the run so far (also written into the checkpoint)."""
        seconds = time.perf_counter() - self.started
        last = self.history[-1] if self.history else {}
        return {
            "model": self.model.key,
            "data": self.data.name,
            "train_items": int(self.train_set.count),
            "val_items": int(0 if self.val_set is None else self.val_set.count),
            "epochs": self.epoch,
            "epochs_planned": self.epochs,
            "steps": self.step,
            "batch_size": self.batch_size,
            "lr": self.lr,
            "weight_decay": self.config.weight_decay,
            "seed": self.config.seed,
            "device": str(self.device),
            "threads": self.threads,
            "augment": bool(self.config.augment),
            "input_shape": list(self.model.input_shape),
            "seconds": round(seconds, 3),
            "items_per_s": round(self.items / max(self.train_seconds, 1e-9), 1),
            "loss": last.get("loss"),
            **dict(self.val_metrics),
            **({"best_epoch": self.best_epoch} if self.keep_best else {}),
            "stopped": self.stopped,
            **self.end_facts,
        }

    def record(self, loss: float | None, message: str, extra: dict, epoch_end: bool = False) -> Progress:
        """The progress record of where the run is (see the engine's module docstring)."""
        elapsed = time.perf_counter() - self.started
        metrics = {
            "epoch": self.epoch + (0.0 if epoch_end else (self.step % self.per_epoch) / self.per_epoch),
            "items_per_s": self.items / max(self.train_seconds, 1e-9),
            "lr": self.lr,
            **extra,
            **self.val_metrics,
        }
        if self.step:  # no estimate before the first step
            metrics["eta_s"] = elapsed / self.step * max(self.total - self.step, 0)
        return Progress(
            step=self.step,
            total=max(self.total, self.step),
            message=message,
            loss=loss,
            metrics=metrics,
            payload=dict(self.payload, epoch_end=epoch_end),
        )

    def probe(self, last: bool = False) -> None:
        """Encode the probe items into the payload (the live scatter's frame of this step), unless
        the live budget skips this frame (the first and ``last`` frames always come)."""
        if self.n_probe == 0:
            return
        budget = self.live_budget
        if budget is not None and not budget.admit(force=last):
            return
        cpu0 = time.thread_time()
        self.model.eval()
        with torch.no_grad():
            parts = []
            for start in range(0, self.n_probe, PROBE_BATCH):
                images = self.data.float_images(self.probe_idx[start : start + PROBE_BATCH])
                parts.append(
                    self.model.encode(torch.from_numpy(images).to(self.device)).float().cpu().numpy()
                )
        self.model.train()
        self.payload["probe_codes"] = np.concatenate(parts).astype(np.float32)
        self.payload["probe_step"] = self.step
        if budget is not None:
            budget.spend(time.thread_time() - cpu0)

    # ---- saving and failing -----------------------------------------------------------------
    def save(self) -> bool:
        """Write the checkpoint, unless the weights went NaN/Inf: then the last good one stays."""
        if not self.config.checkpoint:
            return True
        tensors = [t for t in self.model.state_dict().values() if t.is_floating_point()]
        if not all(bool(torch.isfinite(t).all()) for t in tensors):
            return False
        from explorer.models.checkpoint import save

        was_training = self.model.training
        save(
            self.config.checkpoint,
            self.model,
            class_names=list(self.data.class_names),
            summary=self.summary(),
        )
        self.model.train(was_training)
        self.saved = True
        return True

    def diverged(self, what: str) -> TrainingError:
        """The error that ends a run whose loss or weights stopped being numbers."""
        self.stopped = "diverged"
        keep = f" ({self.config.checkpoint} keeps the last good state)" if self.saved else ""
        return TrainingError(f"Training stopped: {what}{keep}; try a lower learning rate.")

    def halve_batch(self, epoch: int) -> None:
        """After running out of memory in ``epoch``: free what the failed step held and halve the
        batch size, once; a second time (or at batch size 1) is a TrainingError."""
        if self.halved or self.batch_size < 2:
            raise TrainingError(
                f"Out of memory on {self.device} even at batch size {self.batch_size}; choose a "
                "smaller batch size or model, or train on the CPU."
            ) from None
        self.halved = True
        self.batch_size //= 2
        self.per_epoch = max(1, self.model.num_batches(self.train_set, self.batch_size))
        self.total = self.step + (self.epochs - epoch) * self.per_epoch
        self.optimizer.zero_grad(set_to_none=True)
        if self.device.type == "cuda":
            torch.cuda.empty_cache()

    # ---- training -----------------------------------------------------------------------------
    def train_step(self, batch: dict, epoch: int) -> tuple[float, dict]:
        """One optimiser step on ``batch`` (a dict of numpy arrays); (loss, the model's extra terms)."""
        model, config = self.model, self.config
        if config.augment and model.augment_keys:
            batch = dict(batch)
            for k in model.augment_keys:
                if k in batch:
                    batch[k] = shift_images(batch[k], self.max_shift, self.rng)
        tensors = {k: to_tensor(v, self.device) for k, v in batch.items()}
        with torch.autocast(device_type="cuda", dtype=torch.float16, enabled=self.use_amp):
            loss, extra = model.loss(tensors)
        value = float(loss.detach())
        where = f"at step {self.step + 1} (epoch {epoch + 1})"
        if not math.isfinite(value):
            raise self.diverged(f"the loss became {value} {where}")
        self.optimizer.zero_grad(set_to_none=True)
        if self.schedule == "cosine":
            factor = 0.5 * (1 + math.cos(math.pi * min(self.step / max(self.total, 1), 1.0)))
            for group, base in zip(self.optimizer.param_groups, self.base_lrs):
                group["lr"] = base * factor
        try:
            if self.scaler is not None:
                self.scaler.scale(loss).backward()
                self.scaler.step(self.optimizer)
                self.scaler.update()
            else:
                loss.backward()
                self.optimizer.step()
        except RuntimeError as err:  # e.g. Adam: "value cannot be converted ... without overflow"
            if "overflow" not in str(err):
                raise
            raise self.diverged(f"the weights overflowed {where}") from None
        model.after_step()
        self.step += 1
        self.items += len(next(iter(batch.values())))
        return value, {k: float(v) for k, v in extra.items()}

    def run_epoch(self, epoch: int) -> Iterator[Progress]:
        """One pass over the training batches; yields a record per step, returns the losses.
        Probes and checkpoints every ``probe_every`` / ``checkpoint_every`` steps."""
        config = self.config
        losses: list[float] = []
        tick, cpu = time.perf_counter(), time.thread_time()
        for batch in self.model.batches(self.train_set, self.batch_size, self.rng):
            value, extra = self.train_step(batch, epoch)
            losses.append(value)
            self.train_seconds += time.perf_counter() - tick
            self.train_cpu += time.thread_time() - cpu
            if self.live_budget is not None:
                self.live_budget.work(self.train_cpu)
            # with a live budget every step may probe (the budget decides), else every probe_every
            if config.probe_every > 0 and (
                self.live_budget is not None or self.step % config.probe_every == 0
            ):
                self.probe()
            if config.checkpoint_every > 0 and self.step % config.checkpoint_every == 0 and not self.save():
                raise self.diverged(f"the weights became NaN or infinite at step {self.step}")
            yield self.record(value, f"epoch {epoch + 1}/{self.epochs}", extra)
            tick, cpu = time.perf_counter(), time.thread_time()
        return losses

    def end_epoch(self, epoch: int, losses: list[float]) -> Progress:
        """After ``epoch``'s steps: validate, draw the sample panel, probe, add to the history and
        write the checkpoint; the epoch's record."""
        model = self.model
        self.epoch = epoch + 1
        model.eval()
        if self.keep_best:  # validation picks the epoch: it measures what encode() will give
            model.fit_data(self.train_set)
        if self.val_set is not None:
            self.val_metrics = {k: float(v) for k, v in model.validate(self.val_set).items()}
            self.val_metrics["val_epoch"] = float(epoch + 1)
        panel = model.sample_panel(self.panel_images)
        model.train()
        if self.config.probe_every > 0:
            self.probe(last=epoch + 1 == self.epochs)
        if panel is not None:
            self.payload["samples"] = np.asarray(panel, dtype=np.float32)
            self.payload["samples_epoch"] = epoch + 1
            self.payload["samples_caption"] = getattr(model, "sample_caption", None)
        mean_loss = float(np.mean(losses)) if losses else math.nan
        self.history.append({"epoch": epoch + 1, "step": self.step, "loss": mean_loss, **self.val_metrics})
        val_loss = self.val_metrics.get("val_loss")
        if val_loss is not None and not math.isfinite(val_loss):
            raise self.diverged(f"the validation loss became {val_loss} after epoch {epoch + 1}")
        best = self.best_val
        if (
            val_loss is not None
            and best is not None
            and val_loss > DIVERGED_RATIO * best
            and val_loss - best > 1e-6
        ):
            raise self.diverged(
                f"the validation loss rose from {best:.4g} to {val_loss:.4g} after epoch {epoch + 1}"
            )
        if val_loss is not None:
            self.best_val = val_loss if best is None else min(best, val_loss)
        self.note_best(epoch + 1)
        if not self.save():
            raise self.diverged(f"the weights became NaN or infinite in epoch {epoch + 1}")
        return self.record(mean_loss, f"epoch {epoch + 1}/{self.epochs} done", {}, epoch_end=True)

    def note_best(self, epoch: int) -> None:
        """Remember the weights of ``epoch`` (1-based) when its selection metric is the best yet."""
        if not self.keep_best:
            return
        score = self.val_metrics.get(self.model.selection_metric)
        if score is None or not math.isfinite(score):
            return
        if self.best_score is None or score > self.best_score:
            self.best_score, self.best_epoch = float(score), epoch
            self.best_state = {k: v.detach().cpu().clone() for k, v in self.model.state_dict().items()}
            self.best_metrics = dict(self.val_metrics)

    def restore_best(self) -> None:
        """Put the best epoch's weights back (and its validation figures in the summary), when an
        epoch after it was worse; the checkpoint written next holds them."""
        if self.best_state is None or self.best_epoch == self.epoch:
            return
        self.model.load_state_dict(self.best_state)
        self.val_metrics = dict(self.best_metrics)

    def cancel(self) -> None:
        """Stopped between two steps: keep what was learnt (a checkpoint, when one is asked for)."""
        self.stopped = "cancelled"
        self.restore_best()
        if self.step > 0:
            self.model.fit_data(self.train_set)  # what encode() depends on, for these weights
            self.save()
        self.model.eval()


def shift_images(images: np.ndarray, max_shift: int, rng: np.random.Generator) -> np.ndarray:
    """Each image moved by up to ``max_shift`` pixels in x and y, zero-filled (float32)."""
    out = np.zeros_like(images)
    _, _, h, w = images.shape
    for i, (dy, dx) in enumerate(rng.integers(-max_shift, max_shift + 1, size=(len(images), 2))):
        ys, yd = (slice(0, h - dy), slice(dy, h)) if dy >= 0 else (slice(-dy, h), slice(0, h + dy))
        xs, xd = (slice(0, w - dx), slice(dx, w)) if dx >= 0 else (slice(-dx, w), slice(0, w + dx))
        out[i, :, yd, xd] = images[i, :, ys, xs]
    return out


def is_out_of_memory(err: BaseException) -> bool:
    return isinstance(err, torch.OutOfMemoryError) or "out of memory" in str(err).lower()


def to_tensor(value, device: torch.device) -> torch.Tensor:
    t = torch.as_tensor(np.asarray(value))
    if t.is_floating_point():
        t = t.float()
    return t.to(device, non_blocking=True)
