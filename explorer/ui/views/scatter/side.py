"""One plot panel of the scatter view: its model, the rows it draws and the job that makes them."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QTimer

from explorer.ui.imaging import to_pixmap
from explorer.ui.scatter_plot import ScatterPanel
from explorer.ui.workers import TaskRunner


class PanelSide:
    """What one plot panel shows: its model, the rows it draws and the job that makes them."""

    def __init__(self, panel: ScatterPanel, runner: TaskRunner) -> None:
        self.panel = panel
        self.runner = runner
        self.model: str | None = None
        self.items: np.ndarray | None = None  # data set index of each row (None: row i is item i)
        self.layout: np.ndarray | None = None
        # (mean, per point (N,), landmark layout's mean or NaN, points measured), once measured
        self.faith: tuple | None = None
        self.tag = None
        self.shown_tag = None  # the tag of the layout on screen (partial or final)
        self.follow = True  # keep the whole layout in view while it forms
        self.glide_timer = QTimer()
        self.glide_timer.setInterval(30)
        self.glide_from: np.ndarray | None = None
        self.glide_step = 0
        self.glide_steps = 0  # steps of the glide under way (the live budget's choice)
        self.glide_cpu0 = 0.0  # the GUI thread's CPU clock when it started

    def rows_of(self, indices: np.ndarray) -> np.ndarray:
        """Rows of this panel showing data set items ``indices`` (sorted: the workspace's
        selection, or one item)."""
        if self.items is None:
            n = 0 if self.layout is None else len(self.layout)
            if len(indices) == 0 or (indices[0] >= 0 and indices[-1] < n):  # (sorted: its ends)
                return indices  # all on this panel (a lasso of 5 * 10^6: no mask and copy)
            return indices[(indices >= 0) & (indices < n)]
        return np.flatnonzero(np.isin(self.items, indices))

    def item_of(self, row: int) -> int:
        return int(row if self.items is None else self.items[row])

    def describe(self, row: int, dataset, thumbnails, size: int):
        """The hover card of ``row``: (its thumbnail, ``size`` px, or None; "#item · class")."""
        item = self.item_of(row)
        ds = dataset
        pixmap = None
        if ds is not None and ds.has_images and 0 <= item < ds.count:
            pixmap = (
                thumbnails.get(ds, item, size)
                if thumbnails is not None and ds.file_backed
                else to_pixmap(ds.float_images([item])[0], size)
            )
        name = ds.label_name(item) if ds is not None and 0 <= item < ds.count else ""
        return pixmap, f"#{item}" + (f" · {name}" if name else "")

    def items_of(self, rows: np.ndarray) -> np.ndarray:
        """Data set items shown by ``rows``."""
        return rows if self.items is None else self.items[rows]
