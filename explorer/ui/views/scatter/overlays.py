"""What the scatter draws over its points from explorer.inspection: clusters and density contours.

Clusters (HDBSCAN or k-means, on the codes or on the layout) are fitted in a worker; the points are
then coloured by cluster and each cluster gets a badge at its members' median: "majority class ·
purity · size" over a strip of its most typical thumbnails. The badge keeps its size in pixels
whatever the zoom. Contours are the kernel density of the layout at 25/50/75/90% enclosed mass,
drawn as thin lines. Both follow the first plot panel only.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QFont, QPainter, QPixmap
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPixmapItem

from explorer.ui.imaging import to_pixmap
from explorer.ui.workers import TaskRunner

CLUSTER_CHOICES = [  # (label, None or (method, space))
    ("Clusters: off", None),
    ("Clusters: HDBSCAN on codes", ("hdbscan", "codes")),
    ("Clusters: HDBSCAN on layout", ("hdbscan", "layout")),
    ("Clusters: k-means on codes", ("kmeans", "codes")),
    ("Clusters: k-means on layout", ("kmeans", "layout")),
]
STRIP = 4  # typical thumbnails per badge
STRIP_THUMB = 26
MAX_BADGES = 30


def badge_pixmap(text: str, thumbs: list[QPixmap], colour: tuple[int, int, int]) -> QPixmap:
    """A cluster's badge: a coloured line of ``text`` over a strip of ``thumbs``."""
    font = QFont()
    font.setPointSize(9)
    font.setBold(True)
    probe = QPixmap(1, 1)
    p = QPainter(probe)
    p.setFont(font)
    fm = p.fontMetrics()
    p.end()
    pad, gap = 3, 1
    strip_w = len(thumbs) * (STRIP_THUMB + gap) - gap if thumbs else 0
    w = max(fm.horizontalAdvance(text) + 2 * pad + 6, strip_w + 2 * pad)
    h = fm.height() + 2 * pad + (STRIP_THUMB + pad if thumbs else 0)
    out = QPixmap(w, h)
    out.fill(Qt.GlobalColor.transparent)
    p = QPainter(out)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setPen(QColor(*colour))
    p.setBrush(QColor(255, 255, 255, 225))
    p.drawRoundedRect(QRectF(0.5, 0.5, w - 1, h - 1), 4, 4)
    p.fillRect(QRectF(1, 1, 4, fm.height() + 2 * pad - 1), QColor(*colour))
    p.setFont(font)
    p.setPen(QColor(30, 30, 30))
    p.drawText(QRectF(pad + 5, pad, w - 2 * pad - 5, fm.height()), Qt.AlignmentFlag.AlignLeft, text)
    x = (w - strip_w) // 2
    for pix in thumbs:
        p.drawPixmap(
            x,
            fm.height() + 2 * pad,
            pix.scaled(
                STRIP_THUMB,
                STRIP_THUMB,
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            ),
        )
        x += STRIP_THUMB + gap
    p.end()
    return out


def _clusters_job(points, labels, method: str, space: str, seed: int):
    from explorer.inspection.clusters import cluster_job

    return (yield from cluster_job(points, labels, method=method, space=space, seed=seed))


