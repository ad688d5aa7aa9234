"""How the scatter view draws a panel: labels, hidden and searched classes, colours, emphasis and
draw order, the legend and the faithfulness readout. A mixin of
:class:`explorer.ui.views.scatter.view.View` (it uses the view's widgets and panels)."""

from __future__ import annotations

import weakref

import numpy as np

from explorer.jobs.scatter.colours import in_classes, point_colours
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
        ds = self.ws.dataset
        n = 0 if side.layout is None else len(side.layout)
        if ds is None or ds.labels is None:
            return np.full(n, -1, dtype=np.int64)
        labels = ds.labels if side.items is None else ds.labels[side.items]
        return labels[:n] if len(labels) >= n else np.full(n, -1, dtype=np.int64)

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
        xy = side.layout if xy is None else xy
        n = len(xy)
        labels = self._labels(side)
        # emphasis: the selection and the searched classes; the rest is dimmed while there is any
        emph = np.zeros(n, dtype=bool)
        sel_rows = side.rows_of(self.ws.selection) if len(self.ws.selection) else np.zeros(0, np.int64)
        emph[sel_rows] = True
        found = self._search_classes()
        if found:
            emph |= in_classes(labels, found)
        by_faith = self.colour_combo.currentIndex() == 1 and side.faith is not None
        colour_by, n_colours = labels, self._n_classes()
        if not by_faith and self.overlays.cluster_ids(side) is not None:
            colour_by, n_colours = self.overlays.colours()
        cidx, palette = point_colours(colour_by, n_colours, side.faith[1] if by_faith else None, emph)
        # drawn: the shown classes in row order, the emphasised ones on top (no order array: at
        # 10^7 points a new colouring is a pass over uint8 codes)
        allowed = self._allowed(side)
        side.panel.set_layout(xy, cidx, palette, None, allowed, ring_rows=sel_rows, on_top=emph)
        q = self.ws.query_index
        rows = side.rows_of(np.array([q])) if q is not None else []
        side.panel.set_marker(int(rows[0]) if len(rows) else None)

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
