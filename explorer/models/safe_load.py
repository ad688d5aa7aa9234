"""Guards for model files that carry pickles: look before torch unpickles anything.

``torch.load(weights_only=True)`` and TorchScript's own unpickler refuse to call arbitrary Python,
but ``torch.export.load`` does not: a ``.pt2`` archive may hold pickles that it loads with
``weights_only=False`` (pickled weights and constants, opaque objects, and a fall-back for the
sample inputs), so a crafted ``.pt2`` runs code on load. Every pickle inside an archive is therefore
read here first, opcode by opcode with :mod:`pickletools` (which executes nothing), and the file is
refused with :class:`ModelFileError` when a pickle names any callable outside a small allow-list of
torch's tensor-rebuilding functions, or when we cannot tell what it names.

TorchScript and .pt2 files also carry code (TorchScript source, a graph of torch operators, shape
expressions and guards that torch.export evaluates as Python). This scan is the second line: the
first is the trust gate (explorer/models/trust.py), since no scan can prove a program harmless.
The scan refuses code that names the two operators that touch the file system (``torch.save``,
``torch.from_file``, read with Python's tokenizer so comments and line continuations hide nothing),
.pt2 shape expressions and guards that are more than arithmetic, pickles under any member name the
archive's configs point at, and declared tensor sizes the archive does not hold
(explorer/models/archive_checks.py).

Public functions (all raise ModelFileError with a sentence the user can act on):
  check_pickle(data, where)        one pickle's bytes
  check_archive(path)              every pickle in a torch zip archive (.pt/.pth/.ckpt/TorchScript/.pt2)
  load_weights(path)               torch.load(weights_only=True) of a checked file -> object
  load_torchscript(path, device)   torch.jit.load of a checked archive -> ScriptModule
  load_exported(path)              torch.export.load of a checked archive -> ExportedProgram
  load_onnx_session(path)          onnxruntime.InferenceSession on the CPU -> session
"""

from __future__ import annotations

import io
import os
import pickletools
import warnings
import zipfile
import zlib

from explorer.core.errors import ModelFileError

# (module, name) pairs torch's own archives use; "__torch__.*" are TorchScript classes that the C++
# loader resolves to compiled code, never to Python imports.
ALLOWED = {
    ("collections", "OrderedDict"),
    ("torch._utils", "_rebuild_tensor_v2"),
    ("torch._utils", "_rebuild_tensor_v3"),
    ("torch._utils", "_rebuild_parameter"),
    ("torch._utils", "_rebuild_parameter_with_state"),
    ("torch._utils", "_rebuild_qtensor"),
    ("torch._utils", "_rebuild_sparse_tensor"),
    ("torch._utils", "_rebuild_meta_tensor_no_storage"),
    ("torch._tensor", "_rebuild_from_type_v2"),
    ("torch.nn.parameter", "Parameter"),
    ("torch", "Tensor"),
    ("torch", "Size"),
    ("torch", "device"),
    ("torch", "per_tensor_affine"),
    ("torch.jit._pickle", "build_intlist"),
    ("torch.jit._pickle", "build_doublelist"),
    ("torch.jit._pickle", "build_boollist"),
    ("torch.jit._pickle", "build_tensorlist"),
    ("torch.jit._pickle", "build_tensor_from_id"),
    ("torch.jit._pickle", "restore_type_tag"),
    ("builtins", "set"),
    ("builtins", "frozenset"),
    ("__builtin__", "set"),
}
TORCH_DTYPES = {
    "float16",
    "float32",
    "float64",
    "bfloat16",
    "half",
    "float",
    "double",
    "uint8",
    "int8",
    "int16",
    "int32",
    "int64",
    "bool",
    "complex64",
    "complex128",
    "long",
    "int",
    "short",
}
MAX_NESTING = 2
MAX_PICKLE_BYTES = 256_000_000
MAX_DEFLATE_RATIO = 1100

