"""The results screen (数据大屏): one read-only page of the district's results for the bureau's
leaders, served by `onestop up` on a port of its own (loopback unless told otherwise).

A leader signs in with a principal's credentials (HTTP Basic: the principal and the password
`onestop creds <principal>` prints), and the page then refreshes itself with a cookie that
says who signed in (signed with a key of this screen's own, valid for `SESSION_SECONDS`, void
once the service restarts); the page shows only what any principal of the district
may ask (`kpi.summary`, `satisfaction.ranking`: aggregates, no case), asked as that principal
through the same answerer as the bus queries. Charts are SVG drawn here, so the page needs
nothing from the internet. It refreshes its panel every few seconds from the KPI view.

Routes: `/` the page, `/panel` its panel (HTML), `/results.json` the figures it shows. Only
GET; a request it cannot read gets 400, a wrong or missing sign-in 401, and neither changes
anything. A plain asyncio server: a page a minute for a few leaders needs no web framework.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Callable
from datetime import datetime, timezone
from html import escape
from typing import Any

import orjson

from bus.contract.queries import QUERIES
from bus.service.answers import QueryAnswerer
from bus.service.screen_charts import bars, percent, tile
from domain.reference import Reference

log = logging.getLogger(__name__)

DEFAULT_SCREEN_PORT = 4280
REFRESH_SECONDS = 3
MAX_REQUEST_BYTES = 8 * 1024
READ_SECONDS = 10
SESSION_SECONDS = 12 * 3600
SESSION_COOKIE = "onestop_screen"
TILES = (("problems_collected", "收集问题", "problems collected"),
         ("problems_solved", "解决问题", "problems solved"),
         ("enterprises_helped", "帮助企业提升", "enterprises helped"),
         ("above_scale_registered", "服务规上企业", "above-scale enterprises covered"),
         ("experts_registered", "专家库", "experts"),
         ("instruments_registered", "设备库", "instruments"),
         ("satisfaction_rate", "满意率", "satisfaction rate"),
         ("rectification_rate", "整改率", "rectification rate"))


def names_of(reference: Reference) -> dict[str, str]:
    """What the screen calls each code: departments, windows and posts, channels by name."""
    named = [reference.lead, *reference.departments, *reference.stations, *reference.channels]
    return {item.code: item.zh for item in named}


class ScreenUnavailable(Exception):
    """The screen cannot listen where it is told to; the message says what to do."""


class ScreenRefused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


class ResultsScreen:
    def __init__(self, answers: Callable[[], QueryAnswerer | None],
                 password_of: Callable[[str], str | None],
                 names: Callable[[], dict[str, str]],
                 host: str = "127.0.0.1", port: int = DEFAULT_SCREEN_PORT) -> None:
        self.answers = answers
        self.password_of = password_of  # None: no such principal, or no password kept
        # code -> name, for departments, stations, channels: from the reference data, once the
        # service has read it.
        self.names = names
        self._names: dict[str, str] | None = None
        self.host, self.port = host, port
        self._server: asyncio.Server | None = None
        self._key = secrets.token_bytes(32)  # signs the sessions of this screen, and no other

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    async def start(self) -> None:
        try:
            self._server = await asyncio.start_server(self._serve, self.host, self.port,
                                                      limit=MAX_REQUEST_BYTES)
        except OSError as error:
            raise ScreenUnavailable(
                f"the results screen cannot listen on {self.host}:{self.port} "
                f"({error.strerror or error}); choose another port with --screen-port or "
                "ONESTOP_SCREEN_PORT, or 0 for no screen") from None
        self.port = self._server.sockets[0].getsockname()[1]  # port 0: the one it got

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            try:
                path, headers = await asyncio.wait_for(_request(reader), READ_SECONDS)
                principal, by_password = self._signed_in(headers)
                status, kind, body = 200, *await self._page(path, principal)
                cookie = self._session(principal) if by_password else None
            except ScreenRefused as refused:
                status, kind, body, cookie = refused.status, "text/plain; charset=utf-8", (
                    refused.reason + "\n").encode(), None
            except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                    ValueError):
                status, kind, body, cookie = 400, "text/plain; charset=utf-8", \
                    b"bad request\n", None
            writer.write(_response(status, kind, body, cookie))
            await writer.drain()
        except (ConnectionError, OSError):
            pass  # the browser went away: nothing to answer
        except Exception:  # noqa: BLE001 - one bad request must not stop the screen
            log.exception("the results screen could not answer")
        finally:
            writer.close()

    def _signed_in(self, headers: dict[str, str]) -> tuple[str, bool]:
        """Who signed in, and whether by password (else by this screen's session cookie)."""
        for cookie in headers.get("cookie", "").split(";"):
            name, _, value = cookie.strip().partition("=")
            if name == SESSION_COOKIE and (principal := self._session_of(value)):
                return principal, False
        scheme, _, credentials = headers.get("authorization", "").partition(" ")
        if scheme.lower() == "basic":
            try:
                principal, _, password = base64.b64decode(credentials).decode().partition(":")
            except ValueError:
                principal = password = ""
            kept = self.password_of(principal) if principal else None
            if kept is not None and hmac.compare_digest(kept.encode(), password.encode()):
                return principal, True
        raise ScreenRefused(401, "sign in as a principal of the district (its name and the "
                                 "password `onestop creds <principal>` prints)")

    def _session(self, principal: str) -> str:
        until = int(time.time()) + SESSION_SECONDS
        said = f"{principal}.{until}"
        signature = hmac.new(self._key, said.encode(), hashlib.sha256).hexdigest()
        return f"{said}.{signature}"

    def _session_of(self, value: str) -> str | None:
        said, _, signature = value.rpartition(".")
        principal, _, until = said.rpartition(".")
        expected = hmac.new(self._key, said.encode(), hashlib.sha256).hexdigest()
        if (principal and until.isdigit() and int(until) > time.time()
                and hmac.compare_digest(expected, signature)
                and self.password_of(principal) is not None):
            return principal
        return None

    async def _page(self, path: str, principal: str) -> tuple[str, bytes]:
        route = path.split("?", 1)[0]
        if route == "/results.json":
            return "application/json", orjson.dumps(await self.figures(principal))
        if route == "/panel":
            return "text/html; charset=utf-8", self._panel(await self.figures(principal)).encode()
        if route == "/":
            return "text/html; charset=utf-8", self._whole_page(
                principal, self._panel(await self.figures(principal))).encode()
        raise ScreenRefused(404, f"no page {route[:100]!r} here: see /")

    async def figures(self, principal: str) -> dict[str, Any]:
        """What the screen shows, asked of the views as `principal` asks queries."""
        answers = self.answers()
        if answers is None:
            raise ScreenRefused(503, "the service is starting; try again in a moment")
        district = await self._ask(answers, principal, "kpi.summary", {})
        groups = {by: (await self._ask(answers, principal, "kpi.summary", {"by": by}))["groups"]
                  for by in ("month", "town", "department", "channel", "station")}
        months = [month for month, metrics in groups["month"].items() if metrics.get("ratings")]
        ranking = (await self._ask(answers, principal, "satisfaction.ranking",
                                   {"month": months[-1]}))["items"] if months else []
        return {"district": district["groups"].get("all", {}), **groups,
                "ranking_month": months[-1] if months else None, "ranking": ranking,
                "position": district.get("position", 0),
                "as_of": datetime.now(timezone.utc).isoformat(timespec="seconds")}

    async def _ask(self, answers: QueryAnswerer, principal: str, name: str,
                   params: dict[str, Any]) -> dict[str, Any]:
        query = QUERIES[name]
        body = orjson.dumps(params)
        reply = await answers.answer(principal, query, query.schema.model_validate(params), body)
        if not reply["ok"]:
            raise ScreenRefused(403 if reply["error"]["code"] == "query.forbidden" else 503,
                                reply["error"]["message"])
        return {**reply["result"], "position": reply.get("position", 0)}

    def _panel(self, figures: dict[str, Any]) -> str:
        district = figures["district"]
        month = figures["month"]
        tiles = "".join(tile(metric, zh, en, district.get(metric)) for metric, zh, en in TILES)
        charts = [
            bars("problems by month · 问题（按月）", [
                (m, values.get("problems_collected", 0)) for m, values in month.items()]),
            bars("problems by town · 问题（按镇街）", self._top(figures["town"],
                                                            "problems_collected")),
            bars("problems by department · 问题（按部门）", self._top(figures["department"],
                                                                 "problems_collected")),
            bars("problems by channel · 问题（按渠道）", self._top(figures["channel"],
                                                              "problems_collected")),
        ]
        ranking = "".join(
            f"<tr><td>{item['rank']}</td><td>{escape(self._name(item['value']))}</td>"
            f"<td>{item['ratings']}</td><td>{percent(item['satisfaction_rate'])}</td>"
            f"<td>{percent(item['rectification_rate'])}</td></tr>"
            for item in figures["ranking"])
        ranked = escape(figures["ranking_month"] or "-")
        return (f'<section class="tiles">{tiles}</section>'
                f'<section class="charts">{"".join(charts)}</section>'
                f'<section class="ranking"><h2>好差评 monthly ranking · {ranked}</h2>'
                '<table id="ranking"><tr><th>#</th><th>department 部门</th><th>ratings</th>'
                f'<th>satisfaction</th><th>rectification</th></tr>{ranking}</table></section>'
                f'<p class="as-of" id="as-of" data-position="{figures["position"]}">as of log '
                f'position {figures["position"]}, {escape(figures["as_of"])}</p>')

    def _top(self, groups: dict[str, dict], metric: str, count: int = 12) -> list:
        items = [(self._name(value), metrics.get(metric, 0)) for value, metrics in groups.items()
                 if metrics.get(metric)]
        return sorted(items, key=lambda item: -item[1])[:count]

    def _name(self, code: str) -> str:
        if self._names is None:
            self._names = self.names()
        return self._names.get(code, code)

    def _whole_page(self, principal: str, panel: str) -> str:
        return f"""<!doctype html>
<html lang="zh"><head><meta charset="utf-8"><title>onestop · 质量基础设施一站式服务 数据大屏</title>
<style>
body {{ font-family: sans-serif; background: #0b1a2e; color: #e8eef6; margin: 24px; }}
h1 {{ font-size: 26px; margin: 0 0 16px; }} h2 {{ font-size: 16px; margin: 8px 0; }}
.tiles {{ display: grid; grid-template-columns: repeat(4, 1fr); gap: 12px; }}
.tile {{ background: #13294a; padding: 12px; border-radius: 6px; }}
.tile .figure {{ font-size: 30px; font-weight: bold; color: #6fd3ff; }}
.tile .label {{ font-size: 13px; color: #a9b8cc; }}
.charts {{ display: grid; grid-template-columns: repeat(2, 1fr); gap: 12px; margin: 16px 0; }}
svg text {{ fill: #e8eef6; font-size: 11px; }} svg .bar {{ fill: #3aa0ff; }}
table {{ border-collapse: collapse; }} td, th {{ padding: 4px 12px; text-align: left; }}
.as-of {{ color: #7f90a6; font-size: 12px; }}
</style></head>
<body><h1>永川区质量基础设施“一站式”服务 · results <small>({escape(principal)})</small></h1>
<main id="panel">{panel}</main>
<script>
// The panel again from the KPI view every few seconds: the figures move as commands land.
setInterval(async () => {{
  try {{
    // From the origin: a page opened as http://principal:password@host/ may not fetch a
    // URL with credentials in it; its session cookie says who signed in.
    const answer = await fetch(location.origin + "/panel",
                               {{credentials: "same-origin", cache: "no-store"}});
    if (answer.ok) document.getElementById("panel").innerHTML = await answer.text();
  }} catch (error) {{ /* the service away for a moment: the next round tries again */ }}
}}, {REFRESH_SECONDS * 1000});
</script></body></html>"""


async def _request(reader: asyncio.StreamReader) -> tuple[str, dict[str, str]]:
    """The path and headers of a GET request; ValueError for anything else."""
    head = await reader.readuntil(b"\r\n\r\n")  # at most MAX_REQUEST_BYTES (the limit)
    lines = head.decode("latin-1").split("\r\n")
    method, path, _version = lines[0].split(" ", 2)
    if method != "GET":
        raise ScreenRefused(405, "only GET: the results screen changes nothing")
    if not path.startswith("/"):
        raise ValueError("not a path")
    headers = {}
    for line in lines[1:]:
        name, separator, value = line.partition(":")
        if separator:
            headers[name.strip().lower()] = value.strip()
    return path, headers


def _response(status: int, kind: str, body: bytes, session: str | None = None) -> bytes:
    reasons = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
               404: "Not Found", 405: "Method Not Allowed", 503: "Service Unavailable"}
    head = [f"HTTP/1.1 {status} {reasons[status]}", f"Content-Type: {kind}",
            f"Content-Length: {len(body)}", "Cache-Control: no-store", "Connection: close",
            "X-Content-Type-Options: nosniff"]
    if status == 401:
        head.append('WWW-Authenticate: Basic realm="onestop results", charset="UTF-8"')
    if session is not None:
        head.append(f"Set-Cookie: {SESSION_COOKIE}={session}; Path=/; HttpOnly; "
                    f"SameSite=Strict; Max-Age={SESSION_SECONDS}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body
