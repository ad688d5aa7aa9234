"""The app's shared helpers, put into ``ctx.services``: settings, thumbnails, data/model loading and codes.

- ``settings``   :class:`Settings`, recent data sets in QSettings (at most 10, missing ones pruned);
- ``thumbnails`` :class:`ThumbnailCache`, an LRU of pixmaps shared by every view;
- ``loader``     :class:`LoadService`, opens data sets and model files in worker threads;
- ``codes``      :class:`CodeService`, keeps the workspace's codes in step with its data and models.

All of them report their background jobs through ``job_progress(key, message, fraction)`` and
``job_finished(key)`` signals, which the main window shows in its status bar.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from typing import Any, Iterator

import numpy as np
from PySide6.QtCore import QObject, QSettings, QStandardPaths, QTimer, Signal
from PySide6.QtGui import QPixmap

from explorer.core.encoder import encode_dataset
from explorer.core.errors import DataError
from explorer.core.imageset import ImageSet
from explorer.core.progress import Progress
from explorer.ui.context import AppContext
from explorer.ui.imaging import to_pixmap
from explorer.ui.workers import TaskRunner

SAMPLE_DATA = "sample:mnist"
PIXEL_CODES_BUDGET = 512 << 20  # raw-pixel codes of a file-backed set above this are not made in the GUI
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
        key = (id(dataset), int(index), int(size))
        pix = self._items.get(key)
        if pix is not None:
            self._items.move_to_end(key)
            return pix
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


# ---- loading data sets and models -----------------------------------------------------------
def load_data_job(spec: str) -> Iterator[Progress]:
    """The data layer's loading job when it has one; else one call to ``load_data``."""
    import explorer.data as data

    job = getattr(data, "load_data_job", None)
    if job is not None:
        return (yield from job(spec))
    load = getattr(data, "load_data", None)
    if load is None:
        raise DataError("This build cannot open data sets yet (explorer.data.load_data is missing).")
    yield Progress(step=0, total=0, message=f"opening {spec}")
    return load(spec)


class _PixelEncoder:
    """Raw pixels as codes; used only when ``explorer.models.load_encoder`` is not available."""

    name = "pixels"
    input_shape = None

    def encode(self, images: np.ndarray) -> np.ndarray:
        return np.asarray(images, dtype=np.float32).reshape(len(images), -1)


def load_models_job(specs: list[str], data: ImageSet | None, trust: dict | None = None) -> Iterator[Progress]:
    """Load each model spec; returns a list of (spec, encoder or None, error or None), the error a
    message, or the UntrustedModelError of a program-format file the user has not trusted yet.

    trust: spec -> what the user said (True, or the SHA-256 they trusted; see load_encoder)."""
    trust = trust or {}
    yield Progress(step=0, total=len(specs), message="loading models")
    try:
        from explorer.models import load_encoder  # imports torch: slow the first time
    except ImportError:
        load_encoder = None
    out = []
    for i, spec in enumerate(specs):
        try:
            if load_encoder is None:
                if spec != "pixels":
                    raise DataError(f"Cannot load {spec}: model loading is not available in this build.")
                enc = _PixelEncoder()
            else:
                enc = load_encoder(spec, data=data, trust=trust.get(spec, False))
            out.append((spec, enc, None))
        except Exception as err:  # one bad file must not stop the others
            from explorer.core.errors import ExplorerError
            from explorer.models.trust import UntrustedModelError

            if isinstance(err, UntrustedModelError):  # the window asks the user, then retries
                out.append((spec, None, err))
                yield Progress(
                    step=i + 1, total=len(specs), message=f"{os.path.basename(spec)} waits for trust"
                )
                continue

            msg = str(err) if isinstance(err, ExplorerError) else f"{type(err).__name__}: {err}"
            out.append((spec, None, msg))
        yield Progress(step=i + 1, total=len(specs), message=f"loaded {os.path.basename(spec)}")
    return out


