"""The scatter plot as SVG: axes, title and legend as vector shapes and text; the points as vector
shapes up to ``VECTOR_POINTS`` of them, above that as one embedded image of the points (drawn as
the renderer draws large sets), so a file of 10^6 points stays the size of one picture, not of
10^6 pixmaps."""

from __future__ import annotations

import numpy as np

from explorer.core.atomic import atomic_write

VECTOR_POINTS = 5000  # more points than this go into the SVG as one image
LEGEND_ROW = 16  # px per legend entry
LEGEND_MAX = 40  # entries; past that the legend says how many more


def write_svg(panel, path: str, legend: list[tuple[str, tuple[int, int, int, int]]] = ()) -> str:
    """Write ``panel`` (a ScatterPanel) as SVG to ``path`` with ``legend`` ((name, RGBA) per shown
    class) to the right of the plot. Returns a sentence saying how the points were written."""
    cloud = panel.cloud
    n = cloud.shown_count()
    vector = n <= VECTOR_POINTS
    with cloud.exporting(vector):
        atomic_write(path, lambda tmp: _render(panel.plot_item, tmp, list(legend)))
    if vector:
        return f"{n:,} points as vector shapes"
    return (
        f"{n:,} points as one embedded image (more than {VECTOR_POINTS:,}: vector shapes would make "
        "the file huge); axes and legend as vector shapes"
    )


def _render(item, path: str, legend: list) -> None:
    from PySide6.QtCore import QPointF, QRectF, Qt
    from PySide6.QtGui import QColor, QFontMetrics, QPainter
    from PySide6.QtSvg import QSvgGenerator

    rect = item.sceneBoundingRect()
    shown = legend[:LEGEND_MAX]
    more = len(legend) - len(shown)
    fm = QFontMetrics(item.scene().font())
    names = [name for name, _ in shown] + ([f"… {more} more"] if more else [])
    legend_w = (24 + max(fm.horizontalAdvance(t) for t in names) + 8) if names else 0
    target = QRectF(0, 0, rect.width() + legend_w, rect.height())
    gen = QSvgGenerator()
    gen.setFileName(path)
    gen.setSize(target.size().toSize())
    gen.setViewBox(target)
    gen.setTitle("Relate Explorer scatter")
    painter = QPainter(gen)
    try:
        item.scene().render(painter, QRectF(0, 0, rect.width(), rect.height()), rect)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        x0, y0 = rect.width() + 8, 24.0
        for i, text in enumerate(names):
            y = y0 + i * LEGEND_ROW
            if i < len(shown):
                r, g, b, a = (int(v) for v in shown[i][1])
                painter.setPen(Qt.PenStyle.NoPen)
                painter.setBrush(QColor(r, g, b, a))
                painter.drawEllipse(QPointF(x0 + 6, y - fm.ascent() / 2 + 1), 5, 5)
            painter.setPen(QColor(40, 40, 40))
            painter.drawText(QPointF(x0 + 16, y), text)
    finally:
        painter.end()


def legend_entries(names: list[str], palette: np.ndarray, hidden=frozenset()) -> list:
    """(name, RGBA) of each shown class: ``names`` (K,), ``palette`` (>= K, 4) uint8."""
    return [(str(name), tuple(int(v) for v in palette[i])) for i, name in enumerate(names) if i not in hidden]
