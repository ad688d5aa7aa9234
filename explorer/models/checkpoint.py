"""Checkpoints: one ``.safetensors`` file that rebuilds its own model.

The tensors are the model's ``state_dict``; the file's string metadata carry everything else:

  format          "relate-explorer"           (so a stranger's .safetensors is told apart)
  format_version  "1"
  architecture    model key ("ae", "siamese", ...)
  config          JSON of the model's @dataclass config
  input_shape     JSON [C, H, W]
  normalisation   JSON null (images in [0, 1] as they are) or {"mean": [...], "std": [...]}
  class_names     JSON list of the training set's class names
  summary         JSON dict: how it was trained (epochs, losses, metrics, data set, seconds)
  name            what the user sees in the model list

safetensors never executes code on load (no pickle); a file whose header lies about its sizes is
refused by the library, and every such failure becomes a :class:`ModelFileError`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

from explorer.core.atomic import atomic_write
from explorer.core.errors import ExplorerError, ModelFileError

FORMAT = "relate-explorer"
FORMAT_VERSION = "1"


@dataclass
class Checkpoint:
    """A loaded checkpoint: the rebuilt model (eval mode, on CPU) and the file's metadata."""

    model: Any  # TrainableModel
    architecture: str
    config: dict
    input_shape: tuple[int, int, int]
    normalisation: dict | None = None
    class_names: list[str] = field(default_factory=list)
    summary: dict = field(default_factory=dict)
    name: str = ""
    path: str = ""
    preprocess: Any = None  # InputSpec the model trained at (explorer.training.image_size), or None


def save(
    path: str | os.PathLike,
    model,
    *,
    class_names: list[str] | None = None,
    summary: dict | None = None,
    name: str = "",
) -> None:
    """Write ``model`` (a TrainableModel) and its metadata to ``path`` atomically."""
    from safetensors.torch import save_file

    tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in model.state_dict().items()}
    metadata = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "architecture": model.key,
        "config": json.dumps(model.config_dict()),
        "input_shape": json.dumps(list(model.input_shape)),
        "normalisation": json.dumps(getattr(model, "normalisation", None)),
        "preprocess": json.dumps(_spec_json(getattr(model, "preprocess", None))),
        "class_names": json.dumps(list(class_names or [])),
        "summary": json.dumps(summary or {}, default=_jsonable),
        "name": name or f"{model.key} ({(summary or {}).get('data', '')})".replace(" ()", ""),
    }
    path = os.fspath(path)
    # atomic_write gives a new file the usual permissions and a replaced one its old mode and owner
    atomic_write(path, lambda tmp: save_file(tensors, tmp, metadata=metadata))


def read_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """The decoded metadata of a checkpoint without building the model (cheap; for file lists)."""
    path = os.fspath(path)
    raw = _raw_metadata(path)
    return _decode(path, raw)


def load(path: str | os.PathLike, device: str = "cpu") -> Checkpoint:
    """Rebuild the model saved in ``path``; ModelFileError with a reason if the file is not one."""
    from safetensors.torch import load_file

    from explorer.models.base import make_config, model_class

    path = os.fspath(path)
    meta = _decode(path, _raw_metadata(path))
    try:
        tensors = load_file(path, device=device)
    except Exception as err:  # SafetensorError, OSError: truncated or corrupted data
        raise ModelFileError(f"{_short(path)} is damaged: its tensors cannot be read ({err}).") from None
    try:
        cls = model_class(meta["architecture"])
        config = make_config(meta["architecture"], options=cls.saved_config(dict(meta["config"])))
        # built under an allocation budget: metadata claiming a huge input or code would otherwise
        # allocate gigabytes before the weights are found not to fit
        model = _build_checked(path, meta["architecture"], cls, config, meta["input_shape"], tensors)
    except ModelFileError:
        raise
    except ExplorerError as err:
        raise ModelFileError(f"{_short(path)} cannot be rebuilt: {err}") from None
    except Exception as err:
        raise ModelFileError(
            f"{_short(path)} names a '{meta['architecture']}' model whose config does not fit ({err})."
        ) from None
    if meta["normalisation"] is not None:
        model.normalisation = meta["normalisation"]
    model.preprocess = meta["preprocess"]
    try:
        model.load_state_dict(tensors, strict=True)
    except RuntimeError as err:
        first = str(err).strip().splitlines()
        detail = first[1].strip() if len(first) > 1 else first[0] if first else ""
        raise ModelFileError(
            f"{_short(path)} claims to be a '{meta['architecture']}' model but its weights do not "
            f"match that architecture ({detail})."
        ) from None
    model.to(device).eval()
    return Checkpoint(
        model=model,
        architecture=meta["architecture"],
        config=meta["config"],
        input_shape=tuple(meta["input_shape"]),
        normalisation=meta["normalisation"],
        class_names=meta["class_names"],
        summary=meta["summary"],
        name=meta["name"] or os.path.basename(path),
        path=path,
        preprocess=meta["preprocess"],
    )


