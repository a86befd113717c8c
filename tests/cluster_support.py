"""A district on a three-server NATS cluster of the real binary, on free ports of this machine:
the same accounts and passwords on each server, routes authenticated, JetStream clustered."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from adapters.natsserver import EmbeddedNatsServer, EmbeddedServerConfig, cluster_block, free_port
from bus.contract.identity import CredentialStore
from bus.service.security import OPERATOR, credential_store, district_accounts
from domain.reference import load_reference


@dataclass
class Cluster:
    nodes: list[EmbeddedNatsServer]
    credentials: CredentialStore
    data_dir: Path

    @property
    def server(self) -> EmbeddedNatsServer:
        return self.nodes[0]  # what tests/bus_support.Service asks of a district

    @property
    def servers(self) -> str:
        """NATS_URL for all of them: the comma-separated list."""
        return ",".join(node.url for node in self.nodes)

    def url(self, principal: str) -> str:
        return self.credentials.url_for(principal, self.servers)


@contextmanager
def district_cluster(data_dir: Path, size: int = 3) -> Iterator[Cluster]:
    accounts = district_accounts(data_dir, load_reference(None), "ONESTOP")
    credentials = credential_store(data_dir)
    route_password = secrets.token_hex(16)
    ports = _ports(2 * size)
    client_ports, route_ports = ports[:size], ports[size:]
    nodes = [EmbeddedNatsServer(EmbeddedServerConfig(
        data_dir=data_dir / f"node{index}", port=client_ports[index],
        server_name=f"node{index}",
        extra_config=accounts + cluster_block(
            "onestop", f"127.0.0.1:{route_ports[index]}",
            [f"127.0.0.1:{port}" for port in route_ports], "route", route_password),
        probe_userinfo=f"{OPERATOR}:{credentials.password(OPERATOR)}", start_timeout=60))
        for index in range(size)]
    try:
        # Together: JetStream answers on none of them before most of them are up.
        for node in nodes:
            node.launch()
        for node in nodes:
            node.wait_until_ready()
        yield Cluster(nodes, credentials, data_dir)
    finally:
        for node in nodes:
            node.stop()


def _ports(count: int) -> list[int]:
    ports: list[int] = []
    while len(ports) < count:
        port = free_port()
        if port not in ports:
            ports.append(port)
    return ports
