"""The verification panel's whole-set evaluations: which (model, distance) pairs are wanted,
the worker that evaluates them, and the finished results, dropped when their data set, encoder
or codes change."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from explorer.core.progress import Progress
from explorer.jobs.verification import Evaluation, evaluation_job, norm_options, pair_scorer_of
from explorer.ui.views.verification.charts import RED
from explorer.ui.workers import TaskRunner


class EvaluationWiring(QObject):
    """Evaluates the panel's chosen and compared models in a worker; ``finished`` when results came.

    ``view`` gives ws, model_name(), compare_name(), distance(), score_choice() (the score: raw
    or AS-norm's cohort, and its top-k), scorer_max_pairs and the ``progress`` bar and ``status``
    label the wiring reports in.
    """

    finished = Signal()

    def __init__(self, view) -> None:
        super().__init__(view)
        self.view = view
        self._ds_token = 0  # bumped when the data set changes: older results are dropped
        # (ds token, model, id(encoder), metric, score, top-k) -> its evaluation
        self._results: dict[tuple, Evaluation] = {}
        self._failed: dict[tuple, str] = {}
        self._job_keys: tuple = ()
        self._runner = TaskRunner(self, min_interval=0.1, background=True)
        self._runner.partial.connect(self._on_partial)
        self._runner.done.connect(self._on_done)
        self._runner.failed.connect(self._on_failed)

    @property
    def ws(self):
        return self.view.ws

    def reset(self) -> None:
        """A new data set: every result is stale."""
        self._ds_token += 1
        self._results.clear()
        self._failed.clear()

    def keep_encoders(self, ids: dict[str, int]) -> None:
        """Keep only results of encoders still loaded as they were (name -> id(encoder))."""
        self._results = {k: v for k, v in self._results.items() if ids.get(k[1]) == k[2]}

    def drop(self, model: str) -> None:
        self._results = {k: v for k, v in self._results.items() if k[1] != model}

    def key(self, name: str | None) -> tuple | None:
        if name is None:
            return None
        enc = self.ws.models[name]
        if pair_scorer_of(enc) is not None:  # a pair classifier's logits: no normalisation
            return (self._ds_token, name, id(enc), "pair", "raw", 0)
        score, top_k = self.view.score_choice()
        return (self._ds_token, name, id(enc), self.view.distance(), score, top_k if score != "raw" else 0)

    def wanted(self) -> list[tuple]:
        names = (self.view.model_name(), self.view.compare_name())
        return [k for k in (self.key(n) for n in names) if k is not None]

    def of(self, name: str | None) -> Evaluation | None:
        key = self.key(name)
        return self._results.get(key) if key is not None else None

    def busy(self) -> bool:
        return self._runner.is_running()

    def shutdown(self) -> None:
        self._runner.shutdown()

    def schedule(self) -> None:
        """Start evaluating the wanted models that have no result yet (or say why none can be)."""
        ds = self.ws.dataset
        if ds is None or not ds.has_labels:
            self._runner.cancel()
            self._job_keys = ()
            self.view.progress.hide()
            self.view.status.setText(
                "" if ds is None else "This data set has no labels: drop two images to score them."
            )
            return
        jobs, waiting = [], []
        for key in self.wanted():
            if key in self._results or key in self._failed:
                continue
            name = key[1]
            scorer = pair_scorer_of(self.ws.models[name])
            if scorer is not None:
                if ds.has_images:
                    jobs.append((key, "scorer", scorer, "pair"))
            elif name in self.ws.codes:
                codes = self.ws.codes[name]
                jobs.append((key, "codes", codes, key[3], norm_options(key[4], codes, ds.labels, key[5])))
            else:
                waiting.append(name)
        keys = tuple(j[0] for j in jobs)
        if keys and keys != self._job_keys:
            self._job_keys = keys
            self.view.progress.setValue(0)
            self.view.progress.show()
            self.view.status.setText("evaluating " + ", ".join(k[1] for k in keys) + " …")
            limit = self.view.scorer_max_pairs
            self._runner.start(lambda: evaluation_job(jobs, ds, limit), tag=keys)
        elif not keys:
            self._job_keys = ()
            self.view.progress.hide()
            failed = [self._failed[k] for k in self.wanted() if k in self._failed]
            notes = [f"<span style='color:{RED}'>{m}</span>" for m in dict.fromkeys(failed)]
            if waiting:
                notes.append(f"waiting for the codes of {', '.join(waiting)} …")
            self.view.status.setText("<br>".join(notes))

    def _on_partial(self, tag, rec: Progress) -> None:
        self.view.progress.setValue(int(rec.fraction * 1000))
        self.view.status.setText(rec.message)

    def _on_done(self, tag, results: dict) -> None:
        self._job_keys = ()
        for key, ev in results.items():
            if key[0] == self._ds_token:
                if isinstance(ev, str):
                    self._failed[key] = ev
                else:
                    self._results[key] = ev
        self.view.progress.hide()
        self.view.status.setText("")
        self.schedule()
        self.finished.emit()

    def _on_failed(self, tag, message: str) -> None:
        self._job_keys = ()
        for key in tag:
            self._failed[key] = message
        self.view.progress.hide()
        self.schedule()
