"""Axis labels laid out once per text, not on every range change (installed by
``qt_setup.configure_pyqtgraph`` for every plot of the app).

pyqtgraph's ``AxisItem`` re-renders its label (``QGraphicsTextItem.setHtml`` plus a size update)
each time its linked view's range changes while the automatic SI prefix is on (the default), even
when the label is hidden or its text is the same: 16 times in the main window's first event-loop
turn. :func:`install` makes ``AxisItem._updateLabel`` do that only when the label's HTML (text,
units, prefix, style) or font changed; otherwise it only marks the ticks for a redraw, as a range
change needs. Nothing else of the axis changes. A leaf module (pyqtgraph only).
"""

from __future__ import annotations

_installed = False


def install() -> None:
    """Wrap ``pyqtgraph.AxisItem._updateLabel`` (once per process); a no-op if this pyqtgraph has
    none (its own behaviour then stays)."""
    global _installed
    if _installed:
        return
    from pyqtgraph import AxisItem

    original = getattr(AxisItem, "_updateLabel", None)
    if original is None or not hasattr(AxisItem, "labelString"):
        return

    def _update_label(self) -> None:
        key = (self.labelString(), self.label.font().key())
        if getattr(self, "_explorer_label_key", None) == key:
            self.picture = None  # the ticks still redraw for the new range
            self.update()
            return
        self._explorer_label_key = key
        original(self)

    _update_label.__wrapped__ = original
    AxisItem._updateLabel = _update_label
    _installed = True