# ---- helpers ---------------------------------------------------------------------------------
def _build_checked(path: str, arch: str, cls, config, input_shape, tensors: dict):
    """The model of ``cls``, built on the CPU while every tensor its construction asks for counts
    against a budget (4x the file's weights + 16 M elements): a file whose metadata imply a far
    larger model is refused before that memory is taken, as is one whose weights do not have the
    shapes the model has. (Building on torch's meta device instead ran its random fills and
    arithmetic through Python decompositions and imported ``torch._dynamo``: a gae's first load
    took 2.9 s of CPU, holding the GIL on whichever thread loaded it.)"""
    budget = 4 * sum(int(v.numel()) for v in tensors.values()) + (1 << 24)
    try:
        with _AllocationBudget(budget):
            model = cls(config, input_shape)
    except _OverBudget:
        raise ModelFileError(
            f"{_short(path)} claims to be a '{arch}' model far larger than the weights it holds "
            f"(its config or input shape do not fit them)."
        ) from None
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    found = {k: tuple(v.shape) for k, v in tensors.items()}
    if expected == found:
        return model
    missing = sorted(set(expected) - set(found))
    extra = sorted(set(found) - set(expected))
    if missing or extra:
        detail = f"missing {missing[0]}" if missing else f"unexpected {extra[0]}"
    else:
        k = next(k for k in expected if expected[k] != found[k])
        detail = f"{k} is {list(found[k])} in the file, {list(expected[k])} in the model"
    raise ModelFileError(
        f"{_short(path)} claims to be a '{arch}' model but its weights do not match that "
        f"architecture ({detail})."
    )


class _OverBudget(Exception):
    pass


def _AllocationBudget(budget: int):
    """A torch function mode that adds up the elements of the tensors made by factory functions
    (empty, zeros, ones, full, rand, randn, randint, eye and the ``new_*`` methods) and raises
    :class:`_OverBudget` before one would take the total past ``budget``."""
    import math

    import torch
    from torch.overrides import TorchFunctionMode

    def size_of(args, kwargs, at: int = 0):
        size = kwargs.get("size", args[at:] if len(args) > at else ())
        if len(size) == 1 and isinstance(size[0], (tuple, list, torch.Size)):
            size = size[0]
        try:
            return math.prod(int(n) for n in size)
        except (TypeError, ValueError):
            return 0

    plain = {torch.empty, torch.zeros, torch.ones, torch.rand, torch.randn}
    methods = {torch.Tensor.new_empty, torch.Tensor.new_zeros, torch.Tensor.new_ones}

    class Budget(TorchFunctionMode):
        used = 0

        def __torch_function__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            n = 0
            if func in plain:
                n = size_of(args, kwargs)
            elif func is torch.full:
                n = size_of(args[:1], kwargs)
            elif func in methods or func is torch.Tensor.new_full:
                n = size_of(args[1:2] if func is torch.Tensor.new_full else args[1:], kwargs)
            elif func is torch.randint:
                sized = [a for a in args if isinstance(a, (tuple, list, torch.Size))]
                n = size_of(tuple(sized[:1]), kwargs)
            elif func is torch.eye:
                n = int(args[0]) * int(args[1] if len(args) > 1 else args[0]) if args else 0
            self.used += n
            if self.used > budget:
                raise _OverBudget()
            return func(*args, **kwargs)

    return Budget()


