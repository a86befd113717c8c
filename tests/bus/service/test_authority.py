"""Who may do what to which case: every command, sent as every kind of principal, over the real
bus on a permission-enforcing server.

For each command the principals allowed to send it are written out here, by hand, from the
district's rules (domain/authority.toml says the same in its own terms). An allowed principal
succeeds, on a record of its own in the state the command needs. Every other principal gets
the stable refusal — `command.not_permitted` when no principal of its kind could send it,
`<record>.not_yours` when one could, but not about this record — the log does not move, and
the refusal is in the audit trail.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from uuid import uuid4

import pytest

from bus.contract.operations import OPERATIONS
from bus.service.security import OPERATOR
from tests.adapters.audit.test_audit_trail import trail
from tests.bus_support import Service, day, service_on_its_own_server, when
from tests.domain.support import credit_code

LEAD, COLLABORATOR, UNINVOLVED = "jxw", "zjw", "kjj"
TAKER, OTHER_STATION = "post_laisu", "post_wujian"
PRINCIPALS = {
    "the lead bureau": "samr",
    "the lead department": LEAD,
    "a collaborating department": COLLABORATOR,
    "an uninvolved department": UNINVOLVED,
    "the station that took the case": TAKER,
    "another station": OTHER_STATION,
    "the portal": "portal",
    "the auditor": "auditor",
    "the operator": OPERATOR,
}
KIND = {"samr": "lead", LEAD: "department", COLLABORATOR: "department",
        UNINVOLVED: "department", TAKER: "station", OTHER_STATION: "station",
        "portal": "portal", "auditor": None, OPERATOR: None}
SLOT = {"start": when(7), "end": when(7.125)}
DONE = when(-1)  # a visit is reported once it has happened
EVERYONE_WHO_ACTS = {"samr", LEAD, COLLABORATOR, UNINVOLVED, TAKER, OTHER_STATION, "portal"}
CASE_WORKERS = {LEAD, COLLABORATOR}
# The programmes, the experts and the instruments of these tests are all jxw's.
PROGRAMME = {"samr", LEAD}
# The lead bureau may lead or collaborate on a case as a department does: about a case it has
# no part in, case work is "not yours" to it, not "not permitted".
LEADS_CASES_TOO = frozenset({"lead"})


class District:
    """Records in the states the commands need, each made by a principal allowed to."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.enterprise = self.send("portal", "enterprise.register", credit_code=credit_code(),
                                    name="永川页岩砖厂", scale="small_micro",
                                    industry="building_bricks", town="laisu")["id"]

    def send(self, principal: str, command: str, **fields) -> dict:
        reply = self.request(principal, command, **fields)
        assert reply["ok"], (principal, command, reply)
        return reply

    def request(self, principal: str, command: str, **fields) -> dict:
        return self.service.request(principal, command,
                                    {"command_id": uuid4().hex, "person": "经办人", **fields})

    def expert(self) -> str:
        return self.send(LEAD, "expert.register", name="李教授", affiliation="重庆文理学院",
                         specialties=["bricks"])["id"]

    def instrument(self) -> str:
        return self.send(LEAD, "equipment.register", name="Press", owner_institution="检测所",
                         capabilities=["compression"],
                         calibration_valid_until=when(365))["id"]

    def case(self, state: str = "open") -> str:
        """A case taken at TAKER: submitted, open (led by LEAD with COLLABORATOR), or
        resolved."""
        case = self.send(TAKER, "case.submit", enterprise_id=self.enterprise,
                         service_type="quality_management", description="砖强度不足",
                         channel="town_post", station=TAKER)["id"]
        if state in ("open", "resolved", "visited"):
            self.send("samr", "case.accept", case_id=case, lead=LEAD,
                      collaborators=[COLLABORATOR])
        if state == "visited":
            expert = self.expert()
            self.send(LEAD, "case.assign_expert", case_id=case, expert_id=expert, **SLOT)
            self.send(LEAD, "case.record_visit", case_id=case, visited_at=DONE,
                      experts=[expert], findings=[{"stage": "production", "finding": "x"}])
        if state == "resolved":
            self.send(LEAD, "case.resolve", case_id=case, outcome="fixed", invested_yuan="1",
                      saved_per_year_yuan="1", expected_benefit_yuan="1")
        return case

    def with_appointment(self) -> str:
        case = self.case()
        self.send(LEAD, "case.schedule_appointment", case_id=case, at=SLOT["start"],
                  place="factory")
        return case

    def booked(self, command: str) -> dict:
        case = self.case()
        if command == "case.release_expert":
            booking = self.send(LEAD, "case.assign_expert", case_id=case,
                                expert_id=self.expert(), **SLOT)
        else:
            booking = self.send(LEAD, "case.book_equipment", case_id=case,
                                equipment_id=self.instrument(), **SLOT)
        return {"case_id": case, "booking_id": booking["booking_id"]}

    def campaign(self) -> str:
        return self.send("samr", "campaign.launch", title="砖瓦巡回问诊",
                         industry="building_bricks", department=LEAD,
                         dimensions=["process"], scale_min=1, scale_max=5)["id"]

    def enrolled(self) -> str:
        campaign = self.campaign()
        self.send(LEAD, "campaign.enroll", campaign_id=campaign, enterprise_id=self.enterprise)
        return campaign

    def diagnosed(self) -> str:
        campaign = self.enrolled()
        self.send(LEAD, "campaign.diagnose", campaign_id=campaign,
                  enterprise_id=self.enterprise, scores={"process": 3})
        return campaign

    def dispute(self, mediation: bool = True) -> str:
        dispute = self.send("portal", "dispute.file", buyer="张先生",
                            producer_id=self.enterprise, product="砖",
                            description="强度不足")["id"]
        if mediation:
            self.send("samr", "dispute.schedule_mediation", dispute_id=dispute,
                      at=SLOT["start"], place="office", mediator_department=LEAD)
        return dispute

    def mediated(self) -> str:
        dispute = self.dispute()
        self.send(LEAD, "dispute.mediate", dispute_id=dispute, agreement=False, terms="no")
        return dispute

    def recall(self) -> str:
        return self.send("samr", "recall.order", enterprise_id=self.enterprise, product="砖",
                         reason="强度不足", quantity=10, department=LEAD)["id"]

    def improvement(self) -> str:
        return self.send("samr", "improvement.open", enterprise_id=self.enterprise,
                         title="SPC", department=LEAD)["id"]

    def evaluation(self, state: str = "follow_up_due") -> str:
        """A bad rating of how LEAD resolved a case: to be followed up, followed up
        (verified), or appealed."""
        evaluation = self.send(TAKER, "case.evaluate", case_id=self.case("resolved"),
                               stage="resolved", level="dissatisfied")["id"]
        if state in ("verified", "appealed"):
            self.send(LEAD, "evaluation.follow_up", evaluation_id=evaluation, contact="电话",
                      finding="属实")
        if state == "appealed":
            self.send(LEAD, "evaluation.appeal", evaluation_id=evaluation, reason="不实")
        return evaluation


