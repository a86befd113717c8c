"""Campaigns, disputes, recalls and improvement projects, run over NATS by the principals that
would run them; each bad input of issue 8 is refused with its code and writes nothing."""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID, uuid4

import pytest

from tests.bus_support import Service, when
from tests.domain.support import credit_code

DIMENSIONS = ["raw_materials", "formula", "firing", "inspection"]
GOOD = {"raw_materials": 60, "formula": 45, "firing": 70, "inspection": 80}
FINDING = {"stage": "raw_materials", "finding": "no coal gangue: shale only"}


def done(service: Service, principal: str, command: str, **fields) -> str:
    reply = service.command(principal, command, **fields)
    assert reply["ok"], (command, reply)
    return reply["id"]


def refused(service: Service, principal: str, command: str, **fields) -> dict:
    before = service.log_length()
    reply = service.command(principal, command, **fields)
    assert not reply["ok"], (command, reply)
    assert service.log_length() == before
    return reply["error"]


def app(service: Service):
    return service.bus.services.dispatcher.app


def enterprise(service: Service) -> str:
    return done(service, "portal", "enterprise.register", credit_code=credit_code(),
                name="永川页岩砖厂", scale="small_micro", industry="building_bricks",
                town="laisu")


def campaign(service: Service, **fields) -> str:
    return done(service, "samr", "campaign.launch", title="Brick industry touring diagnosis",
                industry="building_bricks", department="samr", dimensions=DIMENSIONS,
                **fields)


def enrolled(service: Service) -> tuple[str, str]:
    campaign_id, maker = campaign(service), enterprise(service)
    done(service, "samr", "campaign.enroll", campaign_id=campaign_id, enterprise_id=maker)
    return campaign_id, maker


def recall(service: Service, quantity: int = 800_000) -> str:
    return done(service, "samr", "recall.order", enterprise_id=enterprise(service),
                product="MU10 shale bricks", reason="compressive strength below GB/T 5101",
                quantity=quantity, department="samr")


def test_a_campaign_enrols_diagnoses_reports_and_closes_over_the_bus(service):
    # The bureau launches the campaign and enrols two brick makers.
    campaign_id = campaign(service)
    first, second = enterprise(service), enterprise(service)
    for maker in (first, second):
        done(service, "samr", "campaign.enroll", campaign_id=campaign_id, enterprise_id=maker)
    expert = done(service, "samr", "expert.register", name="李教授",
                  affiliation="重庆文理学院", specialties=["building_materials"])
    # Experts diagnose each maker on every dimension.
    done(service, "samr", "campaign.diagnose", campaign_id=campaign_id, enterprise_id=first,
         scores=GOOD, findings=[FINDING], experts=[expert])
    done(service, "samr", "campaign.diagnose", campaign_id=campaign_id, enterprise_id=second,
         scores={**GOOD, "firing": 100})
    # Buyers are heard, the first maker gets its report, a case it raised is linked twice.
    done(service, "samr", "campaign.collect_opinion", campaign_id=campaign_id,
         buyer="永川建工", opinion="strength varies from batch to batch", enterprise_id=first)
    done(service, "samr", "campaign.issue_report", campaign_id=campaign_id,
         enterprise_id=first, improvements=["control the firing curve"], summary="firing")
    case = done(service, "portal", "case.submit", enterprise_id=first,
                service_type="quality_management", description="Firing curve control",
                channel="online_platform")
    for _ in range(2):
        done(service, "samr", "campaign.link_case", campaign_id=campaign_id, case_id=case)
    # Everyone enrolled is diagnosed: the campaign closes.
    done(service, "samr", "campaign.close", campaign_id=campaign_id,
         summary="two makers diagnosed, one report issued")

    closed = app(service).get_campaign(UUID(campaign_id))
    assert (closed.status, closed.scale, closed.dimensions) == ("closed", (0, 100),
                                                                 tuple(DIMENSIONS))
    assert closed.enrolled == [UUID(first), UUID(second)]
    assert closed.diagnoses[UUID(first)].experts == (UUID(expert),)
    assert list(closed.reports) == [UUID(first)] and closed.cases == [UUID(case)]
    assert closed.opinions[0].enterprise_id == UUID(first)


def test_a_dispute_is_filed_mediated_with_compensation_and_closed_over_the_bus(service):
    producer, buyer = enterprise(service), enterprise(service)
    campaign_id = campaign(service)
    # A buyer files, in the campaign it arose in; the mediation is scheduled, then moved.
    dispute_id = done(service, "portal", "dispute.file", buyer="永川建工", buyer_id=buyer,
                      producer_id=producer, product="MU10 shale bricks",
                      description="bricks cracked within a month", campaign_id=campaign_id)
    done(service, "samr", "dispute.schedule_mediation", dispute_id=dispute_id,
         at=when(20), place="区市场监管局调解室",
         mediator_department="samr")
    done(service, "samr", "dispute.schedule_mediation", dispute_id=dispute_id,
         at=when(21), place="区市场监管局调解室",
         mediator_department="swj")
    # The parties agree on compensation; the dispute is closed.
    done(service, "swj", "dispute.mediate", dispute_id=dispute_id, agreement=True,
         terms="producer replaces the bricks", compensation_yuan="35000.50")
    done(service, "swj", "dispute.close", dispute_id=dispute_id, note="replaced")

    dispute = app(service).get_dispute(UUID(dispute_id))
    assert (dispute.status, dispute.campaign_id) == ("closed", UUID(campaign_id))
    assert dispute.mediation.mediator_department == "swj"
    assert dispute.outcome.compensation_yuan == Decimal("35000.50")


