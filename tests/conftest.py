import os

# Every test runs without a display; set before anything imports Qt.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")
# the scatter view warms UMAP's numba code in a background thread at start; not in tests
os.environ.setdefault("EXPLORER_UMAP_WARMUP", "0")
