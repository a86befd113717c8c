"""Event bodies as plain JSON via orjson: `TRANSCODER_TOPIC=adapters.serialization:OrjsonTranscoder`.

The domain's mapper hands over dicts of JSON values (pydantic's `mode="json"` dump), so no
type tags are needed and any language can read what is stored.
"""

from __future__ import annotations

from typing import Any

import orjson
from eventsourcing.persistence import Transcoder


class OrjsonTranscoder(Transcoder):
    def encode(self, obj: Any) -> bytes:
        try:
            return orjson.dumps(obj)
        except TypeError as error:
            raise TypeError(
                f"{error}: events must be dumped to JSON values before they are stored "
                "(use the domain's pydantic mapper)"
            ) from None

    def decode(self, data: bytes) -> Any:
        return orjson.loads(data)
