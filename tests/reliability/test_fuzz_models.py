"""Fuzzing every model reader: .safetensors checkpoints, torch weights (.pt/.pth/.ckpt), TorchScript,
.pt2 and ONNX. Random bytes, truncations, flipped and inserted bytes, swapped archive members and
headers that lie: each case loads or ends in ModelFileError, never another exception or a hang.
200 generated cases per reader."""

from __future__ import annotations

import io
import json
import os
import struct
import tempfile
import warnings
import zipfile

import pytest
from hypothesis import given
from hypothesis import strategies as st

from explorer.core.errors import ExplorerError, ModelFileError

from ._fuzz import FUZZ, assert_sentence, mutate, record
from ._limits import time_limit

torch = pytest.importorskip("torch")

from explorer.models import safe_load  # noqa: E402
from explorer.models.checkpoint import load as load_checkpoint  # noqa: E402

_TRUST = True  # the fuzzers exercise what lies behind the trust gate (test_trust.py tests the gate)


@pytest.fixture
def sound(sound_models):
    return sound_models


mutation = st.tuples(
    st.sampled_from(["truncate", "flip", "insert", "none"]), st.integers(0, 10**7), st.integers(0, 255)
)


def _swap_member(data: bytes, index: int, new: bytes) -> bytes:
    """Replace one member of a zip archive (torch archives, .pt2) with other bytes."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as zi, zipfile.ZipFile(out, "w") as zo:
        infos = zi.infolist()
        target = infos[index % len(infos)].filename
        for info in infos:
            zo.writestr(info, new if info.filename == target else zi.read(info.filename))
    return out.getvalue()


@st.composite
def archive_cases(draw, base: bytes) -> bytes:
    kind = draw(st.sampled_from(["random", "mutate", "mutate", "member", "member"]))
    if kind == "random":
        return draw(st.one_of(st.binary(max_size=64), st.just(b"PK\x03\x04").map(lambda b: b + bytes(40))))
    if kind == "member":
        new = draw(
            st.one_of(st.binary(max_size=48), st.sampled_from([b"", b"\x80\x02}q\x00.", b"{}", b"PK"]))
        )
        return _swap_member(base, draw(st.integers(0, 100)), new)
    return mutate(base, *draw(mutation))


def _run(reader: str, load, data: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "model" + suffix)
        with open(path, "wb") as f:
            f.write(data)
        with time_limit(10), warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit is deprecated upstream
            try:
                load(path)
            except ModelFileError as err:
                assert_sentence(err)
                record(reader, "ModelFileError")
                return
        record(reader, "loaded")


# ---- safetensors -----------------------------------------------------------------------------
@st.composite
def safetensors_cases(draw, good: bytes) -> bytes:
    n = struct.unpack("<Q", good[:8])[0]
    header, data = json.loads(good[8 : 8 + n]), good[8 + n :]
    kind = draw(st.sampled_from(["random", "mutate", "tensor", "metadata", "length"]))
    if kind == "random":
        return draw(st.binary(max_size=64))
    if kind == "mutate":
        return mutate(good, *draw(mutation))
    if kind == "length":
        return struct.pack("<Q", draw(st.integers(0, 2**64 - 1))) + good[8:]
    names = sorted(k for k in header if k != "__metadata__")
    if kind == "tensor":
        entry = header[draw(st.sampled_from(names))]
        field = draw(st.sampled_from(["dtype", "shape", "data_offsets", "drop"]))
        if field == "dtype":
            entry["dtype"] = draw(
                st.sampled_from(["F16", "F64", "I8", "U8", "BOOL", "BF16", "F8_E4M3", "X", ""])
            )
        elif field == "shape":
            entry["shape"] = draw(st.lists(st.integers(0, 2**40), max_size=4))
        elif field == "data_offsets":
            entry["data_offsets"] = draw(st.lists(st.integers(-5, 2**40), min_size=0, max_size=3))
        else:
            header.pop(draw(st.sampled_from(names)))
    else:
        meta = header["__metadata__"]
        key = draw(
            st.sampled_from(
                [
                    "architecture",
                    "config",
                    "input_shape",
                    "normalisation",
                    "class_names",
                    "summary",
                    "format",
                    "name",
                ]
            )
        )
        meta[key] = draw(
            st.one_of(
                st.sampled_from(
                    [
                        "",
                        "null",
                        "[]",
                        "{}",
                        "[1, 4]",
                        "[0, 0, 0]",
                        "[-1, 4, 4]",
                        "[1, 4, 4, 4]",
                        '{"code_dim": -3}',
                        '{"nope": 1}',
                        '{"hidden": [99999999]}',
                        "ae",
                        "gae",
                        "[1, 100000, 100000]",
                        '"text"',
                        "NaN",
                        "1e999",
                        '{"mean": [0], "std": [0]}',
                    ]
                ),
                st.text(max_size=12),
            )
        )
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + data


@FUZZ
@given(data=st.data())
def test_fuzz_safetensors(sound, data):
    body = data.draw(safetensors_cases(sound["safetensors"]))
    _run("safetensors", load_checkpoint, body, ".safetensors")


# ---- pickle-based torch files, TorchScript, .pt2 -----------------------------------------------
@FUZZ
@given(data=st.data(), ext=st.sampled_from([".pt", ".pth", ".ckpt"]))
def test_fuzz_torch_weights(sound, data, ext):
    _run("torch weights", safe_load.load_weights, data.draw(archive_cases(sound["weights"])), ext)


@FUZZ
@given(data=st.data())
def test_fuzz_torchscript(sound, data):
    _run("TorchScript", safe_load.load_torchscript, data.draw(archive_cases(sound["torchscript"])), ".pt")


@FUZZ
@given(data=st.data())
def test_fuzz_pt2(sound, data):
    _run(".pt2", safe_load.load_exported, data.draw(archive_cases(sound["pt2"])), ".pt2")


@FUZZ
@given(data=st.data())
def test_fuzz_onnx(sound, data):
    base = sound["onnx"]
    body = data.draw(st.one_of(st.binary(max_size=64), mutation.map(lambda m: mutate(base, *m))))
    _run("ONNX", safe_load.load_onnx_session, body, ".onnx")


def test_sound_files_load(sound, tmp_path):
    for key, name in [
        ("safetensors", "a.safetensors"),
        ("weights", "b.ckpt"),
        ("torchscript", "c.pt"),
        ("pt2", "d.pt2"),
        ("onnx", "e.onnx"),
    ]:
        (tmp_path / name).write_bytes(sound[key])
    assert load_checkpoint(tmp_path / "a.safetensors").class_names == ["a", "b"]
    assert safe_load.load_weights(tmp_path / "b.ckpt")["epoch"] == 3
    x = torch.rand(2, 1, 4, 4)
    ts = safe_load.load_torchscript(tmp_path / "c.pt")
    ep = safe_load.load_exported(tmp_path / "d.pt2")
    onnx = safe_load.load_onnx_session(tmp_path / "e.onnx")
    y = onnx.run(None, {onnx.get_inputs()[0].name: x.numpy()})[0]
    torch.testing.assert_close(ts(x), ep.module()(x))
    torch.testing.assert_close(torch.from_numpy(y), ts(x), atol=1e-5, rtol=1e-5)


# ---- the user-facing entry point: load_encoder -----------------------------------------------
BAD_CONTENT = {"empty": b"", "random": bytes(range(7, 250, 3)), "zip stub": b"PK\x03\x04" + bytes(30)}


@pytest.mark.parametrize("content", list(BAD_CONTENT))
@pytest.mark.parametrize("ext", [".safetensors", ".pt", ".pth", ".ckpt", ".pt2", ".onnx", ".xyz"])
def test_load_encoder_bad_files_give_model_file_error(tmp_path, ext, content):
    from explorer.models import load_encoder

    path = tmp_path / f"model{ext}"
    path.write_bytes(BAD_CONTENT[content])
    with pytest.raises(ModelFileError) as err:
        load_encoder(str(path))
    assert_sentence(err.value)


def test_load_encoder_missing_and_folder(tmp_path):
    from explorer.models import load_encoder

    for spec in (str(tmp_path / "nope.safetensors"), str(tmp_path), "pca:x"):
        with pytest.raises(ExplorerError) as err:
            load_encoder(spec)
        assert_sentence(err.value)


# ---- load_encoder end to end, with fuzzed files and fuzzed <file>.json sidecars ------------------
EXT_KIND = {
    ".pt": "torchscript",
    ".pth": "sd",
    ".ckpt": "weights",
    ".pt2": "pt2",
    ".onnx": "onnx",
    ".safetensors": "safetensors",
}
sidecars = st.one_of(
    st.none(),
    st.binary(max_size=16),
    st.just(b"[" * 100_000 + b"]" * 100_000),
    st.fixed_dictionaries(
        {},
        optional={
            "name": st.one_of(st.text(max_size=5), st.integers()),
            "input_shape": st.one_of(
                st.lists(st.one_of(st.integers(-2, 5), st.text(max_size=2)), max_size=4),
                st.integers(),
                st.none(),
            ),
            "normalisation": st.one_of(
                st.none(),
                st.integers(),
                st.fixed_dictionaries(
                    {},
                    optional={
                        "mean": st.lists(st.floats(allow_nan=True), max_size=4),
                        "std": st.lists(st.floats(allow_nan=True), max_size=4),
                    },
                ),
            ),
        },
    ).map(lambda d: json.dumps(d).encode()),
)


@FUZZ
@given(data=st.data(), ext=st.sampled_from(sorted(EXT_KIND)), side=sidecars)
def test_fuzz_load_encoder_and_encode(sound, data, ext, side):
    import numpy as np

    from explorer.models import load_encoder

    base = sound[EXT_KIND[ext]]
    body = (
        data.draw(archive_cases(base))
        if ext not in (".onnx", ".safetensors")
        else data.draw(st.one_of(st.just(base), mutation.map(lambda m: mutate(base, *m))))
    )
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "model" + ext)
        with open(path, "wb") as f:
            f.write(body)
        if side is not None:
            with open(path + ".json", "wb") as f:
                f.write(side)
        with time_limit(10), warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            try:
                enc = load_encoder(path, trust=_TRUST)  # fuzz what lies behind the trust gate
            except ExplorerError as err:
                assert_sentence(err)
                record("load_encoder", "refused")
                return
            try:
                codes = enc.encode(np.zeros((2, 1, 4, 4), np.float32))
            except ExplorerError as err:
                assert_sentence(err)
                record("load_encoder", "loaded, encode refused")
                return
        assert codes.shape[0] == 2 and codes.dtype == np.float32
        record("load_encoder", "loaded and encoded")