def test_a_recall_is_counted_to_destruction_and_completed_over_the_bus(service):
    recall_id = recall(service, quantity=500_000)
    # More units turn up: the order is raised before they are recalled.
    done(service, "samr", "recall.amend", recall_id=recall_id, quantity=800_000,
         reason="a second batch found")
    done(service, "samr", "recall.record_recalled", recall_id=recall_id, units=500_000)
    done(service, "samr", "recall.record_recalled", recall_id=recall_id, units=300_000)
    done(service, "samr", "recall.record_destroyed", recall_id=recall_id, units=800_000)
    done(service, "samr", "recall.record_loss_recovered", recall_id=recall_id,
         amount_yuan="1200000.00", source="producer")
    done(service, "samr", "recall.record_loss_recovered", recall_id=recall_id,
         amount_yuan="800000", source="insurer")
    done(service, "samr", "recall.complete", recall_id=recall_id, note="all destroyed")

    done_recall = app(service).get_recall(UUID(recall_id))
    assert (done_recall.status, done_recall.ordered, done_recall.recalled,
            done_recall.destroyed) == ("completed", 800_000, 800_000, 800_000)
    assert done_recall.recovered_yuan == Decimal("2000000.00")


def test_an_improvement_project_is_tracked_from_investment_to_benefit_over_the_bus(service):
    maker, supplier = enterprise(service), enterprise(service)
    # Supply-chain work: the maker's project names the problem found at its supplier.
    project = done(service, "jxw", "improvement.open", enterprise_id=maker,
                   title="Shale moisture control", department="jxw", supplier_id=supplier,
                   problem="shale delivered wet")
    done(service, "jxw", "improvement.record_investment", improvement_id=project,
         amount_yuan="50000", note="dryer")
    done(service, "jxw", "improvement.expect_benefit", improvement_id=project,
         amount_yuan="120000.00")
    done(service, "jxw", "improvement.complete", improvement_id=project,
         outcome="moisture within 2%")
    # Benefits keep coming after the work is done.
    for _ in range(2):
        done(service, "jxw", "improvement.realise_benefit", improvement_id=project,
             amount_yuan="60000.25", note="a year's savings")

    tracked = app(service).get_improvement(UUID(project))
    assert (tracked.status, tracked.supplier_id) == ("completed", UUID(supplier))
    assert (tracked.invested_yuan, tracked.expected_yuan, tracked.realised_yuan) \
        == (Decimal("50000.00"), Decimal("120000.00"), Decimal("120000.50"))


def test_refuses_destroying_more_units_than_recalled(service):
    recall_id = recall(service)
    done(service, "samr", "recall.record_recalled", recall_id=recall_id, units=1000)

    error = refused(service, "samr", "recall.record_destroyed", recall_id=recall_id,
                    units=1001)
    assert error["code"] == "recall.over_destruction"
    assert app(service).get_recall(UUID(recall_id)).destroyed == 0


def test_refuses_recalling_more_units_than_ordered(service):
    recall_id = recall(service, quantity=1000)

    error = refused(service, "samr", "recall.record_recalled", recall_id=recall_id,
                    units=1001)
    assert error["code"] == "recall.over_recall"
    assert app(service).get_recall(UUID(recall_id)).recalled == 0


def test_refuses_a_score_outside_the_campaign_scale(service):
    campaign_id, maker = enrolled(service)

    error = refused(service, "samr", "campaign.diagnose", campaign_id=campaign_id,
                    enterprise_id=maker, scores={**GOOD, "firing": 101})
    assert error["code"] == "campaign.score_out_of_scale"
    assert error["fields"]["scale_max"] == "100"
    assert app(service).get_campaign(UUID(campaign_id)).diagnoses == {}


def test_refuses_enrolling_an_enterprise_that_is_not_registered(service):
    campaign_id = campaign(service)

    error = refused(service, "samr", "campaign.enroll", campaign_id=campaign_id,
                    enterprise_id=str(uuid4()))
    assert error["code"] == "enterprise.not_found"
    assert app(service).get_campaign(UUID(campaign_id)).enrolled == []


def test_refuses_closing_a_campaign_while_an_enrolled_enterprise_is_undiagnosed(service):
    campaign_id, maker = enrolled(service)

    error = refused(service, "samr", "campaign.close", campaign_id=campaign_id,
                    summary="done early")
    assert error["code"] == "campaign.open_diagnoses"
    assert maker in error["fields"]["enterprises"]
    assert app(service).get_campaign(UUID(campaign_id)).status == "open"


@pytest.mark.parametrize("command, fields", [
    ("improvement.record_investment", {"amount_yuan": "0.125"}),
    ("improvement.record_investment", {"amount_yuan": "-1.00"}),
    ("improvement.expect_benefit", {"amount_yuan": "12e20"}),
])
def test_refuses_money_that_is_not_yuan_with_two_decimal_places(service, command, fields):
    project = done(service, "jxw", "improvement.open", enterprise_id=enterprise(service),
                   title="Firing curve", department="jxw")

    error = refused(service, "jxw", command, improvement_id=project, **fields)
    assert (error["code"], list(error["fields"])) == ("command.invalid", ["amount_yuan"])


def test_refuses_dimensions_that_are_not_codes_and_lists_beyond_their_bounds(service):
    assert refused(service, "samr", "campaign.launch", title="x", industry="building_bricks",
                   department="samr", dimensions=["Firing Curve"])["code"] == "command.invalid"
    assert refused(service, "samr", "campaign.launch", title="x", industry="building_bricks",
                   department="samr",
                   dimensions=[f"d{n}" for n in range(21)])["code"] == "command.invalid"
