"""`onestop nats-auth --write FILE`: the district's NATS accounts and users, for a server
onestop does not start (compose's): the service's account, which holds every stream, and an
account per principal that imports only its own services, each user with the permissions of
its kind and its password from the data directory, as `onestop up` gives its embedded server.
The server includes the file (`include`); `onestop up` and the operator commands, given a
NATS_URL without a user, then connect as their own principal with the password kept beside it
(`bus.service.security.url_as`).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

from adapters.natsserver import cluster_block
from bus.service.security import credential_store, district_accounts
from bus.service.settings import SettingsError, UpSettings
from domain.reference import ReferenceDataError, load_reference

CLUSTER_NAME, ROUTE_USER, ROUTE_PORT = "onestop", "cluster-route", 6222
ROUTE = re.compile(r"[A-Za-z0-9.-]+:[0-9]{1,5}")

HELP = ("write the nats-server accounts and users of every principal, for a server onestop "
        "does not start")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--write", metavar="FILE", required=True,
                        help="the file to write (readable by its owner only): passwords are "
                             "in it, so it is never printed")
    parser.add_argument("--data-dir", help="where the credentials are kept, made the first "
                        "time (default: ONESTOP_DATA_DIR or ./var)")
    parser.add_argument("--cluster", metavar="HOST:PORT,...",
                        help="also the cluster block of a server of a NATS cluster: every "
                             "server's route address (each server includes the same file), "
                             "routes authenticated with a password kept beside the others")


def run(args: argparse.Namespace) -> int:
    try:
        settings = UpSettings.read(os.environ, data_dir=args.data_dir)
        reference = load_reference(os.environ.get("REFERENCE_DATA") or None)
    except (SettingsError, ReferenceDataError) as error:
        print(f"onestop: {error}", file=sys.stderr)
        return 2
    text = district_accounts(settings.data_dir, reference, settings.event_stream)
    if args.cluster:
        routes = [route.strip() for route in args.cluster.split(",") if route.strip()]
        if not routes or not all(ROUTE.fullmatch(route) for route in routes):
            print(f"onestop: --cluster is a list of host:port, not {args.cluster!r}",
                  file=sys.stderr)
            return 2
        password = credential_store(settings.data_dir, make_missing=True).password(ROUTE_USER)
        text += cluster_block(CLUSTER_NAME, f"0.0.0.0:{ROUTE_PORT}", routes, ROUTE_USER,
                              password)
    target = Path(args.write)
    # Written beside and renamed over: a server (re)reading the file never finds half of it.
    partial = target.with_name(f".{target.name}.partial")
    try:
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(text)
        os.replace(partial, target)
    except OSError as error:
        print(f"onestop: cannot write {target} ({error.strerror})", file=sys.stderr)
        return 2
    print(f"wrote the accounts and users of every principal to {target}; their passwords are in "
          f"{credential_store(settings.data_dir).directory}")
    return 0
