"""Encoders from files made elsewhere: TorchScript, torch.export (.pt2), ONNX, and the one safe
case of a pickled torch file.

Every torch archive (.pt/.pth/.ckpt/TorchScript/.pt2) is first scanned by
:func:`explorer.models.safe_load.check_archive`, which reads each pickle inside it opcode by opcode
(running nothing) and refuses the file if any pickle names a callable outside torch's own
tensor-rebuilding functions. Then, as a second line of defence:

- TorchScript (``torch.jit.save``; a zip with ``code/`` and ``constants.pkl``): ``torch.jit.load``
  reads it with TorchScript's own C++ unpickler, which builds only tensors and TorchScript types and
  never imports or calls Python functions. The model's TorchScript code then runs torch operators
  only, not arbitrary Python. Still: a model file is a program; open models from sources you trust.
- torch.export (``.pt2``): the graph is JSON; weights and constants are ``torch.save`` archives that
  ``torch.export.load`` first tries with ``weights_only=True`` but then silently retries with full
  unpickling. We force weights-only loading for the duration of the call
  (``TORCH_FORCE_WEIGHTS_ONLY_LOAD``), so a .pt2 that would need Python objects is refused.
- ONNX: a protobuf graph run by onnxruntime; no Python code runs (optional: ``pip install
  relate-explorer[onnx]``).
- Any other ``.pt``/``.pth``/``.ckpt`` is a pickle. It is opened with ``torch.load(weights_only=True)``
  only, which refuses every Python object that is not a tensor or plain container; and even a clean
  state dict is refused unless it carries our architecture metadata, because weights alone cannot
  rebuild a model.
"""

from __future__ import annotations

import json
import os
import threading
import warnings
import zipfile

import numpy as np

from explorer.core.errors import ModelFileError
from explorer.models.torch_encoder import TorchEncoder, prepare_images

_ENV_LOCK = threading.Lock()
REFUSED = (
    "{name} is a pickled Python file that would run code when loaded, so it was not opened ({why}). "
    "Save the model as TorchScript (torch.jit.save), torch.export (.pt2), ONNX or a .safetensors "
    "checkpoint instead."
)


def sidecar(path: str) -> dict:
    """Optional ``<file>.json`` beside a model: {"name", "input_shape": [C, H, W],
    "normalisation": {"mean": [...], "std": [...]}} for formats that do not say these themselves."""
    side = path + ".json"
    if not os.path.exists(side):
        return {}
    try:
        with open(side, encoding="utf-8") as f:
            info = json.load(f)
    except (OSError, ValueError, RecursionError) as err:
        raise ModelFileError(f"{os.path.basename(side)} is not readable JSON ({err}).") from None
    return _checked_sidecar(info, os.path.basename(side)) if isinstance(info, dict) else {}


def _checked_sidecar(info: dict, where: str) -> dict:
    """The sidecar's fields, checked: a wrong one is a ModelFileError now, not a crash at encode."""
    out = {}
    if info.get("name") is not None:
        from explorer.models.trust import printable

        out["name"] = printable(info["name"], 200)  # shown and printed: no control characters
    shape = info.get("input_shape")
    if shape is not None:
        if not (
            isinstance(shape, list)
            and len(shape) == 3
            and all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in shape)
        ):
            raise ModelFileError(f"{where}: input_shape must be three positive whole numbers [C, H, W].")
        from explorer.models.checkpoint import checked_input_shape

        out["input_shape"] = checked_input_shape(shape, where)
    norm = info.get("normalisation")
    if norm is not None:
        ok = isinstance(norm, dict) and all(
            isinstance(norm.get(k), list)
            and norm[k]
            and all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v) for v in norm[k]
            )
            for k in ("mean", "std")
        )
        if not ok or len(norm["mean"]) != len(norm["std"]) or any(v == 0 for v in norm["std"]):
            raise ModelFileError(
                f'{where}: normalisation must be {{"mean": [...], "std": [...]}} with one finite '
                "number per channel and no zero std."
            )
        out["normalisation"] = {"mean": list(norm["mean"]), "std": list(norm["std"])}
    return out


def _is_torchscript(path: str) -> bool:
    if not zipfile.is_zipfile(path):
        return False
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
    except (zipfile.BadZipFile, OSError):
        return False
    return any("/code/" in n for n in names) or any(n.endswith("constants.pkl") for n in names)