_STRING_OPS = {
    "STRING",
    "BINSTRING",
    "SHORT_BINSTRING",
    "UNICODE",
    "BINUNICODE",
    "SHORT_BINUNICODE",
    "BINUNICODE8",
}
_GET_OPS = {"GET", "BINGET", "LONG_BINGET"}
_PUT_OPS = {"PUT", "BINPUT", "LONG_BINPUT"}


def allowed_global(module: str, name: str) -> bool:
    if module.startswith("__torch__"):
        return True
    if (module, name) in ALLOWED:
        return True
    if module == "torch" and (name.endswith("Storage") or name in TORCH_DTYPES):
        return True
    return False


def pickle_globals(data: bytes, where: str) -> list[tuple[str, str]]:
    """Every (module, name) a pickle would import, read without running it.

    ModelFileError if the pickle is malformed, uses the copyreg extension registry, or imports a
    name built at load time (STACK_GLOBAL from anything but plain strings), since then we cannot
    tell what it would run.
    """
    found: list[tuple[str, str]] = []
    tail: list[object] = []  # values of the latest pushes (None: not a plain string)
    memo: dict[int, object] = {}
    try:
        for op, arg, _pos in pickletools.genops(data):
            name = op.name
            if name in ("GLOBAL", "INST"):
                module, _, attr = str(arg).partition(" ")
                found.append((module, attr))
                tail.append(None)
            elif name == "STACK_GLOBAL":
                if len(tail) < 2 or not isinstance(tail[-1], str) or not isinstance(tail[-2], str):
                    raise ModelFileError(
                        f"{where} holds a pickle that builds the name of what it imports at load time; "
                        "explorer refuses to open it."
                    )
                found.append((tail[-2], tail[-1]))
                del tail[-2:]
                tail.append(None)
            elif name in ("EXT1", "EXT2", "EXT4"):
                raise ModelFileError(
                    f"{where} holds a pickle that imports through the copyreg registry; "
                    "explorer refuses to open it."
                )
            elif name in _STRING_OPS:
                tail.append(arg if isinstance(arg, str) else None)
            elif name in _GET_OPS:
                tail.append(memo.get(int(arg)))
            elif name in _PUT_OPS:
                memo[int(arg)] = tail[-1] if tail else None
            elif name == "MEMOIZE":
                memo[len(memo)] = tail[-1] if tail else None
            elif name not in ("PROTO", "FRAME", "STOP"):
                tail.append(None)
            if len(tail) > 64:
                del tail[:-8]
    except ModelFileError:
        raise
    except Exception as err:  # ValueError from genops on truncated or malformed data
        raise ModelFileError(f"{where} is damaged: a pickle inside it cannot be read ({err}).") from None
    return found


def check_pickle(data: bytes, where: str) -> None:
    """Refuse a pickle that would import anything outside the allow-list."""
    for module, name in pickle_globals(data, where):
        if not allowed_global(module, name):
            raise ModelFileError(
                f"{where} would run Python code ({module}.{name}) when loaded, so explorer refuses "
                "to open it; save the weights as .safetensors or export the model with "
                "torch.jit.save, torch.export or ONNX from a trusted environment."
            )


# torch operators that touch the file system (torch.save, torch.from_file): TorchScript code
# (code/*.py, run on load by __setstate__ and on every call) and .pt2 graphs (models/*.json) may
# name them like any other op; explorer.models.archive_checks.file_op finds them
CODE_SUFFIXES = (".py", ".json")
PICKLE_SUFFIXES = (".pkl", ".debug_pkl")
TORCH_FILE_SUFFIXES = (".pt", ".pth", ".ckpt", ".bin", ".pickle")


