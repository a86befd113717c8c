"""The published contract as a validator: any message of docs/asyncapi.json checked with the
`jsonschema` package, its `$ref`s resolved inside the document.

AsyncAPI 3.0's schemas are JSON Schema draft 7 (with a few keywords of its own), so draft 7
it is; formats (uuid, date-time) are checked as well.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from jsonschema import Draft7Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from bus.contract.asyncapi import build

URI = "urn:onestop:asyncapi"


class Contract:
    def __init__(self, document: dict) -> None:
        self.document = document
        self.registry = Registry().with_resource(
            URI, Resource.from_contents(document, default_specification=DRAFT7))
        self._validators: dict[str, Draft7Validator] = {}

    def validator(self, pointer: str) -> Draft7Validator:
        """The validator of the schema at `pointer` (`#/components/...`)."""
        if pointer not in self._validators:
            self._validators[pointer] = Draft7Validator(
                {"$ref": URI + pointer}, registry=self.registry, format_checker=FormatChecker())
        return self._validators[pointer]

    def problems(self, pointer: str, instance: Any) -> list[str]:
        return [f"{'/'.join(map(str, error.absolute_path)) or '(top)'}: {error.message}"
                for error in self.validator(pointer).iter_errors(instance)]

    def check(self, message: str, payload: Any, headers: dict[str, str] | None = None) -> None:
        """Fails unless `payload` (and `headers`, when the message declares them) is what the
        contract's message `message` says."""
        declared = self.document["components"]["messages"][message]
        problems = self.problems(f"#/components/messages/{message}/payload", payload)
        if "headers" in declared:
            problems += [f"headers: {problem}" for problem in self.problems(
                f"#/components/messages/{message}/headers", headers or {})]
        assert not problems, f"{message} does not fit the contract: {problems}\n{payload}"

    def check_reply(self, operation: str, reply: Any) -> str:
        """Fails unless `reply` is one of the messages the contract says answer `operation`
        (e.g. `send.cmd.case.submit`); returns the one it is."""
        candidates = [ref["$ref"].rsplit("/", 1)[1]
                      for ref in self.document["operations"][operation]["reply"]["messages"]]
        problems = {m: self.problems(f"#/components/messages/{m}/payload", reply)
                    for m in candidates}
        fitting = [m for m in candidates if not problems[m]]
        assert fitting, f"the reply to {operation} fits none of its messages: {problems}\n{reply}"
        return fitting[0]


@cache
def contract() -> Contract:
    """The contract as this code builds it (the stored copy is held equal to it)."""
    return Contract(build())
