"""Axis labels are laid out again only when their text changes (explorer/ui/axis_labels.py)."""

import pytest

pytestmark = pytest.mark.gui


@pytest.fixture
def plot(qtbot):
    import pyqtgraph as pg

    from explorer.ui.qt_setup import configure_pyqtgraph

    configure_pyqtgraph()
    w = pg.PlotWidget()
    qtbot.addWidget(w)
    w.setLabel("bottom", "score")
    w.setLabel("left", "density")
    w.resize(400, 300)
    w.show()
    return w


def _count_set_html(axis) -> list[str]:
    seen: list[str] = []
    real = axis.label.setHtml

    def counting(html: str) -> None:
        seen.append(html)
        real(html)

    axis.label.setHtml = counting
    return seen


def test_range_changes_keep_the_label_laid_out_once(plot):
    item = plot.getPlotItem()
    bottom, left = item.getAxis("bottom"), item.getAxis("left")
    seen_b, seen_l = _count_set_html(bottom), _count_set_html(left)
    hidden = _count_set_html(item.getAxis("top"))  # a hidden axis without a label re-rendered too
    width = left.width()
    for k in range(50):
        item.getViewBox().setRange(xRange=(0, 2 + k), yRange=(0, 3 + k), padding=0)
    assert seen_b == [] and seen_l == [] and hidden == []
    assert bottom.label.toPlainText().strip() == "score" and left.label.toPlainText().strip() == "density"
    assert left.width() == width


def test_the_label_still_follows_its_si_prefix_and_text(plot):
    item = plot.getPlotItem()
    bottom = item.getAxis("bottom")
    seen = _count_set_html(bottom)
    item.getViewBox().setRange(xRange=(0, 0.002), padding=0)  # a prefix: "(x0.001)"
    assert bottom.label.toPlainText().strip() == "score (x0.001)"
    item.getViewBox().setRange(xRange=(0, 0.0021), padding=0)  # the same prefix: no new layout
    assert len(seen) == 1
    item.getViewBox().setRange(xRange=(0, 5), padding=0)
    assert bottom.label.toPlainText().strip() == "score" and len(seen) == 2
    height = bottom.label.boundingRect().height()
    item.setLabel("bottom", "score", color="#ff0000", **{"font-size": "20pt"})  # style: laid out again
    assert len(seen) == 3 and "20pt" in seen[-1]
    assert bottom.label.boundingRect().height() > 1.5 * height
    item.setLabel("bottom", "distance")
    assert bottom.label.toPlainText().strip() == "distance"
