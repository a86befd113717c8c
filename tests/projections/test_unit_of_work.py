"""A batch's documents: read once, written once, and rows of write-only tables in the order
they were put."""

from __future__ import annotations

import pytest

from adapters.views.unit_of_work import DocumentCache, UnitOfWork
from projections.view import Table

DOCS = Table("docs")
STEPS = Table("steps", write_only=True)


def unit(loaded: dict[str, dict] | None = None) -> tuple[UnitOfWork, list[str]]:
    reads: list[str] = []

    def load(table: str, key: str) -> dict | None:
        reads.append(key)
        return (loaded or {}).get(key)

    cache = DocumentCache((DOCS, STEPS), limit=100)
    return UnitOfWork((DOCS, STEPS), cache, load), reads


def test_a_document_is_read_once_and_its_last_state_written():
    views, reads = unit({"a": {"n": 1}})
    for _ in range(3):
        doc = views.get("docs", "a")
        doc["n"] += 1
        views.put("docs", "a", doc)
    views.put("docs", "b", {"n": 0})
    views.delete("docs", "b")

    assert reads == ["a"]
    assert views.changes() == {"docs": ([("a", {"n": 4})], ["b"])}


def test_rows_of_a_write_only_table_keep_the_order_they_were_put_in():
    views, reads = unit()
    keys = [f"case:{version:06d}" for version in (3, 1, 2, 10)]
    for key in keys:
        views.put("steps", key, {"key": key})

    puts, deletes = views.changes()["steps"]
    assert [key for key, _doc in puts] == keys and deletes == [] and reads == []


def test_a_write_only_table_is_neither_read_nor_taken_back():
    views, _ = unit()
    with pytest.raises(ValueError, match="write only"):
        views.get("steps", "case:000001")
    with pytest.raises(ValueError, match="write only"):
        views.delete("steps", "case:000001")


def test_only_a_write_only_table_is_appended_to():
    # Appended rows are never read back, nor written over: a table read back is not one.
    with pytest.raises(ValueError, match="only a write-only table is appended to"):
        Table("kept", appended=True)
    assert Table("steps", write_only=True, appended=True).appended
