"""Nothing lost: a process killed (SIGKILL) in the middle of a save leaves the previous file whole.

Covers explorer.core.atomic.atomic_write itself (a writer that stops half-way), a session save and
a checkpoint save (explorer.models.checkpoint.save) killed at an arbitrary moment.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from explorer.core.errors import ExplorerError

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def _spawn(code: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _wait_for(path: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    end = time.monotonic() + timeout
    while not os.path.exists(path):
        if proc.poll() is not None:
            raise AssertionError(f"the child ended early: {proc.stderr.read()}")
        if time.monotonic() > end:
            proc.kill()
            raise AssertionError("the child never reached the point to kill it at")
        time.sleep(0.01)


def _kill(proc: subprocess.Popen) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stdout.close()
    proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL


def _leftovers(folder, name: str) -> list[str]:
    stem = os.path.splitext(name)[0]
    return sorted(f for f in os.listdir(folder) if f.startswith(f".{stem}.") and ".tmp" in f)


def test_kill_during_atomic_write_keeps_the_previous_file(tmp_path):
    target = tmp_path / "model.safetensors"
    target.write_bytes(b"previous version " * 1000)
    ready = tmp_path / "half-written"
    code = f"""
import os, time
from explorer.core.atomic import atomic_write
def write(tmp):
    with open(tmp, "wb") as f:
        f.write(b"new" * 100_000)          # half of the new file ...
        f.flush()
        open({str(ready)!r}, "w").close()   # ... tell the parent ...
        time.sleep(60)                      # ... and wait to be killed
        f.write(b"rest")
atomic_write({str(target)!r}, write)
"""
    proc = _spawn(code)
    _wait_for(str(ready), proc)
    _kill(proc)
    assert target.read_bytes() == b"previous version " * 1000  # intact, not the partial one
    expected = ["model.safetensors", "half-written"] + _leftovers(tmp_path, target.name)
    assert sorted(os.listdir(tmp_path)) == sorted(expected)
    # the only trace is the hidden temp file beside it, which is never opened as the target
    assert all(f.startswith(".model.") for f in _leftovers(tmp_path, target.name))


def test_kill_during_session_save_keeps_the_previous_session(tmp_path):
    from explorer.core.session import load_session, save_session

    target = tmp_path / "work.session"
    save_session(target, {"data": "sample:digits", "codes": {"pixels": np.ones((5, 3))}})
    before = target.read_bytes()
    ready = tmp_path / "ready"
    code = f"""
import time, numpy as np
import explorer.core.session as s
real = s.np.lib.format.write_array
def slow(f, a, **kw):                       # write one array, then hang before the next
    real(f, a, **kw)
    open({str(ready)!r}, "w").close()
    time.sleep(60)
s.np.lib.format.write_array = slow
s.save_session({str(target)!r}, {{"data": "other", "codes": {{"m": np.zeros((1000, 64))}}}})
"""
    proc = _spawn(code)
    _wait_for(str(ready), proc)
    _kill(proc)
    assert target.read_bytes() == before
    assert load_session(target)["data"] == "sample:digits"


def test_kill_during_big_safetensors_saves_leaves_a_whole_file(tmp_path):
    """A child writes two different 8 MB .safetensors files over one path in a loop, the way
    checkpoint.save does (safetensors through atomic_write), and is killed in the middle."""
    target = tmp_path / "m.safetensors"
    ready = tmp_path / "ready"
    code = f"""
import numpy as np
from safetensors.numpy import save_file
from explorer.core.atomic import atomic_write
arrays = [{{"w": np.full((2_000_000,), v, np.float32)}} for v in (1.0, 2.0)]
atomic_write({str(target)!r}, lambda tmp: save_file(arrays[0], tmp))
open({str(ready)!r}, "w").close()
i = 0
while True:
    atomic_write({str(target)!r}, lambda tmp: save_file(arrays[i % 2], tmp))
    i += 1
"""
    from safetensors.numpy import load_file

    for delay in (0.05, 0.3):
        proc = _spawn(code)
        _wait_for(str(ready), proc)
        time.sleep(delay)
        _kill(proc)
        w = load_file(str(target))["w"]
        assert w.shape == (2_000_000,) and w[0] in (1.0, 2.0) and (w == w[0]).all()
        ready.unlink()
    assert len(_leftovers(tmp_path, target.name)) <= 2  # at most the saves that were cut short


@pytest.mark.slow
@pytest.mark.skipif(
    not os.environ.get("RELIABILITY_SLOW"), reason="~10 s (torch in a child); RELIABILITY_SLOW=1"
)
def test_kill_during_checkpoint_saves_leaves_a_loadable_checkpoint(tmp_path):
    """A child saves two different models over the same file in a loop; it is killed at a moment
    that falls inside some save. The file must load, as exactly one of the two models."""
    pytest.importorskip("torch")
    target = tmp_path / "m.safetensors"
    ready = tmp_path / "ready"
    code = f"""
import os, torch
from explorer.models.base import build_model
from explorer.models.checkpoint import save
models = []
for seed in (1, 2):
    torch.manual_seed(seed)
    models.append(build_model("ae", (1, 28, 28), 16, {{}}))   # ~2.5 MB each
