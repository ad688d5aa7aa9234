"""The lower tabs of the relational view: the factor filter pairs, and the mapping codes of many
pairs of the open data laid out in 2-D (PCA at once, then t-SNE as it forms, in a worker),
coloured by the true transformation or, for a folder of sequences, by sequence (named in a legend
as the scatter names classes; the colour scale had numbered them 0..23)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QScrollArea, QTabWidget, QVBoxLayout, QWidget

from explorer.jobs.relational import mapping_layout_job
from explorer.jobs.scatter.colours import GREY, class_palette
from explorer.ui.class_legend import ClassLegend
from explorer.ui.imaging import to_pixmap
from explorer.ui.plots import PlotWidget
from explorer.ui.workers import TaskRunner


FILTER_NOTE = (
    "Factor filter pairs (U beside V, strongest first; grey = 0). "
    "Shifts give Fourier-like pairs in quadrature."
)
BASIS_NOTE = (
    "No factor filters: this model computes the change of an image with a small net. Each image of "
    "the open data beside its first basis image of change (how it moves per unit of z_1; grey = 0)."
)


class CodeTabs(QTabWidget):
    """ "Filter pairs" and "Mapping codes". :meth:`show_model` sets what they show; the layout is
    made only while its tab is shown and out of date (it costs a t-SNE)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.model = None
        self.data = None
        self.filter_grid: np.ndarray | None = None
        self.filter_label = QLabel()
        self.filter_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        scroll = QScrollArea()
        scroll.setWidget(self.filter_label)
        scroll.setWidgetResizable(True)
        filt = QWidget()
        fl = QVBoxLayout(filt)
        self.filter_note = QLabel(FILTER_NOTE)
        self.filter_note.setWordWrap(True)
        fl.addWidget(self.filter_note)
        fl.addWidget(scroll, 1)
        self.addTab(filt, "Filter pairs")
        lay = QWidget()
        ll = QVBoxLayout(lay)
        self.layout_note = QLabel("")
        ll.addWidget(self.layout_note)
        self.code_plot = PlotWidget(background="w")
        self.code_plot.setLabel("bottom", "layout x")
        self.code_plot.setLabel("left", "layout y")
        self.code_scatter = pg.ScatterPlotItem(size=6, pen=None, pxMode=True)
        self.code_plot.addItem(self.code_scatter)
        self.colour_bar = pg.ColorBarItem(
            values=(0, 1), colorMap=pg.colormap.get("CET-C6"), interactive=False, width=12
        )
        self.colour_bar.setImageItem(pg.ImageItem(), insert_in=self.code_plot.getPlotItem())
        # sequences (or classes) by name, as the scatter's legend shows them; a click hides one
        self.legend = ClassLegend()
        self.legend.setVisible(False)
        self.legend.class_toggled.connect(self._on_class_toggled)
        self.hidden: set[int] = set()
        row = QHBoxLayout()
        row.addWidget(self.code_plot, 1)
        row.addWidget(self.legend)
        ll.addLayout(row, 1)
        self.addTab(lay, "Mapping codes")
        self.layout_payload: dict | None = None
        self._layout_tag = None  # what the shown layout was made from
        self.runner = TaskRunner(self)
        self.runner.partial.connect(self._on_layout_partial)
        self.runner.done.connect(self._on_layout_done)
        self.runner.failed.connect(self._on_layout_failed)
        self.currentChanged.connect(lambda _: self.layout_if_shown())

    def show_model(self, model, data, filters: bool = True) -> None:
        """Show ``model``'s filters and, when its tab is up, the mapping codes of ``data``
        (the open data set when it fits the model, else None: generated pairs)."""
        self.model, self.data = model, data
        if filters:
            self._show_filters()
        self.layout_if_shown()

    def _show_filters(self) -> None:
        from explorer.models.gae import filter_pairs
        from explorer.relational.engine import filter_grid

        if hasattr(self.model, "basis_pairs"):  # a change-basis model (bgae): no factor filters
            self.filter_note.setText(BASIS_NOTE)
            if self.data is None or not self.data.count:
                self.filter_label.setText("(open a data set the model fits to see its basis images)")
                return
            idx = np.linspace(0, self.data.count - 1, min(16, self.data.count)).astype(int)
            u, v = self.model.basis_pairs(self.data.float_images(idx))
        else:
            self.filter_note.setText(FILTER_NOTE)
            u, v = filter_pairs(self.model)
        self.filter_grid = filter_grid(u, v, count=min(96, len(u)), columns=8)
        scale = max(1, int((1100 if hasattr(self.model, "basis_pairs") else 900) / self.filter_grid.shape[2]))
        h, w = self.filter_grid.shape[1:]
        self.filter_label.setPixmap(to_pixmap(self.filter_grid, max(h, w) * scale))

    def layout_if_shown(self) -> None:
        if self.currentIndex() == 1 and self.model is not None:
            if self._layout_tag != (id(self.model), id(self.data)):
                self.start_layout()

    def start_layout(self) -> None:
        if self.model is None:
            return
        model, data = self.model, self.data
        tag = (id(model), id(data))
        self._layout_tag = tag

        def job():
            return mapping_layout_job(model, data)

        self.layout_note.setText("computing the mapping codes of many pairs ...")
        self.runner.start(job, tag=tag)

    def _on_layout_partial(self, tag, record) -> None:
        payload = record.payload
        if isinstance(payload, dict) and "layout" in payload:
            self._show_layout(payload)

    def _on_layout_done(self, tag, result) -> None:
        if result is not None:
            self._show_layout(result)

    def _on_layout_failed(self, tag, message) -> None:
        self.layout_note.setText(f"layout failed: {message}")

    def _show_layout(self, payload: dict) -> None:
        new_names = payload.get("colour_names") != (self.layout_payload or {}).get("colour_names")
        self.layout_payload = payload
        xy = payload["layout"]
        values, label, names = payload["colour"], payload["colour_label"], payload.get("colour_names")
        if names is not None:  # categories: a colour and a name each, no colour scale
            if new_names:
                self.hidden = set()
                self.legend.fill(names, hidden=self.hidden)
            pal = np.vstack([class_palette(max(len(names), 1)), np.array(GREY, np.uint8)[None]])
            k = np.asarray(values).astype(np.int64)
            shown = np.flatnonzero(~np.isin(k, list(self.hidden)))
            colours = pal[np.where((k >= 0) & (k < len(names)), k, len(names))[shown]]
            brushes = [pg.mkBrush(*map(int, c)) for c in colours]
        else:
            shown = np.arange(len(xy))
            lo, hi = float(np.min(values)), float(np.max(values))
            cmap = pg.colormap.get("CET-C6" if "direction" in label or "angle" in label else "viridis")
            norm = (values - lo) / max(hi - lo, 1e-9)
            brushes = [pg.mkBrush(c) for c in cmap.map(norm, mode="qcolor")]
            self.colour_bar.setColorMap(cmap)
            self.colour_bar.setLevels((lo, hi))
            self.colour_bar.axis.setLabel(label)
        self.legend.setVisible(names is not None)
        self.colour_bar.setVisible(names is None)
        self.code_scatter.setData(pos=xy[shown], brush=brushes, data=shown)
        self.code_plot.setTitle(
            f"{payload['method']} of the mapping units of {len(xy)} pairs "
            f"({payload['source']}), coloured by {label}",
            color="k",
            size="9pt",
        )
        self.layout_note.setText(payload.get("note", ""))
        self.code_plot.enableAutoRange()

    def _on_class_toggled(self, k: int, visible: bool) -> None:
        self.hidden = self.hidden - {k} if visible else self.hidden | {k}
        if self.layout_payload is not None:
            self._show_layout(self.layout_payload)
