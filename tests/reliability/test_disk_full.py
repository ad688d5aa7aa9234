"""Disk full during a checkpoint or session save: one sentence, the previous file unchanged, no temp.

Two ways to fail a write without privileges: a real one, RLIMIT_FSIZE (the kernel refuses writes
past a size with EFBIG, the same path as ENOSPC through every writer, safetensors' Rust one
included), and ENOSPC itself injected where a full disk reports it late (fsync) or as the Rust
writer words it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
import sys

import numpy as np
import pytest

from explorer.core.errors import ExplorerError, SessionError

from ._fuzz import assert_sentence

resource = pytest.importorskip("resource")  # POSIX only


@contextlib.contextmanager
def file_size_limit(nbytes: int):
    """Writes past ``nbytes`` in any file fail (EFBIG) inside the block; SIGXFSZ ignored."""
    import signal

    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    old = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (nbytes, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, old)


def _no_temps(folder) -> None:
    assert [f for f in os.listdir(folder) if ".tmp" in f] == []


@pytest.fixture(scope="module")
def two_models():
    torch = pytest.importorskip("torch")
    from explorer.models.base import build_model

    torch.manual_seed(0)
    small = build_model("ae", (1, 4, 4), 2, {"hidden": (8,)})
    big = build_model("ae", (1, 28, 28), 16, {})  # ~2.5 MB of weights
    return small, big


def test_checkpoint_save_past_the_file_size_limit(tmp_path, two_models):
    from explorer.models.checkpoint import load, save

    small, big = two_models
    target = tmp_path / "m.safetensors"
    save(target, small, class_names=["a", "b"])
    before = target.read_bytes()
    with file_size_limit(len(before) + 4096), pytest.raises(ExplorerError) as err:
        save(target, big)
    assert_sentence(err.value)
    assert "previous file is unchanged" in str(err.value) and "File too large" in str(err.value)
    assert target.read_bytes() == before and load(target).model.code_dim == 2
    _no_temps(tmp_path)


def test_checkpoint_save_when_fsync_reports_a_full_disk(tmp_path, two_models, monkeypatch):
    from explorer.core import atomic
    from explorer.models.checkpoint import save

    small, big = two_models
    target = tmp_path / "m.safetensors"
    save(target, small)
    before = target.read_bytes()

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(atomic.os, "fsync", full)
    with pytest.raises(ExplorerError, match="No space left on device.*free some space.*unchanged") as err:
        save(target, big)
    assert_sentence(err.value)
    assert target.read_bytes() == before
    _no_temps(tmp_path)


def test_checkpoint_save_when_the_rust_writer_reports_a_full_disk(tmp_path, two_models, monkeypatch):
    import safetensors.torch
    from safetensors import SafetensorError

    from explorer.models.checkpoint import save

    small, big = two_models
    target = tmp_path / "m.safetensors"
    save(target, small)
    before = target.read_bytes()
    real = safetensors.torch.save_file

    def full(tensors, filename, metadata=None):
        real(tensors, filename, metadata=metadata)  # most of it written ...
        raise SafetensorError("Error while serializing: I/O error: No space left on device (os error 28)")

    monkeypatch.setattr(safetensors.torch, "save_file", full)
    with pytest.raises(ExplorerError, match="No space left on device; the previous file is unchanged"):
        save(target, big)
    assert target.read_bytes() == before
    _no_temps(tmp_path)


def test_session_save_past_the_file_size_limit(tmp_path):
    from explorer.core.session import load_session, save_session

    target = tmp_path / "work.session"
    save_session(target, {"data": "sample:digits", "codes": {"pixels": np.ones((5, 3), np.float32)}})
    before = target.read_bytes()
    state = {"data": "other", "codes": {"m": np.zeros((2000, 64), np.float32)}}  # ~500 KB
    with file_size_limit(len(before) + 4096), pytest.raises(SessionError) as err:
        save_session(target, state)
    assert_sentence(err.value)
    assert "previous file is unchanged" in str(err.value)
    assert target.read_bytes() == before and load_session(target)["data"] == "sample:digits"
    _no_temps(tmp_path)


def test_session_save_when_fsync_reports_a_full_disk(tmp_path, monkeypatch):
    from explorer.core import atomic
    from explorer.core.session import save_session

    target = tmp_path / "work.session"
    save_session(target, {"data": "sample:digits"})
    before = target.read_bytes()
    full = OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(atomic.os, "fsync", lambda fd: (_ for _ in ()).throw(full))
    with pytest.raises(SessionError, match="No space left on device") as err:  # the GUI catches SessionError
        save_session(target, {"data": "sample:mnist"})
    assert_sentence(err.value)
    assert target.read_bytes() == before
    _no_temps(tmp_path)


def test_session_save_onto_a_device_is_refused(tmp_path, monkeypatch):
    from explorer.core import atomic
    from explorer.core.session import save_session

    if not os.path.exists("/dev/null"):
        pytest.skip("no /dev/null")
    monkeypatch.setattr(atomic.os, "replace", lambda *a: pytest.fail("os.replace was called"))
    with pytest.raises(SessionError, match="character device, not a regular file"):
        save_session("/dev/null", {"data": "sample:digits"})


def test_cli_encode_onto_a_full_disk_keeps_the_old_codes(tmp_path):
    """`explorer encode --out` past the file-size limit (set in the child): exit 2, one sentence."""
    out = tmp_path / "codes.npy"
    np.save(out, np.arange(4, dtype=np.float32))
    before = out.read_bytes()

    def limit():
        import signal

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (64_000, resource.RLIM_INFINITY))

    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "explorer",
            "encode",
            "--model",
            "pixels",
            "--data",
            "sample:digits",
            "--out",
            str(out),
            "--no-cache",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=limit,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("explorer: ")]
    assert len(lines) == 1 and "Traceback" not in proc.stderr and "previous file is unchanged" in lines[0], (
        proc.stderr
    )
    assert out.read_bytes() == before
    _no_temps(tmp_path)
