"""The maps for newcomers are kept true: every module and folder that docs/architecture.md and
the README's layout table name exists, and every package of the tree is in the table."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NAMED_PATH = re.compile(r"`((?:domain|projections|adapters|bus|bench|tests|docs|deploy)"
                        r"/[\w/.]*)`")


def named_paths(text: str) -> list[str]:
    return NAMED_PATH.findall(text)


def layout_table() -> str:
    readme = (ROOT / "README.md").read_text()
    return readme[readme.index("## Layout"):]


def test_every_module_the_architecture_map_names_exists():
    named = named_paths((ROOT / "docs" / "architecture.md").read_text())

    assert len(named) > 30
    assert [path for path in named if not (ROOT / path).exists()] == []


def test_every_path_the_readme_layout_names_exists():
    named = named_paths(layout_table())

    assert named
    assert [path for path in named if not (ROOT / path).exists()] == []


def test_every_package_is_in_the_readme_layout():
    packages = sorted(
        str(init.parent.relative_to(ROOT)) + "/"
        for top in ("domain", "projections", "adapters", "bus", "bench")
        for init in (ROOT / top).rglob("__init__.py"))

    assert [package for package in packages if f"`{package}`" not in layout_table()] == []


def test_a_path_that_does_not_exist_is_caught():
    assert named_paths("see `bus/service/nowhere.py` and `adapters/views/`") == [
        "bus/service/nowhere.py", "adapters/views/"]
    assert not (ROOT / "bus/service/nowhere.py").exists()
