"""`onestop scale`: every stream and bucket of the service at NATS_REPLICAS copies (or
`--replicas N`), and every feed stream taking atomic batches (one an older onestop made does
not), as the operator, whose account may change streams (bus/service/replicas.py).

Exit 0: all of them keep that many now, and every feed stream takes batches (the lines say
which changed); 1: the cluster could not keep that many (fewer servers than copies) or a feed
stream was not changed, what changed before stays changed; 2: it cannot be asked (one line,
why).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

import nats.errors
import nats.js.errors
from eventsourcing.persistence import OperationalError

from adapters.jetstream.streams import MAX_REPLICAS, configured_replicas
from bus.cli.operator import connect, site
from bus.service.replicas import Kept, give_feeds_batches, scale
from bus.service.settings import SettingsError

HELP = ("give every stream and bucket of the service NATS_REPLICAS copies (on a cluster), "
        "and the feeds' streams atomic batches")
EXIT_REFUSED, EXIT_CANNOT_RUN = 1, 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--replicas", type=int, choices=range(1, MAX_REPLICAS + 1),
                        metavar=f"1..{MAX_REPLICAS}",
                        help="copies to keep (default: NATS_REPLICAS, else 1)")
    parser.add_argument("--data-dir", help="the data directory of `onestop up` "
                        "(default: ONESTOP_DATA_DIR or ./var)")


def run(args: argparse.Namespace) -> int:
    try:
        replicas = args.replicas or configured_replicas(os.environ)
        where = site(args.data_dir)
    except (ValueError, SettingsError) as error:
        print(f"onestop: {error}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    return asyncio.run(_scale(where, replicas))


async def _scale(where, replicas: int) -> int:
    connection = await connect(where)

    def said(kept: Kept) -> None:
        print(f"{kept.stream}: {kept.replicas} -> {replicas}", flush=True)
    try:
        try:
            changed = await scale(connection, where.event_stream, replicas, said)
        except (nats.errors.Error, nats.js.errors.Error, OperationalError) as error:
            print(f"onestop: the cluster did not take {replicas} copies: {error}",
                  file=sys.stderr)
            return EXIT_REFUSED
        try:
            await give_feeds_batches(connection, where.event_stream,
                                     lambda stream: print(f"{stream}: atomic batches",
                                                          flush=True))
        except (nats.errors.Error, nats.js.errors.Error) as error:
            print(f"onestop: the feed streams did not take atomic batches: {error}",
                  file=sys.stderr)
            return EXIT_REFUSED
    finally:
        await connection.close()
    print(f"every stream of {where.event_stream} keeps {replicas} copies"
          + (f" ({len(changed)} changed)" if changed else " (none changed)"))
    return 0
