"""The unified social credit code (统一社会信用代码) and its GB 32100-2015 check character."""

from __future__ import annotations

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # no I, O, S, V, Z
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def check_character(first17: str) -> str:
    total = sum(ALPHABET.index(c) * w for c, w in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def problem_with(code: str) -> str | None:
    """Why the code is not a valid unified social credit code, or None if it is."""
    if len(code) != 18:
        return f"must be 18 characters, not {len(code)}"
    wrong = sorted({c for c in code if c not in ALPHABET})
    if wrong:
        return f"contains characters not used in credit codes: {''.join(wrong)}"
    if not code[2:8].isdigit():
        return "the administrative division code (characters 3-8) must be digits"
    if check_character(code[:17]) != code[17]:
        return "the check character (the last one) does not match: a character was mistyped"
    return None
