"""The relational view's data at its model's shape: a mixin of
:class:`explorer.ui.views.relational.view.View`. Data of another size or channels is brought to the
model's input shape in a worker (:func:`explorer.relational.imageio.fit_dataset_job`), as encoders
get other data; until it arrives the view shows generated pairs, and a fit for data or a model that
is gone is dropped. The view provides ``ctx``, ``model``, ``_pool``, ``_score_tag`` and
``_schedule_render``."""

from __future__ import annotations

from explorer.ui.workers import TaskRunner


class DataFit:
    def _init_fit(self) -> None:
        # (data, model shape, the data brought to that shape, what was done)
        self._fit: tuple | None = None
        self._fit_failed: tuple | None = None  # (data, shape) whose fit failed: not tried again
        self._fit_runner = TaskRunner(self)
        self._fit_runner.done.connect(self._on_fitted)
        self._fit_runner.failed.connect(self._on_fit_failed)

    def dataset(self):
        """The open data set's images at the model's shape: the set itself when they have it, else
        the set brought to it (once :meth:`_start_fit`'s job is done); None before that or when
        the data holds no images."""
        data = self.ctx.workspace.dataset
        if self.model is None or data is None or not data.has_images:
            return None
        shape = tuple(self.model.input_shape)
        if data.shape == shape:
            return data
        fit = self._fit
        return fit[2] if fit is not None and fit[0] is data and fit[1] == shape else None

    def _needs_fit(self):
        """(data, shape) when the open data's images must be brought to the model's shape and are
        not yet, else None."""
        data = self.ctx.workspace.dataset
        if self.model is None or data is None or not data.has_images:
            return None
        shape = tuple(self.model.input_shape)
        if data.shape == shape or self.dataset() is not None:
            return None
        return data, shape

    def _start_fit(self) -> bool:
        """Start bringing the open data to the model's shape in a worker; True if it is under way."""
        need = self._needs_fit()
        if need is None:
            return False
        data, shape = need
        if self.fit_failed():
            return False  # said once (_on_fit_failed); the view shows generated pairs
        tag = (id(data), shape)
        if not (self._fit_runner.is_running() and self._fit_runner_tag == tag):
            from explorer.relational.imageio import fit_dataset_job

            self._fit_runner_tag = tag
            self._fit_runner.start(lambda: fit_dataset_job(data, shape), tag=tag)
        return True

    _fit_runner_tag = None

    def fit_failed(self) -> bool:
        """Whether bringing the open data to the model's shape failed (generated pairs shown)."""
        need, failed = self._needs_fit(), self._fit_failed
        return need is not None and failed is not None and failed[0] is need[0] and failed[1] == need[1]

    def fit_now(self) -> None:
        """Bring the open data to the model's shape on this thread (scripts, snapshots)."""
        need = self._needs_fit()
        if need is None:
            return
        from explorer.core.progress import run_to_end
        from explorer.relational.imageio import fit_dataset_job

        self._fit_runner.cancel()
        self._store_fit(need[0], need[1], run_to_end(fit_dataset_job(*need)))

    def _on_fitted(self, tag, result) -> None:
        need = self._needs_fit()
        if need is None or (id(need[0]), need[1]) != tag:
            return  # for data or a model that is gone
        self._store_fit(need[0], need[1], result)
        self._schedule_render(filters=False)

    def _store_fit(self, data, shape, result) -> None:
        fitted, sentence = result
        self._fit = (data, shape, fitted, sentence)
        self._pool = None
        self._score_tag = None

    def _on_fit_failed(self, tag, message: str) -> None:
        need = self._needs_fit()
        if need is None or (id(need[0]), need[1]) != tag:
            return  # for data or a model that is gone
        self._fit_failed = need  # not started over at each new render (nor said again)
        self.ctx.show_error(f"The images could not be brought to the model's size: {message}")
        self._schedule_render(filters=False)  # its status and tabs (skipped while it ran)
