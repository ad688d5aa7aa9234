"""The retrieval view itself: wires the workspace to the query slot, the columns and the metrics."""

from __future__ import annotations

import html
import os

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from explorer.core.errors import ExplorerError
from explorer.core.workspace import PIXELS
from explorer.data.documents import document_snippet, is_documents
from explorer.jobs.retrieval import encode_query_job
from explorer.retrieval import RetrievalMetrics
from explorer.ui.context import AppContext
from explorer.ui.imaging import to_pixmap
from explorer.ui.views.retrieval.bar import QueryBar
from explorer.ui.views.retrieval.indexes import HAMMING, ColumnIndexes
from explorer.ui.views.retrieval.results import fill_column
from explorer.ui.views.retrieval.scoring import MetricsWiring
from explorer.ui.views.retrieval.widgets import (
    BAD,
    GOOD,
    NONE,
    QUERY_THUMB,
    MetricsPanel,
    ResultColumn,
    load_query_image,
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
        self.indexes = ColumnIndexes(self)  # exact, FAISS or Hamming search per shown column
        self.indexes.changed.connect(self.refresh)
        self._query_token = 0  # changes with every external query image
        self._coded_image: np.ndarray | None = None  # the external image _query_codes belong to
        self.query_codes: dict[str, np.ndarray] = {}  # name -> code of the external query image
        self._query_label: int | None = None  # class of an external image found in the data set
        self._encoder = TaskRunner(self)
        self._encoder.done.connect(self._on_query_encoded)
        self._encoder.failed.connect(self._on_query_encode_failed)

        bar = QueryBar()  # the query slot, its text and the controls
        for attr in QueryBar.PARTS:
            setattr(self, attr, getattr(bar, attr))

        # result columns
        self.columns = [ResultColumn("Model"), ResultColumn("Pixels"), ResultColumn("Second model")]
        self.binary_column = ResultColumn("Binary codes")  # Hamming search over a binary model's bits
        self.binary_column.combo.setToolTip("A model with binary codes (binae), searched by Hamming distance")
        grid = self.column_row = QHBoxLayout()
        grid.setSpacing(8)
        for col in (*self.columns, self.binary_column):
            grid.addWidget(col, 1)
            col.model_chosen.connect(self._on_columns_changed)
            col.result_clicked.connect(self._on_result_clicked)
            col.filled_changed.connect(self._share_width)
        top = QWidget()
        top_lay = QVBoxLayout(top)
        top_lay.setContentsMargins(4, 4, 4, 4)
        top_lay.addWidget(bar)
        top_lay.addLayout(grid, 1)

        self.metrics = MetricsPanel()
        self.metrics.query_clicked.connect(self._on_result_clicked)
        self.scoring = MetricsWiring(self, self.metrics)
        self.scoring.figures_changed.connect(self.refresh)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(top)
        split.addWidget(self.metrics)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 1)
        split.setSizes([640, 260])
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(split)

        self._share_width()
        self.back_button.clicked.connect(self.go_back)
        self.forward_button.clicked.connect(self.go_forward)
        self.open_button.clicked.connect(self._on_open_image)
        self.k_spin.valueChanged.connect(lambda _v: self.refresh())
        self.metric_box.currentIndexChanged.connect(self._on_metric_changed)
        self.query_slot.index_dropped.connect(lambda i: self._set_query_index(i))
        self.query_slot.file_dropped.connect(self.query_from_file)
        self.query_slot.image_dropped.connect(self._on_image_dropped)
        ctx.qws.connect_view(self, current_model="models")
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
        """The models of the three float columns (the binary column: ``binary_model``)."""
        return [c.model for c in self.columns]

    def binary_model(self) -> str | None:
        return self.binary_column.model

    def set_binary_model(self, name: str | None) -> None:
        """Show the binary codes of ``name`` (None: nothing) in the binary column."""
        self.binary_column.combo.setCurrentText(name if name else NONE)
        self.binary_column.user_chose = True
        self._on_columns_changed()

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

    def _share_width(self, *_args) -> None:
        """Columns with results take the width; a column that only says why it is empty ("Choose a
        second model", "No binary codes") takes a third of one (at 1280x800 the two empty ones held
        half the row while the results showed two thumbnails a line)."""
        for i, col in enumerate((*self.columns, self.binary_column)):
            self.column_row.setStretch(i, 3 if col.filled else 1)

    def go_back(self) -> None:
        if self._pos > 0:
            self._pos -= 1
            self._restore(self._history[self._pos])

    def go_forward(self) -> None:
        if self._pos < len(self._history) - 1:
            self._pos += 1
            self._restore(self._history[self._pos])

    def busy(self) -> bool:
        return self.scoring.busy() or self._encoder.is_running() or self.indexes.building()

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
            index = self.indexes.get(name, ws.codes[name], self.metric)
            if index is None:  # a FAISS index is still being built
                return 0
            idx, _ = index.search(ws.codes[name][q], self.k, exclude=q)
            hits.append((ds.labels[idx] == ds.labels[q][:, None]).sum(1))
        return int(q[np.argmax(hits[0] - hits[1])])

    def shutdown(self) -> None:
        self._encoder.shutdown()
        self.scoring.shutdown()
        self.indexes.shutdown()

    def closeEvent(self, event) -> None:
        self.shutdown()
        super().closeEvent(event)

    # ---- workspace events -----------------------------------------------------------------------------
    def _on_dataset_changed(self) -> None:
        self.indexes.drop()
        self.scoring.clear()
        self.query_codes.clear()
        self._query_label = None
        self._coded_image = None
        self._history.clear()
        self._pos = -1
        self._encoder.cancel()
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
        self._update_binary_choices()
        self._on_columns_changed()

    def _update_binary_choices(self) -> None:
        """The binary column offers the models whose codes are all 0 or 1 (binae, textae binary)."""
        codes = self.ws.codes
        binary = [
            n for n in self._available() if n != PIXELS and n in codes and self.indexes.is_binary(n, codes[n])
        ]
        col = self.binary_column
        current = self.ws.current_model
        default = current if current in binary else (binary[0] if binary else None)
        col.set_choices(binary, col.model if col.user_chose and col.model in binary else default)

    def _on_codes_changed(self, model: str) -> None:
        self.indexes.drop(model)
        self.scoring.clear(model)
        combo = self.columns[0].combo
        if combo.findText(model) < 0:  # codes without an encoder (projector TSV) are choosable too
            self._on_models_changed()
        else:
            self._update_binary_choices()
            self._on_columns_changed()

    def _on_labels_changed(self, _indices=None) -> None:
        """Edited labels: new ticks now, and metrics again (their key holds the labels' identity)."""
        self.refresh()
        self.scoring.update()

    def _on_columns_changed(self) -> None:
        self._encode_external()
        self.refresh()
        self.scoring.update()

    def _on_metric_changed(self) -> None:
        self.refresh()
        self.scoring.update()

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
            self.query_codes.clear()
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
            for n in [*self.column_models(), self.binary_model()]
            if n and n not in self.query_codes and n in self.ws.models
        }
        if not todo:
            return
        self._encoder.start(lambda: encode_query_job(todo, image), tag=self._query_token)

    def _on_query_encoded(self, tag, codes: dict) -> None:
        if tag != self._query_token:
            return
        self.query_codes.update(codes)
        self._find_external_in_data()
        self.refresh()

    def _on_query_encode_failed(self, tag, message: str) -> None:
        if tag == self._query_token:
            self._say(f"Could not encode the query: {message}")

    def _find_external_in_data(self) -> None:
        """An external image identical to an item of the data set takes that item's class."""
        ds = self.ws.dataset
        code = self.query_codes.get(PIXELS)
        if self._query_label is not None or code is None or PIXELS not in self.ws.codes or ds is None:
            return
        index = self.indexes.get(PIXELS, self.ws.codes[PIXELS], "l2")
        if index is None:  # the pixel index is still being built
            return
        idx, dist = index.search(code, 1)
        if len(idx[0]) and dist[0, 0] <= 1e-4 and ds.labels is not None:
            self._query_label = int(ds.labels[idx[0, 0]])
            self._say(self.status.text() + f" · same as item #{int(idx[0, 0])}")

    def _update_query_slot(self) -> None:
        ws, ds = self.ws, self.ws.dataset
        self.back_button.setEnabled(self._pos > 0)
        self.forward_button.setEnabled(0 <= self._pos < len(self._history) - 1)
        docs = self.documents() and ws.query_index is not None
        image = ws.query_float_image()
        if docs:
            self.query_slot.show_text(document_snippet(ds, ws.query_index, 110))
        else:
            self.query_slot.show_pixmap(None if image is None else to_pixmap(image, QUERY_THUMB))
        one = self._group_word(ds)
        if ws.query_index is not None and ds is not None:
            name = ds.label_name(ws.query_index)
            parts = [f"<b>Query: item #{ws.query_index}</b>"]
            if name:
                parts.append(f"{one} <b>{name}</b>")
            if ds.paths is not None:
                parts.append(html.escape(os.path.basename(ds.paths[ws.query_index])))
            text = " · ".join(parts)
            if docs:
                text += f"<br><i>{html.escape(document_snippet(ds, ws.query_index, 400))}</i>"
            self.query_label.setText(text + _legend(one))
        elif ws.query_image is not None:
            self.query_label.setText(
                "<b>Query: an external image</b> (encoded by each column's model)" + _legend(one)
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
    def column_specs(self) -> list[tuple[str, str]]:
        """(model, metric) of every shown column: the float columns' distance, Hamming for the binary one."""
        specs = [(n, self.metric) for n in self.column_models() if n]
        if self.binary_column.model:
            specs.append((self.binary_column.model, HAMMING))
        return specs

    def query_ms(self, spec: tuple[str, str]) -> float | None:
        return self.indexes.last_ms.get(spec)

    def metric_text(self) -> str:
        return self.metric_box.currentText()

    def documents(self) -> bool:
        ds = self.ws.dataset
        return ds is not None and is_documents(ds)

    def _show_worst(self) -> None:
        self.scoring.show_worst()

    def metrics_of(self, name: str, metric: str | None = None) -> RetrievalMetrics | None:
        """Leave-one-out figures of ``name`` under ``metric`` (default: the view's distance)."""
        return self.scoring.of((name, metric or self.metric))

    def query_class(self) -> int | None:
        """The query's class: its label, or that of the item an external image equals."""
        ds, ws = self.ws.dataset, self.ws
        if ds is None or ds.labels is None:
            return None
        if ws.query_index is not None:
            label = int(ds.labels[ws.query_index])
            return label if label >= 0 else None
        return self._query_label

    def _group_word(self, ds) -> str:
        """ "sequence" when the open data is a folder of sequences (its items' labels name
        sequences: turning objects read "class obj_011" and "same class as the query"), else
        "class"; worked out once per data set."""
        if ds is None:
            return "class"
        if self._group_for[0]() is not ds:
            import weakref

            from explorer.data.pairs import group_word

            word = "sequence" if group_word(ds) == "sequences" else "class"
            self._group_for = (weakref.ref(ds), word)  # (not kept alive by this)
        return self._group_for[1]

    _group_for: tuple = (lambda: None, "class")

    def refresh(self) -> None:
        """Search every column for the current query and show the results."""
        self._update_query_slot()
        for col in self.columns:
            fill_column(self, col, col.model, self.metric)
        fill_column(self, self.binary_column, self.binary_column.model, HAMMING)
        self.scoring.fill_table()


def _legend(one: str = "class") -> str:
    """What the marks mean, for labels that are classes (or sequences: ``one``)."""
    return (
        f"<br><span style='color:{GOOD.name()}'>✓ green</span>: same {one} as the query · "
        f"<span style='color:{BAD.name()}'>✗ red</span>: another {one} · d: distance in the "
        "column's code space · click a result to make it the query"
    )


def _same_entry(a, b) -> bool:
    if a is None or b is None or a[0] != b[0]:
        return False
    if a[0] == "index":
        return a[1] == b[1]
    return a[1] is b[1] or (a[1].shape == b[1].shape and np.array_equal(a[1], b[1]))