def _pickled_payloads(zf: zipfile.ZipFile) -> set[str]:
    """File names a .pt2 archive's weights/constants configs say are pickled (or custom objects)."""
    import json

    names: set[str] = set()
    for info in zf.infolist():
        base = os.path.basename(info.filename)
        if not (base.endswith("_config.json") and ("weights" in base or "constants" in base)):
            continue
        if info.file_size > 64_000_000:
            raise ModelFileError(f"{info.filename} in the archive is implausibly large.")
        try:
            config = json.loads(zf.read(info)).get("config", {})
            for entry in config.values():
                path_name = str(entry.get("path_name", ""))
                if entry.get("use_pickle") or path_name.startswith(("custom_obj", "opaque_obj")):
                    names.add(os.path.basename(path_name))
        except (ValueError, AttributeError, TypeError):
            continue  # torch will refuse a config it cannot read, without unpickling
    return names


def _check_zip(zf: zipfile.ZipFile, where: str, depth: int, outer_size: int) -> None:
    from explorer.models import archive_checks

    total = 0
    payloads = _pickled_payloads(zf)  # what the configs say is pickled, whatever its member name
    archive_checks.check_payload_sizes(zf, where)
    for info in zf.infolist():
        name = info.filename
        if info.file_size > info.compress_size * MAX_DEFLATE_RATIO + 4096:
            raise ModelFileError(f"{where} is damaged: member {name} claims an impossible size.")
        total += info.file_size
        if total > outer_size * MAX_DEFLATE_RATIO + 4096:
            raise ModelFileError(f"{where} is damaged: its members claim more data than it can hold.")
        base = os.path.basename(name)
        if name.endswith(CODE_SUFFIXES) and base not in payloads:
            if info.file_size > MAX_PICKLE_BYTES:
                raise ModelFileError(f"{where} is damaged: {name} is implausibly large.")
            code = zf.read(info)
            op = archive_checks.file_op(code, where, name)
            if op:
                raise ModelFileError(
                    f"{where} holds code that reads or writes files ({op} in {name}), so explorer "
                    "refuses to open it; export the model without file access."
                )
            if name.endswith(".json") and "/models/" in f"/{name}":
                archive_checks.check_program_json(code, where, name)
            continue
        is_pickle = name.endswith(PICKLE_SUFFIXES)
        # what torch's loaders unpickle besides *.pkl: nested torch.save files, pickled payloads
        is_pickled_file = (
            name.lower().endswith(TORCH_FILE_SUFFIXES)
            or base in payloads
            or (base.startswith(("custom_obj", "opaque_obj")))
        )
        with zf.open(info) as f:
            head = f.read(4)
        nested = head == b"PK\x03\x04"
        if not (is_pickle or is_pickled_file or nested):
            continue
        if info.file_size > MAX_PICKLE_BYTES:
            if is_pickle or is_pickled_file:
                raise ModelFileError(f"{where} is damaged: {name} is implausibly large.")
            continue
        data = zf.read(info)
        if nested:
            try:
                inner = zipfile.ZipFile(io.BytesIO(data))
            except zipfile.BadZipFile:
                if is_pickled_file:
                    raise ModelFileError(f"{where} is damaged: {name} is a broken archive.") from None
                continue  # tensor bytes that happen to start like a zip file
            if depth >= MAX_NESTING:
                raise ModelFileError(
                    f"{where} nests archives too deeply ({name}); explorer refuses to open it."
                )
            with inner:
                _check_zip(inner, f"{where} ({name})", depth + 1, len(data))
        elif is_pickle:
            check_pickle(data, f"{where} ({name})")
        else:
            raise ModelFileError(
                f"{where} holds pickled Python objects ({name}) that would be unpickled with code "
                "execution; explorer refuses to open it."
            )


