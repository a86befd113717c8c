"""`onestop demo`: load the article's stories into a running onestop, then print its KPIs."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time

import nats.errors
import orjson
from nats.aio.client import Client

from bus.cli.kpi import print_groups, shown
from bus.cli.operator import CannotRun, connect_quickly
from bus.cli.stories import DemoFailed, Story
from bus.contract import subjects
from bus.contract.identity import MissingCredentials
from bus.service.security import OPERATOR, url_as
from bus.service.settings import SettingsError, UpSettings

HELP = "load the article's stories through the command subjects and print the KPIs"
REQUEST_TIMEOUT = 30.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", help="the data directory of `onestop up` "
                        "(default: ONESTOP_DATA_DIR or ./var)")


class Principals:
    """One connection per principal, with its own credentials where the data directory has
    them (`url_as`); otherwise every step goes over one connection, to NATS_URL as given."""

    def __init__(self, settings: UpSettings) -> None:
        self.settings = settings
        self.connections: dict[str, Client] = {}  # by principal

    def url(self, principal: str) -> str:
        return url_as(self.settings, principal)

    async def connection(self, principal: str) -> Client:
        if principal not in self.connections:
            self.connections[principal] = await connect_quickly(
                self.url(principal), self.settings.data_dir, f"onestop-demo-{principal}")
        return self.connections[principal]

    async def request(self, subject: str, principal: str, body: dict) -> dict:
        connection = await self.connection(principal)
        reply = await connection.request(subject, orjson.dumps(body), timeout=REQUEST_TIMEOUT)
        return orjson.loads(reply.data)

    async def close(self) -> None:
        for connection in self.connections.values():
            await connection.close()


def run(args: argparse.Namespace) -> int:
    try:
        settings = UpSettings.read(os.environ, data_dir=args.data_dir)
    except SettingsError as error:
        print(f"onestop: {error}", file=sys.stderr)
        return 2
    return run_demo(settings)


def run_demo(settings: UpSettings) -> int:
    return asyncio.run(_run(settings))


async def _run(settings: UpSettings) -> int:
    principals = Principals(settings)
    try:
        await principals.connection(OPERATOR)
        story = Story(lambda principal, command, body: principals.request(
            subjects.command(principal, command), principal, body))
        started = time.monotonic()
        try:
            await story.run()
        except DemoFailed as failure:
            print(f"onestop demo: {failure}", file=sys.stderr)
            return 1
        except (TimeoutError, nats.errors.Error) as error:
            # NATS is there but the service is not (NATS_URL's server), or went away.
            print(f"onestop demo: the service did not answer ({str(error) or type(error).__name__}"
                  "); is `onestop up` running?", file=sys.stderr)
            return 2
        print(f"{story.steps} commands sent in {time.monotonic() - started:.1f}s "
              f"(each as the principal that sends it; a second run changes nothing)")
        answer = await principals.request(
            subjects.query("samr", "kpi.summary"), "samr",
            {"min_position": story.last_position, "wait_ms": 30_000})
        if not answer.get("ok"):
            print(f"onestop demo: the KPIs did not come: {answer.get('error')}",
                  file=sys.stderr)
            return 1
        print_kpis(answer["result"]["groups"].get("all", {}))
        return 0
    except (CannotRun, MissingCredentials) as error:
        # No NATS where the data directory says, or no credentials of a principal there.
        # Said here, not left to the command line: `up --demo` runs this in a thread.
        print(f"onestop: {error}", file=sys.stderr)
        return 2
    finally:
        await principals.close()


# What the article says, and the metric of the district's results that says it: its figure
# exactly, where the article gives one.
ARTICLE_FIGURES = (
    ("experts_registered", "83名专家教授入驻平台 (the expert library)", 83),
    ("instruments_registered", "整合“高精尖”技术设备32台件 (the instrument library)", 32),
    ("above_scale_registered", "为全区353家规上企业提供质量保障", 353),
    ("enterprises_diagnosed", "34家砖瓦企业巡回问诊", 34),
    ("buyer_opinions", "征集84家购砖单位意见", 84),
    ("supplier_problems_found", "长城汽车供应商质量问题48个", 48),
    ("improvement_projects", "改进项目100个", 100),
    ("projects_money_invested_yuan", "投入3881万元", "38810000.00"),
    ("projects_expected_benefit_yuan", "预计效益2.4亿元", "240000000.00"),
    ("savings_per_year_yuan", "计量室每年节约约100万元", "1000000.00"),
)
# Where the article says "more than", "about": the demo's figure beside the article's words.
ABOUT = (
    ("problems_solved", "收集并解决质量发展问题70余个"),
    ("enterprises_helped", "帮助30余家企业实现质量提升"),
    ("disputes_resolved", "调解质量纠纷20余起"),
    ("units_destroyed", "召回销毁不合格砖80余万块"),
    ("losses_recovered_yuan", "挽回经济损失200余万元"),
)


def print_kpis(district: dict) -> None:
    print("\nThe article's figures, as the district's results give them")
    for metric, says, _figure in ARTICLE_FIGURES:
        print(f"  {says}  ->  {metric} {shown(metric, district.get(metric, '-'))}")
    for metric, says in ABOUT:
        print(f"  {says}  ->  {metric} {shown(metric, district.get(metric, '-'))}")
    print("\nDistrict results")
    print_groups({"all": district})
