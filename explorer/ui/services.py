"""The app's shared helpers, put into ``ctx.services``: settings, thumbnails, data/model loading and codes.

- ``settings``   :class:`Settings`, recent data sets in QSettings (at most 10, missing ones pruned);
- ``thumbnails`` :class:`ThumbnailCache`, an LRU of pixmaps shared by every view;
- ``loader``     :class:`LoadService`, opens data sets and model files in worker threads;
- ``codes``      :class:`CodeService`, keeps the workspace's codes in step with its data and models;
- ``renditions`` :class:`RenditionService`, builds a file-backed set's thumbnails in the background.

The loader lives in :mod:`explorer.ui.load_service`, the codes and renditions in
:mod:`explorer.ui.code_service`; their names are importable from here too.

All of them report their background jobs through ``job_progress(key, message, fraction)`` and
``job_finished(key)`` signals, which the main window shows in its status bar.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from typing import Any

from PySide6.QtCore import QSettings, QStandardPaths
from PySide6.QtGui import QPixmap

from explorer.core.imageset import ImageSet
from explorer.ui.code_service import PIXEL_CODES_BUDGET, CodeService, RenditionService
from explorer.ui.context import AppContext
from explorer.ui.imaging import to_pixmap
from explorer.ui.load_service import LoadService, load_data_job, load_models_job

__all__ = [
    "FIRST_MODEL",
    "PIXEL_CODES_BUDGET",
    "SAMPLE_DATA",
    "CodeService",
    "LoadService",
    "RenditionService",
    "Settings",
    "ThumbnailCache",
    "any_busy",
    "autosave_file",
    "default_model_specs",
    "install_services",
    "load_data_job",
    "load_models_job",
    "shutdown_services",
]

SAMPLE_DATA = "sample:mnist"
MAX_RECENT = 10
STATE_DIR_ENV = "EXPLORER_STATE_DIR"


def autosave_file() -> str:
    """Where the GUI keeps its autosave session: ``$EXPLORER_STATE_DIR/autosave.session``, else
    the per-user application data folder (QStandardPaths.AppDataLocation)."""
    root = (
        os.environ.get(STATE_DIR_ENV)
        or QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
        or os.path.join(os.path.expanduser("~"), ".relate-explorer")
    )
    return os.path.join(root, "autosave.session")


# the bundled model the app opens on (the current model): the one whose codes show the most
FIRST_MODEL = "siamese_mnist.safetensors"


def default_model_specs() -> list[str]:
    """``pixels`` and every bundled model file (``sample_data/models/*.safetensors``),
    FIRST_MODEL first so it becomes the current model."""
    folder = sample_models_dir()
    files = (
        sorted(
            (os.path.join(folder, f) for f in os.listdir(folder) if f.endswith(".safetensors")),
            key=lambda path: (os.path.basename(path) != FIRST_MODEL, path),
        )
        if folder and os.path.isdir(folder)
        else []
    )
    return ["pixels", *files]


def sample_models_dir() -> str | None:
    try:  # the data layer knows where the bundled data lives
        from explorer.data import sample_data_dir

        return os.path.join(os.fspath(sample_data_dir()), "models")
    except ImportError:
        pass
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.join(os.path.dirname(os.path.dirname(here)), "sample_data", "models")


# ---- settings -----------------------------------------------------------------------------
class Settings:
    """Recent data sets, kept in QSettings under ``recent/data``."""

    def __init__(self, qsettings: QSettings | None = None) -> None:
        self._qs = qsettings if qsettings is not None else QSettings()

    def recent_data(self) -> list[str]:
        """Recent data sets, newest first; files and folders that no longer exist are dropped."""
        items = self._qs.value("recent/data", [])
        if isinstance(items, str):  # QSettings gives a bare string for a one-item list
            items = [items]
        items = [str(s) for s in (items or [])]
        kept = [s for s in items if s.startswith("sample:") or os.path.exists(s)][:MAX_RECENT]
        if kept != items:
            self._qs.setValue("recent/data", kept)
        return kept

    def add_recent_data(self, spec: str) -> None:
        if not spec.startswith("sample:"):
            spec = os.path.abspath(spec)
        items = [spec] + [s for s in self.recent_data() if s != spec]
        self._qs.setValue("recent/data", items[:MAX_RECENT])

    def value(self, key: str, default=None):
        return self._qs.value(key, default)

    def set_value(self, key: str, value) -> None:
        self._qs.setValue(key, value)


# ---- thumbnails ---------------------------------------------------------------------------
class ThumbnailCache:
    """Pixmaps of data set items, made on first use and kept in an LRU (GUI thread only)."""

    def __init__(self, max_items: int = 4000) -> None:
        self.max_items = max_items
        self._items: OrderedDict[tuple, QPixmap] = OrderedDict()
        self._blank: dict[int, QPixmap] = {}

    def get(self, dataset: ImageSet, index: int, size: int, wait: bool = True) -> QPixmap:
        """The item's pixmap, at most ``size`` px. For a file-backed set whose thumbnail is not
        decoded yet: decoded now (one file, a few ms) or, with ``wait=False`` (grids painting
        hundreds of tiles), a placeholder (not kept) while the item moves to the front of the build."""
        pix = self.peek(dataset, index, size)
        if pix is not None:
            return pix
        key = (id(dataset), int(index), int(size))
        if dataset.file_backed:
            thumbs, ready = dataset.source.cached_thumbnails([int(index)])
            if not ready[0]:
                if not wait:
                    return self._placeholder(size)
                thumbs = dataset.source.thumbnails([int(index)])
            pix = to_pixmap(thumbs[0], size)
        else:
            pix = to_pixmap(dataset.images[int(index)], size)
        self._items[key] = pix
        if len(self._items) > self.max_items:
            self._items.popitem(last=False)
        return pix

    def peek(self, dataset: ImageSet, index: int, size: int) -> QPixmap | None:
        """The item's pixmap if one is made already, else None (nothing is made or decoded)."""
        key = (id(dataset), int(index), int(size))
        pix = self._items.get(key)
        if pix is not None:
            self._items.move_to_end(key)
        return pix

    def placeholder(self, size: int) -> QPixmap:
        """The grey square shown where a thumbnail is not made yet (one per size, kept)."""
        return self._placeholder(size)

    def _placeholder(self, size: int) -> QPixmap:
        pix = self._blank.get(size)
        if pix is None:
            from PySide6.QtGui import QColor

            pix = QPixmap(size, size)
            pix.fill(QColor("#d8d8d8"))
            self._blank[size] = pix
        return pix

    def clear(self) -> None:
        self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


def install_services(ctx: AppContext, settings: QSettings | None = None) -> AppContext:
    """Create the shared services that ``ctx.services`` lacks (safe to call twice)."""
    if "settings" not in ctx.services:
        ctx.services["settings"] = Settings(settings)
    if "thumbnails" not in ctx.services:
        ctx.services["thumbnails"] = ThumbnailCache()
        ctx.qws.dataset_changed.connect(ctx.services["thumbnails"].clear)
    if "loader" not in ctx.services:
        ctx.services["loader"] = LoadService(ctx, ctx.services["settings"])
    if "codes" not in ctx.services:
        ctx.services["codes"] = CodeService(ctx)
    if "renditions" not in ctx.services:
        ctx.services["renditions"] = RenditionService(ctx)
    return ctx


def shutdown_services(ctx: AppContext) -> None:
    for key in ("codes", "loader", "renditions"):
        svc = ctx.services.get(key)
        if svc is not None:
            svc.shutdown()


def any_busy(ctx: AppContext, views: list[Any] = ()) -> bool:
    """True while a service or a view (``busy()``) still has background work. A hidden view
    whose workspace events wait until it is shown (explorer/ui/view_updates.py) is not busy: its
    work has not started."""
    for svc in ctx.services.values():
        busy = getattr(svc, "busy", None)
        if callable(busy) and busy():
            return True
    return any(callable(getattr(v, "busy", None)) and not _deferred(v) and v.busy() for v in views)


def _deferred(view) -> bool:
    channel = getattr(getattr(view, "ctx", None), "qws", None)
    return bool(getattr(channel, "waiting", None) and channel.waiting() and channel.hidden())
