"""Opening data sets and model files in worker threads: ``ctx.services["loader"]``.

:class:`LoadService` runs :func:`load_data_job` and :func:`load_models_job` in TaskRunners; a
failure leaves the workspace as it was and is shown as one sentence.
"""

from __future__ import annotations

import os
from typing import Iterator

import numpy as np
from PySide6.QtCore import QObject, Signal

from explorer.core.errors import DataError
from explorer.core.imageset import ImageSet
from explorer.core.progress import Progress
from explorer.ui.context import AppContext
from explorer.ui.workers import TaskRunner


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
    """Opens data sets and model files in worker threads; failures leave the workspace as it was.
    ``settings``: the app's :class:`explorer.ui.services.Settings` (recent data sets), or None."""

    job_progress = Signal(str, str, float)  # key, message, fraction (-1: unknown)
    job_finished = Signal(str)
    data_loaded = Signal(str)  # spec
    data_failed = Signal(str, str)  # spec, message
    models_loaded = Signal(list)  # names added
    models_idle = Signal()  # a batch of models finished (or failed) and none is queued
    trust_needed = Signal(list)  # UntrustedModelErrors: program files to ask the user about

    def __init__(self, ctx: AppContext, settings=None, parent=None) -> None:
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
        # waits in the queue: start it once both runners are free (the data job's end can come
        # last: with the model job's end first, a queued request waited for good)
        self._models.running_changed.connect(self._on_runner_free)
        self._data.running_changed.connect(self._on_runner_free)
        self._model_queue: list[str] = []
        self._opening = False  # open_data is replacing a data job (its cancel is no runner's end)
        self._trust: dict[str, bool | str] = {}  # spec -> the user's say-so, for queued specs
        self._names: dict[str, str] = {}  # spec -> the workspace name it must get (a session's)
        self.model_specs: dict[str, str] = {}  # workspace name -> the spec it was loaded from

    def busy(self) -> bool:
        return self._data.is_running() or self._models.is_running() or bool(self._model_queue)

    def open_data(self, spec: str) -> None:
        """Open ``spec`` in the background; on success it replaces the workspace's data set."""
        spec = os.fspath(spec)
        self.job_progress.emit("data", f"opening {_short(spec)}", -1.0)
        # starting cancels a load still running, and its runner says 'not running' until the new
        # job is in: the models queued behind that load wait for this one (see _on_runner_free)
        self._opening = True
        try:
            self._data.start(lambda: load_data_job(spec), tag=spec)
        finally:
            self._opening = False

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

    def _on_runner_free(self, running: bool) -> None:
        if (
            not running
            and not self._opening
            and self._model_queue
            and not self._models.is_running()
            and not self._data.is_running()
        ):
            self._next_models()

    def shutdown(self) -> None:
        # nothing queued starts: a runner's cancel says 'not running', which starts the queue
        self._model_queue.clear()
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
