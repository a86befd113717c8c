"""The results screen over HTTP, on a real server: a principal signs in with its password and
sees the KPI view's figures, which move when a command lands; anyone else gets 401, any
other method 405, a request it cannot read 400, and none of them changes anything."""

from __future__ import annotations

import base64
import json
import socket
import urllib.error
import urllib.request
from uuid import uuid4

import pytest

from tests.bus_support import Service
from tests.domain.support import credit_code
from tests.processes import wait_until


@pytest.fixture
def service(district, unique_name):
    running = Service(district, unique_name(), screen_port=0)
    yield running
    running.close()


def get(service: Service, path: str, principal: str | None = "samr",
        password: str | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(service.bus.services.screen.url.rstrip("/") + path)
    if principal is not None:
        password = password or service.district.credentials.password(principal)
        token = base64.b64encode(f"{principal}:{password}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read()


def raw(service: Service, data: bytes) -> bytes:
    screen = service.bus.services.screen
    with socket.create_connection((screen.host, screen.port), timeout=10) as connection:
        connection.sendall(data)
        return connection.recv(4096)


def submit(service: Service) -> int:
    enterprise = service.request("portal", "enterprise.register", {
        "command_id": uuid4().hex, "person": "p", "credit_code": credit_code(), "name": "厂",
        "scale": "above_scale", "industry": "ceramics", "town": "laisu"})
    case = service.request("portal", "case.submit", {
        "command_id": uuid4().hex, "person": "p", "enterprise_id": enterprise["id"],
        "service_type": "metrology", "description": "计量器具检定", "channel": "online_platform"})
    assert case["ok"], case
    return case["position"]


def test_the_figures_on_screen_are_the_kpi_views_and_move_when_a_command_lands(service):
    position = submit(service)
    asked = service.query("jxw", "kpi.summary", {"min_position": position})["result"]

    def shown() -> dict:
        status, body = get(service, "/results.json", "jxw")
        assert status == 200, body
        return json.loads(body)

    wait_until(lambda: shown()["position"] >= position, 10, "the screen at the position")
    assert shown()["district"] == asked["groups"]["all"]
    status, page = get(service, "/", "jxw")
    assert status == 200 and b'id="problems_collected" data-value="1"' in page
    assert b"<svg" in page and b"problems by month" in page

    again = submit(service)
    wait_until(lambda: shown()["district"].get("problems_collected") == 2, 10,
               "the second problem on screen")
    assert shown()["position"] >= again


@pytest.mark.parametrize(("principal", "password"), [
    (None, None), ("samr", "not its password"), ("stranger", "whatever"),
    ("service", None),  # the service's own account is no principal of the district
])
def test_anyone_but_a_principal_signed_in_gets_401(service, principal, password):
    if principal == "service":
        password = service.district.credentials.password("service")
    status, body = get(service, "/", principal, password)

    assert status == 401 and b"sign in as a principal" in body


def test_what_the_screen_cannot_read_gets_400_405_404_and_changes_nothing(service):
    before = service.log_length()

    assert raw(service, b"POST / HTTP/1.1\r\n\r\n").startswith(b"HTTP/1.1 405")
    assert raw(service, b"nonsense\r\n\r\n").startswith(b"HTTP/1.1 400")
    assert raw(service, b"GET / HTTP/1.1\r\nX: " + b"y" * 20_000 + b"\r\n\r\n").startswith(
        b"HTTP/1.1 400")
    assert get(service, "/admin")[0] == 404
    assert get(service, "/")[0] == 200  # and it still answers
    assert service.log_length() == before


def test_the_screen_listens_on_loopback_only_by_default(service):
    assert service.bus.services.screen.host == "127.0.0.1"