@dataclass(frozen=True)
class Probe:
    allowed: set[str]
    fields: Callable[[District], dict]  # a record in the state the command needs
    # Kinds of principal that may send it about another record than this one (beyond the
    # kinds of `allowed`): they are told `not_yours`, not `not_permitted`.
    elsewhere: frozenset[str] = frozenset()


def _work(allowed: set[str], fields: Callable[[District], dict]) -> Probe:
    """Case work: the lead bureau may do it too, on a case it leads or collaborates on."""
    return Probe(allowed, fields, LEADS_CASES_TOO)


def _case(state: str = "open", **more) -> Callable[[District], dict]:
    return lambda district: {"case_id": district.case(state), **more}


PROBES: dict[str, Probe] = {
    "enterprise.register": Probe(EVERYONE_WHO_ACTS, lambda d: {
        "credit_code": credit_code(), "name": "新厂", "scale": "small_micro",
        "industry": "ceramics", "town": "laisu"}),
    "enterprise.change_profile": Probe(EVERYONE_WHO_ACTS, lambda d: {
        "enterprise_id": d.enterprise, "name": "永川砖厂"}),
    "expert.register": Probe({"samr", LEAD, COLLABORATOR, UNINVOLVED}, lambda d: {
        "name": "王工", "affiliation": "检测所", "specialties": ["bricks"]}),
    "expert.deactivate": Probe({"samr", LEAD}, lambda d: {
        "expert_id": d.expert(), "reason": "on leave"}),
    "expert.reactivate": Probe({"samr", LEAD}, lambda d: {"expert_id": d.expert()}),
    "equipment.register": Probe({"samr", LEAD, COLLABORATOR, UNINVOLVED}, lambda d: {
        "name": "Press", "owner_institution": "检测所", "capabilities": ["compression"],
        "calibration_valid_until": when(365)}),
    "equipment.recalibrate": Probe({"samr", LEAD}, lambda d: {
        "equipment_id": d.instrument(), "valid_until": when(500)}),
    "equipment.take_out_of_service": Probe({"samr", LEAD}, lambda d: {
        "equipment_id": d.instrument(), "reason": "repair"}),
    "equipment.return_to_service": Probe({"samr", LEAD}, lambda d: {
        "equipment_id": d.instrument()}),
    "case.submit": Probe({TAKER, OTHER_STATION, "portal"}, lambda d: {
        "enterprise_id": d.enterprise, "service_type": "quality_management",
        "description": "砖强度不足", "channel": "online_platform"}),
    "case.accept": Probe({"samr"}, lambda d: {"case_id": d.case("submitted"), "lead": LEAD}),
    "case.reject": Probe({"samr"}, _case("submitted", reason="not ours")),
    "case.withdraw": Probe({TAKER}, _case("submitted"), frozenset({"portal"})),
    "case.transfer": Probe({"samr", LEAD}, _case(to=UNINVOLVED, reason="technology")),
    "case.schedule_appointment": _work(CASE_WORKERS, _case(at=SLOT["start"], place="x")),
    "case.reschedule_appointment": _work(CASE_WORKERS, lambda d: {
        "case_id": d.with_appointment(), "at": SLOT["end"], "place": "y", "reason": "rain"}),
    "case.cancel_appointment": _work(CASE_WORKERS, lambda d: {
        "case_id": d.with_appointment(), "reason": "ill"}),
    "case.assign_expert": _work(CASE_WORKERS, lambda d: {
        "case_id": d.case(), "expert_id": d.expert(), **SLOT}),
    "case.release_expert": _work(CASE_WORKERS, lambda d: d.booked("case.release_expert")),
    "case.book_equipment": _work(CASE_WORKERS, lambda d: {
        "case_id": d.case(), "equipment_id": d.instrument(), **SLOT}),
    "case.release_equipment": _work(CASE_WORKERS, lambda d: d.booked("case.release_equipment")),
    "case.record_visit": _work(CASE_WORKERS, lambda d: _visit(d)),
    "case.plan_improvement": _work(CASE_WORKERS, lambda d: {
        "case_id": d.case("visited"), "actions": ["train"], "target_date": day(60)}),
    "case.resolve": _work({LEAD}, _case(outcome="fixed", invested_yuan="1",
                                        saved_per_year_yuan="1", expected_benefit_yuan="1")),
    "case.rate": Probe({TAKER}, _case("resolved", score=5), frozenset({"portal"})),
    "case.close": _work({LEAD}, _case("resolved")),
    "case.evaluate": Probe({TAKER}, _case("resolved", stage="resolved", level="satisfied"),
                           frozenset({"portal"})),
    "evaluation.follow_up": Probe({LEAD}, lambda d: {
        "evaluation_id": d.evaluation(), "contact": "电话", "finding": "属实"},
        LEADS_CASES_TOO),
    "evaluation.report_rectification": Probe({LEAD}, lambda d: {
        "evaluation_id": d.evaluation("verified"), "rectification": "整改", "told": "电话"},
        LEADS_CASES_TOO),
    "evaluation.appeal": Probe({LEAD}, lambda d: {
        "evaluation_id": d.evaluation("verified"), "reason": "不实"}, LEADS_CASES_TOO),
    "evaluation.review": Probe({"samr"}, lambda d: {
        "evaluation_id": d.evaluation("appealed"), "upheld": False}),
    "campaign.launch": Probe(PROGRAMME, lambda d: {
        "title": "巡回问诊", "industry": "building_bricks", "department": LEAD,
        "dimensions": ["process"]}),
    "campaign.enroll": Probe(PROGRAMME, lambda d: {
        "campaign_id": d.campaign(), "enterprise_id": d.enterprise}),
    "campaign.diagnose": Probe(PROGRAMME, lambda d: {
        "campaign_id": d.enrolled(), "enterprise_id": d.enterprise, "scores": {"process": 3}}),
    "campaign.collect_opinion": Probe(PROGRAMME, lambda d: {
        "campaign_id": d.campaign(), "buyer": "长城汽车", "opinion": "late"}),
    "campaign.issue_report": Probe(PROGRAMME, lambda d: {
        "campaign_id": d.diagnosed(), "enterprise_id": d.enterprise,
        "improvements": ["adopt SPC"]}),
    "campaign.link_case": Probe(PROGRAMME, lambda d: {
        "campaign_id": d.campaign(), "case_id": d.case("submitted")}),
    "campaign.close": Probe(PROGRAMME, lambda d: {
        "campaign_id": d.campaign(), "summary": "done"}),
    "dispute.file": Probe(EVERYONE_WHO_ACTS, lambda d: {
        "buyer": "李女士", "producer_id": d.enterprise, "product": "砖",
        "description": "裂缝"}),
    "dispute.schedule_mediation": Probe({"samr"}, lambda d: {
        "dispute_id": d.dispute(mediation=False), "at": SLOT["start"], "place": "office",
        "mediator_department": LEAD}, frozenset({"department"})),
    "dispute.mediate": Probe(PROGRAMME, lambda d: {
        "dispute_id": d.dispute(), "agreement": False, "terms": "no fault"}),
    "dispute.close": Probe(PROGRAMME, lambda d: {"dispute_id": d.mediated()}),
    "recall.order": Probe(PROGRAMME, lambda d: {
        "enterprise_id": d.enterprise, "product": "砖", "reason": "强度不足", "quantity": 5,
        "department": LEAD}),
    "recall.amend": Probe(PROGRAMME, lambda d: {
        "recall_id": d.recall(), "quantity": 12, "reason": "another batch"}),
    "recall.record_recalled": Probe(PROGRAMME, lambda d: {"recall_id": d.recall(), "units": 3}),
    "recall.record_destroyed": Probe(PROGRAMME, lambda d: _recalled(d)),
    "recall.record_loss_recovered": Probe(PROGRAMME, lambda d: {
        "recall_id": d.recall(), "amount_yuan": "300.00", "source": "producer"}),
    "recall.complete": Probe(PROGRAMME, lambda d: {"recall_id": d.recall()}),
    "improvement.open": Probe(PROGRAMME, lambda d: {
        "enterprise_id": d.enterprise, "title": "SPC", "department": LEAD}),
    "improvement.record_investment": Probe(PROGRAMME, lambda d: {
        "improvement_id": d.improvement(), "amount_yuan": "8000"}),
    "improvement.expect_benefit": Probe(PROGRAMME, lambda d: {
        "improvement_id": d.improvement(), "amount_yuan": "20000"}),
    "improvement.realise_benefit": Probe(PROGRAMME, lambda d: {
        "improvement_id": d.improvement(), "amount_yuan": "5000"}),
    "improvement.complete": Probe(PROGRAMME, lambda d: {
        "improvement_id": d.improvement(), "outcome": "SPC in use"}),
}


