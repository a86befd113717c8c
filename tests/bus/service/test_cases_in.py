"""Which cases an answer shows, for the audit trail's record of the read (`cases_in`): ids in
their canonical form, in a case or in the cases of a list, down to four levels; nothing else
that is called case_id."""

from __future__ import annotations

from uuid import uuid4

from bus.service.answers import cases_in


def test_the_cases_an_answer_shows_are_found_in_it():
    one, two, three, deep = (str(uuid4()) for _ in range(4))
    answer = {"case_id": one, "timeline": [{"case_id": two}],
              "items": [{"case_id": three, "related": {"nested": {"case_id": deep}}}]}

    assert cases_in(answer) == sorted([one, two, three])  # `deep` is five levels down
    assert cases_in(answer, depth=6) == sorted([one, two, three, deep])
    assert cases_in([{"case_id": one}, [{"case_id": two}]]) == sorted([one, two])


def test_what_is_no_case_id_is_not_taken_for_one():
    refusal = {"error": {"fields": {"case_id": "not a uuid"}}}

    assert cases_in(refusal) == []
    assert cases_in({"case_id": str(uuid4()).upper()}) == []  # not as str(UUID) writes it
    assert cases_in({"case_id": 7}) == [] and cases_in(7) == [] and cases_in(None) == []