def _short(path: str) -> str:
    from explorer.models.trust import printable

    return printable(os.path.basename(path) or path, 200)


def _raw_metadata(path: str) -> dict[str, str]:
    from safetensors import safe_open

    if not os.path.exists(path):
        raise ModelFileError(f"There is no model file at {path}.")
    if os.path.isdir(path):
        raise ModelFileError(f"{path} is a folder, not a model file.")
    try:
        with safe_open(path, framework="pt") as f:
            return f.metadata() or {}
    except Exception as err:  # SafetensorError: bad header, sizes that do not add up, not JSON
        raise ModelFileError(
            f"{_short(path)} is not a valid .safetensors file ({err}); it may be damaged or another format."
        ) from None


def _decode(path: str, raw: dict[str, str]) -> dict[str, Any]:
    if raw.get("format") != FORMAT or "architecture" not in raw:
        raise ModelFileError(
            f"{_short(path)} is a .safetensors file but not a Relate Explorer checkpoint (it has no "
            "architecture metadata), so its model cannot be rebuilt; export it as TorchScript, "
            ".pt2 or ONNX instead."
        )
    from explorer.models.trust import printable

    try:
        out = {
            "architecture": printable(raw["architecture"], 60),  # names are shown: no control characters
            "config": json.loads(raw.get("config", "{}")),
            "input_shape": json.loads(raw["input_shape"]),
            "normalisation": json.loads(raw.get("normalisation", "null")),
            "class_names": [printable(c, 200) for c in json.loads(raw.get("class_names", "[]"))],
            "summary": json.loads(raw.get("summary", "{}")),
            "name": printable(raw.get("name", ""), 200),
        }
    except (KeyError, ValueError, TypeError, RecursionError, OverflowError) as err:
        raise ModelFileError(f"{_short(path)} has damaged metadata ({printable(err, 200)}).") from None
    if not isinstance(out["config"], dict):
        raise ModelFileError(f"{_short(path)} has damaged metadata (its config is not a mapping).")
    out["input_shape"] = checked_input_shape(out["input_shape"], _short(path))
    out["preprocess"] = _checked_spec(raw.get("preprocess", "null"), out["input_shape"], _short(path))
    return out


def _spec_json(spec) -> dict | None:
    return None if spec is None else spec.to_json()


def _checked_spec(text: str, input_shape: list[int], where: str):
    """The InputSpec a checkpoint's ``preprocess`` entry holds (None if it has none); it must be for
    the model's own input shape, else ModelFileError."""
    from explorer.core.preprocess import InputSpec

    try:
        obj = json.loads(text)
        if obj is None:
            return None
        spec = InputSpec.from_json(obj)
    except (ValueError, TypeError, RecursionError, OverflowError) as err:
        raise ModelFileError(f"{where} has damaged metadata (preprocess: {err}).") from None
    if list(spec.shape) != list(input_shape):
        raise ModelFileError(
            f"{where} has damaged metadata (preprocess is for {list(spec.shape)}, the model takes "
            f"{list(input_shape)})."
        )
    return spec


MAX_SIDE = 16_384  # pixels per side, and channels, a model's metadata may claim
MAX_INPUT_VALUES = 1 << 28


def checked_input_shape(value, where: str) -> list[int]:
    """``value`` as [C, H, W] of whole numbers from 1 to MAX_SIDE (and at most 2^28 values), or a
    ModelFileError saying what is wrong (e.g. metadata claiming [1e400, 28, 28])."""
    ok = (
        isinstance(value, list)
        and len(value) == 3
        and all(isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= MAX_SIDE for v in value)
    )
    if not ok or value[0] * value[1] * value[2] > MAX_INPUT_VALUES:
        from explorer.models.trust import printable

        shown = printable(json.dumps(value, allow_nan=True) if _dumpable(value) else repr(value), 60)
        raise ModelFileError(
            f"{where} has damaged metadata: its input shape {shown} is not three whole numbers "
            f"[C, H, W] from 1 to {MAX_SIDE}."
        )
    return list(value)


def _dumpable(value) -> bool:
    try:
        json.dumps(value, allow_nan=True)
    except (TypeError, ValueError, RecursionError):
        return False
    return True


def _jsonable(o):
    import numpy as np

    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)
