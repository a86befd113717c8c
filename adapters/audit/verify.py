"""Verifying the log: recompute the hash chain from the stream, check every checkpoint's
signature, compare every hash a valid checkpoint lists.

The chain is cumulative: a recomputed hash that equals a signed one proves every position up
to it intact, and after the first position that differs every later one differs too. So the
first mismatch is the first broken link, and what the messages around it hash to tells what
happened there (modified, missing, extra, or two exchanged), as far as one can tell.
A checkpoint with a bad signature is reported and its hashes are not trusted.

Foreign messages (seal.py), those the service did not write, are named apart: they do not
break the chain, which proves what is stored, not who wrote it.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from Crypto.PublicKey import ECC
from nats.js.errors import NotFoundError

from adapters.audit.anchor import Anchor
from adapters.audit.checkpoints import (
    ChainSubjects,
    Checkpoint,
    MalformedCheckpoint,
    checkpoint_subject,
)
from adapters.audit.signing import key_id
from adapters.integrity.chain import GENESIS, digest, header_form_problem, link
from adapters.integrity.seal import Seal, SealedStream, sealed_from
from adapters.jetstream.log import StreamLog
from adapters.jetstream.stream_reader import StreamReader
from adapters.jetstream.stream_subjects import StreamSubjects
from adapters.jetstream.wire import DirectWireReader, WireReader, WireUnavailable

BATCH = 10_000


@dataclass(frozen=True)
class Finding:
    position: int
    what: str


@dataclass
class Report:
    stream: str
    head: int  # the last position read
    intact_to: int  # every position up to here hashes as a valid checkpoint signed it
    checkpoints: int  # valid ones
    seconds: float = 0.0
    broken: Finding | None = None  # the first broken link
    bad_checkpoints: list[Finding] = field(default_factory=list)
    # Messages the service did not write: found with its seal key, or named by a checkpoint.
    foreign: list[Finding] = field(default_factory=list)
    # The last message is a valid checkpoint that signs every position before it, as on a
    # log that has gone idle: its own signature stands for it, so the whole log is covered.
    ends_signed: bool = False
    # Every stored header block was checked byte for byte (chain.header_form_problem); the
    # nats-py readers, the fallback where the raw ones cannot connect, get headers parsed.
    headers_checked: bool = False

    @property
    def intact(self) -> bool:
        return self.broken is None and not self.bad_checkpoints

    @property
    def covered_to(self) -> int:
        """The last position a valid signature vouches for (0: none)."""
        return self.head if self.intact and self.ends_signed else self.intact_to

    @property
    def uncovered(self) -> int:
        return self.head - self.covered_to if self.intact else 0

    @property
    def rate(self) -> float:
        return self.head / self.seconds if self.seconds else 0.0

    def findings(self) -> list[Finding]:
        return sorted(([self.broken] if self.broken else []) + self.bad_checkpoints
                      + self.foreign, key=lambda finding: finding.position)


@dataclass
class _Break:
    position: int
    previous: bytes  # the recomputed hash before it (as signed, or genesis)
    found: bytes  # the digest of the message now at `position`
    expected: bytes  # the hash signed for `position`
    found_next: bytes | None = None
    expected_next: bytes | None = None

    def describe(self) -> str:
        p = self.position
        next_fits = (self.found_next is not None
                     and link(self.previous, p, self.found_next) == self.expected)
        this_fits_next = (self.expected_next is not None
                          and link(self.expected, p + 1, self.found) == self.expected_next)
        if next_fits and this_fits_next:
            return f"out of order: the messages at {p} and {p + 1} were exchanged"
        if next_fits:
            return f"extra: a message was inserted at {p} (the one signed for {p} is at {p + 1})"
        if this_fits_next:
            return (f"missing: the message signed for {p} is gone "
                    f"(the one now at {p} was at {p + 1})")
        return (f"modified: the message at {p} (subject, headers or body) is not the one "
                "signed for that position")


class Verifier:
    def __init__(self, stream: str, public_key: ECC.EccKey,
                 sealed: SealedStream | None = None, anchors: Iterable[Anchor] = (),
                 checkpoints: str | None = None) -> None:
        """`checkpoints`: the subject of the stream's checkpoints (an event log's, by
        default)."""
        self.stream, self.public_key, self.sealed = stream, public_key, sealed
        # last signed position -> (the head kept there, the checkpoint's own position)
        self.anchored = {anchor.last: (bytes.fromhex(anchor.head), anchor.position)
                         for anchor in anchors}
        self.anchored_to = max((position for _, position in self.anchored.values()), default=0)
        self.unanchored: Finding | None = None  # the first position off a kept head
        self.foreign: dict[int, Finding] = {}
        self.key_id = key_id(public_key)
        self.checkpoint_subject = checkpoints or checkpoint_subject(stream)
        self.position = 0
        self.previous = GENESIS
        # position -> (its digest, its chain hash, the chain hash before it), until a valid
        # checkpoint speaks for it
        self.computed: dict[int, tuple[bytes, bytes, bytes]] = {}
        self.expected: dict[int, bytes] = {}  # signed for positions not read yet
        self.floor = 1  # positions below have been dropped from `computed`
        self.intact_to = 0
        self.checkpoints = 0
        self.gap: Finding | None = None
        self.misshapen: Finding | None = None  # the first header block not in canonical form
        self.headers_checked = True  # every header block was seen raw
        self.first_break: _Break | None = None
        self.bad: list[Finding] = []
        # (the position of the last valid checkpoint, the last position it signs)
        self.last_checkpoint: tuple[int, int] | None = None

    def feed(self, sequence: int, subject: str, headers: Mapping[str, str] | None,
             body: bytes, raw_headers: bytes | None = None) -> None:
        """`raw_headers`: the header block as stored, where the reader has it; it must say
        no more than the parsed `headers` the chain hashes (chain.header_form_problem)."""
        if raw_headers is not None and self.misshapen is None:
            problem = header_form_problem(raw_headers)
            if problem is not None:
                self.misshapen = Finding(sequence, f"modified: the headers stored at "
                                         f"{sequence} are not what the chain hashes ({problem})")
        if sequence != self.position + 1 and self.gap is None:
            self.gap = Finding(self.position + 1, f"missing: the stream has no message at "
                               f"{self.position + 1} (it goes on at {sequence})")
        message_digest = digest(subject, headers, body)
        chained = link(self.previous, sequence, message_digest)
        # After the first break every later hash differs: keep only what describes it.
        if self.first_break is None or sequence <= self.first_break.position + 1:
            self.computed[sequence] = (message_digest, chained, self.previous)
        self.previous, self.position = chained, sequence
        if sequence in self.anchored and self.unanchored is None:
            kept, checkpoint = self.anchored[sequence]
            if chained != kept:
                self.unanchored = Finding(sequence, (
                    f"rewritten: the log up to {sequence} no longer hashes to the head the "
                    f"auditor kept from the checkpoint at {checkpoint} (anchor)"))
        if sequence in self.expected:
            self._compare(sequence, self.expected.pop(sequence))
        self._note(sequence)
        if self.sealed is not None and self.sealed.foreign(sequence, subject, headers, body):
            self._foreign(sequence, subject, "it has no valid seal")
        elif subject == self.checkpoint_subject:
            self._checkpoint(sequence, body)

    def _foreign(self, position: int, subject: str | None, why: str) -> None:
        on = f" on {subject}" if subject else ""
        self.foreign.setdefault(position, Finding(
            position, f"foreign: the message at {position}{on} was not written by onestop "
            f"({why}); every reader of the service's passes over it"))

    def _checkpoint(self, sequence: int, body: bytes) -> None:
        try:
            checkpoint = Checkpoint.parse(body)
        except MalformedCheckpoint as error:
            self.bad.append(Finding(sequence, f"checkpoint at position {sequence}: "
                                    f"unreadable ({error})"))
            return
        if not checkpoint.signature_valid(self.public_key):
            other = ("" if checkpoint.key_id == self.key_id else
                     f" (it names key {checkpoint.key_id}, not {self.key_id})")
            self.bad.append(Finding(sequence, f"checkpoint at position {sequence}: "
                                    f"bad signature{other}"))
            return
        self.checkpoints += 1
        self.last_checkpoint = (sequence, checkpoint.last)
        for position in checkpoint.foreign:
            self._foreign(position, None, f"the checkpoint at {sequence} says so")
        for position in range(checkpoint.first, checkpoint.last + 1):
            if position in self.computed:
                self._compare(position, checkpoint.hash_at(position))
            elif position > self.position:  # claims a position not read (yet)
                self.expected[position] = checkpoint.hash_at(position)

    def _compare(self, position: int, signed: bytes) -> None:
        found, chained, previous = self.computed[position]
        if chained == signed:
            if self.first_break is None or position < self.first_break.position:
                self.intact_to = max(self.intact_to, position)
            # Everything up to here is proved: no need to keep it.
            for dropped in range(self.floor, position):
                self.computed.pop(dropped, None)
            self.floor = max(self.floor, position)
        elif self.first_break is None or position < self.first_break.position:
            self.first_break = _Break(position, previous, found, signed)
            self._note(position + 1)
        elif position == self.first_break.position + 1:
            self.first_break.expected_next = signed
        self._note(position)

    def _note(self, position: int) -> None:
        """What the break's classification needs about the position after it, when seen."""
        broken = self.first_break
        if broken is None or position != broken.position + 1:
            return
        if position in self.computed:
            broken.found_next = self.computed[position][0]
        if position in self.expected:
            broken.expected_next = self.expected[position]

    def finish(self, seconds: float = 0.0) -> Report:
        findings = [finding for finding in (self.gap, self.misshapen, self.unanchored)
                    if finding is not None]
        if self.position < self.anchored_to:
            findings.append(Finding(self.position + 1, (
                f"cut: the log ends at {self.position}, but the auditor kept the checkpoint "
                f"at {self.anchored_to} (anchor)")))
        if self.first_break is not None:
            findings.append(Finding(self.first_break.position, self.first_break.describe()))
        if self.expected:
            end = min(self.expected)
            findings.append(Finding(end, f"missing: the log ends at {self.position}, but a "
                                    f"checkpoint covers up to {max(self.expected)}"))
        broken = min(findings, key=lambda finding: finding.position, default=None)
        intact_to = min(self.intact_to, broken.position - 1) if broken else self.intact_to
        ends_signed = (self.last_checkpoint is not None and self.position > 0
                       and self.last_checkpoint == (self.position, self.position - 1)
                       and intact_to >= self.position - 1)
        return Report(self.stream, self.position, intact_to, self.checkpoints, seconds,
                      broken, self.bad, sorted(self.foreign.values(),
                                               key=lambda finding: finding.position),
                      ends_signed, self.headers_checked and self.position > 0)


