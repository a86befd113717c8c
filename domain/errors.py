"""Domain errors: a stable `code` for programs, a plain message for the case officer."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    def __init__(self, code: str, message: str, /, **fields: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.fields = fields

    def __repr__(self) -> str:
        return f"DomainError({self.code!r}, {self.message!r}, fields={self.fields!r})"


def refuse(code: str, message: str, /, **fields: Any) -> DomainError:
    return DomainError(code, message, **fields)
