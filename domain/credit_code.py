"""The unified social credit code (统一社会信用代码) and its GB 32100-2015 check character."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

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


# The form, for the published contract: the 18 characters of the alphabet (lower case is read
# as upper case), the 3rd to 8th digits. The check character is beyond a pattern: said in words.
_CHARACTER = "[" + "".join(sorted(set(ALPHABET + ALPHABET.lower()))) + "]"
PATTERN = f"^{_CHARACTER}{{2}}[0-9]{{6}}{_CHARACTER}{{10}}$"
DESCRIPTION = (
    "The unified social credit code (统一社会信用代码, GB 32100-2015): 18 characters from "
    f"{ALPHABET} (no I, O, S, V or Z; lower case is read as upper case), the 3rd to 8th the "
    "administrative division code (digits). The 18th is a check character: give each of "
    "the first 17 characters its index in that alphabet (0-30), multiply them by the "
    f"weights {', '.join(map(str, WEIGHTS))} (3 to the power of the position from 0, modulo 31) "
    "and add up; the check character is the one at index (31 - sum mod 31) mod 31, as in "
    f"{'91500118MA5U00000' + check_character('91500118MA5U00000')}. A code that fails any "
    "of this is refused (enterprise.invalid_credit_code)."
)

# The pattern is published, not checked here: the enterprise checks the whole code and refuses
# with its own code, which says which part is wrong.
CreditCode = Annotated[str, Field(min_length=18, max_length=18, description=DESCRIPTION,
                                  json_schema_extra={"pattern": PATTERN})]
