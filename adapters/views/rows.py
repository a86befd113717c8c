"""An event as the log hands it over, before its body is decoded: a row.

Rows are cheap to read and to hand to another process (plain tuples, `marshal` takes them);
each process decodes only the rows its projections read. This module imports no NATS client:
a rebuild's worker processes decode rows and never talk to NATS.
"""

from __future__ import annotations

import orjson

from projections.logged import Logged, logged_from_stored

# Position, originator id, version, topic, body.
Row = tuple[int, str, int, str, bytes]


def logged_from_row(row: Row) -> Logged:
    position, originator_id, version, topic, body = row
    return logged_from_stored(position, originator_id, version, topic, orjson.loads(body))
