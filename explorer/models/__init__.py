"""Torch models, their configs, checkpoint IO, pseudo-encoders and external encoders.

Importing this package is cheap (no torch): the GUI starts fast. ``load_encoder`` imports torch
only when it loads a torch model; ``model_keys`` / ``model_class`` / ``build_model`` (from
``explorer.models.base``) import it on first use.
"""

from explorer.models.encoders import PCAEncoder, PixelEncoder, load_encoder

__all__ = ["load_encoder", "PixelEncoder", "PCAEncoder", "model_keys", "model_class", "build_model"]


def __getattr__(name):  # lazy: these pull in torch
    if name in ("model_keys", "model_class", "build_model", "TrainableModel", "register"):
        from explorer.models import base

        return getattr(base, name)
    raise AttributeError(f"module 'explorer.models' has no attribute {name!r}")
