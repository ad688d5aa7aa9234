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
- ``live``: following a training run (probe frames, the slider, the glide between frames);
- ``drawing``: colours, emphasis, draw order, the legend and the faithfulness readout;
- ``controls``: its rows of widgets;
- ``side``: what one plot panel shows (model, rows, job tag, glide);
- ``legend``: the class legend widget;
- ``export``: PNG / SVG / CSV / .npy / projector TSV;
(its Qt-free parts are in :mod:`explorer.jobs`: the layout jobs in ``jobs.layouts``, and the
grid, point index, density, rasteriser and palette in ``jobs.scatter``).
"""

from explorer.ui.views.scatter.view import AREA, METHODS, ORDER, THUMB, TITLE, View

__all__ = ["AREA", "METHODS", "ORDER", "THUMB", "TITLE", "View"]
