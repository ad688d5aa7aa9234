import os

# Every test runs without a display; set before anything imports Qt.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")
# the scatter view warms UMAP's numba code in a background thread at start; not in tests
os.environ.setdefault("EXPLORER_UMAP_WARMUP", "0")
# external models (ONNX, TorchScript, .pt2) run in the test process: a child per model costs seconds
# (torch's import) in every test that opens one; tests/reliability/test_model_limits.py turns the
# child process, and its time and memory limits, back on
os.environ.setdefault("EXPLORER_ISOLATE_MODELS", "0")
# the app's cache and config folders (renditions, codes, trusted models) go to one fresh temporary
# folder per test run, never the user's real ones
if "EXPLORER_CACHE_DIR" not in os.environ or "EXPLORER_CONFIG_DIR" not in os.environ:
    import tempfile

    _home = tempfile.mkdtemp(prefix="explorer-tests-")
    os.environ.setdefault("EXPLORER_CACHE_DIR", os.path.join(_home, "cache"))
    os.environ.setdefault("EXPLORER_CONFIG_DIR", os.path.join(_home, "config"))
