"""The inspection view fits its tab in a 1280x800 window (seen on a photo folder: the one-line
summary with its note widened the view past the window, the label fixes cut off at its edge)."""

import numpy as np

from explorer.ui.context import AppContext


def _inspected(qtbot, ctx, before_run=None):
    """The inspection view of ``ctx`` at 950x690, run on its codes until the report is in."""
    from explorer.ui.views.inspection import View

    view = View(ctx)
    qtbot.addWidget(view)
    view.resize(950, 690)  # the view's tab beside the data dock
    view.show()
    if before_run is not None:
        before_run(view)
    view.run()
    qtbot.waitUntil(lambda: view.report is not None and not view.runner.is_running(), timeout=60000)
    return view


def test_the_summary_wraps_and_the_view_fits_950_px(qtbot, digits_300):

    data = digits_300
    ctx = AppContext.standalone()
    ws = ctx.workspace
    ws.set_dataset(data)
    pixels = data.float_images().reshape(data.count, -1)
    ws.set_codes("pixels", pixels)
    w = np.random.default_rng(0).standard_normal((64, 6)).astype(np.float32)
    ws.set_codes("a model with a rather long name (digits)", pixels @ w)

    def choose(view):
        view.model_combo.setCurrentText("a model with a rather long name (digits)")
        view.pixels_check.setChecked(True)

    view = _inspected(qtbot, ctx, choose)
    qtbot.wait(20)
    text = view.status.text()
    assert "likely label mistakes" in text
    view.status.setText(text + " (" + "a long note on how the near-duplicates were searched, " * 3 + ")")
    qtbot.wait(20)
    assert view.minimumSizeHint().width() <= 950
    right = view.issues.correct_button
    edge = right.mapTo(view, right.rect().topRight()).x()
    assert edge <= view.width(), "the Mark correct button is off the view's edge"
    view.runner.shutdown()


def test_a_label_issue_tile_shows_the_suggested_class_whole(qtbot):
    """'astronaut→cat' on one line was elided to 'astronaut…' in a 78-px tile: the suggestion lost."""
    from explorer.core.imageset import ImageSet

    rng = np.random.default_rng(0)
    base = rng.random((2, 64)).astype(np.float32)
    labels = np.repeat([0, 1], 30)
    codes = base[labels] + rng.normal(0, 0.05, (60, 64)).astype(np.float32)
    labels[3] = 1  # an item of class 0 labelled 'motorcycle'
    images = codes.reshape(60, 1, 8, 8).clip(0, 1)
    ctx = AppContext.standalone()
    ctx.workspace.set_dataset(ImageSet(images, labels=labels, class_names=["cat", "motorcycle"], name="two"))
    ctx.workspace.set_codes("pixels", codes)
    view = _inspected(qtbot, ctx)
    grid = view.issues.grid
    texts = [grid.item(r).text() for r in range(grid.count())]
    tile = next(t for t in texts if t.startswith("#3 "))
    first, second = tile.split("\n")
    assert second == "→ cat"
    # each line fits the tile, so none wraps (a wrapped "#3 motorcycle" took both lines of the tile)
    metrics, width = grid.fontMetrics(), grid.gridSize().width()
    assert "#3 motorcycle".startswith(first.rstrip("…")) and first.endswith("…")
    assert all(metrics.horizontalAdvance(line) < width for line in (first, second))
    view.runner.shutdown()


def test_label_issue_captions_fit_the_width_their_tiles_lay_text_in(qtbot):
    """On 354 photos the captions were elided to the grid's 78-px cell, but the tiles lay their
    text in about 56 px: "#16 astronaut" wrapped and showed "#16" over "astr……", its suggested
    class gone (polish). Every caption line now fits its tile's text width."""
    from PySide6.QtWidgets import QStyle

    from explorer.core.imageset import ImageSet

    rng = np.random.default_rng(0)
    names = ["astronaut", "coffee", "immunohistochemistry"]
    base = rng.random((3, 64)).astype(np.float32)
    labels = np.repeat([0, 1, 2], 30)
    codes = base[labels] + rng.normal(0, 0.05, (90, 64)).astype(np.float32)
    for i, wrong in ((16, 2), (47, 0)):  # an astronaut labelled immunohistochemistry, a coffee astronaut
        labels[i] = wrong
    ctx = AppContext.standalone()
    images = codes.reshape(90, 1, 8, 8).clip(0, 1)
    ctx.workspace.set_dataset(ImageSet(images, labels=labels, class_names=names))
    ctx.workspace.set_codes("pixels", codes)
    view = _inspected(qtbot, ctx)
    qtbot.wait(20)
    grid = view.issues.grid
    assert grid.count() >= 2
    margin = 2 * (grid.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, grid) + 1)
    metrics = grid.fontMetrics()
    for r in range(grid.count()):
        lines = grid.item(r).text().split("\n")
        # the whole cell: with uniform sizes the tiles took the first caption's laid-out width
        assert grid.visualItemRect(grid.item(r)).size() == grid.gridSize()
        room = grid.visualItemRect(grid.item(r)).width() - margin
        assert len(lines) == 2 and lines[1].startswith("→ ")
        assert all(metrics.horizontalAdvance(line) <= room for line in lines), (room, lines)
    view.runner.shutdown()


def test_the_summary_counts_what_the_grid_lists(qtbot, digits_300):
    """The summary said '11 likely label mistakes' over a grid of dozens (it counted only the
    confident-rule items; the grid also lists those the neighbours vote against)."""
    import re

    ctx = AppContext.standalone()
    ctx.workspace.set_dataset(digits_300)
    ctx.workspace.set_codes("pixels", digits_300.float_images().reshape(digits_300.count, -1))
    view = _inspected(qtbot, ctx, lambda v: v.pixels_check.setChecked(True))
    text = view.status.text()
    m = re.match(r"(\d+) likely label mistakes(?: \(\+(\d+) doubted by their neighbours\))?", text)
    assert m, text
    listed = int(m.group(1)) + int(m.group(2) or 0)
    assert listed > int(m.group(1)), "pixels of 300 digits leave items the neighbours doubt"
    assert view.issues.grid.count() == listed
    view.runner.shutdown()


def test_the_typed_class_box_shows_its_placeholder_whole(qtbot):
    """polish27, the inspection view at 950 px on a folder of sequences: the box to type a class
    into, in one row with Accept "obj_018", Set and Mark correct, got 70 px ("or type …")."""
    from explorer.ui.views.inspection.panels import IssuePanel

    panel = IssuePanel()
    qtbot.addWidget(panel)
    panel.resize(950, 640)
    panel.show()
    qtbot.waitExposed(panel)
    panel.accept_button.setText("Accept “immunohistochemistry”")
    qtbot.wait(20)
    box = panel.other_edit
    assert box.fontMetrics().horizontalAdvance(box.placeholderText()) <= box.contentsRect().width() - 8
    assert (
        panel.correct_button.isVisible()
        and panel.correct_button.width() >= panel.correct_button.sizeHint().width()
    )
