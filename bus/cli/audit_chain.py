"""`onestop audit verify | key`: checking that the log of record is the log that was signed.

`verify` recomputes the hash chain from the event stream (adapters/audit), checks every
checkpoint's signature with the service's public key and compares every hash it lists, and
names every message the service did not write (adapters/integrity/seal.py). Exit 0: intact and
covered; 1: a broken link or a bad checkpoint; 2: it cannot run (one line, why), the stream
named is not an event log among them; 3: intact, but holding foreign messages; 4: intact as
far as it goes, but too little is covered by a valid signature to vouch for it: nothing at all
(an empty stream, or every checkpoint removed), less than the position an auditor kept from an
earlier run (`--expect-position`: a log cut or rewritten after it), or more messages after the
last checkpoint than `--max-uncovered` allows. A log that ends with a checkpoint signing
everything before it (an idle log) is wholly covered. It
reads the log as the operator of `onestop up`, who checks every seal with the services' key,
or as whoever NATS_URL names (an auditor, say: its inbox prefix is used), who learns the
foreign messages from the signed checkpoints.

`anchor --file FILE` keeps the heads of the checkpoints signed since its last run in the
auditor's own FILE (adapters/audit/anchor.py); `verify --anchor FILE` then catches a log cut
or rewritten since (exit 1).

`key` prints the service's public key, for the auditors who verify with it.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from bus.cli import audit_export

HELP = ("verify the log's hash chain and signed checkpoints, print the public key, or export "
        "the audit trail")
EXIT_BROKEN, EXIT_CANNOT_RUN, EXIT_FOREIGN, EXIT_UNCOVERED = 1, 2, 3, 4


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True)
    verify = actions.add_parser("verify", help="recompute the hash chain from the stream and "
                                "report the first broken link, or that all is intact")
    verify.add_argument("--expect-position", type=position, metavar="N",
                        help="the position an earlier verify found covered: exit 4 unless the "
                        "log is still covered at least that far")
    verify.add_argument("--max-uncovered", type=position, metavar="N",
                        help="exit 4 when more than N messages follow the last checkpoint")
    verify.add_argument("--trail", action="store_true",
                        help="verify the audit trail of refusals and reads (<stream>_AUDIT), "
                        "chained and signed like the log, instead of the log")
    verify.add_argument("--anchor", type=Path, metavar="FILE",
                        help="the checkpoint heads `audit anchor` kept: exit 1 if the log was "
                        "cut or rewritten since")
    anchor = actions.add_parser("anchor", help="keep the heads of the checkpoints signed "
                                "since the last run in FILE, the auditor's own copy")
    anchor.add_argument("--file", type=Path, required=True, metavar="FILE",
                        help="where the auditor keeps them (appended to; made if missing)")
    key = actions.add_parser("key", help="print the service's public key (PEM)")
    for action in (verify, anchor):
        action.add_argument("--stream", help="the event stream (default: NATS_STREAM or "
                            "ONESTOP)")
        action.add_argument("--public-key", type=Path, help="the service's public key "
                            "(default: <data dir>/audit/signing-key.pub.pem)")
    for action in (verify, anchor, key):
        action.add_argument("--data-dir", help="the data directory of `onestop up` "
                            "(default: ONESTOP_DATA_DIR or ./var)")
    # `onestop audit export` is `onestop audit-export`: one implementation, two spellings.
    audit_export.add_arguments(actions.add_parser("export", help=audit_export.HELP,
                                                  description=audit_export.HELP))


def position(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a position (0, 1, 2, ...)")
    return int(text)


def run(args: argparse.Namespace) -> int:
    from bus.cli.operator import CannotRun
    from bus.service.settings import SettingsError

    if args.action == "export":
        return audit_export.run(args)
    try:
        if args.action == "key":
            print(_public_key_file(args.data_dir, None).read_text(), end="")
            return 0
        if args.action == "anchor":
            return asyncio.run(_anchor(args))
        return asyncio.run(_verify(args))
    except (CannotRun, SettingsError) as error:
        print(f"onestop: {error}", file=sys.stderr, flush=True)
        return EXIT_CANNOT_RUN


def _public_key_file(data_dir: str | None, given: Path | None) -> Path:
    from adapters.audit.signing import public_key_path
    from bus.cli.operator import CannotRun, site

    path = given or public_key_path(site(data_dir).data_dir)
    if not path.is_file():
        raise CannotRun(f"no public key at {path} (`onestop up` creates it in its data "
                        "directory; or name one with --public-key)")
    return path


async def _reading(args: argparse.Namespace):
    """What verify and anchor share: the public key, the log and who reads it, connected."""
    from dataclasses import replace
    from urllib.parse import urlparse

    from adapters.audit.signing import SigningKeyError, load_public_key
    from bus.cli.operator import CannotRun, connect_quickly, site
    from bus.service.security import OPERATOR, SERVICE

    try:
        key = load_public_key(_public_key_file(args.data_dir, args.public_key))
    except SigningKeyError as error:
        raise CannotRun(str(error)) from None
    where = site(args.data_dir)
    if args.stream:
        where = replace(where, event_stream=args.stream)
    # Consumers on the service's streams, and the seal key, are the service's and the
    # operator's alone.
    operating = urlparse(where.url).username in (None, OPERATOR, SERVICE)
    # As its user: an auditor (NATS_URL) receives on its own inbox prefix.
    connection = await connect_quickly(where.url, where.data_dir, "onestop-audit")
    return key, where, operating, connection


async def _verify(args: argparse.Namespace) -> int:
    from adapters.audit.anchor import AnchorError, read_anchors
    from adapters.audit.trail import audit_stream, trail_chain
    from adapters.audit.verify import NotAnEventLog, verify_stream
    from bus.cli.operator import CannotRun, seal_of

    try:
        anchors = read_anchors(args.anchor) if args.anchor else []
    except AnchorError as error:
        raise CannotRun(str(error)) from None
    key, where, operating, connection = await _reading(args)
    stream, chain, seal = where.event_stream, None, seal_of(where) if operating else None
    if args.trail:  # its records carry no seal: only the service's account can write them
        stream, chain, seal = audit_stream(stream), trail_chain(stream), None
    try:
        report = await verify_stream(connection, stream, key, with_consumer=operating,
                                     seal=seal, anchors=anchors, chain=chain)
    except NotAnEventLog as error:
        raise CannotRun(str(error)) from None
    except Exception as error:
        raise CannotRun(f"cannot read {stream} ({error})") from None
    finally:
        await connection.close()
    for line in describe(report):
        print(line)
    shortfall = coverage_shortfall(report, args.expect_position, args.max_uncovered)
    if shortfall:
        print(f"too little covered: {shortfall}")
    if args.anchor:
        print(f"checked against {len(anchors)} checkpoint head(s) kept in {args.anchor}")
    print(f"read the {'audit trail' if args.trail else 'event log'} {report.stream}: "
          f"{report.head} message(s)")
    if not report.intact:
        return EXIT_BROKEN
    if shortfall:
        return EXIT_UNCOVERED
    return EXIT_FOREIGN if report.foreign else 0


async def _anchor(args: argparse.Namespace) -> int:
    from adapters.audit.anchor import Anchor, AnchorError, keep, new_anchors, read_anchors
    from adapters.audit.verify import NotAnEventLog, require_event_log
    from adapters.jetstream.log import StreamLog
    from bus.cli.operator import CannotRun

    try:
        kept = read_anchors(args.file)
    except AnchorError as error:
        raise CannotRun(str(error)) from None
    after = kept[-1].position if kept else 0
    key, where, _operating, connection = await _reading(args)
    fresh: list[Anchor] = []
    refused: list[str] = []
    try:
        await require_event_log(connection, where.event_stream)
        log = StreamLog(connection, where.event_stream, request_timeout=30)
        await log.start()
        async for found in new_anchors(log, where.event_stream, key, after):
            (fresh if isinstance(found, Anchor) else refused).append(found)
    except NotAnEventLog as error:
        raise CannotRun(str(error)) from None
    except Exception as error:
        raise CannotRun(f"cannot read {where.event_stream} ({error})") from None
    finally:
        await connection.close()
    try:
        keep(args.file, fresh)
    except AnchorError as error:
        raise CannotRun(str(error)) from None
    for line in refused:
        print(line)
    last = (fresh or kept)[-1].position if (fresh or kept) else 0
    print(f"kept {len(fresh)} new checkpoint head(s) in {args.file}; anchored up to position "
          f"{last}")
    return EXIT_BROKEN if refused else 0


def coverage_shortfall(report, expect_position: int | None,
                       max_uncovered: int | None) -> str | None:
    """Why a valid signature does not vouch for enough of the log, or None."""
    if not report.intact:
        return None  # the broken link says more
    covered = report.covered_to
    if report.head == 0:
        return "the stream holds nothing"
    if covered == 0:
        return f"no valid checkpoint signs any of its {report.head} message(s)"
    if expect_position is not None and covered < expect_position:
        if report.head < expect_position:
            return (f"the log ends at position {report.head}, before the position you kept, "
                    f"{expect_position}: it was cut")
        return (f"covered only up to position {covered}, not up to the position you kept, "
                f"{expect_position}: rewritten after it, or its checkpoints removed")
    if max_uncovered is not None and report.uncovered > max_uncovered:
        return (f"{report.uncovered} message(s) after position {covered} are not covered "
                f"(--max-uncovered {max_uncovered})")
    return None


def describe(report) -> list[str]:
    rate = f"{report.rate:,.0f} events/s"
    if report.intact:
        lines = [(f"intact up to position {report.intact_to} "
                  f"({report.checkpoints} checkpoints, {rate})")]
        if report.ends_signed:
            lines.append(f"the last message, the checkpoint at {report.head}, signs every "
                         f"position before it: all {report.head} covered")
        elif report.uncovered:
            lines.append(f"{report.uncovered} message(s) after position {report.intact_to} "
                         "not yet covered by a checkpoint")
        if report.head and not report.headers_checked:
            lines.append("header blocks checked as parsed only: the raw reader cannot "
                         "connect here (TLS, nkeys), so a header name stored twice would not "
                         "show")
        return lines + [finding.what for finding in report.foreign]
    lines = []
    for finding in report.findings():
        if finding is report.broken:
            lines.append(f"first broken link at position {finding.position}: {finding.what}")
        else:
            lines.append(finding.what)
    lines.append(f"verified intact up to position {report.intact_to} of {report.head} "
                 f"({report.checkpoints} valid checkpoints, {rate})")
    return lines
