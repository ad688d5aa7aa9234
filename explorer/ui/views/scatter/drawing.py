"""How the scatter view draws a panel: labels, hidden and searched classes, colours, emphasis and
draw order, the legend and the faithfulness readout. A mixin of
:class:`explorer.ui.views.scatter.view.View` (it uses the view's widgets and panels)."""

from __future__ import annotations

import weakref

import numpy as np

from explorer.jobs.scatter.colours import cell_class_codes, cell_labels, in_classes, point_colours
from explorer.jobs.scatter.index import grid_for
from explorer.ui.scatter_render import RASTER_ABOVE
from explorer.ui.views.scatter.side import PanelSide


FAITH_TIP = (
    "Faithfulness: the share of each point's 10 nearest neighbours in code space that are also\n"
    "its 10 nearest in the plot (1 = neighbourhoods kept exactly)."
)


class Drawing:
    """The view's drawing methods (see the module docstring)."""

    def _show_faith(self) -> None:
        """The readout: each shown panel's 10-NN kept, and its landmark layout's on the landmark
        path; the tooltip says how many points were measured."""
        parts, notes = [], []
        for side in self.sides:
            if side.panel.isVisible() and side.faith is not None:
                mean, per_point, landmark, measured = side.faith
                parts.append(
                    f"{mean:.2f}" + (f" (landmarks {landmark:.2f})" if np.isfinite(landmark) else "")
                )
                n = len(per_point)
                if measured and measured < n:
                    notes.append(f"measured on a seeded sample of {measured:,} of {n:,} points")
        text = "10-NN kept: " + (" | ".join(parts) if parts else "–")
        if self.colour_combo.currentIndex() == 1:
            text += "  (colour: red 0 → green 1)"
        self.faith_label.setText(text)
        tip = FAITH_TIP
        if any("landmarks" in p for p in parts):
            tip += "\n(landmarks x): the same for the landmark layout, before the other points were placed."
        if notes:
            tip += "\n" + "; ".join(dict.fromkeys(notes)) + "."
        self.faith_label.setToolTip(tip)

    # ---- drawing ------------------------------------------------------------------------
    def _labels(self, side: PanelSide) -> np.ndarray:
        """(N,) the label of each row of ``side``'s layout (-1: none): the same array object
        while the data set's labels, the side's items and the layout's length stay (so what is
        made from it once, the labels in cell order, is found again)."""
        ds = self.ws.dataset
        n = 0 if side.layout is None else len(side.layout)
        if ds is None or ds.labels is None:
            return np.full(n, -1, dtype=np.int64)
        held = getattr(side, "_row_labels", None)
        if held is not None and held[0]() is ds.labels and held[1] is side.items and held[2] == n:
            return held[3]
        labels = ds.labels if side.items is None else ds.labels[side.items]
        labels = labels[:n] if len(labels) >= n else np.full(n, -1, dtype=np.int64)
        side._row_labels = (weakref.ref(ds.labels), side.items, n, labels)
        return labels

    def _n_classes(self) -> int:
        """Classes of the data set: its names, or more if a label is past them. The labels' maximum
        is taken once per labels array (at 10^7 labels it cost 20-40 ms CPU a redraw)."""
        ds = self.ws.dataset
        if ds is None or ds.labels is None:
            return 0
        labels = ds.labels  # (an edit of labels makes a new array: Workspace.set_labels)
        held = getattr(self, "_label_max", None)
        if held is None or held[0]() is not labels or held[1] != len(labels):
            held = (weakref.ref(labels), len(labels), int(labels.max()) if len(labels) else -1)
            self._label_max = held
        return max(len(ds.class_names), held[2] + 1)

    def _allowed(self, side: PanelSide) -> np.ndarray | None:
        """(N,) bool: the rows of shown classes; None while no class is hidden (every row: no
        10^7-row mask to make and test at each redraw and lasso)."""
        if not self.state.hidden:
            return None
        return ~in_classes(self._labels(side), self.state.hidden)

    def _search_classes(self) -> set[int]:
        text = self.search_edit.text().strip().lower()
        ds = self.ws.dataset
        if not text or ds is None:
            return set()
        names = list(ds.class_names) or [str(k) for k in range(self._n_classes())]
        exact = {k for k, name in enumerate(names) if str(name).lower() == text}
        if exact:  # "obj1" is that class, not obj10-obj19 as well
            return exact
        return {k for k, name in enumerate(names) if text in str(name).lower()}

    def _redraw(self) -> None:
        for side in self.sides:
            if side.layout is not None:
                self._draw(side)
        self.legend.mark(self._search_classes())

    def _draw(self, side: PanelSide, xy: np.ndarray | None = None) -> None:
        """Draw ``side``'s layout (or ``xy``, an in-between frame of a glide)."""
        glide = xy is not None and xy is not side.layout
        xy = side.layout if xy is None else xy
        n = len(xy)
        labels = self._labels(side)
        by_faith = self.colour_combo.currentIndex() == 1 and side.faith is not None
        if n > RASTER_ABOVE and not glide and not by_faith and self.overlays.cluster_ids(side) is None:
            self._draw_in_cell_order(side, xy, labels)
            return
        # emphasis: the selection and the searched classes; the rest is dimmed while there is any
        emph = np.zeros(n, dtype=bool)
        sel_rows = side.rows_of(self.ws.selection) if len(self.ws.selection) else np.zeros(0, np.int64)
        emph[sel_rows] = True
        found = self._search_classes()
        if found:
            emph |= in_classes(labels, found)
        colour_by, n_colours = labels, self._n_classes()
        if not by_faith and self.overlays.cluster_ids(side) is not None:
            colour_by, n_colours = self.overlays.colours()
        cidx, palette = point_colours(colour_by, n_colours, side.faith[1] if by_faith else None, emph)
        # drawn: the shown classes in row order, the emphasised ones on top (no order array: at
        # 10^7 points a new colouring is a pass over uint8 codes)
        allowed = self._allowed(side)
        side.panel.set_layout(xy, cidx, palette, None, allowed, ring_rows=sel_rows, on_top=emph)
        self._draw_marker(side)

    def _draw_marker(self, side: PanelSide) -> None:
        q = self.ws.query_index
        rows = side.rows_of(np.array([q])) if q is not None else []
        side.panel.set_marker(int(rows[0]) if len(rows) else None)

    def _draw_in_cell_order(self, side: PanelSide, xy: np.ndarray, labels: np.ndarray) -> None:
        """_draw of a layout drawn as an image (over RASTER_ABOVE points), coloured by class: the
        codes are made in the grid's cell order from the labels in cell order (made once per
        layout and labels), so a new selection or search costs one pass over 10^7 codes, not a
        permutation of them. A selection that is the panel's last lasso or box takes its mask in
        cell order from the index (:meth:`PointIndex.cell_mask`); another is put in cell order."""
        grid = grid_for(xy)
        k = self._n_classes()
        slabels = cell_labels(grid, labels, k)
        sel_rows = side.rows_of(self.ws.selection) if len(self.ws.selection) else np.zeros(0, np.int64)
        emph, ignore = None, frozenset()
        if len(sel_rows):
            emph, ignore = self._lasso_mask(side, grid, sel_rows)
            if emph is None:
                rows_mask = np.zeros(len(xy), dtype=bool)
                rows_mask[sel_rows] = True
                emph = grid.to_cell_order(rows_mask)
        found = self._search_classes()
        codes, palette = cell_class_codes(slabels, k, emph, found, self.state.hidden, ignore)
        top = codes < len(palette) // 2 if (emph is not None or found) else None  # the undimmed
        allowed = self._allowed(side)
        side.panel.set_layout(
            xy, codes, palette, None, allowed, ring_rows=sel_rows, on_top=top, in_cell_order=True
        )
        self._draw_marker(side)

    def _lasso_mask(self, side: PanelSide, grid, sel_rows: np.ndarray):
        """(the points inside the panel's last lasso or box in cell order, the classes that were
        hidden then: their points were not selected), or (None, ()) when ``sel_rows`` are not
        what it returned (or the labels changed since)."""
        index = side.panel.held_index()
        hint = getattr(side, "lasso_hint", None)
        if index is None or index.grid is not grid or hint is None or hint[0] is not index.last_rows():
            return None, frozenset()
        _, hidden, labels_ref = hint
        ds = self.ws.dataset
        if hidden and (ds is None or labels_ref is None or labels_ref() is not ds.labels):
            return None, frozenset()
        return index.cell_mask(sel_rows), hidden

    # ---- legend -------------------------------------------------------------------------
    def _fill_legend(self) -> None:
        ds = self.ws.dataset
        k = self._n_classes()
        self.legend.fill(
            [ds.class_names[i] if i < len(ds.class_names) else str(i) for i in range(k)],
            hidden=self.state.hidden,
        )

    def _on_class_toggled(self, k: int, visible: bool) -> None:
        hidden = self.state.hidden - {k} if visible else self.state.hidden | {k}
        self._sync_state(hidden=hidden)
        self._redraw()

    def set_class_visible(self, k: int, visible: bool) -> None:
        self.legend.set_class_visible(k, visible)
