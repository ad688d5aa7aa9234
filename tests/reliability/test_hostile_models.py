"""Hostile model files: pickles that would run code, and safetensors headers that lie.

Every file here is refused with ModelFileError and the marker file its payload would create never
appears. A canary test first proves the payloads are live (plain pickle.loads does create the marker).
"""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
import warnings
import zipfile

import pytest

from explorer.core.errors import ModelFileError

from . import _craft
from ._limits import peak_memory, time_limit

torch = pytest.importorskip("torch")

from explorer.models import safe_load  # noqa: E402

from ._programs import WritesOnLoad as _WritesOnLoad  # noqa: E402

PAYLOADS = list(_craft.payloads("MARKER"))


@pytest.fixture
def archives(sound_models):
    """Sound files to start from: a torch.save state dict, a TorchScript module, a .pt2 program."""
    return sound_models


def _marker(tmp_path):
    return str(tmp_path / "MARKER")


def test_payloads_are_live(tmp_path):
    """Canary: unpickling each payload really creates the marker (so the refusals below mean something)."""
    code = (
        f"import pickle, sys; sys.path.insert(0, {os.path.dirname(__file__)!r}); import _craft\n"
        f"for i in range({len(PAYLOADS)}): "
        f"pickle.loads(list(_craft.payloads({_marker(tmp_path)!r} + str(i)).values())[i])\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    assert sorted(os.listdir(tmp_path)) == sorted(f"MARKER{i}" for i in range(len(PAYLOADS)))


@pytest.mark.parametrize("payload", PAYLOADS)
@pytest.mark.parametrize("ext", [".pt", ".pth", ".ckpt"])
def test_pickled_weights_with_code_are_refused(tmp_path, archives, payload, ext):
    evil = _craft.replace_members(archives["sd"], {"/data.pkl": _craft.payloads(_marker(tmp_path))[payload]})
    path = tmp_path / f"evil{ext}"
    path.write_bytes(evil)
    with pytest.raises(ModelFileError, match="run Python code|refuses"):
        safe_load.load_weights(path)
    assert not os.path.exists(_marker(tmp_path))


@pytest.mark.parametrize("payload", PAYLOADS)
def test_old_style_pickle_files_are_refused(tmp_path, payload):
    path = tmp_path / "legacy.pt"
    path.write_bytes(_craft.payloads(_marker(tmp_path))[payload])
    with pytest.raises(ModelFileError):
        safe_load.load_weights(path)
    assert not os.path.exists(_marker(tmp_path))


@pytest.mark.parametrize("payload", PAYLOADS)
@pytest.mark.parametrize("member", ["/data.pkl", "/constants.pkl", ".debug_pkl"])
def test_torchscript_archive_with_code_is_refused_before_torch_sees_it(
    tmp_path, archives, payload, member, monkeypatch
):
    evil = _craft.replace_members(archives["ts"], {member: _craft.payloads(_marker(tmp_path))[payload]})
    path = tmp_path / "evil.pt"
    path.write_bytes(evil)
    called = []
    monkeypatch.setattr(torch.jit, "load", lambda *a, **k: called.append(a))
    with pytest.raises(ModelFileError, match="run Python code|refuses"):
        safe_load.load_torchscript(path)
    assert called == [] and not os.path.exists(_marker(tmp_path))


def test_torchscript_loader_itself_refuses_unknown_globals(tmp_path, archives):
    """Second line of defence: torch.jit.load's own unpickler does not import posix.system."""
    evil = _craft.replace_members(
        archives["ts"], {"/data.pkl": _craft.payloads(_marker(tmp_path))["os.system/proto2"]}
    )
    path = tmp_path / "evil.pt"
    path.write_bytes(evil)
    with pytest.raises(RuntimeError), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.load(str(path))
    assert not os.path.exists(_marker(tmp_path))


def _nested_evil_pt(marker: str, payload: str) -> bytes:
    buf = io.BytesIO()
    torch.save({"x": torch.zeros(1)}, buf)
    return _craft.replace_members(buf.getvalue(), {"/data.pkl": _craft.payloads(marker)[payload]})


@pytest.mark.parametrize("payload", ["os.system/proto2", "stack_global_memo"])
def test_pt2_with_code_in_its_sample_inputs_is_refused(tmp_path, archives, payload):
    """torch.export.load retries the sample inputs with weights_only=False: it would run this."""
    evil = _craft.replace_members(
        archives["pt2"], {"sample_inputs/model.pt": _nested_evil_pt(_marker(tmp_path), payload)}
    )
    path = tmp_path / "evil.pt2"
    path.write_bytes(evil)
    with pytest.raises(ModelFileError, match="run Python code"):
        safe_load.load_exported(path)
    assert not os.path.exists(_marker(tmp_path))


def test_pt2_with_pickled_weights_is_refused(tmp_path, archives):
    """A weights config saying use_pickle makes torch.export.load torch.load(weights_only=False) it."""
    with zipfile.ZipFile(io.BytesIO(archives["pt2"])) as zf:
        cfg_name = next(n for n in zf.namelist() if n.endswith("model_weights_config.json"))
        cfg = json.loads(zf.read(cfg_name))
    first = next(iter(cfg["config"].values()))
    first["use_pickle"] = True
    legacy = _craft.payloads(_marker(tmp_path))["os.system/proto2"]  # a non-zip torch.load payload
    evil = _craft.replace_members(
        archives["pt2"],
        {
            cfg_name: json.dumps(cfg).encode(),
            "weights/" + first["path_name"]: legacy,
        },
    )
    path = tmp_path / "evil.pt2"
    path.write_bytes(evil)
    with pytest.raises(ModelFileError, match="pickled Python objects"):
        safe_load.load_exported(path)
    assert not os.path.exists(_marker(tmp_path))


def test_sound_archives_still_load(tmp_path, archives):
    for key, name in [("sd", "a.pt"), ("ts", "b.pt"), ("pt2", "c.pt2")]:
        (tmp_path / name).write_bytes(archives[key])
    sd = safe_load.load_weights(tmp_path / "a.pt")
    assert sorted(sd) == ["1.bias", "1.weight"] and sd["1.weight"].shape == (3, 16)

    x = torch.rand(2, 1, 4, 4)
    ts = safe_load.load_torchscript(tmp_path / "b.pt")
    ep = safe_load.load_exported(tmp_path / "c.pt2")
    torch.testing.assert_close(ts(x), ep.module()(x))


@pytest.mark.parametrize("ext", [".pt", ".pth", ".ckpt"])
def test_load_encoder_refuses_code_in_pickles(tmp_path, archives, ext):
    from explorer.models import load_encoder

    payloads = _craft.payloads(_marker(tmp_path))
    for name, data in [
        ("weights", _craft.replace_members(archives["sd"], {"/data.pkl": payloads["open/proto2"]})),
        ("script", _craft.replace_members(archives["ts"], {"/data.pkl": payloads["stack_global"]})),
        ("legacy", payloads["os.system/proto0"]),
    ]:
        path = tmp_path / f"{name}{ext}"
        path.write_bytes(data)
        with pytest.raises(ModelFileError):
            load_encoder(str(path), trust=True)  # the scanner, behind the trust gate
        assert not os.path.exists(_marker(tmp_path)), name


def test_load_encoder_refuses_code_in_pt2(tmp_path, archives):
    from explorer.models import load_encoder

    evil = _craft.replace_members(
        archives["pt2"], {"sample_inputs/model.pt": _nested_evil_pt(_marker(tmp_path), "open/proto2")}
    )
    path = tmp_path / "evil.pt2"
    path.write_bytes(evil)
    with pytest.raises(ModelFileError):
        load_encoder(str(path), trust=True)
    assert not os.path.exists(_marker(tmp_path))


# ---- safetensors headers that lie ----------------------------------------------------------------
def _checkpoint_bytes(tmp_path) -> bytes:
    from explorer.models.base import build_model
    from explorer.models.checkpoint import save

    torch.manual_seed(0)
    model = build_model("ae", (1, 4, 4), 2, {"hidden": (8,)})
    save(tmp_path / "good.safetensors", model, class_names=["a"], summary={})
    return (tmp_path / "good.safetensors").read_bytes()


def _lies(good: bytes) -> dict[str, bytes]:
    n = struct.unpack("<Q", good[:8])[0]
    header = json.loads(good[8 : 8 + n])
    data = good[8 + n :]
    name = next(k for k in header if k != "__metadata__")
    out = {}
    out["header length beyond the file"] = struct.pack("<Q", n + 10_000) + good[8:]
    out["header length 2**63"] = struct.pack("<Q", 2**63) + good[8:]
    out["header length zero"] = struct.pack("<Q", 0) + good[8:]
    h = json.loads(json.dumps(header))
    h[name]["data_offsets"][1] += 1_000_000
    out["offset past the end"] = _craft.safetensors_bytes(h, data)
    h = json.loads(json.dumps(header))
    h[name]["shape"] = [1_000_000_000, 1_000_000]
    out["shape claims 4 PB"] = _craft.safetensors_bytes(h, data)
    h = json.loads(json.dumps(header))
    h[name]["data_offsets"] = [8, 4]
    out["offsets backwards"] = _craft.safetensors_bytes(h, data)
    h = json.loads(json.dumps(header))
    h[name]["dtype"] = "F64"
    out["dtype does not fit the bytes"] = _craft.safetensors_bytes(h, data)
    last = max((k for k in header if k != "__metadata__"), key=lambda k: header[k]["data_offsets"][0])
    h = json.loads(json.dumps(header))
    lo, hi = h[last]["data_offsets"]
    h[last]["data_offsets"] = [0, hi - lo]
    out["overlapping tensors"] = _craft.safetensors_bytes(h, data)
    out["truncated data"] = good[: 8 + n + len(data) // 2]
    out["header not JSON"] = struct.pack("<Q", 12) + b"{not json!!}" + data
    h = json.loads(json.dumps(header))
    h["__metadata__"]["input_shape"] = "[1, 100000, 100000]"
    out["metadata claims a 10^10-pixel input"] = _craft.safetensors_bytes(h, data)
    h = json.loads(json.dumps(header))
    h["__metadata__"]["input_shape"] = "[3, 1000, 1000]"
    out["metadata claims a 3x1000x1000 input (12 GB of weights)"] = _craft.safetensors_bytes(h, data)
    h = json.loads(json.dumps(header))
    h["__metadata__"]["config"] = '{"code_dim": 1000000000}'
    out["metadata claims a 10^9 code"] = _craft.safetensors_bytes(h, data)
    h = json.loads(json.dumps(header))
    h["__metadata__"]["summary"] = "[" * 100_000 + "]" * 100_000
    out["metadata JSON nested 100000 deep"] = _craft.safetensors_bytes(h, data)
    h = json.loads(json.dumps(header))
    h["__metadata__"]["architecture"] = "os.system"
    out["unknown architecture"] = _craft.safetensors_bytes(h, data)
    return out


def test_lying_safetensors_are_refused_without_allocating(tmp_path):
    from explorer.models.checkpoint import load

    good = _checkpoint_bytes(tmp_path)
    assert load(tmp_path / "good.safetensors").input_shape == (1, 4, 4)
    failures = {}
    for what, data in _lies(good).items():
        path = tmp_path / "lie.safetensors"
        path.write_bytes(data)
        with peak_memory() as peak, time_limit(10):
            try:
                load(path)
                failures[what] = "loaded"
            except ModelFileError as err:
                assert str(err).endswith((".", ")")), str(err)
            except Exception as err:  # anything else is the bug we look for
                failures[what] = f"{type(err).__name__}: {err}"
        # growth, not the absolute peak: in a full run the process already holds earlier tests' memory
        if peak.rss_growth > 500_000_000 or peak.traced_bytes > 50_000_000:
            failures[what] = f"the process grew by {peak.rss_growth / 1e6:.0f} MB"
    assert failures == {}


# ---- TorchScript code that touches files ----------------------------------------------------------
# _WritesOnLoad: __setstate__ runs while torch.jit.load reads the archive and creates a file


class _WritesOnCall(torch.nn.Module):
    def __init__(self, marker: str) -> None:
        super().__init__()
        self.marker = marker

    def forward(self, x):
        torch.save(x, self.marker)
        return x


@pytest.mark.parametrize("cls", [_WritesOnLoad, _WritesOnCall])
def test_torchscript_that_writes_files_is_refused(tmp_path, cls):
    from explorer.models import load_encoder

    marker = tmp_path / "MARKER"
    path = tmp_path / "writer.pt"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.save(torch.jit.script(cls(str(marker))), str(path))
        if cls is _WritesOnLoad:  # canary: plain torch.jit.load does create the file
            marker.unlink(missing_ok=True)
            torch.jit.load(str(path))
            assert marker.exists()
            marker.unlink()
    assert not marker.exists()
    with pytest.raises(ModelFileError, match="reads or writes files"):
        safe_load.load_torchscript(path)
    with pytest.raises(ModelFileError, match="reads or writes files"):
        load_encoder(str(path), trust=True)
    assert not marker.exists()
