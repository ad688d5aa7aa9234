"""The command line turns every user mistake into one sentence on stderr and a non-zero exit,
never a traceback (subprocess runs of the real `explorer` entry point)."""

from __future__ import annotations

import os
import struct
import subprocess
import sys

import pytest

from . import _craft


def _explorer(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "explorer", *args], capture_output=True, text=True, timeout=120, cwd=cwd
    )


def _assert_sentence(proc: subprocess.CompletedProcess, *words: str) -> None:
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr, proc.stderr
    last = [ln for ln in proc.stderr.splitlines() if ln.startswith("explorer: ")]
    assert len(last) == 1, proc.stderr
    for w in words:
        assert w in last[0], last[0]


def test_info_on_an_idx_claiming_a_billion_images(tmp_path):
    path = tmp_path / "big-images-idx3-ubyte"
    path.write_bytes(struct.pack(">BBBBIII", 0, 0, 0x08, 3, 1_000_000_000, 28, 28) + bytes(100))
    _assert_sentence(_explorer("info", str(path)), "truncated or corrupt")


def test_info_on_an_empty_folder_and_a_random_file(tmp_path):
    (tmp_path / "empty").mkdir()
    _assert_sentence(_explorer("info", str(tmp_path / "empty")), "No images found")
    (tmp_path / "x.npz").write_bytes(os.urandom(64))
    _assert_sentence(_explorer("info", str(tmp_path / "x.npz")), "not a valid .npz")


def test_encode_with_a_hostile_model(tmp_path, sound_models):
    marker = tmp_path / "MARKER"
    evil = tmp_path / "evil.pt"
    payload = _craft.payloads(str(marker))["os.system/proto2"]
    evil.write_bytes(_craft.replace_members(sound_models["ts"], {"/data.pkl": payload}))
    proc = _explorer(
        "encode",
        "--model",
        str(evil),
        "--data",
        "sample:digits",
        "--out",
        str(tmp_path / "c.npy"),
        "--trust-model",
    )  # the archive scan, behind the trust gate
    _assert_sentence(proc, "run Python code")
    assert not marker.exists() and not (tmp_path / "c.npy").exists()


@pytest.mark.slow
@pytest.mark.skipif(
    not os.environ.get("RELIABILITY_SLOW"), reason="~5 s (torch in a child); RELIABILITY_SLOW=1"
)
def test_encode_to_an_unwritable_output(tmp_path):
    proc = _explorer(
        "encode", "--model", "pixels", "--data", "sample:digits", "--out", str(tmp_path / "no" / "c.npy")
    )
    _assert_sentence(proc, "Cannot write")


@pytest.mark.slow
@pytest.mark.skipif(
    not os.environ.get("RELIABILITY_SLOW"), reason="~10 s (trains in a child); RELIABILITY_SLOW=1"
)
def test_train_with_an_overflowing_learning_rate(tmp_path):
    out = tmp_path / "m.safetensors"
    proc = _explorer(
        "train",
        "--model",
        "ae",
        "--data",
        "sample:digits",
        "--epochs",
        "2",
        "--lr",
        "1e38",
        "--out",
        str(out),
    )
    _assert_sentence(proc, "overflowed", "lower learning rate")
    assert not out.exists()
