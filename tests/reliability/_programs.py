"""Builders of hostile program-format model files (TorchScript, .pt2) and of the safe-looking files
that point at them (a fine-tune checkpoint, a session). Nothing here runs them.

Each hostile builder takes a ``marker`` path that its payload creates when the file is opened by
torch's own loaders (tests/reliability/test_program_files.py proves that in a child process).
"""

from __future__ import annotations

import io
import json
import re
import warnings
import zipfile

import torch

from . import _craft


def rewrite_zip(src: bytes, edit, add: dict[str, bytes] | None = None) -> bytes:
    """A copy of the zip ``src`` with each member's bytes replaced by ``edit(name, data)`` (None
    drops the member) and ``add`` members appended."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(src)) as zi, zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as zo:
        for info in zi.infolist():
            data = edit(info.filename, zi.read(info.filename))
            if data is not None:
                zo.writestr(info, data)
        for name, data in (add or {}).items():
            zo.writestr(name, data)
    return out.getvalue()


def _net() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 3)).eval()


def pt2_bytes(dynamic: bool = False) -> bytes:
    """A sound .pt2 of Flatten + Linear(16, 3) for (N, 1, 4, 4) inputs."""
    x = torch.zeros(2, 1, 4, 4)
    shapes = {"input": {0: torch.export.Dim("batch")}} if dynamic else None
    buf = io.BytesIO()
    torch.export.save(torch.export.export(_net(), (x,), dynamic_shapes=shapes), buf)
    return buf.getvalue()


def pt2_pickle_under_json_name(marker: str) -> bytes:
    """A .pt2 whose weights config says its first weight is pickled and stored as ``w.json``: a
    scanner deciding by member name reads it as text; torch.export.load unpickles it."""
    payload = _craft.payloads(marker)["os.system/proto2"]
    moved: dict[str, str] = {}

    def edit(name, data):
        if name.endswith("model_weights_config.json"):
            config = json.loads(data)
            entry = next(iter(config["config"].values()))
            folder = name.rsplit("/", 1)[0]
            moved["old"], moved["new"] = f"{folder}/{entry['path_name']}", f"{folder}/w.json"
            entry["use_pickle"], entry["path_name"] = True, "w.json"
            return json.dumps(config).encode()
        return data

    first = rewrite_zip(pt2_bytes(), edit)
    return rewrite_zip(first, lambda n, d: None if n == moved["old"] else d, {moved["new"]: payload})


def pt2_sympy_shape(marker: str) -> bytes:
    """A .pt2 with a dynamic batch whose symbolic size string is Python: torch.export.load hands it
    to sympy.sympify, which evaluates it. No pickle involved."""
    code = f"__import__('os').system('touch {marker}') or Symbol('{{}}', positive=True, integer=True)"

    def edit(name, data):
        if name.endswith("models/model.json"):
            text = re.sub(
                r"Symbol\('(\w+)', positive=True, integer=True\)",
                lambda m: code.replace("{}", m.group(1)),
                data.decode(),
            )
            return text.encode()
        return data

    return rewrite_zip(pt2_bytes(dynamic=True), edit)


def pt2_empty_weights(gigabytes: float = 2.5) -> bytes:
    """A small .pt2 whose first weight is declared (gigabytes) large and stored as zero bytes:
    torch.export.load would allocate torch.zeros(declared size)."""
    side = int((gigabytes * 1e9 / 4) ** 0.5)

    def edit(name, data):
        if name.endswith("model_weights_config.json"):
            config = json.loads(data)
            entry = next(iter(config["config"].values()))
            entry["tensor_meta"]["sizes"] = [{"as_int": side}, {"as_int": side}]
            entry["tensor_meta"]["strides"] = [{"as_int": side}, {"as_int": 1}]
            edit.target = entry["path_name"]
            return json.dumps(config).encode()
        return data

    first = rewrite_zip(pt2_bytes(), edit)
    return rewrite_zip(first, lambda n, d: b"" if n.endswith("/weights/" + edit.target) else d)


class WritesOnLoad(torch.nn.Module):
    """__setstate__ runs while torch.jit.load reads the archive: torch.from_file(shared=True)
    creates the marker file."""

    def __init__(self, marker: str) -> None:
        super().__init__()
        self.marker = marker
        self.w = torch.ones(2)

    def forward(self, x):
        return x * self.w.sum()

    @torch.jit.export
    def __getstate__(self) -> tuple[torch.Tensor, str, bool]:
        return (self.w, self.marker, self.training)

    @torch.jit.export
    def __setstate__(self, state: tuple[torch.Tensor, str, bool]) -> None:
        self.marker = state[1]
        self.training = state[2]
        self.w = state[0] + torch.from_file(self.marker, True, 2)


TRICKS = {
    # a backslash line continuation between "torch." and the operator
    "continuation": b"torch.\\\n      from_file(",
    # the operator in parentheses with a comment between its parts
    "comment": b"(torch.  # the weights' shape\n      from_file)(",
}


def torchscript_hiding_file_op(marker: str, trick: str) -> bytes:
    """TorchScript whose __setstate__ calls torch.from_file, spelled with ``trick`` in its source."""
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.save(torch.jit.script(WritesOnLoad(marker)), buf)

    def edit(name, data):
        if name.endswith(".py") and b"torch.from_file(" in data:
            return data.replace(b"torch.from_file(", TRICKS[trick])
        return data

    return rewrite_zip(buf.getvalue(), edit)


def slug(name: str) -> str:
    return name.replace(" ", "_").replace(".", "")


def hostile_programs(marker_prefix: str) -> dict[str, tuple[str, bytes]]:
    """name -> (file suffix, bytes), each creating ``marker_prefix + slug(name)`` when torch opens it
    (no spaces in the prefix: one payload is a shell command)."""
    return {
        "pt2 pickle in .json": (
            ".pt2",
            pt2_pickle_under_json_name(marker_prefix + slug("pt2 pickle in .json")),
        ),
        "pt2 sympy shape": (".pt2", pt2_sympy_shape(marker_prefix + slug("pt2 sympy shape"))),
        **{
            f"torchscript {t}": (
                ".pt",
                torchscript_hiding_file_op(marker_prefix + slug(f"torchscript {t}"), t),
            )
            for t in TRICKS
        },
    }


def finetune_naming(backbone_path: str, tmp_folder) -> bytes:
    """A fine-tune .safetensors (a sound one, rewritten) whose config names ``backbone_path`` as an
    external backbone to load, as older checkpoints did."""
    from safetensors import safe_open
    from safetensors.torch import save_file

    from explorer.core.imageset import ImageSet
    from explorer.models.base import build_model
    from explorer.models.checkpoint import save
    from explorer.training.finetune import finetune_model

    import numpy as np

    data = ImageSet(images=np.zeros((4, 1, 4, 4), np.float32), labels=np.array([0, 1, 0, 1]))
    model = finetune_model(build_model("ae", (1, 4, 4), 2, {"hidden": (8,)}), data, code_dim=2)
    path = tmp_folder / "sound-finetune.safetensors"
    save(path, model)
    with safe_open(str(path), framework="pt") as f:
        meta = dict(f.metadata())
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    config = json.loads(meta["config"])
    config.update(backbone=str(backbone_path), backbone_architecture="", backbone_config={})
    meta["config"] = json.dumps(config)
    tensors = {k: v for k, v in tensors.items() if not k.startswith("backbone.")}
    out = tmp_folder / "evil-finetune.safetensors"
    save_file(tensors, str(out), metadata=meta)
    return out.read_bytes()


# ---- ONNX graphs that never end or allocate gigabytes (onnxruntime runs no Python) ------------
def _onnx_model(nodes, inits) -> bytes:
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 1, 4, 4])
    y = helper.make_tensor_value_info("codes", TensorProto.FLOAT, None)
    g = helper.make_graph(nodes, "g", [x], [y], initializer=inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    return m.SerializeToString()


def onnx_looping() -> bytes:
    """An ONNX graph for (N, 1, 4, 4) inputs whose Loop runs 2^62 times (for ever, in practice)."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    body = helper.make_graph(
        [
            helper.make_node("Identity", ["cond_in"], ["cond_out"]),
            helper.make_node("Add", ["v_in", "one"], ["v_out"]),
        ],
        "body",
        [
            helper.make_tensor_value_info("i", TensorProto.INT64, []),
            helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
            helper.make_tensor_value_info("v_in", TensorProto.FLOAT, None),
        ],
        [
            helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
            helper.make_tensor_value_info("v_out", TensorProto.FLOAT, None),
        ],
        initializer=[numpy_helper.from_array(np.array(1, np.float32), "one")],
    )
    inits = [
        numpy_helper.from_array(np.array(2**62, np.int64), "M"),
        numpy_helper.from_array(np.array(True), "c"),
    ]
    nodes = [
        helper.make_node("Flatten", ["input"], ["flat"]),
        helper.make_node("Loop", ["M", "c", "flat"], ["codes"], body=body),
    ]
    return _onnx_model(nodes, inits)


def onnx_allocating(gb: float = 16) -> bytes:
    """An ONNX graph that fills a (gb) gigabyte tensor of ones to sum it."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    side = int((gb * 1e9 / 4) ** 0.5)
    inits = [numpy_helper.from_array(np.array([side, side], np.int64), "shape")]
    one = helper.make_tensor("v", TensorProto.FLOAT, [1], [1.0])
    nodes = [
        helper.make_node("ConstantOfShape", ["shape"], ["big"], value=one),
        helper.make_node("ReduceSum", ["big"], ["s"], keepdims=0),
        helper.make_node("Flatten", ["input"], ["flat"]),
        helper.make_node("Add", ["flat", "s"], ["codes"]),
    ]
    return _onnx_model(nodes, inits)
