"""Session save/restore: plain JSON + .npy members, atomic, never unpickled, hostile files refused."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest

from explorer.core.errors import ExplorerError, SessionError
from explorer.core.imageset import ImageSet
from explorer.core.session import (
    autosave,
    load_session,
    model_specs_from_workspace,
    needs_recovery,
    restore_into_workspace,
    save_session,
    state_from_workspace,
)
from explorer.core.workspace import Workspace


def _dataset(n=20):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(n, 1, 8, 8), dtype=np.uint8)
    labels = np.arange(n) % 3
    return ImageSet(images, labels, ["a", "b", "c"], [f"x#{i}" for i in range(n)], "toy", "npz")


def _workspace():
    ws = Workspace()
    ws.set_dataset(_dataset())
    ws.add_model("pixels", object())
    ws.add_model("ae (toy)", object())
    rng = np.random.default_rng(1)
    ws.set_codes("pixels", rng.normal(size=(20, 64)))
    ws.set_codes("ae (toy)", rng.normal(size=(20, 4)))
    ws.set_layout("ae (toy)", "tsne", rng.normal(size=(20, 2)))
    ws.set_layout("pixels", "pca", rng.normal(size=(20, 2)))
    ws.set_selection([3, 1, 4, 15])
    ws.set_query(index=7)
    ws.current_model = "ae (toy)"
    return ws


def test_round_trip_through_workspace(tmp_path):
    ws = _workspace()
    path = tmp_path / "s.session"
    specs = {"pixels": "pixels", "ae (toy)": str(tmp_path / "ae.safetensors")}
    save_session(
        path, state_from_workspace(ws, "sample:digits", specs, {"k": 5, "threshold": np.float32(0.5)})
    )
    state = load_session(path)
    assert state["data"] == "sample:digits"
    assert state["models"] == specs
    assert state["current_model"] == "ae (toy)"
    assert state["settings"] == {"k": 5, "threshold": 0.5}
    assert state["query_index"] == 7 and state["query_image"] is None
    np.testing.assert_array_equal(state["selection"], [1, 3, 4, 15])
    assert set(state["layouts"]) == {("ae (toy)", "tsne"), ("pixels", "pca")}
    np.testing.assert_array_equal(state["codes"]["ae (toy)"], ws.codes["ae (toy)"])

    fresh = Workspace()
    fresh.set_dataset(_dataset())
    fresh.add_model("pixels", object())
    fresh.add_model("ae (toy)", object())
    seen = []
    for event in ("codes", "layout", "selection", "query"):
        fresh.events.connect(event, lambda _e=event, **kw: seen.append(_e))
    notes = restore_into_workspace(fresh, state)
    assert notes == []
    assert seen.count("codes") == 2 and seen.count("layout") == 2 and "selection" in seen and "query" in seen
    np.testing.assert_array_equal(fresh.codes["pixels"], ws.codes["pixels"])
    np.testing.assert_array_equal(fresh.layouts[("ae (toy)", "tsne")], ws.layouts[("ae (toy)", "tsne")])
    np.testing.assert_array_equal(fresh.selection, ws.selection)
    assert fresh.query_index == 7 and fresh.current_model == "ae (toy)"


def test_external_query_image_and_plain_json(tmp_path):
    img = np.linspace(0, 1, 3 * 4 * 5, dtype=np.float32).reshape(3, 4, 5)
    path = tmp_path / "q.session"
    save_session(path, {"query_image": img, "data": None})
    with zipfile.ZipFile(path) as zf:  # a person can read it: plain JSON, no pickles anywhere
        doc = json.loads(zf.read("session.json"))
        assert doc["format"] == "relate-explorer-session"
        assert all(n == "session.json" or n.endswith(".npy") for n in zf.namelist())
    assert np.load(path, allow_pickle=False)  # numpy opens it as an npz too
    state = load_session(path)
    np.testing.assert_array_equal(state["query_image"], img)
    assert state["selection"].shape == (0,)


def test_restore_leaves_out_what_no_longer_fits(tmp_path):
    ws = _workspace()
    path = tmp_path / "s.session"
    save_session(path, state_from_workspace(ws, "x", {}))
    small = Workspace()
    small.set_dataset(_dataset(10))
    small.add_model("pixels", object())
    small.add_model("ae (toy)", object())
    notes = restore_into_workspace(small, load_session(path))
    assert small.codes == {} and small.layouts == {}
    assert small.query_index == 7  # item 7 still exists
    assert small.selection.shape == (0,)  # item 15 does not
    assert len(notes) == 5, notes  # 2 codes, 2 layouts, the selection


def test_autosave_recovery_flag(tmp_path, monkeypatch):
    monkeypatch.setenv("RELATE_EXPLORER_STATE", str(tmp_path / "state"))
    assert not needs_recovery()
    ws = _workspace()
    path = autosave(ws, "sample:digits", {"pixels": "pixels"})  # while running
    assert path.startswith(str(tmp_path)) and needs_recovery()
    autosave(ws, "sample:digits", {"pixels": "pixels"}, clean_exit=True)  # normal close
    assert not needs_recovery()
    (tmp_path / "state" / "autosave.session").write_bytes(b"garbage")
    assert not needs_recovery()  # a damaged autosave is not offered


def _zip(path, members: dict[str, bytes]):
    with zipfile.ZipFile(path, "w") as zf:
        for k, v in members.items():
            zf.writestr(k, v)


def _npy(array, **kw) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, array, **kw)
    return buf.getvalue()


GOOD_DOC = {"format": "relate-explorer-session", "version": 1, "selection": "arrays/a0.npy"}


@pytest.mark.parametrize(
    "members, words",
    [
        ({}, "no session.json"),
        ({"session.json": b"{not json"}, "not valid JSON"),
        ({"session.json": b"[" * 100_000 + b"]" * 100_000}, "not valid JSON"),
        ({"session.json": json.dumps({"format": "other"}).encode()}, "not a Relate Explorer session"),
        ({"session.json": json.dumps(dict(GOOD_DOC, version=99)).encode()}, "newer"),
        ({"session.json": json.dumps(GOOD_DOC).encode()}, "does not hold"),
        (
            {
                "session.json": json.dumps(GOOD_DOC).encode(),
                "arrays/a0.npy": _npy(np.array([object()], dtype=object), allow_pickle=True),
            },
            "Python objects",
        ),
        (
            {
                "session.json": json.dumps(GOOD_DOC).encode(),
                "arrays/a0.npy": _npy(np.zeros(3, np.int64))[:-8],
            },
            "damaged",
        ),
        (
            {
                "session.json": json.dumps(GOOD_DOC).encode(),
                "arrays/a0.npy": _npy(np.zeros((2, 2), np.float32)),
            },
            "shape",
        ),
        (
            {
                "session.json": json.dumps(dict(GOOD_DOC, models=[1, 2])).encode(),
                "arrays/a0.npy": _npy(np.zeros(0, np.int64)),
            },
            "models",
        ),
        ({"session.json": json.dumps(dict(GOOD_DOC, selection="../../etc/passwd")).encode()}, "not valid"),
    ],
)
def test_damaged_or_hostile_sessions_are_refused(tmp_path, members, words):
    path = tmp_path / "bad.session"
    _zip(path, members)
    with pytest.raises(SessionError, match=words):
        load_session(path)


def test_huge_claimed_array_is_not_allocated(tmp_path):
    import tracemalloc

    buf = io.BytesIO()  # a header that claims 16 GB of floats, followed by 64 bytes
    np.lib.format.write_array_header_1_0(
        buf, {"descr": "<f4", "fortran_order": False, "shape": (4_000_000_000, 1)}
    )
    huge = buf.getvalue() + bytes(64)
    doc = dict(GOOD_DOC, codes={"m": "arrays/a1.npy"})
    path = tmp_path / "huge.session"
    _zip(
        path,
        {
            "session.json": json.dumps(doc).encode(),
            "arrays/a0.npy": _npy(np.zeros(0, np.int64)),
            "arrays/a1.npy": huge,
        },
    )
    tracemalloc.start()
    try:
        with pytest.raises(SessionError, match="claims shape"):
            load_session(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20_000_000


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04 truncated", bytes(range(256)) * 4])
def test_garbage_files(tmp_path, content):
    path = tmp_path / "g.session"
    path.write_bytes(content)
    with pytest.raises(ExplorerError):
        load_session(path)
    with pytest.raises(SessionError, match="no session file"):
        load_session(tmp_path / "missing.session")


def test_codes_of_models_not_reopened_are_left_out(tmp_path):
    ws = _workspace()
    save_session(tmp_path / "s.session", state_from_workspace(ws, "x", {}))
    fresh = Workspace()
    fresh.set_dataset(_dataset())
    fresh.add_model("pixels", object())  # the ae file has gone missing
    notes = restore_into_workspace(fresh, load_session(tmp_path / "s.session"))
    assert set(fresh.codes) == {"pixels"} and set(fresh.layouts) == {("pixels", "pca")}
    assert len(notes) == 2 and all("ae (toy)" in n for n in notes)


def test_model_specs_from_workspace():
    class Enc:
        def __init__(self, name, source=""):
            self.name, self.source = name, source

    ws = Workspace()
    ws.add_model("pixels", Enc("pixels"))
    ws.add_model("pca:16", Enc("pca:16"))
    ws.add_model("dae (mnist)", Enc("dae (mnist)", "/models/dae.safetensors"))
    ws.add_model("new ae", Enc("ae"))  # trained just now, never saved
    specs, notes = model_specs_from_workspace(ws)
    assert specs == {"pixels": "pixels", "pca:16": "pca:16", "dae (mnist)": "/models/dae.safetensors"}
    assert len(notes) == 1 and "new ae" in notes[0]