save({str(target)!r}, models[0])
open({str(ready)!r}, "w").close()
i = 0
while True:
    save({str(target)!r}, models[i % 2], summary={{"i": i}})
    i += 1
"""
    proc = _spawn(code)
    _wait_for(str(ready), proc, timeout=120)
    time.sleep(0.7)
    _kill(proc)
    import torch

    from explorer.models.checkpoint import load

    ck = load(target)  # would raise ModelFileError for a partial file
    weight = ck.model.state_dict()["encoder.0.weight"]
    matches = []
    for seed in (1, 2):
        from explorer.models.base import build_model

        torch.manual_seed(seed)
        ref = build_model("ae", (1, 28, 28), 16, {}).state_dict()["encoder.0.weight"]
        matches.append(bool(torch.equal(ref, weight)))
    assert sum(matches) == 1
    assert len(_leftovers(tmp_path, target.name)) <= 1  # at most the one save that was cut short


def test_unwritable_target_is_a_sentence_and_keeps_nothing(tmp_path):
    from explorer.core.atomic import atomic_write_bytes

    with pytest.raises(ExplorerError, match="Cannot write .*folder that exists"):
        atomic_write_bytes(tmp_path / "missing" / "x.npy", b"data")
    target = tmp_path / "x.bin"
    target.write_bytes(b"old")

    def failing(tmp):
        with open(tmp, "wb") as f:
            f.write(b"partial")
        raise OSError(28, "No space left on device")

    from explorer.core.atomic import atomic_write

    with pytest.raises(ExplorerError, match="No space left.*previous file is unchanged"):
        atomic_write(target, failing)
    assert target.read_bytes() == b"old" and os.listdir(tmp_path) == ["x.bin"]


def test_temp_files_left_by_killed_saves_are_cleaned_up_later(tmp_path):
    from explorer.core.atomic import STALE_SECONDS, atomic_write_bytes

    old = tmp_path / ".m.abcd1234.tmp.safetensors"  # what a save killed long ago left behind
    fresh = tmp_path / ".m.efgh5678.tmp.safetensors"  # a save running right now in another process
    other = tmp_path / ".n.abcd1234.tmp.safetensors"  # another target's
    for p in (old, fresh, other):
        p.write_bytes(b"partial")
    past = time.time() - STALE_SECONDS - 60
    os.utime(old, (past, past))
    os.utime(other, (past, past))
    atomic_write_bytes(tmp_path / "m.safetensors", b"whole")
    assert sorted(os.listdir(tmp_path)) == sorted(["m.safetensors", fresh.name, other.name])


def test_kill_during_a_save_through_a_link_keeps_the_link_and_the_file(tmp_path):
    """The link is written through: a kill mid-save leaves the link pointing at the whole old file."""
    store = tmp_path / "store"
    store.mkdir()
    real = store / "model.safetensors"
    real.write_bytes(b"previous version " * 1000)
    os.chmod(real, 0o640)
    link = tmp_path / "current.safetensors"
    os.symlink(real, link)
    ready = tmp_path / "ready"
    code = f"""
import time
from explorer.core.atomic import atomic_write
def write(tmp):
    with open(tmp, "wb") as f:
        f.write(b"new" * 100_000)
        f.flush()
        open({str(ready)!r}, "w").close()
        time.sleep(60)
atomic_write({str(link)!r}, write)
"""
    proc = _spawn(code)
    _wait_for(str(ready), proc)
    _kill(proc)
    assert os.path.islink(link) and os.readlink(link) == str(real)
    assert link.read_bytes() == b"previous version " * 1000
    assert (os.stat(real).st_mode & 0o777) == 0o640
    assert sorted(os.listdir(tmp_path)) == [
        "current.safetensors",
        "ready",
        "store",
    ]  # temps go beside the target
    from explorer.core.atomic import atomic_write_bytes

    atomic_write_bytes(link, b"after")  # a later save goes through and keeps the mode
    assert real.read_bytes() == b"after" and (os.stat(real).st_mode & 0o777) == 0o640


@pytest.mark.parametrize("name", ["codes", "codes.NPY"])
def test_kill_during_codes_saves_without_the_npy_suffix(tmp_path, name):
    """np.save given a name appends .npy; atomic_save_npy writes the file object, so the target
    is always one whole array (never an empty file beside a stray codes.tmp.npy)."""
    target = tmp_path / name
    ready = tmp_path / "ready"
    code = f"""
import numpy as np
from explorer.core.atomic import atomic_save_npy
arrays = [np.full((1_000_000,), v, np.float32) for v in (1.0, 2.0)]
atomic_save_npy({str(target)!r}, arrays[0])
open({str(ready)!r}, "w").close()
i = 0
while True:
    atomic_save_npy({str(target)!r}, arrays[i % 2])
    i += 1
"""
    proc = _spawn(code)
    _wait_for(str(ready), proc)
    time.sleep(0.2)
    _kill(proc)
    w = np.load(target)
    assert w.shape == (1_000_000,) and w[0] in (1.0, 2.0) and (w == w[0]).all()
    assert not [f for f in os.listdir(tmp_path) if f.endswith(".npy") and f != name]
    assert len(_leftovers(tmp_path, name)) <= 1
