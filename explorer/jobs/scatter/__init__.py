"""The Qt-free half of the scatter: what drawing and picking 10^7 points needs, in numpy (+ numba).

- ``grid``: :class:`~explorer.jobs.scatter.grid.CellGrid`, points bucketed by cell (counting sort);
- ``index``: :class:`~explorer.jobs.scatter.index.PointIndex`, hover / box / lasso on that grid;
- ``density``: per-pixel counts and colour sums (from the points or a pyramid of cell sums);
- ``raster``: points into an RGBA image in draw order (numba kernel, numpy twin);
- ``colours``: the class palette (30 colours far apart in CIELAB), the faithfulness ramp and the
  palette index of each point, per row or (10^7 points, by class) made in the grid's cell order
  from the labels in cell order, so a new selection is one pass and no permutation.

The Qt side (the graphics item that shows the image, the plot panel) is
:mod:`explorer.ui.scatter_render` and :mod:`explorer.ui.scatter_plot`.
"""
