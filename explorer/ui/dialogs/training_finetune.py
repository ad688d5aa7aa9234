"""Fine-tuning from the training dialog: which loaded models can be a backbone, and the job.

A fine-tune is built from another model, not from a config alone: its backbone is one of the
workspace's loaded models (chosen from a list, never typed), its class count comes from the data
set, and ``explorer.training.finetune.finetune_model`` fills the backbone fields of its config. The
dialog shows only the options a user chooses (objective from a list, margin, freeze).
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator

from explorer.core.progress import Progress

FINETUNE = "finetune"
# FineTuneConfig fields finetune_model fills from the backbone and the data set
FILLED_OPTIONS = (
    "code_dim",
    "backbone",
    "backbone_architecture",
    "backbone_config",
    "backbone_dim",
    "n_classes",
)
OBJECTIVES = ("classify", "contrastive", "triplet")


def backbone_names(workspace) -> list[str]:
    """Names of the loaded models that can be fine-tuned on the open data set: our own trained
    models (they rebuild themselves inside the fine-tune's checkpoint) whose input shape is the
    data set's. External programs (ONNX, TorchScript) cannot be carried and are left out."""
    from explorer.models.base import TrainableModel

    ds = workspace.dataset
    if ds is None or not ds.has_images:
        return []
    out = []
    for name, enc in workspace.models.items():
        module = getattr(enc, "module", None)
        if isinstance(module, TrainableModel) and tuple(module.input_shape) == tuple(ds.shape):
            out.append(name)
    return out


def finetune_job(encoder, data, config, freeze: bool, options: dict, live_budget=None) -> Iterator[Progress]:
    """Build a fine-tune of ``encoder`` (a loaded TorchEncoder) for ``data`` and train it with
    ``config`` (a TrainConfig whose model is "finetune"); runs in the worker thread.

    The backbone is a copy: training all layers must not change the loaded model the other views
    show. ``options`` may hold objective and margin. Returns the engine's TrainResult.
    """
    from dataclasses import replace

    from explorer.training.engine import train
    from explorer.training.finetune import finetune_model

    yield Progress(message=f"preparing a fine-tune of {encoder.name}")
    module = copy.deepcopy(encoder.module).cpu()
    model = finetune_model(
        module,
        data,
        code_dim=config.code_dim,
        freeze=freeze,
        options={k: v for k, v in options.items() if k in ("objective", "margin")},
    )
    model.config.backbone = os.path.basename(getattr(encoder, "source", "") or "") or encoder.name
    return (
        yield from train(
            replace(config, model=FINETUNE, options={}), data, model=model, live_budget=live_budget
        )
    )
