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


# One idea in parallel places: an aggregate (domain/), its view (projections/), its queries
# (projections/queries/) and the shape of their answers (bus/contract/results/).
PARALLEL_PLACES = {"domain", "projections", "projections/queries", "bus/contract/results"}


def modules_sharing_a_name(root: Path) -> dict[str, list[str]]:
    places: dict[str, list[str]] = {}
    for top in ("domain", "projections", "adapters", "bus", "bench"):
        for module in (root / top).rglob("*.py"):
            if module.name not in ("__init__.py", "__main__.py"):
                places.setdefault(module.name, []).append(str(module.parent.relative_to(root)))
    return {name: sorted(folders) for name, folders in places.items() if len(folders) > 1}


def test_no_two_modules_share_a_name_unless_they_are_one_idea_in_parallel_places():
    shared = modules_sharing_a_name(ROOT)

    assert "cases.py" in shared  # the rule is looked at, not passed for want of a case
    assert {name: folders for name, folders in shared.items()
            if not set(folders) <= PARALLEL_PLACES} == {}


def test_a_module_named_again_elsewhere_is_caught(tmp_path):
    for folder in ("domain", "adapters/views", "bus/service"):
        (tmp_path / folder).mkdir(parents=True)
    (tmp_path / "domain" / "errors.py").write_text("")
    (tmp_path / "adapters" / "views" / "errors.py").write_text("")

    assert modules_sharing_a_name(tmp_path) == {"errors.py": ["adapters/views", "domain"]}
