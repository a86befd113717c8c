"""`onestop creds <principal>`: what a department's integrator needs to connect, as JSON."""

from __future__ import annotations

import argparse
import json
import os
import sys

from adapters.nats_address import NatsAddress
from bus.contract import subjects
from bus.contract.identity import feed_stream, inbox_prefix
from bus.service.security import credential_store, district_principals, server_of
from bus.service.settings import SettingsError, UpSettings
from domain.reference import ReferenceDataError, load_reference

HELP = "print or write the NATS credentials of a principal (a department, station, ...)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("principal", help="e.g. samr, jxw, post_laisu, portal, auditor")
    parser.add_argument("--data-dir", help="the data directory of `onestop up` "
                        "(default: ONESTOP_DATA_DIR or ./var)")
    parser.add_argument("--port", type=int, help="the embedded server's port (default: the "
                        "one `onestop up` runs on, else ONESTOP_NATS_PORT or 4244)")
    parser.add_argument("--write", metavar="FILE",
                        help="write to FILE (readable by its owner only) instead of printing")


def run(args: argparse.Namespace) -> int:
    try:
        settings = UpSettings.read(os.environ, data_dir=args.data_dir, port=args.port)
        reference = load_reference(os.environ.get("REFERENCE_DATA") or None)
    except (SettingsError, ReferenceDataError) as error:
        print(f"onestop: {error}", file=sys.stderr)
        return 2
    principals = {principal.id: principal for principal in district_principals(reference)}
    principal = principals.get(args.principal)
    if principal is None:
        print(f"onestop: {args.principal!r} is not a principal; choose one of: "
              f"{', '.join(sorted(principals))}", file=sys.stderr)
        return 2
    store = credential_store(settings.data_dir)
    # The running service's server, unless --port says otherwise.
    server = settings.server_config().url if args.port is not None else server_of(settings)
    document = {
        "principal": principal.id,
        "kind": principal.kind,
        "user": principal.id,
        # Alone in it: everything else comes from the service's account, by import.
        "account": principal.id,
        "password": store.password(principal.id),
        # Every server, without the password: give the user and password as connect options,
        # and a client holds on through the loss of any one server of a cluster (a password
        # inside a URL is used for that URL's server only).
        "servers": list(NatsAddress.parse(server).without_user().servers),
        # Replies come only on this prefix: set it as the client's inbox prefix.
        "inbox_prefix": inbox_prefix(principal.id),
        "commands": subjects.command(principal.id, "<command>"),
        "intake": subjects.intake(principal.id, "<command>"),
        "feed": {"stream": feed_stream(principal.id), "subjects": subjects.all_feed(principal.id),
                 # Push consumers are not delivered across the account boundary.
                 "read_with": "pull consumers (durable or ephemeral)"},
    }
    text = json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    if args.write:
        try:
            descriptor = os.open(args.write, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "w") as file:
                file.write(text)
        except OSError as error:
            print(f"onestop: cannot write {args.write} ({error.strerror})", file=sys.stderr)
            return 2
        print(f"wrote the credentials of {principal.id} to {args.write}")
    else:
        sys.stdout.write(text)
    return 0
