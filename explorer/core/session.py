"""Sessions: what the user had open, saved to one file and read back without unpickling anything.

A session file (``*.session``) is a zip archive, i.e. a ``.npz`` numpy can open, holding

  session.json     plain JSON: format, version, data spec, model specs, selection/query facts,
                   free-form view settings, and for every array the member that holds it
  arrays/aN.npy    the arrays (cached codes, layouts, selection, an external query image)

It is written with :func:`explorer.core.atomic.atomic_write`, so a crash or a kill during a save
leaves the previous file whole, and read with ``allow_pickle=False`` after checking every member's
header against its stored size, so a damaged or hostile file costs no more memory than it holds.

The state is a plain dict (see :func:`save_session`); :func:`state_from_workspace` and
:func:`restore_into_workspace` move it in and out of a :class:`~explorer.core.workspace.Workspace`.
Loading the data set and the models again is the caller's job (the GUI does it with its own
services): the session only remembers their specs. A session names files but never makes anything
open them by itself: :func:`load_session` resolves relative paths against the session file's
folder (never the working directory), and :func:`named_files` lists the files a restore would
open, so the GUI can show them first; model files that are programs still go through the trust
gate (explorer/models/trust.py) one by one.

Autosave: :func:`autosave_path` is where the GUI keeps its autosave; it saves with
``clean_exit=False`` while running and once more with ``clean_exit=True`` on a normal close, so
:func:`needs_recovery` on the next start says whether the app crashed and should offer a restore.
"""

from __future__ import annotations

import io
import json
import math
import os
import zipfile
from typing import Any

import numpy as np

from explorer.core.atomic import atomic_write
from explorer.core.errors import ExplorerError, SessionError

FORMAT = "relate-explorer-session"
VERSION = 1
MAX_JSON_BYTES = 16_000_000
MAX_DEFLATE_RATIO = 1100  # deflate cannot expand more than ~1032:1
SESSION_EXT = ".session"


# ---- writing ---------------------------------------------------------------------------------
def save_session(path: str | os.PathLike, state: dict[str, Any]) -> None:
    """Write ``state`` to ``path`` atomically.

    state keys (all optional):
      data          str: the DATA spec that was open ("sample:digits", a folder, a file) or None
      models        dict name -> spec (file path, "pixels", "pca:16") of the loaded encoders
      current_model str or None
      codes         dict model name -> float32 (N, D) cached codes of the open data set
      layouts       dict (model, method) -> float32 (N, 2) layouts
      layout_settings dict (model, method) -> JSON-able dict: what else made each layout (seed, ...)
      views         dict view name -> JSON-able dict: each view's settings (explorer.core.view_state)
      selection     int64 (K,) selected item indices
      query_index   int or None: the query item ...
      query_image   float32 (C, H, W) or None: ... or an external query image
      settings      JSON-able dict (view settings: thresholds, k, projection method, ...)
      clean_exit    bool (autosave bookkeeping; see the module docstring)
    """
    doc, arrays = _to_document(state)
    payload = json.dumps(doc, indent=1, sort_keys=True, allow_nan=False).encode("utf-8")

    def write(tmp: str) -> None:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as zf:
            zf.writestr("session.json", payload)
            for member, array in arrays.items():
                buf = io.BytesIO()
                np.lib.format.write_array(buf, array, allow_pickle=False)
                zf.writestr(member, buf.getvalue())

    try:
        atomic_write(os.fspath(path), write)
    except SessionError:
        raise
    except ExplorerError as err:  # disk full, a device as target, ...: the GUI catches SessionError
        raise SessionError(f"Could not save the session: {err}") from None
    except OSError as err:
        raise SessionError(f"Could not save the session to {path}: {err.strerror or err}.") from None


def _to_document(state: dict[str, Any]) -> tuple[dict, dict[str, np.ndarray]]:
    arrays: dict[str, np.ndarray] = {}

    def put(array, dtype) -> str:
        a = np.ascontiguousarray(np.asarray(array, dtype=dtype))
        member = f"arrays/a{len(arrays)}.npy"
        arrays[member] = a
        return member

    models = state.get("models") or {}
    if not isinstance(models, dict):
        models = {str(m): str(m) for m in models}
    doc: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "data": None if state.get("data") is None else str(state["data"]),
        "models": {str(k): str(v) for k, v in models.items()},
        "current_model": None if state.get("current_model") is None else str(state["current_model"]),
        "codes": {str(k): put(v, np.float32) for k, v in (state.get("codes") or {}).items()},
        "layouts": [
            {
                "model": str(k[0]),
                "method": str(k[1]),
                "array": put(v, np.float32),
                "settings": _jsonable((state.get("layout_settings") or {}).get(k) or {}),
            }
            for k, v in (state.get("layouts") or {}).items()
        ],
        "views": _jsonable(state.get("views") or {}),
        "selection": put(state.get("selection", np.zeros(0)), np.int64),
        "query_index": None if state.get("query_index") is None else int(state["query_index"]),
        "query_image": None if state.get("query_image") is None else put(state["query_image"], np.float32),
        "settings": _jsonable(state.get("settings") or {}),
        "clean_exit": bool(state.get("clean_exit", True)),
    }
    return doc, arrays


