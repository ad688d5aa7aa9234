"""Program-format model files that run code, and the safe-looking files that point at them.

For each: nothing runs and no marker appears, the user gets one sentence (CLI: exit 2), both
without trust (the gate, first line) and with it (the archive scan, second line). A canary first
proves each payload is live: torch's own loaders, in a child process, do create the marker.
"""

from __future__ import annotations

import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from explorer.cli import main  # noqa: E402
from explorer.core.errors import ModelFileError  # noqa: E402
from explorer.models import load_encoder, safe_load  # noqa: E402
from explorer.models import trust as gate  # noqa: E402

from . import _programs  # noqa: E402
from ._limits import peak_memory, time_limit  # noqa: E402

NAMES = ["pt2 pickle in .json", "pt2 sympy shape", "torchscript continuation", "torchscript comment"]


@pytest.fixture(autouse=True)
def own_config(tmp_path, monkeypatch):
    monkeypatch.setenv("EXPLORER_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.delenv(gate.ENV, raising=False)


@pytest.fixture
def hostile(tmp_path):
    """name -> (path, marker) of each hostile program, written to tmp_path."""
    out = {}
    for name, (suffix, data) in _programs.hostile_programs(str(tmp_path / "MARKER_")).items():
        path = tmp_path / (_programs.slug(name) + suffix)
        path.write_bytes(data)
        out[name] = (str(path), tmp_path / f"MARKER_{_programs.slug(name)}")
    return out


def _sentence(text: str) -> str:
    text = text.strip()
    assert text and len(text.splitlines()) == 1 and "Traceback" not in text, text
    return text


def test_payloads_are_live(tmp_path, hostile):
    """Canary: torch.jit.load / torch.export.load (+ .module()) of each file creates its marker."""
    code = (
        "import sys, warnings, torch\n"
        "warnings.simplefilter('ignore')\n"
        "for path in sys.argv[1:]:\n"
        "    try:\n"
        "        m = torch.jit.load(path) if path.endswith('.pt') else torch.export.load(path).module()\n"
        "    except Exception:\n"
        "        pass\n"
    )
    subprocess.run(
        [sys.executable, "-c", code, *(p for p, _ in hostile.values())],
        check=True,
        timeout=120,
        capture_output=True,
    )
    assert {name for name, (_, marker) in hostile.items() if marker.exists()} == set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_untrusted_hostile_program_is_not_read(hostile, name, monkeypatch):
    path, marker = hostile[name]
    read = []
    monkeypatch.setattr(safe_load, "check_archive", lambda *a, **k: read.append(a))
    with pytest.raises(gate.UntrustedModelError) as err:
        load_encoder(path)
    _sentence(str(err.value))
    assert read == [] and not marker.exists()


@pytest.mark.parametrize("name", NAMES)
def test_trusted_hostile_program_is_refused_by_the_scan(hostile, name, monkeypatch):
    path, marker = hostile[name]
    called = []
    monkeypatch.setattr(torch.jit, "load", lambda *a, **k: called.append(a))
    monkeypatch.setattr(torch.export, "load", lambda *a, **k: called.append(a))
    with pytest.raises(ModelFileError) as err:
        load_encoder(path, trust=True)
    _sentence(str(err.value))
    assert called == [] and not marker.exists()


@pytest.mark.parametrize("name", NAMES)
def test_cli_hostile_program_exit_2_without_and_with_trust(hostile, name, tmp_path, capsys):
    path, marker = hostile[name]
    out = tmp_path / "codes.npy"
    for extra in ([], ["--trust-model"]):
        assert main(["encode", "--model", path, "--data", "sample:digits", "--out", str(out), *extra]) == 2
        _sentence(capsys.readouterr().err.strip().splitlines()[-1])
        assert not marker.exists() and not out.exists()


def test_pt2_declaring_weights_it_does_not_hold_allocates_nothing(tmp_path):
    path = tmp_path / "empty.pt2"
    path.write_bytes(_programs.pt2_empty_weights(2.5))
    assert path.stat().st_size < 20_000
    with (
        peak_memory() as peak,
        time_limit(10),
        pytest.raises(ModelFileError, match="declares .* but holds") as err,
    ):
        load_encoder(str(path), trust=True)
    _sentence(str(err.value))
    assert peak.traced_bytes < 50_000_000 and peak.rss_growth < 300_000_000


def test_legitimate_programs_still_load_after_the_scan(tmp_path):
    """The second line does not refuse sound files: TorchScript and both kinds of .pt2 encode."""
    x = np.random.default_rng(0).random((3, 1, 4, 4), dtype=np.float32)
    net = _programs._net()
    with torch.no_grad():
        want = net(torch.from_numpy(x)).numpy()
    (tmp_path / "d.pt2").write_bytes(_programs.pt2_bytes(dynamic=True))
    (tmp_path / "s.pt2").write_bytes(_programs.pt2_bytes(dynamic=False))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.save(torch.jit.script(net), str(tmp_path / "t.pt"))
    for name in ("d.pt2", "s.pt2", "t.pt"):
        assert np.allclose(load_encoder(str(tmp_path / name), trust=True).encode(x), want, atol=1e-5), name


# ---- safe-looking files that point at a program --------------------------------------------------
def test_finetune_checkpoint_naming_a_program_backbone_opens_nothing(hostile, tmp_path, capsys, monkeypatch):
    evil, marker = hostile["torchscript comment"]
    ckpt = tmp_path / "tuned.safetensors"
    ckpt.write_bytes(_programs.finetune_naming(evil, tmp_path))
    called = []
    monkeypatch.setattr(torch.jit, "load", lambda *a, **k: called.append(a))
    monkeypatch.setattr(gate, "check", lambda *a, **k: called.append(a))
    with pytest.raises(ModelFileError, match="does not carry its backbone") as err:
        load_encoder(str(ckpt))
    _sentence(str(err.value))
    os.chdir(tmp_path)  # a relative name would have resolved here
    assert (
        main(["encode", "--model", str(ckpt), "--data", "sample:digits", "--out", "c.npy", "--trust-model"])
        == 2
    )
    _sentence(capsys.readouterr().err.strip().splitlines()[-1])
    assert called == [] and not marker.exists() and not (tmp_path / "c.npy").exists()


def test_finetune_of_a_program_is_refused_and_of_ours_carries_its_backbone(hostile, tmp_path):
    from explorer.core.imageset import ImageSet
    from explorer.models.base import build_model
    from explorer.models.checkpoint import load, save
    from explorer.training.finetune import finetune_model

    data = ImageSet(
        images=np.random.default_rng(0).random((6, 1, 4, 4), dtype=np.float32),
        labels=np.array([0, 1, 2, 0, 1, 2]),
    )
    evil, marker = hostile["pt2 sympy shape"]
    with pytest.raises(Exception, match="not one of explorer's own models") as err:
        finetune_model(evil, data)
    _sentence(str(err.value))
    assert not marker.exists()
    base = build_model("ae", (1, 4, 4), 3, {"hidden": (8,)})
    save(tmp_path / "base.safetensors", base)
    once = finetune_model(str(tmp_path / "base.safetensors"), data, code_dim=2)
    save(tmp_path / "once.safetensors", once)
    (tmp_path / "base.safetensors").unlink()  # the fine-tunes must not need it
    twice = finetune_model(str(tmp_path / "once.safetensors"), data, code_dim=2)
    save(tmp_path / "twice.safetensors", twice)
    (tmp_path / "once.safetensors").unlink()
    back = load(tmp_path / "twice.safetensors").model
    x = torch.from_numpy(data.float_images())
    with torch.no_grad():
        assert torch.allclose(back.encode(x), twice.eval().encode(x), atol=1e-6)


def test_session_paths_resolve_against_the_session_folder(hostile, tmp_path, monkeypatch):
    from explorer.core import session as sessions

    evil, _ = hostile["torchscript continuation"]
    folder = tmp_path / "sessions"
    folder.mkdir()
    with open(evil, "rb") as f:
        (folder / "m.pt").write_bytes(f.read())
    sessions.save_session(
        folder / "s.session", {"data": "sample:digits", "models": {"pixels": "pixels", "m": "m.pt"}}
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "m.pt").write_bytes(b"another file")
    monkeypatch.chdir(elsewhere)
    state = sessions.load_session(folder / "s.session")
    assert state["models"] == {"pixels": "pixels", "m": str(folder / "m.pt")}
    assert sessions.named_files(state) == [str(folder / "m.pt")]
