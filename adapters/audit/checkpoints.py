"""A checkpoint: the chain hash at every position of a range of the log, signed by the service.

Listing every position's hash, not only the last, is what lets a verifier name the exact
first position that no longer hashes the same. The signature covers the canonical JSON
(sorted keys, no spaces) of everything but itself. A checkpoint is itself a message of the
log (`<stream>.checkpoints`), so the next checkpoint covers it: nobody can drop or edit one
without breaking the chain.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import datetime, timezone

import orjson
from Crypto.PublicKey import ECC

from adapters.audit.signing import SigningKey, signature_valid


def checkpoint_subject(stream: str) -> str:
    return f"{stream}.checkpoints"


@dataclass(frozen=True)
class ChainSubjects:
    """Where a chained stream keeps what the chain covers and its checkpoints: every
    message on `messages` is a link, checkpoints included (they are on `checkpoints`)."""

    messages: str
    checkpoints: str

    @classmethod
    def of_event_log(cls, stream: str) -> ChainSubjects:
        return cls(f"{stream}.>", checkpoint_subject(stream))


class MalformedCheckpoint(Exception):
    pass


@dataclass(frozen=True)
class Checkpoint:
    stream: str
    first: int
    last: int
    hashes: tuple[str, ...]  # hex, one per position first..last
    head: str  # the hash at `last`
    signed_at: str
    key_id: str
    signature: str = ""  # hex
    # Positions in the range that hold a message the service did not write (no valid seal,
    # see seal.py): the service's signed word for auditors, who hold no seal key.
    foreign: tuple[int, ...] = ()

    @classmethod
    def signed(cls, key: SigningKey, stream: str, first: int, hashes: list[bytes],
               foreign: tuple[int, ...] = ()) -> Checkpoint:
        unsigned = cls(stream, first, first + len(hashes) - 1,
                       tuple(h.hex() for h in hashes), hashes[-1].hex(),
                       datetime.now(timezone.utc).isoformat(), key.key_id, foreign=foreign)
        return replace(unsigned, signature=key.sign(unsigned.signed_bytes()).hex())

    def signed_bytes(self) -> bytes:
        fields = self._fields()
        del fields["signature"]
        return orjson.dumps(fields, option=orjson.OPT_SORT_KEYS)

    def _fields(self) -> dict:
        fields = asdict(self)
        if not self.foreign:  # as checkpoints were before there were seals: they verify
            del fields["foreign"]
        return fields

    def signature_valid(self, public_key: ECC.EccKey) -> bool:
        try:
            signature = bytes.fromhex(self.signature)
        except ValueError:
            return False
        return signature_valid(public_key, self.signed_bytes(), signature)

    def hash_at(self, position: int) -> bytes:
        return bytes.fromhex(self.hashes[position - self.first])

    def body(self) -> bytes:
        return orjson.dumps(self._fields(), option=orjson.OPT_SORT_KEYS)

    @classmethod
    def parse(cls, body: bytes) -> Checkpoint:
        try:
            fields = orjson.loads(body)
            checkpoint = cls(**{**fields, "hashes": tuple(fields["hashes"]),
                                "foreign": tuple(fields.get("foreign", ()))})
            hashes_fit = len(checkpoint.hashes) == checkpoint.last - checkpoint.first + 1
            if not (isinstance(checkpoint.first, int) and isinstance(checkpoint.last, int)
                    and checkpoint.first >= 1 and hashes_fit and checkpoint.hashes
                    and checkpoint.hashes[-1] == checkpoint.head
                    and all(isinstance(p, int) and checkpoint.first <= p <= checkpoint.last
                            for p in checkpoint.foreign)):
                raise ValueError("range, hashes and head do not agree")
            for value in checkpoint.hashes:
                bytes.fromhex(value)
        except (orjson.JSONDecodeError, TypeError, KeyError, ValueError) as error:
            raise MalformedCheckpoint(str(error)) from None
        return checkpoint