def _jsonable(value):
    """Settings as plain JSON (numpy scalars and arrays become numbers and lists; NaN -> None)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise SessionError(f"The session setting {value!r} cannot be saved (not a number, text or list).")


# ---- reading ---------------------------------------------------------------------------------
def load_session(path: str | os.PathLike) -> dict[str, Any]:
    """Read a session file written by :func:`save_session`; the same keys come back.

    ``layouts`` has (model, method) tuple keys again. Raises SessionError with a sentence saying
    what is wrong when the file is missing, damaged, from a newer version or not a session.
    """
    path = os.fspath(path)
    name = os.path.basename(path) or path
    if not os.path.isfile(path):
        raise SessionError(f"There is no session file at {path}.")
    try:
        with zipfile.ZipFile(path) as zf:
            doc = _read_document(zf, name)
            read = _ArrayReader(zf, name)
            state = {
                "data": _opt_str(doc.get("data"), name, "data"),
                "models": _str_dict(doc.get("models", {}), name, "models"),
                "current_model": _opt_str(doc.get("current_model"), name, "current_model"),
                "codes": {
                    k: read(m, ndim=2, kind="f")
                    for k, m in _str_dict(doc.get("codes", {}), name, "codes").items()
                },
                "layouts": {},
                "layout_settings": {},
                "views": doc.get("views") if isinstance(doc.get("views"), dict) else {},
                "selection": read(doc.get("selection"), ndim=1, kind="i"),
                "query_index": None,
                "query_image": None,
                "settings": doc.get("settings", {}),
                "clean_exit": bool(doc.get("clean_exit", True)),
            }
            layouts = doc.get("layouts", [])
            if not isinstance(layouts, list):
                raise SessionError(f"{name} is damaged: its layouts are not a list.")
            for entry in layouts:
                if not isinstance(entry, dict) or not {"model", "method", "array"} <= entry.keys():
                    raise SessionError(f"{name} is damaged: a layout entry is incomplete.")
                layout = read(entry["array"], ndim=2, kind="f")
                if layout.shape[1] != 2:
                    raise SessionError(f"{name} is damaged: a layout is not (N, 2).")
                state["layouts"][(str(entry["model"]), str(entry["method"]))] = layout
                if isinstance(entry.get("settings"), dict):  # sessions before these have none
                    state["layout_settings"][(str(entry["model"]), str(entry["method"]))] = entry["settings"]
            qi = doc.get("query_index")
            if qi is not None:
                if not isinstance(qi, int) or isinstance(qi, bool) or qi < 0:
                    raise SessionError(f"{name} is damaged: its query index is not a whole number.")
                state["query_index"] = qi
            if doc.get("query_image") is not None:
                state["query_image"] = read(doc["query_image"], ndim=3, kind="f")
            if not isinstance(state["settings"], dict):
                raise SessionError(f"{name} is damaged: its settings are not a mapping.")
    except zipfile.BadZipFile:
        raise SessionError(f"{name} is not a session file (not a zip archive, or truncated).") from None
    except (OSError, EOFError, zipfile.LargeZipFile, RuntimeError) as err:
        raise SessionError(f"{name} could not be read ({err}).") from None
    folder = os.path.dirname(os.path.abspath(path))
    if state["data"] is not None:
        state["data"] = resolve_spec(state["data"], folder)
    state["models"] = {k: resolve_spec(v, folder) for k, v in state["models"].items()}
    return state


NOT_FILES = ("pixels", "pca")


def is_file_spec(spec: str) -> bool:
    """False for specs that name no file: ``sample:NAME``, ``pixels``, ``pca``, ``pca:N``."""
    low = spec.strip().lower()
    return not (low.startswith("sample:") or low in NOT_FILES or low.startswith("pca:"))


def resolve_spec(spec: str, folder: str) -> str:
    """A file spec made absolute against ``folder`` (the session file's folder); others as they are."""
    if not is_file_spec(spec) or os.path.isabs(spec):
        return spec
    return os.path.normpath(os.path.join(folder, os.path.expanduser(spec) if spec.startswith("~") else spec))


def named_files(state: dict[str, Any]) -> list[str]:
    """The files restoring ``state`` would open: its data spec (if a file) and its model files."""
    specs = ([state["data"]] if state.get("data") else []) + list((state.get("models") or {}).values())
    return [s for s in specs if is_file_spec(s)]


def _read_document(zf: zipfile.ZipFile, name: str) -> dict:
    try:
        info = zf.getinfo("session.json")
    except KeyError:
        raise SessionError(f"{name} is not a Relate Explorer session (it has no session.json).") from None
    if info.file_size > MAX_JSON_BYTES:
        raise SessionError(f"{name} is damaged: its session.json is implausibly large.")
    try:
        doc = json.loads(zf.read(info).decode("utf-8"))
    except (ValueError, UnicodeDecodeError, zipfile.BadZipFile, RecursionError) as err:
        raise SessionError(f"{name} is damaged: its session.json is not valid JSON ({err}).") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise SessionError(f"{name} is not a Relate Explorer session file.")
    version = doc.get("version")
    if not isinstance(version, int) or version > VERSION:
        raise SessionError(
            f"{name} was saved by a newer Relate Explorer (session version {version}); update explorer."
        )
    return doc


class _ArrayReader:
    """Reads ``arrays/*.npy`` members, checking each header against the member's real size first."""

    def __init__(self, zf: zipfile.ZipFile, name: str) -> None:
        self.zf, self.name = zf, name

    def __call__(self, member, ndim: int, kind: str) -> np.ndarray:
        name = self.name
        if not isinstance(member, str) or not member.startswith("arrays/"):
            raise SessionError(f"{name} is damaged: an array reference is not valid.")
        try:
            info = self.zf.getinfo(member)
        except KeyError:
            raise SessionError(f"{name} is damaged: it names {member}, which it does not hold.") from None
        if info.file_size > info.compress_size * MAX_DEFLATE_RATIO + 4096:
            raise SessionError(f"{name} is damaged: {member} claims an impossible size.")
        try:
            with self.zf.open(info) as f:
                version = np.lib.format.read_magic(f)
                if version == (1, 0):
                    shape, _, dtype = np.lib.format.read_array_header_1_0(f)
                else:
                    shape, _, dtype = np.lib.format.read_array_header_2_0(f)
                if dtype.hasobject:
                    raise SessionError(
                        f"{name} stores {member} as Python objects, which explorer never unpickles."
                    )
                if math.prod(shape) * dtype.itemsize > info.file_size:
                    raise SessionError(f"{name} is damaged: {member} claims shape {shape} but is shorter.")
            with self.zf.open(info) as f:
                array = np.lib.format.read_array(f, allow_pickle=False)
        except SessionError:
            raise
        except (ValueError, OSError, EOFError, zipfile.BadZipFile) as err:
            raise SessionError(f"{name} is damaged: {member} cannot be read ({err}).") from None
        if array.ndim != ndim or array.dtype.kind not in ("iu" if kind == "i" else "f"):
            raise SessionError(f"{name} is damaged: {member} has shape {array.shape} and type {array.dtype}.")
        return array.astype(np.int64 if kind == "i" else np.float32, copy=False)


def _opt_str(value, name: str, key: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise SessionError(f"{name} is damaged: '{key}' is not text.")


def _str_dict(value, name: str, key: str) -> dict[str, str]:
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise SessionError(f"{name} is damaged: '{key}' is not a mapping of names to text.")
    return dict(value)


# ---- workspace glue --------------------------------------------------------------------------
def state_from_workspace(
    ws, data_spec: str | None, model_specs: dict[str, str], settings: dict | None = None
) -> dict[str, Any]:
    """A session state of ``ws`` (a Workspace). The workspace does not know where its data set and
    models came from, so the caller passes ``data_spec`` and ``model_specs`` (name -> spec).
    The views' settings ("views") and what made each layout ("layout_settings") go with it, so a
    restored view shows its layout without computing it again."""
    return {
        "data": data_spec,
        "models": dict(model_specs),
        "current_model": ws.current_model,
        "codes": {k: v for k, v in ws.codes.items()},
        "layouts": dict(ws.layouts),
        "selection": ws.selection,
        "query_index": ws.query_index,
        "query_image": ws.query_image,
        "layout_settings": dict(ws.layout_settings),
        "views": ws.view_settings(),
        "settings": settings or {},
    }


def model_specs_from_workspace(ws) -> tuple[dict[str, str], list[str]]:
    """What to reopen each loaded encoder from: name -> spec (its file, "pixels", "pca:N").

    Encoders with no file behind them (a model trained in this session and not saved) cannot be
    reopened; they are left out and named in the notes (the second value)."""
    specs: dict[str, str] = {}
    notes: list[str] = []
    for name, enc in ws.models.items():
        source = getattr(enc, "source", "") or ""
        label = str(getattr(enc, "name", name))
        if source:
            specs[name] = str(source)
        elif label == "pixels" or label == "pca" or label.startswith("pca:"):
            specs[name] = label
        else:
            notes.append(f"{name} has no file to reopen it from; save it to keep it in the session.")
    return specs, notes


def restore_into_workspace(ws, state: dict[str, Any]) -> list[str]:
    """Put cached codes, layouts, selection and query of ``state`` back into ``ws``.

    Call it after the data set and the models have been opened again. Arrays that no longer fit
    the open data set (another item count) are left out; returns notes saying what was left out.
    """
    notes: list[str] = []
    n = ws.dataset.count if ws.dataset is not None else None
    known = set(ws.models) | {"codes"}  # "codes": the precomputed codes of a TSV data set
    for name, codes in state.get("codes", {}).items():
        if name not in known:
            notes.append(f"cached codes of {name} left out: that model is not loaded.")
            continue
        if n is not None and len(codes) != n:
            notes.append(f"cached codes of {name} left out: {len(codes)} rows for {n} items.")
            continue
        if codes.shape[1] == 0 or not np.isfinite(codes).all():  # (N, 0) codes break every layout
            notes.append(
                f"cached codes of {name} left out: "
                f"{'they have no dimensions' if codes.shape[1] == 0 else 'they hold NaN or infinite values'}."
            )
            continue
        ws.set_codes(name, codes)
    made_with = state.get("layout_settings") or {}
    for (model, method), layout in state.get("layouts", {}).items():
        if model not in known:
            notes.append(f"{method} layout of {model} left out: that model is not loaded.")
            continue
        if n is not None and len(layout) != n:
            notes.append(f"{method} layout of {model} left out: {len(layout)} points for {n} items.")
            continue
        ws.set_layout(model, method, layout, made_with.get((model, method)))
    sel = np.asarray(state.get("selection", np.zeros(0, np.int64)), dtype=np.int64)
    if n is not None and sel.size and (sel.min() < 0 or sel.max() >= n):
        notes.append("selection left out: it names items the data set does not have.")
    else:
        ws.set_selection(sel)
    qi, qimg = state.get("query_index"), state.get("query_image")
    if qi is not None and n is not None and qi >= n:
        notes.append("query left out: its item is not in the data set.")
    elif qi is not None or qimg is not None:
        ws.set_query(index=qi, image=qimg)
    current = state.get("current_model")
    if current in ws.models:
        ws.set_current_model(current)
    ws.apply_view_settings(state.get("views") or {})
    return notes


# ---- autosave --------------------------------------------------------------------------------
def autosave_path() -> str:
    """Where the GUI keeps its autosave ($RELATE_EXPLORER_STATE or the XDG state folder)."""
    root = os.environ.get("RELATE_EXPLORER_STATE") or os.path.join(
        os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state"),
        "relate-explorer",
    )
    return os.path.join(root, "autosave" + SESSION_EXT)


def needs_recovery(path: str | os.PathLike | None = None) -> bool:
    """True when an autosave exists that was not closed cleanly (the app crashed or was killed)."""
    path = os.fspath(path) if path is not None else autosave_path()
    if not os.path.isfile(path):
        return False
    try:
        with zipfile.ZipFile(path) as zf:
            doc = _read_document(zf, os.path.basename(path))
    except (SessionError, zipfile.BadZipFile, OSError, EOFError):
        return False
    return not bool(doc.get("clean_exit", True))


def autosave(
    ws,
    data_spec: str | None,
    model_specs: dict[str, str],
    settings: dict | None = None,
    clean_exit: bool = False,
    path: str | None = None,
) -> str:
    """Save ``ws`` to the autosave file (creating its folder); returns the path written."""
    path = path or autosave_path()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    state = state_from_workspace(ws, data_spec, model_specs, settings)
    state["clean_exit"] = clean_exit
    save_session(path, state)
    return path
