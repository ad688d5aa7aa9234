"""The layers of DESIGN.md, enforced: Qt only in explorer/ui (and bench's GUI rows); no torch in explorer/core; the
analysis packages independent of each other and of the ui."""

import ast
import pathlib

import pytest

PKG = pathlib.Path(__file__).resolve().parents[1] / "explorer"
QT = ("PySide6", "PyQt5", "PyQt6", "pyqtgraph", "superqt", "shiboken6")
ANALYSIS = ("projection", "retrieval", "verification", "relational")


def imports_of(path: pathlib.Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def files(sub: str = ""):
    return sorted((PKG / sub).rglob("*.py"))


def top(name: str) -> str:
    return name.split(".")[0]


QT_ALLOWED = ("ui", "bench/gui.py", "bench/gui_scatter.py", "bench/gui_collections.py")  # ui, and bench's GUI rows


def test_qt_only_in_ui():
    bad = [
        f"{p.relative_to(PKG)} imports {n}"
        for p in files()
        if not any(p.relative_to(PKG).as_posix().startswith(a) for a in QT_ALLOWED)
        for n in imports_of(p)
        if top(n) in QT
    ]
    assert not bad, bad


def test_core_has_no_torch_and_no_other_layers():
    bad = [
        f"{p.relative_to(PKG)} imports {n}"
        for p in files("core")
        for n in imports_of(p)
        if top(n) == "torch" or (n.startswith("explorer.") and not n.startswith("explorer.core"))
    ]
    assert not bad, bad


@pytest.mark.parametrize("pkg", ANALYSIS)
def test_analysis_packages_are_independent(pkg):
    others = [f"explorer.{o}" for o in ANALYSIS if o != pkg] + ["explorer.ui"]
    bad = [
        f"{p.relative_to(PKG)} imports {n}"
        for p in files(pkg)
        for n in imports_of(p)
        if any(n == o or n.startswith(o + ".") for o in others)
    ]
    assert not bad, bad


def test_the_check_catches_a_violation(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from PySide6.QtCore import QObject\nimport torch.nn\n")
    assert {"PySide6.QtCore", "torch.nn"} <= imports_of(bad)


def test_inspection_uses_only_core_and_retrievals_public_api():
    """explorer.inspection sits on core and on retrieval's neighbour search (through the
    package's public names, so a faster index there is picked up); nothing below imports it."""
    bad = [
        f"{p.relative_to(PKG)} imports {n}"
        for p in files("inspection")
        for n in imports_of(p)
        if n.startswith("explorer.") and not n.startswith(("explorer.core", "explorer.inspection"))
        and n != "explorer.retrieval"
    ]
    users = [
        f"{p.relative_to(PKG)} imports {n}"
        for pkg in ANALYSIS + ("core",)
        for p in files(pkg)
        for n in imports_of(p)
        if n.startswith("explorer.inspection")
    ]
    assert not bad and not users, bad + users