def _visit(district: District) -> dict:
    case, expert = district.case(), district.expert()
    district.send(LEAD, "case.assign_expert", case_id=case, expert_id=expert, **SLOT)
    return {"case_id": case, "visited_at": DONE, "experts": [expert],
            "findings": [{"stage": "production", "finding": "no SPC"}]}


def _recalled(district: District) -> dict:
    recall = district.recall()
    district.send(LEAD, "recall.record_recalled", recall_id=recall, units=5)
    return {"recall_id": recall, "units": 5}


def expected_refusal(command: str, principal: str, probe: Probe) -> str:
    """`<record>.not_yours` if a principal of the same kind may send it about some record,
    else `command.not_permitted`."""
    kinds = {KIND[other] for other in probe.allowed} | probe.elsewhere
    if KIND[principal] in kinds:
        return f"{command.split('.')[0]}.not_yours"
    return "command.not_permitted"


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    with service_on_its_own_server(tmp_path_factory.mktemp("authority")) as running:
        yield running


@pytest.fixture(scope="module")
def district(service):
    return District(service)


def log_head(service: Service) -> int:
    return service.log_length()


def refusals(service: Service) -> list[dict]:
    return [record for record in trail(service) if record["kind"] == "refused"]


def test_the_matrix_covers_every_command_of_the_contract():
    assert set(PROBES) == set(OPERATIONS)