def load_torch_file(path: str, device: str = "cpu") -> TorchEncoder:
    """A TorchScript archive, or a weights-only torch.save of one of our checkpoints."""
    import torch

    from explorer.models.safe_load import check_archive

    name = os.path.basename(path)
    info = sidecar(path)
    check_archive(path)  # refuses pickles that would import anything but tensor rebuilders
    if _is_torchscript(path):
        try:
            with warnings.catch_warnings():  # "torch.jit.load is deprecated": not the user's business
                warnings.simplefilter("ignore")
                extra = {"preprocess.json": ""}  # the file's own preprocessing, if it carries one
                module = torch.jit.load(path, map_location=device, _extra_files=extra)
        except Exception as err:
            raise ModelFileError(
                f"{name} looks like TorchScript but cannot be loaded ({_first(err)})."
            ) from None
        return _with_preprocessing(
            TorchEncoder(
                module,
                name=info.get("name", name),
                input_shape=_shape(info.get("input_shape")),
                normalisation=info.get("normalisation"),
                device=device,
                source=path,
            ),
            path,
            info,
            _extra_meta(extra),
        )
    try:
        with warnings.catch_warnings():  # pickle-protocol notes from the weights-only unpickler
            warnings.simplefilter("ignore")
            obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # UnpicklingError for forbidden globals, RuntimeError for junk
        if _is_refusal(err):
            raise ModelFileError(REFUSED.format(name=name, why=_forbidden(str(err)))) from None
        raise ModelFileError(f"{name} is not a model file torch can read ({_first(err)}).") from None
    return _from_weights(obj, name, path, device)


def _from_weights(obj, name: str, path: str, device: str) -> TorchEncoder:
    """A dict {"architecture", "config", "input_shape", "state_dict"} rebuilds one of our models."""
    from explorer.core.errors import ExplorerError
    from explorer.models.base import make_config, model_class

    if not isinstance(obj, dict):
        raise ModelFileError(f"{name} holds a {type(obj).__name__}, not a model.")
    if "architecture" not in obj or "state_dict" not in obj:
        raise ModelFileError(
            f"{name} holds only weights (a state dict) with no architecture, so no model can be "
            "built from it; export the model as TorchScript, .pt2 or ONNX."
        )
    try:
        key = str(obj["architecture"])
        from explorer.models.checkpoint import checked_input_shape

        shape = checked_input_shape(list(obj["input_shape"]), name)
        cls = model_class(key)
        model = cls(make_config(key, options=cls.saved_config(dict(obj.get("config", {})))), tuple(shape))
        model.load_state_dict(obj["state_dict"])
    except ModelFileError:
        raise
    except (ExplorerError, KeyError, TypeError, ValueError, RuntimeError, OverflowError) as err:
        raise ModelFileError(f"{name} cannot be rebuilt as a model ({_first(err)}).") from None
    model.to(device).eval()
    from explorer.models.trust import printable

    return TorchEncoder(
        model,
        name=printable(obj.get("name", name), 200),
        input_shape=model.input_shape,
        device=device,
        class_names=[printable(c, 200) for c in obj.get("class_names", [])],
        source=path,
    )


def load_exported(path: str, device: str = "cpu") -> TorchEncoder:
    """A ``torch.export`` program (.pt2), with its input shape read from the program itself."""
    import torch

    from explorer.models.safe_load import check_archive

    name = os.path.basename(path)
    info = sidecar(path)
    check_archive(path)
    with _ENV_LOCK:
        saved = {
            k: os.environ.get(k)
            for k in ("TORCH_FORCE_WEIGHTS_ONLY_LOAD", "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD")
        }
        os.environ["TORCH_FORCE_WEIGHTS_ONLY_LOAD"] = "1"
        os.environ.pop("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", None)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                extra = {"preprocess.json": ""}
                program = torch.export.load(path, extra_files=extra)
        except Exception as err:
            if _is_refusal(err):
                raise ModelFileError(REFUSED.format(name=name, why=_forbidden(str(err)))) from None
            raise ModelFileError(
                f"{name} is not a torch.export program torch can read ({_first(err)})."
            ) from None
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
    shape, batch = _exported_input(program)
    module = program.module()
    if device != "cpu":
        module = module.to(device)
    return _with_preprocessing(
        TorchEncoder(
            _Callable(module),
            name=info.get("name", name),
            input_shape=_shape(info.get("input_shape")) or shape,
            normalisation=info.get("normalisation"),
            device=device,
            source=path,
            fixed_batch=batch,
        ),
        path,
        info,
        _extra_meta(extra),
    )


class _Callable:
    """An exported GraphModule cannot switch to eval mode; TorchEncoder only needs a call."""

    def __init__(self, module) -> None:
        self.module = module

    def __call__(self, x):
        return self.module(x)


