"""Where an external model's preprocessing comes from, and remembering the user's choice.

In order (the first that says something wins):
1. the sidecar ``<model>.json``: ``"preprocess": {InputSpec fields}`` or
   ``"preset": "imagenet"|"clip"|"plain"``;
2. the model file's own metadata: ONNX ``metadata_props`` keys ``preprocess`` (JSON) or ``preset``;
   TorchScript / .pt2 extra file ``preprocess.json``;
3. the choice the user made for this file before (``config_dir("preprocessing")/<sha256>.json``);
4. nothing: the encoder gets ``plain`` (resize the shorter side, centre crop, 0..1) and
   ``preprocess_source == "default"``, so the GUI can ask (presets ImageNet, CLIP, plain).

The spec's mean/std become the encoder's ``normalisation`` when the file did not set one itself.
"""

from __future__ import annotations

import json
import os

from explorer.core.atomic import atomic_write
from explorer.core.errors import ModelFileError
from explorer.core.paths import config_dir
from explorer.core.preprocess import PRESETS, InputSpec, preset


def spec_from(obj, shape, where: str) -> InputSpec | None:
    """An InputSpec from a sidecar/metadata value: a preset name, {"preset": ...} or the full fields."""
    if obj is None or shape is None:
        return None
    try:
        if isinstance(obj, str):
            text = obj.strip()
            if text.startswith("{"):
                obj = json.loads(text)
            else:
                return preset(text.lower(), shape)
        if isinstance(obj, dict) and set(obj) <= {"preset"}:
            return preset(str(obj["preset"]).lower(), shape)
        if isinstance(obj, dict):
            full = {"channels": shape[0], "height": shape[1], "width": shape[2], **obj}
            if "preset" in obj and "mean" not in obj:  # a preset with overrides
                base = preset(str(obj["preset"]).lower(), shape).to_json()
                full = {**base, **obj}
            return InputSpec.from_json(full)
    except (ValueError, TypeError, KeyError) as err:
        raise ModelFileError(f"{where}: {err}.") from None
    raise ModelFileError(f"{where}: preprocess must be a preset name ({', '.join(PRESETS)}) or an object.")


def _memory_file(model_path: str) -> str:
    from explorer.core.codes_store import file_hash

    return os.path.join(config_dir("preprocessing"), file_hash(model_path) + ".json")


def remembered(model_path: str, shape) -> InputSpec | None:
    """The preprocessing the user chose for this model file (by content), or None."""
    try:
        with open(_memory_file(model_path), encoding="utf-8") as f:
            return spec_from(json.load(f), shape, "remembered preprocessing")
    except (OSError, ValueError, ModelFileError):
        return None


def remember(model_path: str, spec: InputSpec) -> None:
    """Keep ``spec`` for this model file (by content hash) in the user's config folder."""
    text = json.dumps(spec.to_json())
    path = _memory_file(model_path)

    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)

    atomic_write(path, write)


def attach(encoder, path: str, sidecar_info: dict | None = None, metadata: dict | None = None):
    """Give ``encoder`` its ``preprocess`` (InputSpec) and ``preprocess_source``; returns it."""
    shape = getattr(encoder, "input_shape", None)
    encoder.preprocess, encoder.preprocess_source = None, ""
    if shape is None:
        return encoder
    side = sidecar_info or {}
    meta = metadata or {}
    name = os.path.basename(path)
    spec, source = None, ""
    for value, where, label in (
        (side.get("preprocess"), f"{name}.json", "sidecar"),
        (side.get("preset"), f"{name}.json", "sidecar"),
        (meta.get("preprocess"), f"{name} metadata", "metadata"),
        (meta.get("preset"), f"{name} metadata", "metadata"),
    ):
        if value is not None:
            spec, source = spec_from(value, shape, where), label
            break
    if spec is None:
        spec = remembered(path, shape)
        source = "remembered" if spec is not None else ""
    if spec is None:
        spec, source = preset("plain", shape), "default"
    set_spec(encoder, spec, source)
    return encoder


def set_spec(encoder, spec: InputSpec, source: str = "user") -> None:
    """Use ``spec`` for ``encoder`` (the GUI's preset dialog calls this, then :func:`remember`)."""
    if not hasattr(encoder, "file_normalisation"):  # what the sidecar said, before any preset
        encoder.file_normalisation = getattr(encoder, "normalisation", None)
    encoder.preprocess, encoder.preprocess_source = spec, source
    encoder.normalisation = (
        spec.normalisation if spec.normalisation is not None else encoder.file_normalisation
    )
