"""Inspect: what a model's codes say about the data set (explorer.inspection), with fixes.

Three tabs. *Label issues*: items whose neighbours in code space vote against their label, ranked;
clicking one shows it with its nearest neighbours, and the user accepts the suggestion, types
another class or marks the label correct (``workspace.set_labels`` / ``mark_labels_correct``:
saved beside the data, and every view follows through the "labels" event). *Near-duplicates*:
the histogram of nearest-neighbour distances with a draggable threshold, and the groups closer
than it. *Outliers*: the most isolated items. A click selects the item (or its group) in the
workspace and makes it the query, and the workspace selection is marked in every grid. The
clusters and density contours are drawn on the scatter (``views/scatter/overlays.py``).
"""

from explorer.ui.views.inspection.view import AREA, ORDER, TITLE, View, inspect_view_job

__all__ = ["AREA", "ORDER", "TITLE", "View", "inspect_view_job"]