class NotAnEventLog(Exception):
    """The stream named is not there, or is not an event log; the message says which."""


async def require_event_log(connection, stream: str, chain: ChainSubjects | None = None
                            ) -> None:
    """An event log is a stream that takes its events and its checkpoints: anything else
    (a feed, the audit trail, a name that holds nothing) would verify as an empty log. With
    `chain`, the stream must take the chain's messages and its checkpoints."""
    try:
        info = await connection.jetstream().stream_info(stream)
    except NotFoundError:
        raise NotAnEventLog(f"there is no stream {stream}") from None
    subjects = set(info.config.subjects or ())
    wanted = ({StreamSubjects(stream, "events").all_events, checkpoint_subject(stream)}
              if chain is None else {chain.messages})
    if not wanted <= subjects:
        raise NotAnEventLog(f"{stream} is not an event log (its subjects are "
                            f"{', '.join(sorted(subjects)) or 'none'}; an event log's include "
                            f"{', '.join(sorted(wanted))})")


async def _raw_reader(connection, stream: str, with_consumer: bool, subject: str
                      ) -> WireReader:
    """A reader that has each stored header block as it is: the one that can tell a header
    smuggled in beside its namesake. With a consumer of its own where the reader may make
    one (the fastest), else by direct gets (an auditor)."""
    reader = (WireReader if with_consumer else DirectWireReader)(connection, stream,
                                                                 subject=subject)
    await reader.start()
    return reader


