"""Property: any command the contract's schema lets through is decided by the domain (applied or
refused with a DomainError, nothing else), and every projection applies whatever it wrote,
into documents a view store can serialize.

Commands are generated from their pydantic models (tests/strategies.py), valid ones included,
against a district that has records of every kind in several states. Deterministic
(`derandomize`): the same examples every run.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from pydantic import ValidationError

from domain.application import COMMANDS
from domain.commands import (AcceptCase, AssignExpert, DiagnoseEnterprise, EnrollEnterprise,
                             FileDispute, LaunchCampaign, OpenImprovement, OrderRecall,
                             ResolveCase, ScheduleMediation)
from domain.errors import DomainError
from domain.refusals import refusals
from projections import ALL_PROJECTIONS
from projections.memory import InMemoryViews
from tests.domain.support import in_memory_world
from tests.projections.support import head, logged_since
from tests.strategies import Known, payloads

EXAMPLES = 30


class StoredViews(InMemoryViews):
    """Views in dicts that, as a real store does, write each document as JSON."""

    def put(self, table: str, key: str, doc: dict[str, Any]) -> None:
        orjson.dumps(doc)  # raises for what no store could keep (an integer over 64 bits...)
        super().put(table, key, doc)


class District:
    """Records of every kind, in the states commands need; every view kept up to date."""

    def __init__(self) -> None:
        self.world = world = in_memory_world()
        app = world.app
        enterprises = [world.enterprise(), world.enterprise()]
        submitted, open_case, resolved = (world.case(accepted=False), world.case(accepted=False),
                                          world.case(accepted=False))
        for case in (open_case, resolved):
            app.accept_case(world.ctx(), AcceptCase(case_id=case, lead="jxw",
                                                    collaborators=("zjw",)))
        app.resolve_case(world.ctx("jxw"), ResolveCase(
            case_id=resolved, outcome="done", invested_yuan=1, saved_per_year_yuan=1,
            expected_benefit_yuan=1))
        experts, instruments = [world.expert(), world.expert()], [world.equipment()]
        start, end = world.slot(3)
        booking = app.assign_expert(world.ctx("jxw"), AssignExpert(
            case_id=open_case, expert_id=experts[0], start=start, end=end)).booking_id
        campaign = app.launch_campaign(world.ctx(), LaunchCampaign(
            title="砖", industry="building_bricks", department="jxw",
            dimensions=("process", "quality"), scale_min=1, scale_max=5)).id
        app.enroll_enterprise(world.ctx(), EnrollEnterprise(campaign_id=campaign,
                                                            enterprise_id=enterprises[0]))
        app.diagnose_enterprise(world.ctx(), DiagnoseEnterprise(
            campaign_id=campaign, enterprise_id=enterprises[0],
            scores={"process": 3, "quality": 4}))
        dispute = app.file_dispute(world.ctx(), FileDispute(
            buyer="李", producer_id=enterprises[0], product="砖", description="裂")).id
        app.schedule_mediation(world.ctx(), ScheduleMediation(
            dispute_id=dispute, at=start, place="office", mediator_department="jxw"))
        recall = app.order_recall(world.ctx(), OrderRecall(
            enterprise_id=enterprises[0], product="砖", reason="x", quantity=100,
            department="jxw")).id
        improvement = app.open_improvement(world.ctx(), OpenImprovement(
            enterprise_id=enterprises[0], title="SPC", department="jxw")).id
        reference = app.reference
        departments = sorted(reference.department_codes)
        self.known = Known(now=world.now, ids={
            "case_id": [submitted, open_case, resolved], "enterprise_id": enterprises,
            "producer_id": enterprises, "buyer_id": enterprises, "supplier_id": enterprises,
            "expert_id": experts, "equipment_id": instruments, "booking_id": [booking],
            "campaign_id": [campaign], "dispute_id": [dispute], "recall_id": [recall],
            "improvement_id": [improvement],
        }, codes={
            "service_type": [service.code for service in reference.services],
            "channel": [channel.code for channel in reference.channels],
            "station": sorted(reference.station_codes), "town": sorted(reference.towns),
            "lead": departments, "collaborator": departments, "to": departments,
            "department": departments, "mediator_department": departments,
            "industry": ["building_bricks", "ceramics"], "dimension": ["process", "quality"],
            "score": ["process", "quality"],
        })
        self.views = {projection.name: StoredViews() for projection in ALL_PROJECTIONS}
        self.position = 0
        self.project()

    def project(self) -> None:
        """What was written since the last time, into every view."""
        events = logged_since(self.world, self.position)
        for projection in ALL_PROJECTIONS:
            self.views[projection.name].fold(projection, events)
        self.position = head(self.world)


@pytest.mark.parametrize("name", list(COMMANDS))
def test_any_command_the_schema_accepts_is_decided_and_projected(name):
    # A district of its own: what other commands did (a case withdrawn...) does not narrow
    # what this one reaches.
    entry, here = COMMANDS[name], District()

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    @given(payloads(entry.command, here.known))
    def decided_and_projected(payload: dict[str, Any]) -> None:
        try:
            command = entry.command.model_validate(payload)
        except ValidationError:
            return  # refused at the door, as the bus refuses it
        try:
            entry.use_case(here.world.app, here.world.ctx("samr"), command)
        except DomainError as refusal:
            # refused by a rule of the domain: a clean refusal, with a code its contract lists
            assert refusal.code in refusals(entry.command, here.world.app.authority), \
                (name, refusal)
        here.project()

    decided_and_projected()
