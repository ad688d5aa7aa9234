"""Build a fine-tuning model from a loaded encoder: the encoder becomes the backbone of a
``finetune`` model (explorer/models/finetune.py) with a new head; train it with the engine:

    model = finetune_model("dae.safetensors", data, freeze=False)
    result = run_to_end(train(TrainConfig(model="finetune", lr=1e-4), data, model=model))
"""

from __future__ import annotations

import os

from explorer.core.errors import ExplorerError
from explorer.core.imageset import ImageSet

_EXTERNAL = (
    "{name} is not one of explorer's own models, and a fine-tuned checkpoint must carry its "
    "backbone's architecture inside itself (it never opens another file), which only explorer's own "
    "models can do; fine-tune a .safetensors model trained with explorer instead."
)


def finetune_model(
    source,
    data: ImageSet,
    code_dim: int | None = None,
    freeze: bool = False,
    options: dict | None = None,
):
    """A FineTune model around ``source``: a model file path, a TorchEncoder, or a torch module.

    ``options`` may set objective ("classify" | "contrastive" | "triplet") and margin. With all
    layers training (``freeze=False``) the new layers get x10 the learning rate and their biases
    x20; with ``freeze=True`` only the new layers learn.
    """
    from torch import nn

    from explorer.models.base import TrainableModel
    from explorer.models.finetune import FineTune, FineTuneConfig
    from explorer.models.trust import printable

    options = dict(options or {})
    unknown = set(options) - {"objective", "margin"}
    if unknown:
        raise ExplorerError(
            f"Fine-tuning has no option {', '.join(sorted(unknown))}; use objective or margin."
        )
    if not data.has_labels:
        raise ExplorerError("Fine-tuning learns from class labels, and this data set has none.")
    path, architecture, arch_config, input_shape = "", "", {}, None
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        if not path.lower().endswith(".safetensors"):
            raise ExplorerError(_EXTERNAL.format(name=printable(os.path.basename(path))))
        from explorer.models.checkpoint import load

        module = load(path).model
    elif isinstance(source, nn.Module):
        module = source
    else:  # an encoder object
        module = getattr(source, "module", source)
        path = getattr(source, "source", "")
    if not isinstance(module, TrainableModel):
        name = printable(os.path.basename(path) if path else getattr(source, "name", "this encoder"))
        raise ExplorerError(_EXTERNAL.format(name=name))
    # the fine-tune carries its backbone (architecture, config, weights); nested for a fine-tune
    architecture, arch_config, input_shape = module.key, module.config_dict(), module.input_shape
    input_shape = tuple(input_shape or data.shape)
    if input_shape != tuple(data.shape):
        raise ExplorerError(
            f"The encoder takes images of shape {list(input_shape)} (C, H, W) but the data set's are "
            f"{list(data.shape)}; fine-tune on data of the encoder's shape."
        )
    config = FineTuneConfig(
        code_dim=int(code_dim or 32),
        backbone=os.path.basename(path),  # provenance for the user; never opened
        backbone_architecture=architecture,
        backbone_config=arch_config,
        freeze=bool(freeze),
        objective=options.get("objective", "classify"),
        n_classes=max(len(data.class_names), int(data.labels.max()) + 1),
        margin=float(options.get("margin", 1.0)),
    )
    return FineTune(config, input_shape, backbone=module.cpu())