async def verify_stream(connection, stream: str, public_key: ECC.EccKey,
                        with_consumer: bool = True, seal: Seal | None = None,
                        anchors: Iterable[Anchor] = (),
                        chain: ChainSubjects | None = None) -> Report:
    """Reads the whole stream with a consumer of its own, the fastest way; or, for a reader
    that may create no consumer on the service's streams (an auditor), by direct gets.
    With the services' `seal` key, every message is checked for its seal; without it, the
    foreign messages named are those the signed checkpoints name."""
    await require_event_log(connection, stream, chain)
    chain = chain or ChainSubjects.of_event_log(stream)
    sealed = None
    if seal is not None:
        start = await sealed_from(connection.jetstream(), stream)
        sealed = None if start is None else SealedStream(seal, start)
    verifier = Verifier(stream, public_key, sealed, anchors, chain.checkpoints)
    started = time.perf_counter()
    try:
        reader = await _raw_reader(connection, stream, with_consumer, chain.messages)
    except WireUnavailable:  # TLS, nkeys...: nats-py's readers, without raw headers
        reader = None
        verifier.headers_checked = False
    if reader is not None:
        try:
            while messages := await reader.read(BATCH):
                for message in messages:
                    verifier.feed(message.sequence, message.subject, message.headers,
                                  message.body, message.raw_headers)
        finally:
            await reader.close()
    elif with_consumer:
        async with StreamReader(connection, stream, subject=chain.messages) as fallback:
            while messages := await fallback.read(BATCH):
                for message in messages:
                    verifier.feed(message.sequence, message.subject, message.headers,
                                  message.body)
    else:
        log = StreamLog(connection, stream, request_timeout=30)
        await log.start()
        async for stored in log.read(chain.messages, page=BATCH):
            verifier.feed(stored.sequence, stored.subject, stored.headers, stored.body)
    return verifier.finish(time.perf_counter() - started)
