"""Money: yuan and fen, exact. A command gives an amount as decimal text ("1200.50") or as a
whole number of yuan; the log keeps it as decimal text.

Never a JSON number with a fraction: such a number goes through a binary float in most
clients (JavaScript's 0.1 + 0.2 is 0.30000000000000004), and no JSON Schema validator tells
12.34 from 12.345 reliably (`multipleOf: 0.01` fails on binary floats). A pattern, and an
integer range, say exactly what is accepted (`YUAN_SCHEMA`), and the service accepts exactly
that.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, WithJsonSchema

MAX_DIGITS, PLACES = 16, 2
# 0 or a number without leading zeros, up to 14 digits of yuan, and up to two of fen.
YUAN_TEXT = rf"^(0|[1-9][0-9]{{0,{MAX_DIGITS - PLACES - 1}}})(\.[0-9]{{1,{PLACES}}})?$"
LARGEST = "9" * (MAX_DIGITS - PLACES) + "." + "9" * PLACES
EXAMPLES = ["1200.50", "0", "388100.00"]

WHOLE_YUAN = int("9" * (MAX_DIGITS - PLACES))
TEXT_SCHEMA = {"type": "string", "pattern": YUAN_TEXT, "examples": EXAMPLES}
YUAN_SCHEMA = {
    "anyOf": [TEXT_SCHEMA, {"type": "integer", "minimum": 0, "maximum": WHOLE_YUAN}],
    "description": (f"An amount of yuan, exact: decimal text with at most {PLACES} decimals "
                    f"(fen), from 0 to {LARGEST}, without sign, exponent or leading zeros; "
                    f"or a whole number of yuan, 0 to {WHOLE_YUAN}. A JSON number with a "
                    "fraction is refused (12.5: send \"12.5\"), as is 12.345 in any form."),
}


def _exact(value: Any) -> Any:
    if isinstance(value, Decimal):
        return value  # from Python: the constraints below still hold it to yuan and fen
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if float(value).is_integer():  # JSON Schema's integer: 12 and 12.0 alike
            return Decimal(int(value))
        raise ValueError('an amount with fen is decimal text, such as "1200.50", not a '
                         "JSON number")
    if not isinstance(value, str):
        raise ValueError('an amount of money is decimal text, such as "1200.50", or a whole '
                         "number of yuan")
    if not re.fullmatch(YUAN_TEXT, value):
        raise ValueError(f"an amount of money is decimal text with at most {PLACES} decimals, "
                         f'from 0 to {LARGEST}, such as "1200.50"')
    return value


# What a command gives.
Yuan = Annotated[Decimal, BeforeValidator(_exact),
                 Field(ge=0, max_digits=MAX_DIGITS, decimal_places=PLACES),
                 WithJsonSchema(YUAN_SCHEMA)]

# What an event records: it came from a command's `Yuan`, so the log holds the same text;
# read back without the text check, so that no event the log already holds becomes unreadable.
RecordedYuan = Annotated[Decimal, Field(ge=0, decimal_places=PLACES),
                         WithJsonSchema({**TEXT_SCHEMA, "description": (
                             f"An amount of yuan, exact: decimal text with at most {PLACES} "
                             "decimals (fen).")})]
