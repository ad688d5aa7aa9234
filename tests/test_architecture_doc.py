"""docs/ARCHITECTURE.md's module map lists every module of the package, and nothing that is gone."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _mapped() -> set[str]:
    text = (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    section = text.split("\n## Module map\n", 1)[1].split("\n## ", 1)[0]
    mapped, folder = set(), None
    for line in section.splitlines():
        head = re.match(r"\*\*`(explorer(?:/[\w]+)*)/`\*\*", line)
        if head:
            folder = head.group(1)
            mapped.add(f"{folder}/__init__.py")
            continue
        item = re.match(r"- `([\w]+\.py)`:", line)
        if item and folder:
            mapped.add(f"{folder}/{item.group(1)}")
    return mapped


def _modules() -> set[str]:
    return {
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / "explorer").rglob("*.py")
        if "resources" not in p.parts
    }


def test_every_module_is_in_the_map():
    missing = sorted(_modules() - _mapped())
    assert not missing, f"add a line for each to docs/ARCHITECTURE.md's module map: {missing}"


def test_the_map_lists_no_module_that_is_gone():
    gone = sorted(_mapped() - _modules())
    assert not gone, f"docs/ARCHITECTURE.md's module map lists modules that do not exist: {gone}"
