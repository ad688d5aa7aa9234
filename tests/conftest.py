import ast
import importlib.util
import os
import pathlib

import pytest

# Every test runs without a display; set before anything imports Qt.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")
# the scatter view warms UMAP's numba code in a background thread at start; not in tests
os.environ.setdefault("EXPLORER_UMAP_WARMUP", "0")
# t-SNE and UMAP layouts run in this process (a layout process costs an interpreter start per test
# that lays codes out); tests/jobs/test_layout_child.py runs them in the layout process
os.environ.setdefault("EXPLORER_LAYOUT_CHILD", "0")
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

# ---- GUI tests and a Qt-free run --------------------------------------------------------------
# The GUI tests (tests/ui, files importing Qt at module level, tests using the qtbot / qapp fixtures,
# modules marked ``pytestmark = pytest.mark.gui``) get the ``gui`` marker. Without PySide6,
# pyqtgraph and pytest-qt installed (.ci/run's second pass), files that import Qt are not
# collected and the other gui tests are skipped: everything else must pass without Qt.
TESTS = pathlib.Path(__file__).resolve().parent
QT_MODULES = ("PySide6", "shiboken6", "pyqtgraph", "pytestqt")
HAVE_QT = all(importlib.util.find_spec(m) is not None for m in QT_MODULES)
_QT_IMPORTS = ("PySide6", "shiboken6", "pyqtgraph", "explorer.ui", "explorer.bench.gui")
_ignored: list[str] = []


def imports_qt_at_top(path: pathlib.Path) -> bool:
    """Whether a test module imports Qt (or explorer.ui) in its module-level statements."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (OSError, SyntaxError):
        return False
    for node in tree.body:
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        if any(n == q or n.startswith(q + ".") for n in names for q in _QT_IMPORTS):
            return True
    return False


def _is_gui_path(path: pathlib.Path) -> bool:
    rel = path.relative_to(TESTS)
    return rel.parts[:1] == ("ui",) or (path.suffix == ".py" and imports_qt_at_top(path))


def pytest_ignore_collect(collection_path, config):
    path = pathlib.Path(collection_path)
    if HAVE_QT or TESTS not in path.parents:
        return None
    if (path.is_dir() and path.relative_to(TESTS).parts[:1] == ("ui",)) or (
        path.is_file() and path.name.startswith("test_") and _is_gui_path(path)
    ):
        _ignored.append(str(path.relative_to(TESTS)))
        return True
    return None


def pytest_addoption(parser):
    if not HAVE_QT:  # pytest-qt's options in pyproject.toml, declared so pytest does not warn of them
        parser.addini("qt_log_level_fail", "(pytest-qt, not installed)")
        parser.addini("qt_log_ignore", "(pytest-qt, not installed)", type="linelist")


def pytest_collection_modifyitems(config, items):
    no_qt = pytest.mark.skip(reason="needs Qt (PySide6, pyqtgraph, pytest-qt), not installed")
    for item in items:
        path = pathlib.Path(str(item.path))
        if {"qtbot", "qapp"} & set(getattr(item, "fixturenames", ())) or (
            TESTS in path.parents and _is_gui_path(path)
        ):
            item.add_marker(pytest.mark.gui)
        if not HAVE_QT and item.get_closest_marker("gui"):
            item.add_marker(no_qt)


def pytest_report_header(config):
    return None if HAVE_QT else "Qt is not installed: GUI tests are left out (marker 'gui')"


def pytest_terminal_summary(terminalreporter):
    if _ignored:
        terminalreporter.write_line(f"without Qt, not collected: {', '.join(sorted(set(_ignored)))}")


# ---- the cycle collector ------------------------------------------------------------------------
# GUI tests run as the app does (ui/gui_gc.py): Python's automatic collector off, collections on the
# GUI thread from a timer between events, never inside a Qt call (an automatic pass freeing garbage
# QMenus inside pyqtgraph's re-parenting deadlocked a relational-view test). Once a GUI test has run,
# the process holds Qt objects, so the rest of the run keeps it so; every test's end is a safe point
# on the GUI thread, where what is due is collected (the tests before the first GUI test keep
# Python's automatic collector).
@pytest.fixture(autouse=True)
def _gui_cycle_collector(request):
    import sys

    if HAVE_QT and request.node.get_closest_marker("gui") is not None:
        request.getfixturevalue("qapp")
        from explorer.ui import gui_gc

        gui_gc.install()
    yield
    gui_gc = sys.modules.get("explorer.ui.gui_gc")
    collector = gui_gc.installed() if gui_gc is not None else None
    if collector is not None:
        collector.collect_due()
