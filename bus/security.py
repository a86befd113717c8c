"""The principals of a district, their credentials, and a server configured to enforce them."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from adapters.natsserver import EmbeddedServerConfig
from bus.identity import CredentialStore, Principal, render_authorization
from domain.reference import Reference

SERVICE, OPERATOR, AUDITOR, PORTAL = "service", "operator", "auditor", "portal"


def district_principals(reference: Reference) -> list[Principal]:
    principals = [Principal(SERVICE, "service"), Principal(OPERATOR, "operator"),
                  Principal(AUDITOR, "auditor"), Principal(PORTAL, "portal")]
    for code in sorted(reference.department_codes):
        principals.append(Principal(code, "lead" if code == reference.lead.code else "department"))
    principals += [Principal(code, "station") for code in sorted(reference.station_codes)]
    return principals


def credential_store(data_dir: Path) -> CredentialStore:
    return CredentialStore(data_dir / "credentials")


def secured(config: EmbeddedServerConfig, reference: Reference,
            event_stream: str) -> EmbeddedServerConfig:
    """The same server, with one user per principal and the permissions of its kind."""
    credentials = credential_store(config.data_dir)
    principals = district_principals(reference)
    return replace(
        config,
        extra_config=render_authorization(principals, credentials.passwords(principals),
                                          event_stream),
        probe_userinfo=f"{OPERATOR}:{credentials.password(OPERATOR)}",
    )
