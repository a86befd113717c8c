import ast
import sys
from pathlib import Path

DOMAIN = Path(__file__).parents[2] / "domain"
FORBIDDEN = {"nats", "faststream", "orjson", "adapters", "bus", "projections"}


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_the_domain_imports_no_infrastructure():
    offenders = {str(p.name): imported_roots(p) & FORBIDDEN for p in DOMAIN.rglob("*.py")}

    assert {name: bad for name, bad in offenders.items() if bad} == {}


def test_the_domain_imports_only_the_standard_library_pydantic_and_eventsourcing():
    allowed = set(sys.stdlib_module_names) | {"__future__", "pydantic", "eventsourcing", "domain"}

    for path in DOMAIN.rglob("*.py"):
        assert imported_roots(path) <= allowed, path


def test_the_domain_readme_lists_every_public_event_name():
    from domain.base import Aggregate
    import domain.application  # noqa: F401  (defines every event)

    readme = (DOMAIN / "README.md").read_text()
    found, todo = set(), list(Aggregate._owners)
    while todo:
        cls = todo.pop()
        found.add(cls)
        todo += cls.__subclasses__()
    names = {cls.public_name for cls in found if "public_name" in cls.__dict__}
    assert {name for name in names if name not in readme} == set()
