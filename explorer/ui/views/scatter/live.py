"""The scatter view following a training run: which probe frame to show (the "Follow training"
box and the frame slider), and the glide of the points from one frame to the next. A mixin of
:class:`explorer.ui.views.scatter.view.View` (it uses the view's widgets and panels)."""

from __future__ import annotations

import time

import numpy as np

from explorer.ui.views.scatter.side import PanelSide

GLIDE_FRAMES = 8  # a new live frame moves the points there in (at most) 8 steps of 30 ms
# ... and in this time however long a step takes: a step is a redraw of the scatter (10-20 ms of
# GUI-thread CPU at 1,000 points, several times that in wall time when the cores are busy), and a
# glide that waited for its 8 steps kept the GUI thread busy long after the frame came
GLIDE_STEP_S = 0.030
GLIDE_S = GLIDE_FRAMES * GLIDE_STEP_S  # a whole glide
# a glide step's GUI-thread CPU (the draw and the paint) until one is measured: 2.1 ms a paint at
# 1,000 points under load, plus the draw
GLIDE_STEP_CPU_S = 0.003


class LiveTraining:
    """The view's methods for a training run's probe frames (see the module docstring)."""

    def _on_model_picked(self, *_args) -> None:
        """The user chose a model: the Model box decides what is shown, also during a run."""
        self._model_picked = True
        self._followed_run = None
        run = getattr(self, "_live_run", None)
        if run is not None and self._run_over(run) and self._live_source() is not None:
            self.frame_slider.setValue(self.frame_slider.maximum())  # a replay ends at "now"
        elif self._live_source() is not None:
            self.live_check.setChecked(False)  # (re-check it to watch the run again)

    def _on_probe_changed(self, run: str) -> None:
        if run != getattr(self, "_live_run", None) and run in self.ws.training:
            # a new run is followed (unticking the box, or the end of a run, was for the last one)
            self.live_check.blockSignals(True)
            self.live_check.setChecked(True)
            self.live_check.blockSignals(False)
        self._live_run = run
        following = self.live_check.isChecked()
        at_end = self.frame_slider.value() >= self.frame_slider.maximum()
        self._update_live_controls()
        if following:
            if at_end:
                self.frame_slider.blockSignals(True)
                self.frame_slider.setValue(self.frame_slider.maximum())
                self.frame_slider.blockSignals(False)
            self._params_changed()

    def _run_over(self, run) -> bool:
        """True when ``run`` sends no more frames and the Model box decides again: its model has
        its codes, or no model comes (a cancelled or failed run)."""
        ws = self.ws
        return run not in ws.training and (run in ws.codes or run not in ws.models)

    def _live_source(self):
        """(run, frame number, indices, step, codes) of the probe frame to show, or None."""
        run = getattr(self, "_live_run", None)
        if run is None or run not in self.ws.probes:
            return None
        indices, frames = self.ws.probes[run]
        if not frames:
            return None
        i = min(self.frame_slider.value(), len(frames) - 1)
        if self._run_over(run):
            # the run is over: the slider's end is "now" (the Model box); a frame before it replays
            if i == len(frames) - 1:
                return None
        elif not self.live_check.isChecked():
            return None
        step, codes = frames[i]
        return run, i, indices, step, codes

    def _update_live_controls(self) -> None:
        run = getattr(self, "_live_run", None)
        frames = self.ws.probes.get(run, (None, []))[1] if run else []
        over = bool(frames) and self._run_over(run)
        self.frame_slider.blockSignals(True)
        self.frame_slider.setRange(0, max(0, len(frames) - 1))
        self.frame_slider.blockSignals(False)
        self.frame_slider.setEnabled(len(frames) > 1 and (self.live_check.isChecked() or over))
        if over and self.live_check.isChecked():
            # nothing to follow any more: the box does not stay ticked (a new run ticks it again)
            self.live_check.blockSignals(True)
            self.live_check.setChecked(False)
            self.live_check.blockSignals(False)
        self.live_check.setVisible(bool(frames) and not over)
        self.frame_slider.setVisible(bool(frames))
        self.frame_label.setVisible(bool(frames))
        if frames:
            i = min(self.frame_slider.value(), len(frames) - 1)
            if not over:
                text = f"{run}: step {frames[i][0]} ({i + 1}/{len(frames)})"
            elif i == len(frames) - 1:
                text = (
                    f"{run} has ended (step {frames[i][0]}): the plot shows the Model box's choice; "
                    f"drag the slider back to replay the run's {len(frames)} frames"
                )
            else:
                text = (
                    f"{run}, replayed: step {frames[i][0]} ({i + 1}/{len(frames)}); "
                    "the slider's end shows the Model box's choice"
                )
            self.frame_label.setText(text)
            self.frame_label.setToolTip(text)  # the label may be cut short: it never widens the tab

    def _live_budget(self, tag):
        """The LiveBudget of the run a live ``tag`` shows (set by the training dialog), or None."""
        if tag is None or tag[0] != "live":
            return None
        return self.ctx.services.get("live_budgets", {}).get(tag[1])

    def _charge_live(self, side: PanelSide, cpu_s: float) -> None:
        """Charge ``cpu_s`` of GUI-thread CPU to the run ``side`` follows, if it is live."""
        budget = self._live_budget(side.tag)
        if budget is not None:
            budget.spend(cpu_s)

    def _glide_steps(self, side: PanelSide) -> int:
        """How many steps the glide to a new live frame gets: GLIDE_FRAMES, fewer when the frame's
        budget allows fewer (0: jump, no glide), at the GUI CPU a step took so far."""
        budget = self._live_budget(side.tag)
        if budget is None:
            return GLIDE_FRAMES
        per_step = getattr(self, "_glide_step_cpu", GLIDE_STEP_CPU_S)
        steps = int(budget.allowance() / max(per_step, 1e-4))
        return min(GLIDE_FRAMES, steps) if steps >= 2 else 0

    def _glide_frame(self, side: PanelSide) -> None:
        if side.layout is None or side.glide_from is None or len(side.glide_from) != len(side.layout):
            side.glide_timer.stop()  # the layout it glided to was replaced (e.g. a run ended)
            return
        side.glide_step += 1
        steps = side.glide_steps or GLIDE_FRAMES
        now = time.perf_counter()
        if side.glide_step == 1:  # (the glide started one timer interval ago)
            side.glide_t0 = now - side.glide_timer.interval() / 1000
        t = max(side.glide_step / steps, (now - side.glide_t0) / (steps * GLIDE_STEP_S))
        if t >= 1.0:
            side.glide_timer.stop()
            self._draw(side)
            # the glide's GUI CPU (its draws and paints, and whatever else ran meanwhile: an
            # overestimate) is the frame's
            cpu = time.thread_time() - side.glide_cpu0
            self._glide_step_cpu = cpu / max(side.glide_step, 1)
            self._charge_live(side, cpu)
            return
        t = t * t * (3 - 2 * t)  # ease in and out
        self._draw(side, xy=side.glide_from + (side.layout - side.glide_from) * np.float32(t))