class InspectionOverlays:
    """Cluster colours and badges, and density contours, on the first panel of ``view``
    (a scatter View: its ``sides``, ``ws``, ``cluster_combo``, ``contours_check``, ``_redraw``)."""

    def __init__(self, view) -> None:
        self.view = view
        self.plot = view.sides[0].panel.plot_item
        self.runner = TaskRunner(view)
        self.runner.done.connect(self._on_clusters_done)
        self.runner.failed.connect(lambda tag, msg: tag == self._tag and view.ctx.show_error(msg))
        self.clusters = None  # explorer.inspection.Clusters of the current tag
        self._tag = None
        self._badges: list[QGraphicsPixmapItem] = []
        self._contour_items: list[pg.PlotCurveItem] = []
        self._contour_key = None
        self.contours = None
        self._anchors: list[tuple[float, float]] = []
        # after the range change has reached the view's transform (the next turn of the event loop)
        self._declutter_timer = QTimer(view, singleShot=True, interval=0)
        self._declutter_timer.timeout.connect(self.declutter)
        self.plot.getViewBox().sigRangeChanged.connect(lambda *_: self._declutter_timer.start())
        view.cluster_combo.currentIndexChanged.connect(lambda *_: self.update())
        view.contours_check.toggled.connect(lambda *_: self.update())

    # ---- what the view asks -----------------------------------------------------------------
    def choice(self):
        return CLUSTER_CHOICES[self.view.cluster_combo.currentIndex()][1]

    def cluster_ids(self, side) -> np.ndarray | None:
        """(N,) cluster of each row of ``side`` to colour by, or None (colour by class)."""
        if side is not self.view.sides[0] or self.clusters is None or self.choice() is None:
            return None
        if side.items is not None or side.layout is None or len(side.layout) != len(self.clusters.labels):
            return None
        return self.clusters.labels

    def update(self) -> None:
        """The layout, the choices or the codes changed: refit if needed, redraw what is over the points."""
        side = self.view.sides[0]
        self._update_contours(side)
        choice = self.choice()
        ws = self.view.ws
        if (
            choice is None
            or side.model is None
            or side.items is not None
            or side.layout is None
            or side.model not in ws.codes
        ):
            self.runner.cancel()
            had = self.clusters is not None or self._tag is not None
            self.clusters, self._tag = None, None
            if had:  # the points were coloured by cluster: back to the classes
                self._draw_badges()
                self.view._redraw()
            return
        method, space = choice
        codes = ws.codes[side.model]
        points = codes if space == "codes" else side.layout
        if len(points) != len(side.layout):
            return  # the layout of a new set of codes is still forming
        tag = (method, space, side.model, id(codes), id(side.layout) if space == "layout" else None)
        if tag == self._tag:
            self._draw_badges()
            return
        self._tag, self.clusters = tag, None
        labels = None if ws.dataset is None or ws.dataset.labels is None else ws.dataset.labels
        seed = int(self.view.seed_spin.value())
        side.panel.status.setText("clustering…")
        self.runner.start(lambda: _clusters_job(points, labels, method, space, seed), tag=tag)
        self._draw_badges()
        self.view._redraw()

    def labels_changed(self) -> None:
        if self.clusters is not None:
            from explorer.inspection.clusters import relabel

            ds = self.view.ws.dataset
            self.clusters = relabel(self.clusters, None if ds is None else ds.labels)
            self._draw_badges()

    def busy(self) -> bool:
        return self.runner.is_running()

    def shutdown(self) -> None:
        self.runner.shutdown()

    # ---- results ----------------------------------------------------------------------------
    def _on_clusters_done(self, tag, clusters) -> None:
        if tag != self._tag:
            return
        self.clusters = clusters
        self.view.sides[0].panel.status.setText(f"{clusters.count} clusters")
        self._draw_badges()
        self.view._redraw()

    def palette_size(self) -> int:
        return 0 if self.clusters is None else int(self.clusters.labels.max()) + 1

    def colours(self) -> tuple[np.ndarray, int] | None:
        """(N,) colour index of each point, palette size: the cluster's majority class (so the class
        legend still reads right; -1 grey for noise), or the cluster's own colour in unlabelled data."""
        if self.clusters is None:
            return None
        ids = self.clusters.labels
        majority = {c.id: c.majority for c in self.clusters.clusters}
        if majority and all(m >= 0 for m in majority.values()):
            lut = np.full(int(ids.max()) + 2, -1, np.int64)
            for cid, m in majority.items():
                lut[cid] = m
            return lut[ids], max(self.view._n_classes(), max(majority.values()) + 1)
        return ids, self.palette_size()

    def _draw_badges(self) -> None:
        for item in self._badges:
            self.plot.removeItem(item)
        self._badges = []
        side = self.view.sides[0]
        if self.clusters is None or side.layout is None or self.cluster_ids(side) is None:
            return
        from explorer.jobs.scatter.colours import class_palette

        ds = self.view.ws.dataset
        cidx, k = self.colours()
        palette = class_palette(max(1, k))
        thumbs = self.view.ctx.services.get("thumbnails")
        shown = self.clusters.clusters[:MAX_BADGES]
        centres = self.clusters.centres(side.layout)
        for info, (x, y) in zip(shown, centres):
            name = (
                ""
                if ds is None or info.majority < 0
                else (
                    ds.class_names[info.majority]
                    if info.majority < len(ds.class_names)
                    else str(info.majority)
                )
            )
            parts = [name] if name else [f"cluster {info.id}"]
            if np.isfinite(info.purity):
                parts.append(f"{100 * info.purity:.0f}%")
            parts.append(f"n={info.size:,}")
            pix = []
            if ds is not None and ds.has_images:
                for i in info.typical[:STRIP].tolist():
                    pix.append(
                        thumbs.get(ds, i, STRIP_THUMB)
                        if thumbs is not None
                        else to_pixmap(ds.float_images([i])[0], STRIP_THUMB)
                    )
            first = int(np.flatnonzero(self.clusters.labels == info.id)[0])
            colour = tuple(int(v) for v in palette[max(0, int(cidx[first])) % len(palette)][:3])
            badge = QGraphicsPixmapItem(badge_pixmap(" · ".join(parts), pix, colour))
            badge.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
            badge.setOffset(-badge.pixmap().width() / 2, -badge.pixmap().height() / 2)
            badge.setPos(float(x), float(y))
            badge.setZValue(15)
            self.plot.addItem(badge, ignoreBounds=True)
            self._badges.append(badge)
        self._anchors = [(float(x), float(y)) for x, y in centres[: len(self._badges)]]
        self.declutter()

    def declutter(self) -> None:
        """Move badges that would cover one another apart (down the screen), from their anchors."""
        badges = self._badges
        if not badges:
            return
        vb = self.plot.getViewBox()
        px = vb.viewPixelSize()  # data units per screen pixel (x, y)
        if not px[0] or not px[1]:
            return
        placed: list[tuple[float, float, float, float]] = []  # screen-pixel boxes x0, y0, x1, y1
        order = sorted(range(len(badges)), key=lambda i: -self._anchors[i][1])  # top of screen first
        for i in order:
            x, y = self._anchors[i]
            w, h = badges[i].pixmap().width(), badges[i].pixmap().height()
            sx, sy = x / px[0], -y / px[1]  # screen y grows downwards
            box = [sx - w / 2, sy - h / 2, sx + w / 2, sy + h / 2]
            for _ in range(len(placed)):
                hit = [
                    p for p in placed if box[0] < p[2] and p[0] < box[2] and box[1] < p[3] and p[1] < box[3]
                ]
                if not hit:
                    break
                shift = max(p[3] for p in hit) + 2 - box[1]
                box[1] += shift
                box[3] += shift
            placed.append(tuple(box))
            badges[i].setPos(x, -(box[1] + h / 2) * px[1])

    def badges(self) -> list[QGraphicsPixmapItem]:
        return list(self._badges)

    # ---- contours ---------------------------------------------------------------------------
    def _update_contours(self, side) -> None:
        on = self.view.contours_check.isChecked() and side.layout is not None and len(side.layout) > 2
        key = id(side.layout) if on else None
        if key == self._contour_key:
            return
        for item in self._contour_items:
            self.plot.removeItem(item)
        self._contour_items, self._contour_key, self.contours = [], key, None
        if not on:
            return
        from explorer.inspection.density import density_contours

        self.contours = density_contours(side.layout)
        for k, polys in enumerate(self.contours.lines):
            if not polys:
                continue
            xy = np.concatenate([np.vstack([p, [[np.nan, np.nan]]]) for p in polys])
            shade = 60 + 40 * k
            curve = pg.PlotCurveItem(
                xy[:, 0], xy[:, 1], connect="finite", pen=pg.mkPen((shade, shade, shade, 200), width=1.3)
            )
            curve.setZValue(5)
            self.plot.addItem(curve, ignoreBounds=True)
            self._contour_items.append(curve)

    def contour_items(self) -> list[pg.PlotCurveItem]:
        return list(self._contour_items)