class LoadService(QObject):
    """Opens data sets and model files in worker threads; failures leave the workspace as it was."""

    job_progress = Signal(str, str, float)  # key, message, fraction (-1: unknown)
    job_finished = Signal(str)
    data_loaded = Signal(str)  # spec
    data_failed = Signal(str, str)  # spec, message
    models_loaded = Signal(list)  # names added
    models_idle = Signal()  # a batch of models finished (or failed) and none is queued
    trust_needed = Signal(list)  # UntrustedModelErrors: program files to ask the user about

    def __init__(self, ctx: AppContext, settings: Settings | None = None, parent=None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.settings = settings
        self._data = TaskRunner(self, min_interval=0.1)
        self._models = TaskRunner(self, min_interval=0.1)
        self._data.partial.connect(lambda tag, rec: self._progress("data", rec))
        self._data.done.connect(self._on_data_done)
        self._data.failed.connect(self._on_data_failed)
        self._models.partial.connect(lambda tag, rec: self._progress("models", rec))
        self._models.done.connect(self._on_models_done)
        self._models.failed.connect(self._on_models_failed)
        # a request that came while the last job was ending (done delivered, thread not yet ended)
        # waits in the queue: start it once the runner is free
        self._models.running_changed.connect(self._on_models_running)
        self._model_queue: list[str] = []
        self._trust: dict[str, bool | str] = {}  # spec -> the user's say-so, for queued specs
        self._names: dict[str, str] = {}  # spec -> the workspace name it must get (a session's)
        self.model_specs: dict[str, str] = {}  # workspace name -> the spec it was loaded from

    def busy(self) -> bool:
        return self._data.is_running() or self._models.is_running() or bool(self._model_queue)

    def open_data(self, spec: str) -> None:
        """Open ``spec`` in the background; on success it replaces the workspace's data set."""
        spec = os.fspath(spec)
        self.job_progress.emit("data", f"opening {_short(spec)}", -1.0)
        self._data.start(lambda: load_data_job(spec), tag=spec)

    def load_models(
        self, specs: list[str], trust: bool | str = False, names: dict[str, str] | None = None
    ) -> None:
        """Load model files (or 'pixels', 'pca') in the background and add them to the workspace.

        trust: what the user said about these files (the SHA-256 the trust dialog asked about);
        program-format files without it come back through ``trust_needed``. names: spec -> the
        name to add it under (a session reopens its models under the names its codes are kept
        by); otherwise the file's own name."""
        for spec, name in (names or {}).items():
            self._names[os.fspath(spec)] = name
        for s in specs:
            self._model_queue.append(os.fspath(s))
            if trust:
                self._trust[os.fspath(s)] = trust
        if not self._models.is_running() and not self._data.is_running():
            self._next_models()  # (else once the data set is in: 'pca' is fitted on it)

    def _on_models_running(self, running: bool) -> None:
        if not running and self._model_queue and not self._data.is_running():
            self._next_models()

    def shutdown(self) -> None:
        self._data.shutdown()
        self._models.shutdown()

    # ----
    def _next_models(self) -> bool:
        specs, self._model_queue = self._model_queue, []
        if not specs:
            return False
        trust = {s: self._trust.pop(s) for s in specs if s in self._trust}
        data = self.ctx.workspace.dataset
        self.job_progress.emit("models", "loading models", -1.0)
        self._models.start(lambda: load_models_job(specs, data, trust), tag=tuple(specs))
        return True

    def _progress(self, key: str, rec: Progress) -> None:
        self.job_progress.emit(key, rec.message, rec.fraction if rec.total else -1.0)

    def _on_data_done(self, spec: str, data: ImageSet) -> None:
        self.job_finished.emit("data")
        if not isinstance(data, ImageSet):
            self._on_data_failed(spec, f"{spec} did not load as a data set.")
            return
        if not data.name:
            data.name = _short(spec)
        self.ctx.workspace.set_dataset(data, spec=spec)  # spec: its saved label edits
        if self.settings is not None:
            self.settings.add_recent_data(spec)
        self.data_loaded.emit(spec)
        if not self._models.is_running():
            self._next_models()

    def _on_data_failed(self, spec: str, message: str) -> None:
        self.job_finished.emit("data")
        self.data_failed.emit(spec, message)
        self.ctx.show_error(message)
        if not self._models.is_running():
            self._next_models()

    def _on_models_done(self, tag, results) -> None:
        self.job_finished.emit("models")
        added, errors, untrusted = [], [], []
        for spec, enc, err in results:
            if enc is None:
                (errors if isinstance(err, str) else untrusted).append(err)
                continue
            name = self._names.pop(spec, None) or getattr(enc, "name", None) or _short(spec)
            if getattr(enc, "name", name) != name:
                enc.name = name
            self.model_specs[name] = spec
            self.ctx.workspace.add_model(name, enc)
            added.append(name)
        self.models_loaded.emit(added)
        if errors:
            self.ctx.show_error("\n".join(errors))
        if untrusted:
            self.trust_needed.emit(untrusted)
        if not self._next_models():
            self.models_idle.emit()

    def _on_models_failed(self, tag, message: str) -> None:
        self.job_finished.emit("models")
        self.ctx.show_error(message)
        if not self._next_models():
            self.models_idle.emit()


def _short(spec: str) -> str:
    return spec if spec.startswith("sample:") else os.path.basename(os.path.normpath(spec)) or spec


# ---- codes ------------------------------------------------------------------------------------
def _codes_job(encoder, data: ImageSet, batch: int) -> Iterator[Progress]:
    """Codes through the on-disk cache (at once when this data set met this model file before);
    models with no stable identity (trained in this session) are encoded in memory."""
    from explorer.core.codes_store import codes_key, encode_job

    if getattr(encoder, "input_shape", 0) is None and data.file_backed and data.shape is not None:
        need = data.count * int(np.prod(data.shape)) * 4
        if need > PIXEL_CODES_BUDGET:
            from explorer.core.errors import ExplorerError

            raise ExplorerError(
                f"{encoder.name} codes of {data.count:,} items at {data.shape[1]}x{data.shape[2]} would take "
                f"{need / 1e9:.1f} GB; use pca (or a smaller working resolution, EXPLORER_WORKING_SIZE)."
            )
    try:
        key = codes_key(data, encoder)
    except OSError:
        key = None
    if key is None:
        return (yield from encode_dataset(encoder, data, batch))
    codes = yield from encode_job(encoder, data, batch, key=key)
    return np.array(codes, dtype=np.float32)  # off the read-only memory map: views may keep it


class CodeService(QObject):
    """Computes the codes of every loaded model on the open data set, one model at a time.

    Whenever the data set or the model list changes, models without codes are encoded in a worker
    (``encode_dataset``); results land through ``workspace.set_codes`` on the GUI thread. Each job
    is tagged ``(dataset id, model name)``; a result for a data set or an encoder that has since
    been replaced is dropped, and a newer request cancels an older one.
    """

    job_progress = Signal(str, str, float)
    job_finished = Signal(str)
    busy_changed = Signal(bool)

    def __init__(self, ctx: AppContext, parent=None, batch_size: int = 512) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.batch_size = batch_size
        self._runner = TaskRunner(self, min_interval=0.1)
        self._runner.partial.connect(self._on_partial)
        self._runner.done.connect(self._on_done)
        self._runner.failed.connect(self._on_failed)
        self._dataset_id = 0
        self._job: tuple[int, str, int] | None = None  # (dataset id, model, id(encoder))
        self._failed: set[tuple[int, str, int]] = set()
        self._busy = False
        ctx.qws.dataset_changed.connect(self._on_dataset_changed)
        ctx.qws.models_changed.connect(self._on_models_changed)
        ctx.qws.current_model_changed.connect(self._on_models_changed)
        ctx.qws.codes_changed.connect(self._on_codes_changed)

    @property
    def ws(self):
        return self.ctx.workspace

    def busy(self) -> bool:
        """True while any loaded model still lacks codes that can be computed."""
        return self._runner.is_running() or bool(self._pending())

    def request(self, name: str) -> None:
        """Recompute the codes of model ``name`` (e.g. after it was retrained in place)."""
        self.ws.codes.pop(name, None)
        if self._job is not None and self._job[1] == name:
            self._runner.cancel()
            self._job = None
        self._schedule()

    def shutdown(self) -> None:
        self._runner.shutdown()

    # ----
    def _pending(self) -> list[str]:
        ds = self.ws.dataset
        if ds is None or not ds.has_images:
            return []
        usable = set(self.ws.models_for_dataset())  # the others take another image size: no error
        names = [
            n
            for n, enc in self.ws.models.items()
            if n in usable and n not in self.ws.codes and (self._dataset_id, n, id(enc)) not in self._failed
        ]
        cur = self.ws.current_model  # the model the user looks at first
        return sorted(names, key=lambda n: n != cur)

    def _on_dataset_changed(self) -> None:
        self._dataset_id += 1
        self._failed.clear()
        self._runner.cancel()
        self._job = None
        self._schedule()

    def _on_models_changed(self) -> None:
        if self._job is not None:
            _, name, enc_id = self._job
            enc = self.ws.models.get(name)
            if enc is None or id(enc) != enc_id:  # removed or replaced: its codes are stale
                self._runner.cancel()
                self._job = None
        # on the next turn of the event loop: models loaded together are all in by then, so the
        # current one (the one the views show) is encoded first, not whichever was added first
        QTimer.singleShot(0, self._schedule)

    def _on_codes_changed(self, name: str) -> None:
        """Codes arrived from elsewhere (a restored session): stop encoding that model again."""
        if self._job is not None and self._job[1] == name and name in self.ws.codes:
            self._runner.cancel()
            self._job = None
            self._schedule()

    def _schedule(self) -> None:
        if self._job is None:
            pending = self._pending()
            if pending:
                name = pending[0]
                enc, data = self.ws.models[name], self.ws.dataset
                self._job = (self._dataset_id, name, id(enc))
                batch = self.batch_size
                self.job_progress.emit("codes", f"encoding with {name}", 0.0)
                self._runner.start(lambda: _codes_job(enc, data, batch), tag=self._job)
        self._set_busy(self._job is not None)

    def _set_busy(self, busy: bool) -> None:
        if busy != self._busy:
            self._busy = busy
            self.busy_changed.emit(busy)
            if not busy:
                self.job_finished.emit("codes")

    def _on_partial(self, tag, rec: Progress) -> None:
        self.job_progress.emit("codes", f"codes of {tag[1]}", rec.fraction)

    def _on_done(self, tag, codes) -> None:
        dsid, name, enc_id = tag
        enc = self.ws.models.get(name)
        if tag == self._job:
            self._job = None
        if dsid == self._dataset_id and enc is not None and id(enc) == enc_id:
            self.ws.set_codes(name, codes)
        self._schedule()

    def _on_failed(self, tag, message: str) -> None:
        self._failed.add(tag)
        if tag == self._job:
            self._job = None
        self.ctx.show_status(f"No codes for {tag[1]}: {message}")
        self._schedule()


# ---- renditions of file-backed sets -------------------------------------------------------------
class RenditionService(QObject):
    """Builds the thumbnail and working renditions of an open file-backed set in the background
    (rows a view asked for first), and says when more are ready so views repaint."""

    job_progress = Signal(str, str, float)
    job_finished = Signal(str)
    rows_ready = Signal()  # more thumbnails are on disk: repaint what shows placeholders

    def __init__(self, ctx: AppContext, parent=None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self._runner = TaskRunner(self, min_interval=0.25)
        self._runner.partial.connect(self._on_partial)
        self._runner.done.connect(self._on_done)
        self._runner.failed.connect(lambda tag, msg: self._on_done(tag, None))
        ctx.qws.dataset_changed.connect(self._on_dataset_changed)
        self._on_dataset_changed()

    def busy(self) -> bool:
        return self._runner.is_running()

    def _on_dataset_changed(self) -> None:
        self._runner.cancel()
        ds = self.ctx.workspace.dataset
        if ds is None or not ds.file_backed:
            return
        source = ds.source
        if source.ready().all():
            return
        self.job_progress.emit("renditions", "thumbnails", 0.0)
        self._runner.start(source.build_job, tag=id(ds))

    def _on_partial(self, tag, rec: Progress) -> None:
        self.job_progress.emit("renditions", f"thumbnails {rec.step:,}/{rec.total:,}", rec.fraction)
        self.rows_ready.emit()

    def _on_done(self, tag, result) -> None:
        self.job_finished.emit("renditions")
        self.rows_ready.emit()

    def shutdown(self) -> None:
        self._runner.shutdown()


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
    """True while a service or a view (``busy()``) still has background work."""
    for svc in ctx.services.values():
        busy = getattr(svc, "busy", None)
        if callable(busy) and busy():
            return True
    return any(callable(getattr(v, "busy", None)) and v.busy() for v in views)
