"""Where NATS is and who connects: a NATS_URL naming one server or several, comma-separated
(the NATS convention, `nats://a:4222,nats://b:4222`), with a user and password written once.

nats-py uses a password written inside a URL for that URL's own server only: the servers a
cluster tells it about are tried without one and refused, so losing the server named first
would stop every client. The user and password are therefore taken out of the URLs and given
as connect options, which hold for every server, discovered ones included (`options`).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

from adapters import nats_headers

# Every connection of ours is made with an address from here: its client parses message
# headers the faster way, with the same result (adapters/nats_headers.py says why).
nats_headers.install()

SCHEMES = ("nats", "tls", "ws", "wss")
DEFAULT_PORT = 4222


class AddressError(ValueError):
    """A NATS URL onestop cannot use; the message says which part and why (never the
    password)."""


@dataclass(frozen=True)
class NatsAddress:
    servers: tuple[str, ...]  # each `scheme://host:port`, without user or password
    user: str | None = None
    password: str | None = None

    @classmethod
    def parse(cls, text: str) -> NatsAddress:
        servers: list[str] = []
        users: set[tuple[str | None, str | None]] = set()
        for entry in (part.strip() for part in text.split(",")):
            if not entry:
                raise AddressError("a NATS URL list has an empty entry (two commas, or one "
                                   "at an end)")
            server, user, password = _server(entry)
            servers.append(server)
            if user is not None:
                users.add((user, password))
        if len(users) > 1:
            raise AddressError("the servers of a NATS URL list name different users: name "
                               "the user once, or the same on each")
        user, password = next(iter(users)) if users else (None, None)
        return cls(tuple(servers), user, password)

    def options(self) -> dict:
        """Keyword arguments of `nats.connect`: the servers, and whoever connects to each."""
        options: dict = {"servers": list(self.servers)}
        if self.user is not None and self.password is not None:
            options.update(user=self.user, password=self.password)
        elif self.user is not None:  # a user without a password is a token in NATS URLs
            options["token"] = self.user
        return options

    def as_user(self, user: str, password: str) -> NatsAddress:
        return NatsAddress(self.servers, user, password)

    def without_user(self) -> NatsAddress:
        return NatsAddress(self.servers)

    def text(self) -> str:
        """Back as a NATS_URL, the user and password on each server."""
        if self.user is None:
            return ",".join(self.servers)
        userinfo = quote(self.user, safe="")
        if self.password is not None:
            userinfo += ":" + quote(self.password, safe="")
        return ",".join(server.replace("://", f"://{userinfo}@", 1) for server in self.servers)

    def redacted(self) -> str:
        """Fit to print or log: the user, never the password."""
        if self.user is None:
            return ",".join(self.servers)
        userinfo = self.user + (":***" if self.password is not None else "")
        return ",".join(server.replace("://", f"://{userinfo}@", 1) for server in self.servers)


def _server(entry: str) -> tuple[str, str | None, str | None]:
    if "://" not in entry:
        entry = f"nats://{entry}"  # `host:port`, as nats-py also takes it
    parts = urlsplit(entry)
    if parts.scheme not in SCHEMES:
        raise AddressError(f"a NATS URL must start with one of {', '.join(SCHEMES)}://, not "
                           f"{parts.scheme}://")
    try:
        port = parts.port or DEFAULT_PORT
    except ValueError:
        raise AddressError(f"a NATS URL has a port that is no number from 1 to 65535 "
                           f"(host {parts.hostname or '?'})") from None
    if not parts.hostname:
        raise AddressError("a NATS URL names no host")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise AddressError(f"a NATS URL is scheme://[user:password@]host[:port], with nothing "
                           f"after the port (host {parts.hostname})")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    user = None if parts.username is None else unquote(parts.username)
    password = None if parts.password is None else unquote(parts.password)
    return f"{parts.scheme}://{host}:{port}", user, password


def connect_options(url: str) -> dict:
    """`nats.connect(**connect_options(url), ...)` for a URL or a list of them."""
    return NatsAddress.parse(url).options()


def redacted(url: str) -> str:
    """The URL or list without its password; what cannot be read at all is not repeated (it
    might hold a password)."""
    try:
        return NatsAddress.parse(url).redacted()
    except AddressError:
        return "(a NATS URL that cannot be read)"
