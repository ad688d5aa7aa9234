"""Scatter: PCA / t-SNE / UMAP layouts of a model's codes, forming live, linked to every view.

The view reads ``workspace.codes[model]`` and lays it out in a worker (``TaskRunner``); partial
layouts are drawn as they arrive and the finished one goes to ``workspace.set_layout``. Jobs are
tagged with the parameters that made them, so a late result for old parameters is dropped.
Points are coloured by class (the legend toggles classes) or by faithfulness; hover shows the
item's thumbnail, a click makes it the query, box and lasso set the workspace selection, which is
highlighted wherever it came from. "Compare" shows a second model's layout beside the first, with
the same (linked) selection. During training the view follows the run's probe frames: each new
frame is aligned with the one before (Procrustes for PCA, a warm start for t-SNE) so the points
glide, and a slider scrubs back through the run.

What it shows is a :class:`explorer.core.view_state.ScatterState` (model, compare model, method,
seed, parameters, colour mode, hidden classes), kept in step with the widgets, registered with the
workspace (sessions save and restore it); finished layouts go to the workspace with the settings
that made them, and a layout the workspace holds for the current settings is shown, not computed.

Modules:

- ``view``: the View (the two plot panels, workspace events, job results);
- ``controls``: its two rows of widgets;
- ``side``: what one plot panel shows (model, rows, job tag, glide);
- ``colours``: palette index per point (class or faithfulness, emphasis);
- ``legend``: the class legend widget;
- ``export``: PNG / SVG / CSV / .npy / projector TSV;
(its worker jobs are in :mod:`explorer.jobs.layouts`, Qt-free; the point index they build is
passed in from :mod:`explorer.ui.scatter_render`).
"""

from explorer.ui.views.scatter.view import AREA, METHODS, ORDER, THUMB, TITLE, View

__all__ = ["AREA", "METHODS", "ORDER", "THUMB", "TITLE", "View"]
