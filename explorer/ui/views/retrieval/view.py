"""The retrieval view itself: wires the workspace to the query slot, the columns and the metrics."""

from __future__ import annotations

import os

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from explorer.core.errors import ExplorerError
from explorer.core.progress import Progress
from explorer.core.workspace import PIXELS
from explorer.retrieval import KnnIndex, RetrievalMetrics
from explorer.jobs.retrieval import encode_query_job, metrics_job
from explorer.ui.context import AppContext
from explorer.ui.imaging import to_pixmap
from explorer.ui.views.retrieval.widgets import (
    BAD,
    GOOD,
    INDEX_ROLE,
    METRIC_COLUMNS,
    NONE,
    QUERY_THUMB,
    THUMB,
    MetricsPanel,
    QuerySlot,
    ResultColumn,
    blank_tile,
    load_query_image,
    marked_tile,
    qimage_to_array,
)
from explorer.ui.workers import TaskRunner


# ---- the view ----------------------------------------------------------------------------------------
class View(QWidget):
    """The retrieval view (centre tab)."""

    def __init__(self, ctx: AppContext, parent=None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self._history: list[tuple[str, object]] = []
        self._pos = -1
        self._navigating = False
        self._indexes: dict[str, tuple[int, str, KnnIndex]] = {}  # name -> (id(codes), metric, index)
        self._query_token = 0  # changes with every external query image
        self._coded_image: np.ndarray | None = None  # the external image _query_codes belong to
        self._query_codes: dict[str, np.ndarray] = {}  # name -> code of the external query image
        self._query_label: int | None = None  # class of an external image found in the data set
        self._metrics: dict[str, tuple[tuple, RetrievalMetrics]] = {}  # name -> (key, result)
        self._metrics_failed: dict[str, tuple[tuple, str]] = {}  # name -> (key, message)
        self._encoder = TaskRunner(self)
        self._encoder.done.connect(self._on_query_encoded)
        self._encoder.failed.connect(self._on_query_encode_failed)
        self._evaluator = TaskRunner(self, min_interval=0.1)
        self._evaluator.partial.connect(self._on_metrics_progress)
        self._evaluator.done.connect(self._on_metrics_done)
        self._evaluator.failed.connect(self._on_metrics_failed)

        # query bar
        self.query_slot = QuerySlot()
        self.query_label = QLabel()
        self.query_label.setObjectName("queryLabel")
        self.query_label.setWordWrap(True)
        self.status = QLabel()
        self.status.setObjectName("retrievalStatus")
        self.status.setWordWrap(True)
        self.status.setStyleSheet("color: #555;")
        self.back_button = QToolButton()
        self.back_button.setText("◀ Back")
        self.back_button.setToolTip("Previous query")
        self.forward_button = QToolButton()
        self.forward_button.setText("Forward ▶")
        self.forward_button.setToolTip("Next query")
        self.open_button = QPushButton("Open image…")
        self.open_button.setToolTip("Use an image file as the query")
        self.k_spin = QSpinBox()
        self.k_spin.setRange(1, 100)
        self.k_spin.setValue(16)
        self.k_spin.setPrefix("k = ")
        self.k_spin.setToolTip("Number of results per column")
        self.metric_box = QComboBox()
        self.metric_box.addItem("L2 distance", "l2")
        self.metric_box.addItem("cosine distance", "cosine")
        self.metric_box.setToolTip("How codes are compared")

        controls = QHBoxLayout()
        for w in (self.back_button, self.forward_button, self.open_button, self.k_spin, self.metric_box):
            controls.addWidget(w)
        controls.addStretch(1)
        text = QVBoxLayout()
        text.addLayout(controls)
        text.addWidget(self.query_label)
        text.addWidget(self.status)
        text.addStretch(1)
        bar = QHBoxLayout()
        bar.addWidget(self.query_slot)
        bar.addLayout(text, 1)

        # result columns
        self.columns = [ResultColumn("Model"), ResultColumn("Pixels"), ResultColumn("Second model")]
        grid = QHBoxLayout()
        grid.setSpacing(8)
        for col in self.columns:
            grid.addWidget(col, 1)
            col.model_chosen.connect(self._on_columns_changed)
            col.result_clicked.connect(self._on_result_clicked)
        top = QWidget()
        top_lay = QVBoxLayout(top)
        top_lay.setContentsMargins(4, 4, 4, 4)
        top_lay.addLayout(bar)
        top_lay.addLayout(grid, 1)

        self.metrics = MetricsPanel()
        self.metrics.query_clicked.connect(self._on_result_clicked)
        self.metrics.worst_model_chosen.connect(self._show_worst)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(top)
        split.addWidget(self.metrics)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 1)
        split.setSizes([640, 260])
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(split)

        self.back_button.clicked.connect(self.go_back)
        self.forward_button.clicked.connect(self.go_forward)
        self.open_button.clicked.connect(self._on_open_image)
        self.k_spin.valueChanged.connect(lambda _v: self.refresh())
        self.metric_box.currentIndexChanged.connect(self._on_metric_changed)
        self.query_slot.index_dropped.connect(lambda i: self._set_query_index(i))
        self.query_slot.file_dropped.connect(self.query_from_file)
        self.query_slot.image_dropped.connect(self._on_image_dropped)
        qws = ctx.qws
        qws.dataset_changed.connect(self._on_dataset_changed)
        qws.models_changed.connect(self._on_models_changed)
        qws.current_model_changed.connect(self._on_models_changed)
        qws.codes_changed.connect(self._on_codes_changed)
        qws.query_changed.connect(self._on_query_changed)
        qws.labels_changed.connect(self._on_labels_changed)
        self._on_dataset_changed()

    # ---- public ---------------------------------------------------------------------------------
    @property
    def ws(self):
        return self.ctx.workspace

    @property
    def k(self) -> int:
        return self.k_spin.value()

    @property
    def metric(self) -> str:
        return self.metric_box.currentData()

    def column_models(self) -> list[str | None]:
        return [c.model for c in self.columns]

    def set_column_model(self, column: int, name: str | None) -> None:
        """Show model ``name`` (None: nothing) in ``column`` (0, 1 or 2), as if the user chose it."""
        col = self.columns[column]
        col.combo.setCurrentText(name if name else NONE)
        col.user_chose = True
        self._on_columns_changed()

    def query_from_file(self, path: str) -> bool:
        """Make the image file at ``path`` the query (converted to the data set's shape)."""
        ds = self.ws.dataset
        if ds is None or not ds.has_images:
            self._say("Open a data set of images first: a dropped image is compared with its items.")
            return False
        try:
            image, note = load_query_image(path, ds.shape)
        except ExplorerError as err:
            self._say(str(err))
            self.ctx.show_error(str(err))
            return False
        self._set_external(image, f"{os.path.basename(path)}: " + (note or "used as is"))
        return True

    def go_back(self) -> None:
        if self._pos > 0:
            self._pos -= 1
            self._restore(self._history[self._pos])

    def go_forward(self) -> None:
        if self._pos < len(self._history) - 1:
            self._pos += 1
            self._restore(self._history[self._pos])

    def busy(self) -> bool:
        return self._evaluator.is_running() or self._encoder.is_running() or bool(self._pending_metrics())

    def prepare_snapshot(self) -> None:
        """Pick a telling query: one the first column gets right where raw pixels go wrong."""
        ds, ws = self.ws.dataset, self.ws
        if ds is None or not ds.count or ws.query_index is not None or ws.query_image is not None:
            return
        ws.set_query(index=self.telling_query())

    def telling_query(self, candidates: int = 300) -> int:
        """Among the first ``candidates`` items, the one where column 1's top k holds the most more
        items of the query's class than the pixel column's (0 when that cannot be said)."""
        ds, ws = self.ws.dataset, self.ws
        names = [self.columns[0].model, self.columns[1].model]
        if ds.labels is None or any(n is None or n not in ws.codes for n in names):
            return 0
        q = np.arange(min(candidates, ds.count))
        hits = []
        for name in names:
            idx, _ = self._index(name).search(ws.codes[name][q], self.k, exclude=q)
            hits.append((ds.labels[idx] == ds.labels[q][:, None]).sum(1))
        return int(q[np.argmax(hits[0] - hits[1])])

    def shutdown(self) -> None:
        self._encoder.shutdown()
        self._evaluator.shutdown()

    def closeEvent(self, event) -> None:
        self.shutdown()
        super().closeEvent(event)

    # ---- workspace events -----------------------------------------------------------------------------
    def _on_dataset_changed(self) -> None:
        self._indexes.clear()
        self._metrics.clear()
        self._metrics_failed.clear()
        self._query_codes.clear()
        self._query_label = None
        self._coded_image = None
        self._history.clear()
        self._pos = -1
        self._encoder.cancel()
        self._evaluator.cancel()
        self._say("")
        self._on_models_changed()
        self._on_query_changed()

    def _available(self) -> list[str]:
        names = self.ws.models_for_dataset()
        return names + [n for n in self.ws.codes if n not in names]

    def _on_models_changed(self) -> None:
        names = self._available()
        current = self.ws.current_model if self.ws.current_model in names else None
        others = [n for n in names if n != PIXELS]
        first = current if current and current != PIXELS else (others[0] if others else None)
        defaults = [first, PIXELS if PIXELS in names else None, next((n for n in others if n != first), None)]
        for col, default in zip(self.columns, defaults):
            keep = col.model if col.user_chose and col.model in names else default
            col.set_choices(names, keep)
        for name in list(self._indexes):
            if name not in names:
                del self._indexes[name]
        self._on_columns_changed()

    def _on_codes_changed(self, model: str) -> None:
        self._indexes.pop(model, None)
        self._metrics.pop(model, None)
        combo = self.columns[0].combo
        if combo.findText(model) < 0:  # codes without an encoder (projector TSV) are choosable too
            self._on_models_changed()
        else:
            self._on_columns_changed()

    def _on_labels_changed(self, _indices=None) -> None:
        """Edited labels: new ticks now, and metrics again (their key holds the labels' identity)."""
        self.refresh()
        self._update_metrics()

    def _on_columns_changed(self) -> None:
        self._encode_external()
        self.refresh()
        self._update_metrics()

    def _on_metric_changed(self) -> None:
        self._indexes.clear()
        self.refresh()
        self._update_metrics()

    def _on_query_changed(self) -> None:
        ws = self.ws
        entry = None
        if ws.query_index is not None:
            entry = ("index", int(ws.query_index))
        elif ws.query_image is not None:
            entry = ("image", ws.query_image)
        if ws.query_image is not self._coded_image:  # a new external image (or none): new codes
            self._coded_image = ws.query_image
            self._query_token += 1
            self._query_codes.clear()
            self._query_label = None
        if entry is not None and not self._navigating:
            current = self._history[self._pos] if self._pos >= 0 else None
            if not _same_entry(current, entry):
                del self._history[self._pos + 1 :]
                self._history.append(entry)
                self._pos = len(self._history) - 1
        self._update_query_slot()
        self._encode_external()
        self.refresh()

    # ---- queries -----------------------------------------------------------------------------------
    def _set_query_index(self, index: int) -> None:
        ds = self.ws.dataset
        if ds is None or not 0 <= index < ds.count:
            return
        self._say("")
        self.ws.set_query(index=index)

    def _on_result_clicked(self, index: int) -> None:
        self._set_query_index(index)

    def _on_image_dropped(self, img: QImage) -> None:
        ds = self.ws.dataset
        if ds is None or not ds.has_images or img.isNull():
            return
        image, note = qimage_to_array(img, ds.shape)
        self._set_external(image, "dropped image: " + (note or "used as is"))

    def _on_open_image(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Query image", "", "Images (*.png *.jpg *.jpeg *.bmp *.pgm *.ppm *.tif *.tiff *.gif)"
        )
        if path:
            self.query_from_file(path)

    def _set_external(self, image: np.ndarray, note: str) -> None:
        self.ws.set_query(image=image)
        self._say(note)

    def _restore(self, entry) -> None:
        self._navigating = True
        try:
            kind, value = entry
            if kind == "index":
                self.ws.set_query(index=value)
            else:
                self.ws.set_query(image=value)
        finally:
            self._navigating = False

    def _encode_external(self) -> None:
        """Start encoding the external query image for shown models that have no code of it yet."""
        image = self.ws.query_image
        if image is None:
            return
        todo = {
            n: self.ws.models[n]
            for n in self.column_models()
            if n and n not in self._query_codes and n in self.ws.models
        }
        if not todo:
            return
        self._encoder.start(lambda: encode_query_job(todo, image), tag=self._query_token)

    def _on_query_encoded(self, tag, codes: dict) -> None:
        if tag != self._query_token:
            return
        self._query_codes.update(codes)
        self._find_external_in_data()
        self.refresh()

    def _on_query_encode_failed(self, tag, message: str) -> None:
        if tag == self._query_token:
            self._say(f"Could not encode the query: {message}")

    def _find_external_in_data(self) -> None:
        """An external image identical to an item of the data set takes that item's class."""
        ds = self.ws.dataset
        code = self._query_codes.get(PIXELS)
        if self._query_label is not None or code is None or PIXELS not in self.ws.codes or ds is None:
            return
        idx, dist = self._index(PIXELS).search(code, 1)
        if len(idx[0]) and dist[0, 0] <= 1e-4 and ds.labels is not None:
            self._query_label = int(ds.labels[idx[0, 0]])
            self._say(self.status.text() + f" · same as item #{int(idx[0, 0])}")

    def _update_query_slot(self) -> None:
        ws, ds = self.ws, self.ws.dataset
        self.back_button.setEnabled(self._pos > 0)
        self.forward_button.setEnabled(0 <= self._pos < len(self._history) - 1)
        image = ws.query_float_image()
        self.query_slot.show_pixmap(None if image is None else to_pixmap(image, QUERY_THUMB))
        if ws.query_index is not None and ds is not None:
            name = ds.label_name(ws.query_index)
            parts = [f"<b>Query: item #{ws.query_index}</b>"]
            if name:
                parts.append(f"class <b>{name}</b>")
            if ds.paths is not None:
                parts.append(os.path.basename(ds.paths[ws.query_index]))
            self.query_label.setText(" · ".join(parts) + _LEGEND)
        elif ws.query_image is not None:
            self.query_label.setText(
                "<b>Query: an external image</b> (encoded by each column's model)" + _LEGEND
            )
        else:
            self.query_label.setText(
                "No query yet: pick an item in the data grid or the scatter, "
                "or drop an image file on the slot."
            )

    def _say(self, text: str) -> None:
        self.status.setText(text)
        if text:
            self.ctx.show_status(text)

    # ---- results -----------------------------------------------------------------------------------
    def _index(self, name: str) -> KnnIndex:
        codes = self.ws.codes[name]
        cached = self._indexes.get(name)
        if cached is None or cached[0] != id(codes) or cached[1] != self.metric:
            cached = (id(codes), self.metric, KnnIndex(codes, self.metric))
            self._indexes[name] = cached
        return cached[2]

    def _query_class(self) -> int | None:
        ds, ws = self.ws.dataset, self.ws
        if ds is None or ds.labels is None:
            return None
        if ws.query_index is not None:
            label = int(ds.labels[ws.query_index])
            return label if label >= 0 else None
        return self._query_label

    def refresh(self) -> None:
        """Search every column for the current query and show the results."""
        self._update_query_slot()
        ws, ds = self.ws, self.ws.dataset
        qclass = self._query_class()
        thumbs = self.ctx.services.get("thumbnails")
        for col in self.columns:
            name = col.model
            if name is None:
                col.show_message(
                    "Choose a second model above to compare three ways."
                    if col is self.columns[2]
                    else "Load or train a model (Models menu) to compare it with raw pixels."
                )
                continue
            if ds is None:
                col.show_message("No data set open.")
                continue
            codes = ws.codes.get(name)
            if codes is None:
                col.show_message(f"Waiting for the codes of {name}…")
                continue
            if ws.query_index is not None:
                query, exclude = codes[ws.query_index], np.array([ws.query_index])
            elif ws.query_image is not None:
                query, exclude = self._query_codes.get(name), None
                if query is None:
                    col.show_message(
                        f"Encoding the query with {name}…"
                        if name in ws.models
                        else f"{name} has no encoder for an external image."
                    )
                    continue
            else:
                col.show_message(
                    "Pick a query: double-click an item in the data grid, click a point "
                    "in the scatter, or drop an image file on the query slot.",
                    f"{codes.shape[1]}-d codes",
                )
                continue
            idx, dist = self._index(name).search(query, self.k, exclude)
            tiles, hits = [], 0
            for i, d in zip(idx[0].tolist(), dist[0].tolist()):
                label = int(ds.labels[i]) if ds.labels is not None else -1
                match = None if qclass is None or label < 0 else label == qclass
                hits += bool(match)
                pix = (
                    (thumbs.get(ds, i, THUMB) if thumbs is not None else to_pixmap(ds.images[i], THUMB))
                    if ds.has_images
                    else blank_tile(THUMB)
                )
                mark = "" if match is None else ("✓ " if match else "✗ ")
                cls = ds.label_name(i)
                caption = f"{mark}#{i}\nd {d:.3g}"
                tip = (
                    f"item #{i}"
                    + (f", class {cls}" if cls else "")
                    + f"\ndistance {d:.4g}\nclick: make it the query"
                )
                tiles.append((i, marked_tile(pix, match, THUMB), caption, tip))
            info = f"{codes.shape[1]}-d codes"
            if qclass is not None and tiles:
                info += f" · {hits}/{len(tiles)} of the query's class"
            col.show_results(tiles, info)

    # ---- metrics -----------------------------------------------------------------------------------
    def _metrics_key(self, name: str) -> tuple:
        return (id(self.ws.codes[name]), self.metric, id(self.ws.dataset.labels))

    def _pending_metrics(self) -> list[str]:
        ds = self.ws.dataset
        if ds is None or not ds.has_labels:
            return []
        out = []
        for name in self.column_models():
            if name and name in self.ws.codes and name not in out:
                key = self._metrics_key(name)
                have = self._metrics.get(name)
                if (have is None or have[0] != key) and self._metrics_failed.get(name, ((),))[0] != key:
                    out.append(name)
        return out

    def _update_metrics(self) -> None:
        self._fill_metrics_table()
        pending = self._pending_metrics()
        running = self._evaluator.tag
        if (
            self._evaluator.is_running()
            and running is not None
            and running[0] in pending
            and running[1] == self._metrics_key(running[0])
        ):
            return  # the job for a still-wanted model goes on
        if not pending:
            self._evaluator.cancel()
            self.metrics.progress.hide()
            return
        name = pending[0]
        codes, labels, metric = self.ws.codes[name], self.ws.dataset.labels, self.metric
        self.metrics.progress.setRange(0, 0)
        self.metrics.progress.show()
        self.metrics.note.setText(f"Scoring {name}…")
        self._evaluator.start(lambda: metrics_job(codes, labels, metric), tag=(name, self._metrics_key(name)))

    def _on_metrics_progress(self, tag, rec: Progress) -> None:
        self.metrics.progress.setRange(0, 1000)
        self.metrics.progress.setValue(int(1000 * rec.fraction))
        self.metrics.note.setText(f"Scoring {tag[0]}: {rec.step:,}/{rec.total:,} queries")

    def _on_metrics_done(self, tag, result: RetrievalMetrics) -> None:
        name, key = tag
        if name in self.ws.codes and self._metrics_key(name) == key:
            self._metrics[name] = (key, result)
        self.metrics.progress.hide()
        self._update_metrics()

    def _on_metrics_failed(self, tag, message: str) -> None:
        self._metrics_failed[tag[0]] = (tag[1], message)
        self.metrics.progress.hide()
        self._update_metrics()

    def metrics_of(self, name: str) -> RetrievalMetrics | None:
        have = self._metrics.get(name)
        return (
            None
            if have is None or name not in self.ws.codes or have[0] != self._metrics_key(name)
            else have[1]
        )

    def _fill_metrics_table(self) -> None:
        ds = self.ws.dataset
        names = []
        for n in self.column_models():
            if n and n not in names:
                names.append(n)
        table = self.metrics.table
        table.setRowCount(len(names))
        notes = []
        for row, name in enumerate(names):
            m = self.metrics_of(name)
            name_item = QTableWidgetItem(name)
            if m is not None and ds is not None:
                name_item.setToolTip(_per_class_text(name, m, ds))
            table.setItem(row, 0, name_item)
            for c, (attr, _h) in enumerate(METRIC_COLUMNS, start=1):
                value = None if m is None else getattr(m, attr)
                text = (
                    "…" if m is None else ("–" if value is None or not np.isfinite(value) else f"{value:.3f}")
                )
                item = QTableWidgetItem(text)
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                table.setItem(row, c, item)
            q = "" if m is None else f"{m.n_queries:,}"
            table.setItem(row, len(METRIC_COLUMNS) + 1, QTableWidgetItem(q))
            if m is not None and m.n_queries < m.n_gallery - 1 and not np.isfinite(m.map):
                notes.append(f"{name}: a seeded sample of {m.n_queries:,} queries, mAP skipped")
            failed = self._metrics_failed.get(name)
            if (
                m is None
                and failed is not None
                and name in self.ws.codes
                and failed[0] == self._metrics_key(name)
            ):
                notes.append(f"No figures for {name}: {failed[1]}")
                for c in range(1, len(METRIC_COLUMNS) + 1):
                    table.item(row, c).setText("–")
        if ds is None:
            self.metrics.note.setText("No data set open.")
        elif not ds.has_labels:
            self.metrics.note.setText("This data set has no class labels, so retrieval cannot be scored.")
        elif not self._pending_metrics():
            self.metrics.note.setText(
                "; ".join(notes) or f"{ds.count:,} items · {self.metric_box.currentText()} · k-NN vote of 5"
            )
        # worst-query chooser follows the shown models
        combo = self.metrics.worst_combo
        current = combo.currentText()
        combo.blockSignals(True)
        combo.clear()
        combo.addItems(names)
        if current in names:
            combo.setCurrentText(current)
        combo.blockSignals(False)
        self._show_worst()

    def _show_worst(self) -> None:
        lst = self.metrics.worst
        lst.clear()
        name = self.metrics.worst_combo.currentText()
        m = self.metrics_of(name) if name else None
        ds = self.ws.dataset
        if m is None or ds is None or not ds.has_images:
            return
        by = "ap" if np.isfinite(m.map) else "map_at_r"
        values = dict(zip(m.per_query["index"].tolist(), m.per_query[by].tolist()))
        thumbs = self.ctx.services.get("thumbnails")
        for i in m.worst_queries(24, by=by).tolist():
            pix = thumbs.get(ds, i, 48) if thumbs is not None else to_pixmap(ds.images[i], 48)
            cls = ds.label_name(i)
            item = QListWidgetItem(
                marked_tile(pix, None, 48), f"#{i}\n{'AP' if by == 'ap' else 'MAP@R'} {values[i]:.2f}"
            )
            item.setData(INDEX_ROLE, int(i))
            what = "average precision" if by == "ap" else "MAP@R"
            item.setToolTip(
                f"item #{i}"
                + (f", class {cls}" if cls else "")
                + f": {what} {values[i]:.3f}\nclick to make it the query"
            )
            lst.addItem(item)


_LEGEND = (
    f"<br><span style='color:{GOOD.name()}'>✓ green</span>: same class as the query · "
    f"<span style='color:{BAD.name()}'>✗ red</span>: another class · d: distance in the "
    "column's code space · click a result to make it the query"
)


def _per_class_text(name: str, m: RetrievalMetrics, ds) -> str:
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


def _same_entry(a, b) -> bool:
    if a is None or b is None or a[0] != b[0]:
        return False
    if a[0] == "index":
        return a[1] == b[1]
    return a[1] is b[1] or (a[1].shape == b[1].shape and np.array_equal(a[1], b[1]))
