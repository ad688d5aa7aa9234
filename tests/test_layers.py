"""Lint and layers. The layers of docs/ARCHITECTURE.md, enforced by the import-linter contracts in
pyproject.toml (Qt only in ui and bench, no torch in core, the analysis packages independent,
inspection on core and retrieval's public names, views independent), following indirect imports.
`.ci/run` runs `lint-imports` itself; this test runs the same check with the test suite, and shows it
catches a violation."""

import os
import pathlib
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
LINT_IMPORTS = [
    sys.executable,
    "-c",
    "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())",
]


def lint_imports(config: pathlib.Path, cwd: pathlib.Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*LINT_IMPORTS, str(config), "--no-cache"],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(cwd), "PATH": ""},
        timeout=300,
    )


def test_the_contracts_hold():
    proc = lint_imports(ROOT / "pyproject.toml", ROOT)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "0 broken" in proc.stdout


def test_the_check_catches_a_violation(tmp_path):
    """A copy of the package where a core module imports pyqtgraph (inside a function, as lazy
    imports are written here): the Qt contract breaks and names the import."""
    shutil.copytree(
        ROOT / "explorer", tmp_path / "explorer", ignore=shutil.ignore_patterns("__pycache__", "resources")
    )
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    (tmp_path / "explorer" / "core" / "bad.py").write_text("def plot():\n    import pyqtgraph\n")
    proc = lint_imports(tmp_path / "pyproject.toml", tmp_path)
    assert proc.returncode == 1
    assert "explorer.core.bad -> pyqtgraph (l.2)" in proc.stdout
    assert "Qt only in ui and bench" in proc.stdout and "BROKEN" in proc.stdout


def test_ruff_check_passes():
    """`ruff check` (pyproject.toml's rule set), as .ci/run runs it: fix with `ruff check --fix`."""
    ruff = shutil.which("ruff", path=os.path.dirname(sys.executable)) or shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed (pip install -e '.[lint]')")
    proc = subprocess.run(
        [ruff, "check", "--no-cache", "explorer", "tests"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout[-3000:]


def test_ruff_format_is_applied():
    """`ruff format --check`, as .ci/run runs it: the code is as the formatter writes it (fix with
    `ruff format explorer tests`)."""
    ruff = shutil.which("ruff", path=os.path.dirname(sys.executable)) or shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed (pip install -e '.[lint]')")
    proc = subprocess.run(
        [ruff, "format", "--check", "--no-cache", "explorer", "tests"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout[-3000:]


def test_no_import_cycles():
    """No module of explorer imports itself through others, counting imports inside functions
    (grimp's graph, the one import-linter checks; strongly connected components by Tarjan)."""
    grimp = pytest.importorskip("grimp")
    sys.path.insert(0, str(ROOT))
    try:
        graph = grimp.build_graph("explorer", cache_dir=None)
    finally:
        sys.path.remove(str(ROOT))
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles = []

    def visit(v: str) -> None:  # recursive: import chains are far shorter than the recursion limit
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.find_modules_directly_imported_by(v):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            part = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                part.append(w)
                if w == v:
                    break
            if len(part) > 1:
                cycles.append(sorted(part))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    assert not cycles, cycles
