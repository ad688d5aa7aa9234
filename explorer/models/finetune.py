"""`finetune`: a loaded encoder (the backbone) with a new head, trained on labelled data.

Two ways to train it (``freeze``):
- frozen backbone: only the new layers learn (fast; the backbone's features stay as they are);
- all layers: the backbone learns at the base learning rate, the new layers' weights at x10 and
  their biases at x20 (the usual fine-tuning recipe: new layers start from nothing).

Objectives: "classify" (cross-entropy through a classifier on top of the code; the code is the
layer before it), "contrastive" (siamese pairs) or "triplet" (in-batch semi-hard mining).

The checkpoint carries its backbone: the backbone's architecture key and config are in the
config, its weights in the checkpoint's tensors, so the file rebuilds itself without opening any
other file. Only our own architectures can be carried that way (a fine-tune of a fine-tune nests:
``backbone_architecture="finetune"``). A TorchScript / .pt2 / ONNX backbone is a program that a
.safetensors file cannot hold, so fine-tuning one is refused (see explorer/training/finetune.py),
and an old checkpoint that names its backbone by a file path is refused rather than opening it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from explorer.models._metric import MetricModel, contrastive_loss, pair_distance
from explorer.models.base import register, shuffled_batches
from explorer.models.sampling import balanced_pairs, class_balanced_batches
from explorer.models.triplet import triplet_loss


@dataclass
class FineTuneConfig:
    code_dim: int = 32
    backbone: str = ""  # where the backbone came from: shown to the user, never opened
    backbone_architecture: str = ""  # our model key (required to rebuild)
    backbone_config: dict = field(default_factory=dict)
    backbone_dim: int = 0  # size of the backbone's output (found on first build)
    freeze: bool = False
    objective: str = "classify"  # "classify" | "contrastive" | "triplet"
    n_classes: int = 0
    margin: float = 1.0


@register
class FineTune(MetricModel):
    key = "finetune"
    description = "Fine-tune a loaded encoder with a new head (backbone frozen, or all layers)."
    Config = FineTuneConfig
    augment_keys = ("x", "x1", "x2")
    defaults = {"epochs": 5, "batch_size": 64, "lr": 3e-4}

    def __init__(self, config, input_shape, backbone: nn.Module | None = None) -> None:
        super().__init__(config, input_shape)
        if config.objective not in ("classify", "contrastive", "triplet"):
            raise ValueError(f"objective must be classify, contrastive or triplet, not {config.objective!r}")
        self.backbone = backbone if backbone is not None else _rebuild_backbone(config, self.input_shape)
        if not config.backbone_dim:
            with torch.no_grad():
                config.backbone_dim = int(self.features(torch.zeros(2, *self.input_shape)).shape[1])
        self.head = nn.Linear(config.backbone_dim, config.code_dim)  # new layer
        self.classifier = (
            nn.Linear(config.code_dim, config.n_classes)
            if config.objective == "classify" and config.n_classes > 0
            else None
        )
        self.backbone.requires_grad_(not config.freeze)

    # ---- the network ------------------------------------------------------------------------
    def features(self, x: torch.Tensor) -> torch.Tensor:
        out = self.backbone.encode(x) if hasattr(self.backbone, "encode") else self.backbone(x)
        if isinstance(out, (tuple, list)):
            out = out[0]
        return out.flatten(1)  # (B, backbone_dim)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))  # (B, code_dim)

    def train(self, mode: bool = True):
        super().train(mode)
        if self.config.freeze:  # a frozen backbone keeps its batch-norm statistics
            self.backbone.eval()
        return self

    def new_layers(self) -> list[nn.Module]:
        return [m for m in (self.head, self.classifier) if m is not None]

    def param_groups(self, lr: float) -> list[dict]:
        """Frozen: the new layers at ``lr``. All layers: backbone ``lr``, new weights x10, biases x20."""
        weights = [p for m in self.new_layers() for n, p in m.named_parameters() if n != "bias"]
        biases = [p for m in self.new_layers() for n, p in m.named_parameters() if n == "bias"]
        if self.config.freeze:
            return [{"params": weights + biases, "lr": lr, "name": "new"}]
        backbone = [p for p in self.backbone.parameters() if p.requires_grad]
        groups = [
            {"params": weights, "lr": lr * 10, "name": "new weights"},
            {"params": biases, "lr": lr * 20, "name": "new biases"},
        ]
        if backbone:
            groups.insert(0, {"params": backbone, "lr": lr, "name": "backbone"})
        return groups

    # ---- training -----------------------------------------------------------------------------
    def num_batches(self, data, batch_size: int) -> int:
        n = int((data.labels >= 0).sum())
        return -(-(2 * n if self.config.objective == "contrastive" else n) // batch_size)

    def batches(self, data, batch_size, rng):
        labelled = np.flatnonzero(data.labels >= 0)
        if self.config.objective == "classify":
            for idx in shuffled_batches(len(labelled), batch_size, rng):
                pick = np.sort(labelled[idx])
                yield {"x": data.float_images(pick), "y": data.labels[pick]}
        elif self.config.objective == "contrastive":
            i, j, same = balanced_pairs(data.labels, 2 * len(labelled), rng)
            for s in range(0, len(i), batch_size):
                sl = slice(s, s + batch_size)
                yield {"x1": data.float_images(i[sl]), "x2": data.float_images(j[sl]), "same": same[sl]}
        else:
            for idx in class_balanced_batches(data.labels, batch_size, rng, 8):
                yield {"x": data.float_images(idx), "y": data.labels[idx]}

    def loss(self, batch):
        if self.config.objective == "classify":
            logits = self.classifier(self.encode(batch["x"]))
            loss = F.cross_entropy(logits, batch["y"])
            return loss, {"accuracy": float((logits.argmax(1) == batch["y"]).float().mean())}
        if self.config.objective == "contrastive":
            d = pair_distance(self.encode(batch["x1"]), self.encode(batch["x2"]))
            return contrastive_loss(d, batch["same"], self.config.margin), {}
        return triplet_loss(F.normalize(self.encode(batch["x"]), dim=1), batch["y"], self.config.margin)

    @torch.no_grad()
    def validate(self, data):
        auc, d, same = self.pair_auc(data)
        out = {"auc": auc}
        if self.config.objective == "classify":
            keep = np.flatnonzero(data.labels >= 0)
            losses, right = [], 0
            for s in range(0, len(keep), 512):
                idx = keep[s : s + 512]
                logits = self.classifier(
                    self.encode(torch.from_numpy(data.float_images(idx)).to(self.device))
                )
                y = torch.as_tensor(data.labels[idx], device=logits.device)
                losses.append(float(F.cross_entropy(logits, y, reduction="sum")))
                right += int((logits.argmax(1) == y).sum())
            out["val_loss"] = sum(losses) / max(len(keep), 1)
            out["accuracy"] = right / max(len(keep), 1)
        elif d is not None:
            y = torch.as_tensor(np.asarray(same), device=d.device)
            out["val_loss"] = float(contrastive_loss(d, y, self.config.margin))
        else:
            out["val_loss"] = float("nan")
        return out


MAX_NESTED_FINETUNES = 8


def _nesting(config: dict) -> int:
    """How many fine-tunes are nested inside a backbone config."""
    depth = 0
    while isinstance(config, dict) and config.get("backbone_architecture") == FineTune.key:
        depth, config = depth + 1, config.get("backbone_config")
    return depth


def _rebuild_backbone(config: FineTuneConfig, input_shape) -> nn.Module:
    """The backbone described by the config (its weights are loaded afterwards from the same
    checkpoint). Never opens another file: a config without an architecture is refused."""
    from explorer.core.errors import ModelFileError
    from explorer.models.base import build_model
    from explorer.models.trust import printable

    if config.backbone_architecture:
        if _nesting(config.backbone_config) > MAX_NESTED_FINETUNES:
            raise ModelFileError(
                f"This fine-tuned model nests more than {MAX_NESTED_FINETUNES} fine-tunes inside each "
                "other; explorer refuses to rebuild it."
            )
        return build_model(config.backbone_architecture, input_shape, options=dict(config.backbone_config))
    where = f" ({printable(os.path.basename(str(config.backbone)))})" if config.backbone else ""
    raise ModelFileError(
        f"This fine-tuned model does not carry its backbone's architecture, only the name of another "
        f"file{where}, and explorer never opens a model file named inside another; fine-tune again "
        "from one of explorer's own .safetensors models."
    )


def _module_of(encoder) -> nn.Module:
    """The torch module inside a TorchEncoder (also unwrapping an exported program)."""
    from explorer.core.errors import ModelFileError

    module = getattr(encoder, "module", encoder)
    module = getattr(module, "module", module)  # torch.export wrapper
    if not isinstance(module, nn.Module):
        raise ModelFileError(
            f"{getattr(encoder, 'name', 'this encoder')} is not a torch model (ONNX, pixels and pca "
            "cannot be fine-tuned); use a .safetensors, TorchScript or .pt2 model."
        )
    return module
