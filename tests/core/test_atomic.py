"""explorer.core.atomic: what is at the target path decides what a save does.

Regular files are replaced keeping their mode; links are written through (the link stays);
devices, FIFOs, sockets and folders are never replaced; np.save lands in exactly the named file.
"""

from __future__ import annotations

import os
import socket
import stat

import numpy as np
import pytest

from explorer.core.atomic import (
    atomic_save_npy,
    atomic_write,
    atomic_write_bytes,
    resolve_target,
)
from explorer.core.errors import ExplorerError

posix = pytest.mark.skipif(os.name != "posix", reason="POSIX file types and modes")


@posix
def test_replacing_keeps_the_mode(tmp_path):
    target = tmp_path / "shared.bin"
    target.write_bytes(b"old")
    os.chmod(target, 0o640)
    atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"new" and stat.S_IMODE(os.stat(target).st_mode) == 0o640
    os.chmod(target, 0o604)
    atomic_save_npy(target, np.arange(3))
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o604


@posix
def test_a_new_file_gets_the_usual_mode(tmp_path):
    umask = os.umask(0o022)
    os.umask(umask)
    atomic_write_bytes(tmp_path / "new.bin", b"x")
    assert stat.S_IMODE(os.stat(tmp_path / "new.bin").st_mode) == 0o666 & ~umask


@posix
def test_owner_is_kept_when_allowed(tmp_path):
    target = tmp_path / "owned.bin"
    target.write_bytes(b"old")
    if os.getuid() == 0:  # root may give the file away: the replaced file keeps its owner
        os.chown(target, 12345, 23456)
        atomic_write_bytes(target, b"new")
        st = os.stat(target)
        assert (st.st_uid, st.st_gid) == (12345, 23456)
    else:
        atomic_write_bytes(target, b"new")
        assert os.stat(target).st_uid == os.getuid()


@posix
def test_a_link_is_written_through_and_kept(tmp_path):
    real = tmp_path / "store" / "model.safetensors"
    real.parent.mkdir()
    real.write_bytes(b"old")
    os.chmod(real, 0o600)
    link = tmp_path / "current.safetensors"
    os.symlink(real, link)
    atomic_write_bytes(link, b"new")
    assert os.path.islink(link) and os.readlink(link) == str(real)
    assert real.read_bytes() == b"new" and stat.S_IMODE(os.stat(real).st_mode) == 0o600
    assert sorted(os.listdir(tmp_path)) == ["current.safetensors", "store"]  # no temp beside the link
    dangling = tmp_path / "later.npy"
    os.symlink(tmp_path / "store" / "made.npy", dangling)
    atomic_save_npy(dangling, np.ones(2))
    assert os.path.islink(dangling) and np.load(tmp_path / "store" / "made.npy").tolist() == [1, 1]


def _never_replace(monkeypatch):
    from explorer.core import atomic

    def refuse(*a):
        raise AssertionError(f"os.replace was called: {a}")

    monkeypatch.setattr(atomic.os, "replace", refuse)


@posix
@pytest.mark.parametrize("kind", ["fifo", "socket", "folder", "device", "link to device"])
def test_non_regular_targets_are_never_replaced(tmp_path, monkeypatch, kind):
    path = tmp_path / "codes.npy"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "socket":
        short = f"/tmp/explorer-atomic-{os.getpid()}.sock"  # AF_UNIX paths are short
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(short)
        path = short
    elif kind == "folder":
        path.mkdir()
    elif kind == "device":
        if not os.path.exists("/dev/null"):
            pytest.skip("no /dev/null")
        path = "/dev/null"
    else:
        os.symlink("/dev/null", path)
    _never_replace(monkeypatch)  # belt and braces: a wrong answer must not replace /dev/null as root
    try:
        with pytest.raises(ExplorerError, match="not a regular file") as err:
            atomic_save_npy(path, np.zeros(3))
        text = str(err.value)
        assert "\n" not in text and (
            "device" in text or "pipe" in text or "socket" in text or "folder" in text
        )
        with pytest.raises(ExplorerError, match="not a regular file"):
            resolve_target(path)
    finally:
        if kind == "socket":
            sock.close()
            os.remove(path)
    if kind in ("fifo", "folder", "link to device"):
        assert [f for f in os.listdir(tmp_path) if ".tmp" in f] == []
    if kind == "link to device":
        assert os.path.islink(tmp_path / "codes.npy")


@pytest.mark.parametrize("name", ["codes", "codes.NPY", "codes.bin", "codes.npy"])
def test_npy_lands_in_exactly_the_named_file(tmp_path, name):
    atomic_save_npy(tmp_path / name, np.arange(6, dtype=np.float32).reshape(2, 3))
    assert os.listdir(tmp_path) == [name]
    assert np.load(tmp_path / name).tolist() == [[0, 1, 2], [3, 4, 5]]


def test_a_bug_in_the_writer_propagates_and_leaves_no_temp(tmp_path):
    target = tmp_path / "x.bin"
    target.write_bytes(b"old")

    def buggy(tmp):
        with open(tmp, "wb") as f:
            f.write(b"half")
        raise TypeError("a bug, not the disk")

    with pytest.raises(TypeError):
        atomic_write(target, buggy)
    assert target.read_bytes() == b"old" and os.listdir(tmp_path) == ["x.bin"]
