"""What the scatter view does with its layout jobs' records: a mixin of
:class:`explorer.ui.views.scatter.view.View`. A partial layout is drawn as it comes (a live frame
glides from the one before), a finished one is cached, drawn unless already shown, indexed for
hover and lasso, and stored in the workspace with the settings that made it; a late record for
old parameters is dropped."""

from __future__ import annotations

import time

import numpy as np

from explorer.core.progress import Progress
from explorer.ui.views.scatter.side import PanelSide


class LayoutResults:
    def _on_partial(self, side: PanelSide, tag, rec: Progress) -> None:
        if tag != side.tag:
            return  # a late record for old parameters
        frac = f" {100 * rec.fraction:.0f}%" if rec.total else ""
        side.panel.status.setText(f"{rec.message}{frac}")
        if rec.payload is not None:
            glide = tag[0] == "live" and side.shown_tag is not None and side.shown_tag[:2] == tag[:2]
            self._show_layout(side, np.asarray(rec.payload), None, glide=glide and rec.step <= 1)
            side.shown_tag = tag

    def _on_done(self, side: PanelSide, tag, result) -> None:
        if tag != side.tag:
            return
        layout, index = result.layout, result.index
        self._cache[tag] = result
        side.panel.status.setText("")
        shown = side.layout is not None and np.array_equal(side.layout, layout)
        if shown and (side.glide_timer.isActive() or tag[0] == "live"):
            # the glide under way already ends at this layout, or a live frame's partial drew it
            side.faith = faith_of(result)
            self._show_faith()
        else:
            glide = (
                tag[0] == "live"
                and side.shown_tag is not None
                and side.shown_tag[:2] == tag[:2]
                and side.shown_tag != tag
            )
            self._show_layout(side, layout, faith_of(result), glide=glide)
        side.shown_tag = tag
        side.panel.set_index(index)
        if tag[0] == "live":
            self._live_prev = layout
        elif side.model is not None:
            method, seed, params = tag[3], tag[4], dict(tag[5])  # what made it, not what is set now
            self.ws.set_layout(side.model, method, layout, {"seed": seed, **params})

    def _on_failed(self, side: PanelSide, tag, message: str) -> None:
        if tag == side.tag:
            side.panel.status.setText("failed")
            self.ctx.show_error(message)

    def _show_layout(self, side: PanelSide, layout: np.ndarray, faith, glide: bool = False) -> None:
        """Show ``layout``; with ``glide``, points move to it from where they are in a few frames."""
        before = side.layout
        side.layout = np.asarray(layout, dtype=np.float32)
        side.faith = faith
        side.glide_timer.stop()
        glide = glide and before is not None and before.shape == side.layout.shape
        steps = self._glide_steps(side) if glide else 0
        if steps:
            side.glide_from, side.glide_step, side.glide_steps = before, 0, steps
            side.glide_cpu0 = time.thread_time()
            side.glide_timer.start()
        else:
            cpu0 = time.thread_time()
            self._draw(side)
            self._charge_live(side, time.thread_time() - cpu0)
        if side.follow:
            side.panel.reset_view()
        self._show_faith()
        if faith is not None and side is self.sides[0]:  # a finished layout: clusters, contours
            self.overlays.update()


def faith_of(result) -> tuple:
    """A panel's ``faith``: (mean, per point (N,), landmark layout's mean or NaN, points measured)."""
    return (result.faithfulness, result.per_point, result.landmark_faithfulness, result.measured)