@pytest.mark.parametrize("command", list(PROBES))
def test_every_principal_gets_what_the_rules_give_it(service, district, command):
    probe = PROBES[command]
    refused_fields = probe.fields(district)
    for who, principal in PRINCIPALS.items():
        if principal in probe.allowed:
            reply = district.request(principal, command, **probe.fields(district))
            assert reply["ok"], (who, command, reply)
            continue
        before = log_head(service)
        reply = district.request(principal, command, **refused_fields)
        code = expected_refusal(command, principal, probe)
        assert not reply["ok"] and reply["error"]["code"] == code, (who, command, reply)
        assert reply["error"]["fields"]["rule"] == command
        assert log_head(service) == before, (who, command, "wrote to the log")
        [record] = [r for r in refusals(service) if r["command_id"] == reply["command_id"]]
        assert (record["principal"], record["code"]) == (principal, code)


def test_a_department_cannot_take_over_a_case_and_the_lead_can_hand_it_on(district):
    case = district.case()
    take_over = district.request(COLLABORATOR, "case.transfer", case_id=case,
                                 to=COLLABORATOR, reason="ours now")
    assert take_over["error"]["code"] == "case.not_yours"
    assert "the department leading the case" in take_over["error"]["message"]
    handed_on = district.send(LEAD, "case.transfer", case_id=case, to=UNINVOLVED,
                              reason="technology question")
    assert handed_on["ok"]
    # The new lead acts; the old one no longer may, and the lead bureau still may transfer.
    district.send(UNINVOLVED, "case.schedule_appointment", case_id=case, at=SLOT["start"],
                  place="factory")
    assert district.request(LEAD, "case.resolve", case_id=case, outcome="x",
                            invested_yuan="0", saved_per_year_yuan="0",
                            expected_benefit_yuan="0")["error"]["code"] == "case.not_yours"
    district.send("samr", "case.transfer", case_id=case, to=LEAD, reason="back")


def test_a_department_sees_the_case_it_may_act_on_and_no_other(service, district):
    case = district.case()
    position = service.log_length()
    for principal, sees in ((LEAD, True), (COLLABORATOR, True), (TAKER, True),
                            (UNINVOLVED, False), (OTHER_STATION, False), ("samr", True)):
        answer = service.query(principal, "case.get", {"case_id": case,
                                                       "min_position": position})
        assert answer["ok"] is sees, (principal, answer)