def _exported_input(program) -> tuple[tuple[int, int, int] | None, int | None]:
    """(C, H, W) and a fixed batch size (None if dynamic) of the program's first user input."""
    try:
        user_inputs = list(program.graph_signature.user_inputs)
        for node in program.graph.nodes:
            if node.op == "placeholder" and node.name in user_inputs:
                shape = node.meta["val"].shape
                dims = [d if isinstance(d, int) else None for d in shape]
                if len(dims) == 4 and all(isinstance(d, int) for d in dims[1:]):
                    return tuple(dims[1:]), dims[0]
                return None, None
    except (AttributeError, KeyError):
        pass
    return None, None


def load_onnx(path: str) -> OnnxEncoder:
    name = os.path.basename(path)
    try:
        import onnxruntime as ort
    except ImportError:
        raise ModelFileError(
            f"{name} is an ONNX model, and reading ONNX needs onnxruntime: "
            "pip install 'relate-explorer[onnx]' (or pip install onnxruntime)."
        ) from None
    try:
        options = ort.SessionOptions()
        options.log_severity_level = 3
        session = ort.InferenceSession(path, sess_options=options, providers=["CPUExecutionProvider"])
    except Exception as err:
        raise ModelFileError(f"{name} is not an ONNX model onnxruntime can run ({_first(err)}).") from None
    info = sidecar(path)
    try:
        meta = dict(session.get_modelmeta().custom_metadata_map or {})
    except Exception:  # metadata is optional
        meta = {}
    enc = OnnxEncoder(session, name, info)
    enc.source = path
    return _with_preprocessing(enc, path, info, meta)


class OnnxEncoder:
    """An ONNX graph run by onnxruntime on the CPU: float32 (N, C, H, W) -> (N, D)."""

    def __init__(self, session, name: str, info: dict | None = None) -> None:
        info = info or {}
        self.session = session
        self.name = info.get("name", name)
        inp = session.get_inputs()[0]
        self.input_name = inp.name
        dims = list(inp.shape)
        static = len(dims) == 4 and all(isinstance(d, int) for d in dims[1:])
        self.input_shape = _shape(info.get("input_shape")) or (tuple(dims[1:]) if static else None)
        self.fixed_batch = dims[0] if dims and isinstance(dims[0], int) else None
        self.normalisation = info.get("normalisation")

    def encode(self, images: np.ndarray) -> np.ndarray:
        images = prepare_images(self.name, self.input_shape, self.normalisation, images)
        step = self.fixed_batch or 256
        parts = []
        for start in range(0, len(images), step):
            chunk = images[start : start + step]
            real = len(chunk)
            if self.fixed_batch and real < self.fixed_batch:
                chunk = np.concatenate(
                    [chunk, np.zeros((self.fixed_batch - real, *chunk.shape[1:]), np.float32)]
                )
            try:
                out = self.session.run(None, {self.input_name: np.ascontiguousarray(chunk)})[0]
            except Exception as err:
                raise ModelFileError(f"{self.name} could not encode these images ({_first(err)}).") from None
            parts.append(np.asarray(out, np.float32).reshape(len(chunk), -1)[:real])
        return np.concatenate(parts) if parts else np.zeros((0, 0), np.float32)


# ---- preprocessing (explorer.models.preprocessing decides; these only collect what files say) ----
def _sidecar_preprocessing(path: str) -> dict:
    """The sidecar's "preprocess"/"preset" entries (the checked sidecar() keeps only its own fields)."""
    side = path + ".json"
    try:
        with open(side, encoding="utf-8") as f:
            info = json.load(f)
    except (OSError, ValueError, RecursionError):
        return {}
    return {k: info[k] for k in ("preprocess", "preset") if isinstance(info, dict) and k in info}


def _extra_meta(extra: dict) -> dict:
    text = extra.get("preprocess.json") or ""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return {"preprocess": text} if text.strip() else {}


def _with_preprocessing(encoder, path: str, info: dict, meta: dict):
    from explorer.models.preprocessing import attach

    return attach(encoder, path, {**info, **_sidecar_preprocessing(path)}, meta)


def _shape(value) -> tuple[int, int, int] | None:
    if value is None:
        return None
    value = tuple(int(v) for v in value)
    return value if len(value) == 3 else None


def _first(err: Exception) -> str:
    from explorer.models.trust import printable

    text = str(err).strip().splitlines()
    return printable(text[0] if text else type(err).__name__, 300)


def _is_refusal(err: Exception) -> bool:
    """Did torch's weights-only unpickler refuse something (rather than the file being junk)?"""
    text = str(err)
    return "Weights only load failed" in text or "WeightsUnpickler" in text or "Unsupported global" in text


def _forbidden(why: str) -> str:
    """Name the Python object the pickle asked for, if the message says it."""
    if "GLOBAL " in why:
        return "it asks for " + why.split("GLOBAL ", 1)[1].split()[0]
    return "it holds Python objects, not only tensors"
