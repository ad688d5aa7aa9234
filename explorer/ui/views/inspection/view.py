"""The inspection View: runs explorer.inspection on a model's codes and shows what it found."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStyle,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from explorer.core.progress import Progress
from explorer.ui.context import AppContext
from explorer.ui.imaging import to_pixmap
from explorer.ui.numbers import caption_number
from explorer.ui.views.inspection.panels import (
    DETAIL,
    NEIGHBOURS,
    THUMB,
    DuplicatesPanel,
    IssuePanel,
    OutliersPanel,
    fill_grid,
    grid_indices,
    mark_selected,
)
from explorer.ui.workers import TaskRunner

TITLE = "Inspect"
AREA = "center"
ORDER = 40
MAX_TILES = 400  # tiles per grid (the ranked lists go on; the CLI prints them whole)


def inspect_view_job(codes: np.ndarray, labels: np.ndarray | None, seed: int = 0, pixels=None):
    """Worker job: the whole inspection but clusters (the scatter draws those); near-duplicates
    in ``pixels`` (N, D') when given."""
    from explorer.inspection import inspect_job

    return (yield from inspect_job(codes, labels, clusters=False, seed=seed, duplicate_codes=pixels))


class View(QWidget):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.ws = ctx.workspace
        self.report = None  # explorer.inspection.InspectionReport of the shown model
        self.duplicates = None
        self._tag = None
        self.runner = TaskRunner(self, background=True)
        self.runner.partial.connect(self._on_partial)
        self.runner.done.connect(self._on_done)
        self.runner.failed.connect(self._on_failed)

        self.model_combo = QComboBox()
        self.model_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.model_combo.setMinimumContentsLength(14)
        self.run_button = QPushButton("Inspect")
        self.run_button.setToolTip("Find likely label mistakes, near-duplicates and outliers in these codes")
        self.pixels_check = QCheckBox("Duplicates in pixels")
        self.pixels_check.setChecked(True)
        self.pixels_check.setToolTip(
            "Look for near-duplicates in the raw pixels: a metric model maps a\n"
            "re-saved copy and any item of the same class alike"
        )
        self.status = QLabel("")
        # wraps: on one line the summary ("155 likely label mistakes, ... (near-duplicates searched
        # in pixels ...)") widened the view past a 1280-px window, the fix buttons off its edge
        self.status.setWordWrap(True)
        self.issues = IssuePanel()
        self.dups = DuplicatesPanel()
        self.outliers = OutliersPanel()
        self.tabs = QTabWidget()
        self.tabs.addTab(self.issues, "Label issues")
        self.tabs.addTab(self.dups, "Near-duplicates")
        self.tabs.addTab(self.outliers, "Outliers")
        top = QHBoxLayout()
        for w in (QLabel("Codes of"), self.model_combo, self.pixels_check, self.run_button):
            top.addWidget(w)
        top.addWidget(self.status, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(top)
        lay.addWidget(self.tabs, 1)

        self.run_button.clicked.connect(self.run)
        self.issues.picked.connect(self._on_issue_picked)
        self.issues.accept.connect(self.accept_label)
        self.issues.confirm.connect(self.confirm_label)
        self.dups.threshold_changed.connect(self.set_threshold)
        self.dups.picked.connect(self._on_duplicate_picked)
        self.outliers.picked.connect(lambda i: (self.ws.set_selection([i]), self.ws.set_query(i)))
        self.outliers.select_button.clicked.connect(
            lambda: self.ws.set_selection(grid_indices(self.outliers.grid))
        )
        q = ctx.qws
        q.dataset_changed.connect(self._on_dataset_changed)
        q.codes_changed.connect(lambda _m: self._fill_models())
        q.models_changed.connect(self._fill_models)
        q.selection_changed.connect(self._on_selection_changed)
        q.labels_changed.connect(self._on_labels_changed)
        self._on_dataset_changed()

    # ---- public surface -----------------------------------------------------------------------
    def model(self) -> str | None:
        return self.model_combo.currentText() or None

    def busy(self) -> bool:
        return self.runner.is_running()

    def run(self) -> None:
        """Inspect the chosen model's codes in the worker."""
        name = self.model()
        if name is None or name not in self.ws.codes or self.ws.dataset is None:
            self.status.setText("No codes yet: open a data set and load a model.")
            return
        ds = self.ws.dataset
        codes = self.ws.codes[name]
        labels = ds.labels if ds.has_labels else None
        pixels = self.ws.codes.get("pixels") if self.pixels_check.isChecked() and name != "pixels" else None
        self._tag = (name, id(codes), pixels is not None)
        self.status.setText("inspecting…")
        self.runner.start(lambda: inspect_view_job(codes, labels, pixels=pixels), tag=self._tag)

    def prepare_snapshot(self) -> None:
        if self.report is None and not self.runner.is_running():
            self.run()

    def issue_indices(self) -> list[int]:
        return grid_indices(self.issues.grid)

    def accept_label(self, index: int, name: str) -> None:
        """Give item ``index`` class ``name`` (every view follows through the workspace)."""
        self.ws.set_labels([index], [name])
        self._next_issue(index)

    def confirm_label(self, index: int) -> None:
        self.ws.mark_labels_correct([index])
        self._next_issue(index)

    def set_threshold(self, value: float) -> None:
        if self.report is None:
            return
        from explorer.inspection import find_duplicates

        self.duplicates = find_duplicates(self.report.graph, max(0.0, float(value)))
        self._show_duplicates()

    def shutdown(self) -> None:
        self.runner.shutdown()

    # ---- workspace events ----------------------------------------------------------------------
    def _on_dataset_changed(self) -> None:
        self.runner.cancel()
        self.report, self.duplicates, self._tag = None, None, None
        for grid in (self.issues.grid, self.dups.grid, self.outliers.grid, self.issues.neighbours):
            grid.clear()
        self.status.setText("")
        self._fill_models()

    def _fill_models(self) -> None:
        current = self.model_combo.currentText() or self.ws.current_model
        names = list(self.ws.codes)
        self.model_combo.blockSignals(True)
        self.model_combo.clear()
        self.model_combo.addItems(names)
        if current in names:
            self.model_combo.setCurrentText(current)
        self.model_combo.blockSignals(False)
        self.run_button.setEnabled(bool(names))

    def _on_selection_changed(self) -> None:
        sel = set(self.ws.selection.tolist())
        for grid in (self.issues.grid, self.dups.grid, self.outliers.grid):
            mark_selected(grid, sel)

    def _on_labels_changed(self, indices) -> None:
        if self.report is not None:
            self._show_issues()
            if self.issues.current is not None:
                self._on_issue_picked(self.issues.current, select=False)

    # ---- results ---------------------------------------------------------------------------------
    def _on_partial(self, tag, rec: Progress) -> None:
        if tag == self._tag:
            frac = f" {100 * rec.fraction:.0f}%" if rec.total else ""
            self.status.setText(f"{rec.message}{frac}")

    def _on_failed(self, tag, message: str) -> None:
        if tag == self._tag:
            self.status.setText("failed")
            self.ctx.show_error(message)

    def _on_done(self, tag, report) -> None:
        if tag != self._tag:
            return
        self.report, self.duplicates = report, report.duplicates
        issues = report.label_issues
        n_issues = 0 if issues is None else int(issues.confident.sum())
        # the grid also lists the items whose neighbours vote against their label without the
        # confident rule's margin: the count says so (it said 11 over a grid of dozens)
        n_doubted = 0 if issues is None else int(((issues.score > 0) & ~issues.confident).sum())
        doubted = f" (+{n_doubted} doubted by their neighbours)" if n_doubted else ""
        note = f" ({report.notes[0]})" if report.notes else ""
        self.status.setText(
            f"{n_issues} likely label mistakes{doubted}, {len(report.duplicates.groups)} "
            f"duplicate groups, {len(report.outliers.index)} outliers{note}"
        )
        self._show_issues()
        self._show_duplicates()
        self._show_outliers()

    # ---- drawing --------------------------------------------------------------------------------
    def _pix(self, index: int, size: int):
        ds = self.ws.dataset
        thumbs = self.ctx.services.get("thumbnails")
        if thumbs is not None:
            return thumbs.get(ds, index, size)
        return to_pixmap(ds.float_images([index])[0], size)

    def _name(self, k: int) -> str:
        ds = self.ws.dataset
        return ds.class_names[k] if 0 <= k < len(ds.class_names) else str(k)

    def _open_issues(self) -> list[int]:
        """Rows of the report's ranking still to look at: flagged or voted against, and neither
        relabelled nor confirmed since."""
        issues = self.report.label_issues
        if issues is None:
            return []
        reviewed = set(self.ws.labels_reviewed().tolist())
        keep = (issues.score > 0) | issues.confident
        return [r for r in np.flatnonzero(keep).tolist() if int(issues.index[r]) not in reviewed]

    def _show_issues(self) -> None:
        issues = self.report.label_issues
        if issues is None:
            fill_grid(self.issues.grid, [])
            self.issues.facts.setText("This data set has no labels to check.")
            return
        ds = self.ws.dataset
        grid = self.issues.grid
        margin = grid.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, grid) + 1
        metrics, width = grid.fontMetrics(), grid.gridSize().width() - 2 * margin  # a tile's text
        fit = lambda line: metrics.elidedText(line, Qt.TextElideMode.ElideRight, width)  # noqa: E731
        tiles = []
        for r in self._open_issues()[:MAX_TILES]:
            i = int(issues.index[r])
            now, sugg = int(ds.labels[i]), int(issues.suggested[r])
            tiles.append(
                (
                    i,
                    self._pix(i, THUMB),
                    # the suggestion on a line of its own: "astronaut→cat" on one was cut to
                    # "astronaut…"; each line elided here (wrapped, "#8 astronaut" took both)
                    "\n".join(fit(line) for line in (f"#{i} {self._name(now)}", f"→ {self._name(sugg)}")),
                    f"item #{i}: labelled {self._name(now)}, its neighbours say "
                    f"{self._name(sugg)} (score {issues.score[r]:.2f})",
                )
            )
        fill_grid(self.issues.grid, tiles)
        mark_selected(self.issues.grid, set(self.ws.selection.tolist()))
        shown = [t[0] for t in tiles]
        if self.issues.current not in shown:  # the panel beside the list is never left empty
            if shown:
                self._on_issue_picked(shown[0], select=False)  # the worst first, not selected
            else:
                self.issues.current = None
                self.issues.item_label.hide()
                self.issues.set_enabled(False)
                self.issues.facts.setText("No label issues left to look at.")

    def _on_issue_picked(self, index: int, select: bool = True) -> None:
        """Show item ``index`` with its neighbours; make it the selection and the query."""
        if self.report is None:
            return
        ds, graph, issues = self.ws.dataset, self.report.graph, self.report.label_issues
        rows = np.flatnonzero(issues.index == index) if issues is not None else []
        suggested, score = "", None
        if len(rows):
            suggested, score = self._name(int(issues.suggested[rows[0]])), float(issues.score[rows[0]])
        label = (
            self._name(int(ds.labels[index])) if ds.labels is not None and ds.labels[index] >= 0 else "none"
        )
        facts = f"<b>#{index}</b><br>label: <b>{label}</b>"
        if suggested:
            facts += f"<br>neighbours vote: <b>{suggested}</b> (score {score:.2f})"
        if self.ws.label_edits is not None and self.ws.label_edits.is_correct(index):
            facts += "<br><i>marked correct</i>"
        neigh = []
        q = np.flatnonzero(graph.queries == index)
        if len(q):
            for j, d in zip(
                graph.indices[q[0], :NEIGHBOURS].tolist(), graph.distances[q[0], :NEIGHBOURS].tolist()
            ):
                name = self._name(int(ds.labels[j])) if ds.labels is not None and ds.labels[j] >= 0 else "?"
                neigh.append(
                    (j, self._pix(j, THUMB - 8), f"{name}\nd {caption_number(d)}", f"item #{j}, class {name}")
                )
        self.issues.show_item(index, self._pix(index, DETAIL), facts, suggested, neigh)
        if select:
            self.ws.set_selection([index])
            self.ws.set_query(index)

    def _next_issue(self, done: int) -> None:
        """After a fix: the next open issue is shown (the grid has already dropped ``done``)."""
        rest = self.issue_indices()
        if rest:
            self._on_issue_picked(rest[0])

    def _show_duplicates(self) -> None:
        dups = self.duplicates
        counts, edges = dups.histogram
        self.dups.set_histogram(counts, edges, dups.threshold)
        tiles = []
        for g, group in enumerate(dups.groups):
            if len(tiles) >= MAX_TILES:
                break
            for i in group.members.tolist():
                tiles.append(
                    (
                        i,
                        self._pix(i, THUMB),
                        f"group {g + 1}\n#{i}",
                        f"item #{i}, group {g + 1} of {len(group.members)} items "
                        f"(closest pair {float(group.distances.min()):.3g})",
                    )
                )
        fill_grid(self.dups.grid, tiles)
        self.dups.info.setText(
            f"{len(dups.groups)} groups ({len(dups.items)} items) closer than "
            f"{dups.threshold:.3g}: drag the red line to change the threshold"
        )

    def _on_duplicate_picked(self, index: int) -> None:
        for group in self.duplicates.groups:
            if index in group.members:
                self.ws.set_selection(group.members)
                break
        self.ws.set_query(index)

    def _show_outliers(self) -> None:
        out = self.report.outliers
        tiles = [
            (
                int(i),
                self._pix(int(i), THUMB),
                f"#{int(i)}\n{s:.3g}",
                f"item #{int(i)}: mean distance {s:.4g} to its nearest neighbours",
            )
            for i, s in zip(out.index[:MAX_TILES], out.score[:MAX_TILES])
        ]
        fill_grid(self.outliers.grid, tiles)
        self.outliers.info.setText(
            f"The {len(tiles)} most isolated items (mean distance to their "
            f"{min(10, self.report.graph.k)} nearest neighbours)"
        )

    def closeEvent(self, event) -> None:
        self.runner.shutdown()
        super().closeEvent(event)