def check_archive(path: str | os.PathLike) -> None:
    """Scan every pickle in the zip archive at ``path`` (nested archives too) before torch opens it.

    Old-style (non-zip) torch.save files are refused: re-save them with a current torch.
    """
    path = os.fspath(path)
    where = os.path.basename(path) or path
    if not os.path.isfile(path):
        raise ModelFileError(f"There is no model file at {path}.")
    size = os.path.getsize(path)
    if size == 0:
        raise ModelFileError(f"{where} is an empty file.")
    try:
        with zipfile.ZipFile(path) as zf:
            _check_zip(zf, where, 0, size)
    except zipfile.BadZipFile:
        with open(path, "rb") as f:
            head = f.read(2)
        if head[:1] == b"\x80":
            raise ModelFileError(
                f"{where} is an old-style pickle file, which explorer does not open; re-save it "
                "with a current torch (torch.save) or as .safetensors."
            ) from None
        raise ModelFileError(
            f"{where} is not a torch archive (not a zip file, or truncated); it may be damaged "
            "or another format."
        ) from None
    except (OSError, EOFError, RuntimeError, NotImplementedError, ValueError, zlib.error) as err:
        # damaged deflate data, unsupported compression, encrypted members, bad offsets
        raise ModelFileError(f"{where} is damaged: {err}.") from None


def load_weights(path: str | os.PathLike, device: str = "cpu"):
    """``torch.load(weights_only=True)`` of a checked archive: tensors and plain containers only."""
    import torch

    path = os.fspath(path)
    check_archive(path)
    where = os.path.basename(path)
    try:
        return torch.load(path, map_location=device, weights_only=True)
    except Exception as err:  # UnpicklingError, RuntimeError (TorchScript archive), OSError, ...
        first = (str(err).strip().splitlines() or [type(err).__name__])[0][:200]
        raise ModelFileError(f"{where} cannot be loaded as torch weights ({first}).") from None


def load_torchscript(path: str | os.PathLike, device: str = "cpu"):
    """``torch.jit.load`` of a checked archive."""
    import torch

    path = os.fspath(path)
    check_archive(path)
    where = os.path.basename(path)
    try:
        with warnings.catch_warnings():  # torch 2.9+ deprecates TorchScript; users still have such files
            warnings.simplefilter("ignore", DeprecationWarning)
            return torch.jit.load(path, map_location=device)
    except Exception as err:  # RuntimeError / ValueError from the C++ loader
        first = (str(err).strip().splitlines() or [type(err).__name__])[0][:200]
        raise ModelFileError(
            f"{where} is not a TorchScript model explorer can load ({first}); save it with torch.jit.save."
        ) from None


def load_exported(path: str | os.PathLike):
    """``torch.export.load`` of a checked archive (it would otherwise unpickle with code execution)."""
    import torch

    path = os.fspath(path)
    check_archive(path)
    where = os.path.basename(path)
    try:
        return torch.export.load(path)
    except Exception as err:
        first = (str(err).strip().splitlines() or [type(err).__name__])[0][:200]
        raise ModelFileError(
            f"{where} is not a torch.export program explorer can load ({first}); "
            "save it with torch.export.save."
        ) from None


def load_onnx_session(path: str | os.PathLike):
    """An onnxruntime CPU session for the ONNX file at ``path``.

    ONNX files hold no pickles; onnxruntime itself refuses external-data paths that leave the
    model's folder. Every failure (bad protobuf, bad graph, text that is not UTF-8) becomes a
    ModelFileError.
    """
    path = os.fspath(path)
    where = os.path.basename(path) or path
    if not os.path.isfile(path):
        raise ModelFileError(f"There is no model file at {path}.")
    if os.path.getsize(path) == 0:
        raise ModelFileError(f"{where} is an empty file.")
    try:
        import onnxruntime as ort
    except ImportError:
        raise ModelFileError(
            f"{where} is an ONNX model; install onnxruntime (pip install 'relate-explorer[onnx]') to use it."
        ) from None
    options = ort.SessionOptions()
    options.log_severity_level = 3  # errors only: no provider fall-back chatter on stderr
    try:
        return ort.InferenceSession(path, sess_options=options, providers=["CPUExecutionProvider"])
    except Exception as err:  # InvalidProtobuf, InvalidGraph, Fail, UnicodeDecodeError, ...
        first = (str(err).strip().splitlines() or [type(err).__name__])[0][:200]
        raise ModelFileError(f"{where} is not an ONNX model onnxruntime can load ({first}).") from None
