"""`onestop kpi`: the district's results, asked of the running service as the operator."""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys

import orjson

from bus.cli.operator import CannotRun, connect, site
from bus.contract import subjects
from bus.service.security import OPERATOR
from bus.service.settings import SettingsError
from domain.bounds import FIRST_YEAR, LAST_YEAR, MONTH_PATTERN
from projections.queries.kpis import SHARE_METRICS

HELP = ("print the district's results (KPIs) by district, department, town, channel, "
        "industry, window or month")
LABELS = (
    ("experts_registered", "experts in the library"),
    ("instruments_registered", "instruments in the library"),
    ("enterprises_registered", "enterprises registered"),
    ("above_scale_registered", "above-scale enterprises covered"),
    ("problems_collected", "problems collected"), ("problems_solved", "problems solved"),
    ("enterprises_helped", "enterprises helped to improve"),
    ("above_scale_coverage", "above-scale enterprises helped (share)"),
    ("services_online", "services ordered online"),
    ("services_offline", "services at windows and town posts"),
    ("experts_used", "experts used"), ("instruments_used", "instruments used"),
    ("campaigns_launched", "campaigns"), ("enterprises_diagnosed", "enterprises diagnosed"),
    ("improvement_plans_issued", "improvement plans issued"),
    ("buyer_opinions", "buyers' opinions collected"),
    ("disputes_resolved", "disputes resolved"), ("compensation_yuan", "compensation (yuan)"),
    ("units_recalled", "units recalled"), ("units_destroyed", "units destroyed"),
    ("losses_recovered_yuan", "losses recovered (yuan)"),
    ("improvement_projects", "improvement projects"),
    ("supplier_problems_found", "supplier problems found"),
    ("money_invested_yuan", "money invested (yuan)"),
    ("projects_money_invested_yuan", "  in improvement projects"),
    ("cases_money_invested_yuan", "  in resolving cases"),
    ("expected_benefit_yuan", "expected benefit (yuan)"),
    ("projects_expected_benefit_yuan", "  of improvement projects"),
    ("cases_expected_benefit_yuan", "  of resolved cases"),
    ("realised_benefit_yuan", "realised benefit (yuan)"),
    ("savings_per_year_yuan", "savings per year (yuan)"),
    ("ratings", "ratings (好差评)"), ("ratings_good", "  good"), ("ratings_bad", "  bad"),
    ("ratings_rectified", "  bad ones rectified"),
    ("ratings_rectified_on_time", "  within their working days"),
    ("ratings_overturned", "  overturned on appeal"),
    ("follow_ups_overdue", "  follow-ups overdue"),
    ("satisfaction_rate", "satisfaction rate"),
    ("rectification_rate", "rectification rate"),
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--by", default="district",
                        choices=("district", "department", "town", "channel", "industry",
                                 "station", "month"))
    parser.add_argument("--value", help="one department, town...; default: every one")
    parser.add_argument("--since", metavar="YYYY-MM", type=month, help="from this month")
    parser.add_argument("--until", metavar="YYYY-MM", type=month,
                        help="up to this month (included)")
    parser.add_argument("--json", action="store_true", help="the answer as JSON")
    parser.add_argument("--data-dir", help="the data directory of `onestop up` "
                        "(default: ONESTOP_DATA_DIR or ./var)")


def month(text: str) -> str:
    if not re.fullmatch(MONTH_PATTERN, text):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a month as YYYY-MM from {FIRST_YEAR}-01 to {LAST_YEAR}-12 "
            "(e.g. 2022-03)")
    return text


def run(args: argparse.Namespace) -> int:
    try:
        answer = asyncio.run(_ask(args))
    except (CannotRun, SettingsError) as error:
        print(f"onestop: {error}", file=sys.stderr)
        return 2
    if not answer.get("ok"):
        error = answer["error"]
        details = "; ".join(f"{field}: {problem}"
                            for field, problem in (error.get("fields") or {}).items())
        print(f"onestop: {error['code']}: {error['message']}"
              f"{f' ({details})' if details else ''}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(answer["result"], ensure_ascii=False, indent=2))
        return 0
    print_groups(answer["result"]["groups"], answer["position"])
    return 0


async def _ask(args: argparse.Namespace) -> dict:
    connection = await connect(site(args.data_dir))
    try:
        body = {"by": args.by, "value": args.value, "since_month": args.since,
                "until_month": args.until}
        reply = await connection.request(subjects.query(OPERATOR, "kpi.summary"),
                                         orjson.dumps(body), timeout=30)
        return orjson.loads(reply.data)
    finally:
        await connection.close()


def print_groups(groups: dict[str, dict], position: int | None = None) -> None:
    if not groups:
        print(f"no results yet (the KPI view is at log position {position})")
        return
    values = list(groups)
    print(f"{'':42}" + "".join(f"{value:>16}" for value in values))
    for metric, label in LABELS:
        if any(metric in groups[value] for value in values):
            print(f"{label:42}" + "".join(f"{shown(metric, groups[value].get(metric, '-')):>16}"
                                          for value in values))
    if position is not None:
        print(f"(as of log position {position})")


def shown(metric: str, amount: object) -> str:
    """A share as a percentage (`0.9429` -> `94.3%`); any other figure as it is."""
    if metric in SHARE_METRICS and isinstance(amount, (int, float)):
        return f"{amount:.1%}"
    return str(amount)
