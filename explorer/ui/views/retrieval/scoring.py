"""The retrieval view's figures: leave-one-out metrics of every shown column, in a worker.

A column is scored as a (model name, metric) pair, so the binary column's Hamming figures sit
beside the same model's float figures. Results are kept per pair, keyed by the identity of the
codes, the metric and the labels; above ``FULL_METRICS_MAX`` items the job scores a seeded sample
of queries (FULL_METRICS_MAX in explorer.jobs.retrieval), and the panel says so.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, QSize, Qt, Signal
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QTableWidgetItem

from explorer.core.progress import Progress
from explorer.data.documents import document_snippet
from explorer.jobs.retrieval import metrics_job
from explorer.retrieval import RetrievalMetrics
from explorer.ui.imaging import to_pixmap
from explorer.ui.views.retrieval.indexes import HAMMING
from explorer.ui.views.retrieval.widgets import INDEX_ROLE, METRIC_COLUMNS, MetricsPanel, marked_tile
from explorer.ui.workers import TaskRunner

Spec = tuple[str, str]  # (model name, metric)


def spec_label(spec: Spec) -> str:
    """The table's name for a column: the model, with "· Hamming" for binary codes."""
    return f"{spec[0]} · Hamming" if spec[1] == HAMMING else spec[0]


class MetricsWiring(QObject):
    """Keeps ``panel`` (a MetricsPanel) showing the figures of ``view.column_specs()``.

    ``view`` gives ws, ctx, column_specs(), query_ms(spec) and metric_text(); clicks on the worst
    queries go to ``panel.query_clicked`` as before. ``figures_changed``: a column's figures came.
    """

    figures_changed = Signal()

    def __init__(self, view, panel: MetricsPanel) -> None:
        super().__init__(view)
        self.view, self.panel = view, panel
        self._done: dict[Spec, tuple[tuple, RetrievalMetrics]] = {}
        self._failed: dict[Spec, tuple[tuple, str]] = {}
        self._runner = TaskRunner(self, min_interval=0.1, background=True)
        self._runner.partial.connect(self._on_progress)
        self._runner.done.connect(self._on_done)
        self._runner.failed.connect(self._on_failed)
        panel.worst_model_chosen.connect(self.show_worst)

    @property
    def ws(self):
        return self.view.ws

    def clear(self, name: str | None = None) -> None:
        for d in (self._done, self._failed):
            for spec in list(d):
                if name is None or spec[0] == name:
                    del d[spec]
        if name is None:
            self._runner.cancel()

    def busy(self) -> bool:
        return self._runner.is_running() or bool(self.pending())

    def shutdown(self) -> None:
        self._runner.shutdown()

    # ---- which figures are wanted --------------------------------------------------------------
    def key(self, spec: Spec) -> tuple:
        return (id(self.ws.codes[spec[0]]), spec[1], id(self.ws.dataset.labels))

    def pending(self) -> list[Spec]:
        ds = self.ws.dataset
        if ds is None or not ds.has_labels:
            return []
        out = []
        for spec in self.view.column_specs():
            if spec[0] in self.ws.codes and spec not in out:
                key = self.key(spec)
                have = self._done.get(spec)
                if (have is None or have[0] != key) and self._failed.get(spec, ((),))[0] != key:
                    out.append(spec)
        return out

    def of(self, spec: Spec) -> RetrievalMetrics | None:
        have = self._done.get(spec)
        if have is None or spec[0] not in self.ws.codes or have[0] != self.key(spec):
            return None
        return have[1]

    def update(self) -> None:
        """Show what is known and start scoring the first column that has no figures yet."""
        self.fill_table()
        pending = self.pending()
        running = self._runner.tag
        if (
            self._runner.is_running()
            and running is not None
            and running[0] in pending
            and running[1] == self.key(running[0])
        ):
            return  # the job for a still-wanted column goes on
        if not pending:
            self._runner.cancel()
            self.panel.progress.hide()
            return
        spec = pending[0]
        codes, labels = self.ws.codes[spec[0]], self.ws.dataset.labels
        self.panel.progress.setRange(0, 0)
        self.panel.progress.show()
        self.panel.note.setText(f"Scoring {spec_label(spec)}…")
        self._runner.start(lambda: metrics_job(codes, labels, spec[1]), tag=(spec, self.key(spec)))

    def _on_progress(self, tag, rec: Progress) -> None:
        self.panel.progress.setRange(0, 1000)
        self.panel.progress.setValue(int(1000 * rec.fraction))
        self.panel.note.setText(f"Scoring {spec_label(tag[0])}: {rec.step:,}/{rec.total:,} queries")

    def _on_done(self, tag, result: RetrievalMetrics) -> None:
        spec, key = tag
        if spec[0] in self.ws.codes and self.key(spec) == key:
            self._done[spec] = (key, result)
        self.panel.progress.hide()
        self.update()
        self.figures_changed.emit()

    def _on_failed(self, tag, message: str) -> None:
        self._failed[tag[0]] = (tag[1], message)
        self.panel.progress.hide()
        self.update()
        self.figures_changed.emit()

    # ---- the table and the worst queries ----------------------------------------------------------
    def fill_table(self) -> None:
        ds = self.ws.dataset
        specs = list(dict.fromkeys(self.view.column_specs()))
        table = self.panel.table
        table.setRowCount(len(specs))
        notes = []
        for row, spec in enumerate(specs):
            m = self.of(spec)
            name_item = QTableWidgetItem(spec_label(spec))
            if m is not None and ds is not None:
                name_item.setToolTip(per_class_text(spec_label(spec), m, ds))
            table.setItem(row, 0, name_item)
            for c, (attr, _h) in enumerate(METRIC_COLUMNS, start=1):
                value = None if m is None else getattr(m, attr)
                text = (
                    "…" if m is None else ("–" if value is None or not np.isfinite(value) else f"{value:.3f}")
                )
                table.setItem(row, c, _right(text))
            table.setItem(row, len(METRIC_COLUMNS) + 1, _right("" if m is None else f"{m.n_queries:,}"))
            ms = self.view.query_ms(spec)
            table.setItem(row, len(METRIC_COLUMNS) + 2, _right("" if ms is None else f"{ms:.2f}"))
            if m is not None and m.n_queries < m.n_gallery - 1 and not np.isfinite(m.map):
                notes.append(
                    f"{spec_label(spec)}: a seeded sample of {m.n_queries:,} of {m.n_gallery:,} queries "
                    "(seed 0), mAP skipped"
                )
            failed = self._failed.get(spec)
            if m is None and failed is not None and spec[0] in self.ws.codes and failed[0] == self.key(spec):
                notes.append(f"No figures for {spec_label(spec)}: {failed[1]}")
                for c in range(1, len(METRIC_COLUMNS) + 1):
                    table.item(row, c).setText("–")
        if ds is None:
            self.panel.note.setText("No data set open.")
        elif not ds.has_labels:
            self.panel.note.setText("This data set has no class labels, so retrieval cannot be scored.")
        elif not self.pending():
            self.panel.note.setText(
                "; ".join(notes) or f"{ds.count:,} items · {self.view.metric_text()} · k-NN vote of 5"
            )
        self.panel.set_sampled(any("seeded sample" in n for n in notes))
        combo = self.panel.worst_combo  # the worst-query chooser follows the shown columns
        current = combo.currentText()
        combo.blockSignals(True)
        combo.clear()
        for spec in specs:
            combo.addItem(spec_label(spec), spec)
        if current in [spec_label(s) for s in specs]:
            combo.setCurrentText(current)
        combo.blockSignals(False)
        self.show_worst()

    def show_worst(self) -> None:
        lst = self.panel.worst
        lst.clear()
        spec = self.panel.worst_combo.currentData()
        m = self.of(tuple(spec)) if spec else None
        ds = self.ws.dataset
        if m is None or ds is None:
            return
        by = "ap" if np.isfinite(m.map) else "map_at_r"
        values = dict(zip(m.per_query["index"].tolist(), m.per_query[by].tolist()))
        thumbs = self.view.ctx.services.get("thumbnails")
        what = "average precision" if by == "ap" else "MAP@R"
        docs = self.view.documents()
        lst.setViewMode(QListWidget.ViewMode.ListMode if docs else QListWidget.ViewMode.IconMode)
        lst.setGridSize(QSize() if docs else QSize(48 + 40, 48 + 48))
        for i in m.worst_queries(24, by=by).tolist():
            if docs:
                snippet = document_snippet(ds, i, 90)
                item = QListWidgetItem(f"#{i} {'AP' if by == 'ap' else 'MAP@R'} {values[i]:.2f} · {snippet}")
            elif ds.has_images:
                pix = thumbs.get(ds, i, 48) if thumbs is not None else to_pixmap(ds.images[i], 48)
                item = QListWidgetItem(
                    marked_tile(pix, None, 48), f"#{i}\n{'AP' if by == 'ap' else 'MAP@R'} {values[i]:.2f}"
                )
            else:
                item = QListWidgetItem(f"#{i} {'AP' if by == 'ap' else 'MAP@R'} {values[i]:.2f}")
            item.setData(INDEX_ROLE, int(i))
            cls = ds.label_name(i)
            item.setToolTip(
                f"item #{i}"
                + (f", class {cls}" if cls else "")
                + f": {what} {values[i]:.3f}\nclick to make it the query"
            )
            lst.addItem(item)


def _right(text: str) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return item


def per_class_text(name: str, m: RetrievalMetrics, ds) -> str:
    """Per-class figures of ``m`` as a tooltip table, worst MAP@R first."""
    rows = sorted(m.per_class, key=lambda c: c["map_at_r"])
    lines = [f"{name}: per class (worst MAP@R first)", "class     n   P@1  R-prec  MAP@R"]
    for c in rows:
        label = ds.class_names[c["label"]] if c["label"] < len(ds.class_names) else str(c["label"])
        lines.append(
            f"{label[:8]:<8} {c['count']:>4}  {c['precision_at_1']:.2f}   {c['r_precision']:.2f}   "
            f"{c['map_at_r']:.2f}"
        )
    return "<pre>" + "\n".join(lines) + "</pre>"
