"""The principals of a district, their credentials, and a server configured to enforce them."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from adapters.nats_address import NatsAddress
from adapters.natsserver import EmbeddedServerConfig
from bus.contract.identity import SERVICE_ACCOUNT, CredentialStore, Principal, render_accounts
from bus.service.runtime import read_runtime
from bus.service.settings import UpSettings
from domain.reference import Reference

SERVICE, OPERATOR, AUDITOR, PORTAL = "service", "operator", "auditor", "portal"


def district_principals(reference: Reference) -> list[Principal]:
    principals = [Principal(SERVICE, "service"), Principal(OPERATOR, "operator"),
                  Principal(AUDITOR, "auditor"), Principal(PORTAL, "portal")]
    for code in sorted(reference.department_codes):
        principals.append(Principal(code, "lead" if code == reference.lead.code else "department"))
    principals += [Principal(code, "station") for code in sorted(reference.station_codes)]
    return principals


def credential_store(data_dir: Path, *, make_missing: bool = False) -> CredentialStore:
    """The principals' passwords; only what configures a server makes missing ones."""
    return CredentialStore(data_dir / "credentials", make_missing=make_missing)


def district_accounts(data_dir: Path, reference: Reference, event_stream: str) -> str:
    """nats-server's `accounts` block: the service's account and one per principal, each
    user with the permissions of its kind and its password from the data directory (made
    there the first time)."""
    principals = district_principals(reference)
    passwords = credential_store(data_dir, make_missing=True).passwords(principals)
    return render_accounts(principals, passwords, event_stream)


def adopt_global_account_store(store_dir: Path) -> bool:
    """Moves a JetStream store written before the district had accounts into the service's
    account, where the server now looks for it; True if it did. Without this, the log of
    record would seem to be gone (it would still be there, under the global account)."""
    accounts = store_dir / "jetstream"
    before, now = accounts / "$G", accounts / SERVICE_ACCOUNT
    if not before.is_dir() or now.exists():
        return False
    try:
        before.rename(now)
    except OSError:  # not ours to move: the server's start says what is wrong with the store
        return False
    return True


def secured(config: EmbeddedServerConfig, reference: Reference,
            event_stream: str) -> EmbeddedServerConfig:
    """The same server, with one user per principal and the permissions of its kind."""
    return replace(
        config,
        extra_config=district_accounts(config.data_dir, reference, event_stream),
        probe_userinfo=f"{OPERATOR}:{credential_store(config.data_dir).password(OPERATOR)}",
    )


def server_of(settings: UpSettings) -> str:
    """NATS_URL; or the embedded server that the data directory's `onestop up` runs; or,
    when none runs there, where it would listen."""
    if settings.nats_url:
        return settings.nats_url
    running = read_runtime(settings.data_dir)
    return running.url if running else settings.server_config().url


def url_as(settings: UpSettings, principal: str) -> str:
    """Where a command connects, and as whom.

    To the embedded server of `onestop up`, found through the data directory's runtime.json
    (bus/service/runtime.py) whatever port it was given: as `principal`, with its password from the
    data directory. To NATS_URL: as the URL says; or, when it names no user and the data
    directory keeps `principal`'s password (`onestop nats-auth` configured that server's
    users from them, as compose does), as `principal`."""
    store = credential_store(settings.data_dir)
    if settings.nats_url is None:
        return store.url_for(principal, server_of(settings))
    if NatsAddress.parse(settings.nats_url).user is None and store.has(principal):
        return store.url_for(principal, settings.nats_url)
    return settings.nats_url
