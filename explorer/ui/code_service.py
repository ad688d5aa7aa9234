"""Codes and renditions kept in step with the open data set: ``ctx.services["codes"]`` and
``ctx.services["renditions"]``.

:class:`CodeService` encodes every loaded model's codes (through the on-disk cache) one model at a
time; :class:`RenditionService` builds a file-backed set's thumbnails in the background.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from explorer.core.encoder import encode_dataset
from explorer.core.imageset import ImageSet
from explorer.core.progress import Progress
from explorer.ui.context import AppContext
from explorer.ui.workers import TaskRunner

PIXEL_CODES_BUDGET = 512 << 20  # raw-pixel codes of a file-backed set above this are not made in the GUI


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
