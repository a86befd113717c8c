"""Every command of the published contract, sent over NATS by the principal that would send it."""

from __future__ import annotations

from uuid import uuid4

from bus.contract.operations import OPERATIONS
from tests.bus_support import Service, day, when
from tests.domain.support import credit_code


class Walk:
    def __init__(self, service: Service) -> None:
        self.service = service
        self.sent: set[str] = set()

    def __call__(self, principal: str, command: str, **fields) -> dict:
        reply = self.service.request(principal, command,
                                     {"command_id": uuid4().hex, "person": "经办人", **fields})
        assert reply["ok"], (command, reply)
        self.sent.add(command)
        return reply


def test_every_command_goes_through_the_bus(service):
    send = Walk(service)
    send_every_command(send)
    assert send.sent == set(OPERATIONS)


def send_every_command(send: Walk) -> dict[str, str]:
    """Every command once, each by the principal that would send it, in an order that takes
    every record through every state (an expert deactivated, then active again); the ids of
    the records it made."""
    slot = {"start": when(7), "end": when(7.125)}

    enterprise = send("portal", "enterprise.register", credit_code=credit_code(),
                      name="重庆永高塑业", scale="above_scale", industry="plastics",
                      town="laisu")["id"]
    send("samr", "enterprise.change_profile", enterprise_id=enterprise, name="永高塑业")
    expert = send("samr", "expert.register", name="李教授", affiliation="重庆文理学院",
                  specialties=["plastics"])["id"]
    send("samr", "expert.deactivate", expert_id=expert, reason="on leave")
    send("samr", "expert.reactivate", expert_id=expert)
    instrument = send("samr", "equipment.register", name="Tensile tester",
                      owner_institution="永川区检验检测中心", capabilities=["tensile"],
                      calibration_valid_until=when(365))["id"]
    send("samr", "equipment.recalibrate", equipment_id=instrument,
         valid_until=when(500))
    send("samr", "equipment.take_out_of_service", equipment_id=instrument, reason="repair")
    send("samr", "equipment.return_to_service", equipment_id=instrument)

    def order(station: str | None = None) -> str:
        return send("portal" if station is None else station, "case.submit",
                    enterprise_id=enterprise, service_type="quality_management",
                    description="Performance excellence model", channel="online_platform"
                    if station is None else "town_post", station=station)["id"]

    send("samr", "case.reject", case_id=order(), reason="not a quality question")
    send("portal", "case.withdraw", case_id=order(), reason="solved ourselves")
    case = order("post_laisu")
    send("samr", "case.accept", case_id=case, lead="jxw", collaborators=["samr"])
    send("jxw", "case.transfer", case_id=case, to="kjj", reason="technology question")
    send("kjj", "case.schedule_appointment", case_id=case, at=slot["start"], place="factory")
    send("kjj", "case.reschedule_appointment", case_id=case, at=slot["start"], place="office",
         reason="weather")
    send("kjj", "case.cancel_appointment", case_id=case, reason="expert ill")
    send("kjj", "case.schedule_appointment", case_id=case, at=slot["start"], place="factory")
    expert_booking = send("kjj", "case.assign_expert", case_id=case, expert_id=expert, **slot)
    send("kjj", "case.release_expert", case_id=case, booking_id=expert_booking["booking_id"])
    send("kjj", "case.assign_expert", case_id=case, expert_id=expert, **slot)
    instrument_booking = send("kjj", "case.book_equipment", case_id=case,
                              equipment_id=instrument, **slot)
    send("kjj", "case.release_equipment", case_id=case,
         booking_id=instrument_booking["booking_id"])
    send("kjj", "case.record_visit", case_id=case, visited_at=when(-1), experts=[expert],
         findings=[{"stage": "production", "finding": "no process control charts"}],
         recommendations=["adopt performance excellence"])
    send("kjj", "case.plan_improvement", case_id=case, actions=["train staff"],
         target_date=day(60))
    send("kjj", "case.resolve", case_id=case, outcome="model adopted", invested_yuan="50000",
         saved_per_year_yuan="120000.50", expected_benefit_yuan="1000000")
    send("post_laisu", "case.rate", case_id=case, score=5, comment="很好")
    send("kjj", "case.close", case_id=case)

    # 好差评: the stages rated; a bad rating followed up, appealed, upheld and rectified, and
    # another left to fall overdue.
    send("post_laisu", "case.evaluate", case_id=case, stage="accepted", level="very_satisfied")
    bad = send("post_laisu", "case.evaluate", case_id=case, stage="resolved",
               level="dissatisfied", comment="冬季仍掉粉")["id"]
    send("kjj", "evaluation.follow_up", evaluation_id=bad, contact="电话回访厂长", finding="属实")
    send("kjj", "evaluation.appeal", evaluation_id=bad, reason="检测按标准进行")
    send("samr", "evaluation.review", evaluation_id=bad, upheld=True, note="限期整改")
    send("kjj", "evaluation.report_rectification", evaluation_id=bad,
         rectification="调整冬季烧成曲线", told="电话告知厂长")
    send("post_laisu", "case.evaluate", case_id=case, stage="served", level="very_dissatisfied")

    # Programmes: each command once; tests/bus/service/test_bus_programmes.py walks them in depth.
    campaign = send("samr", "campaign.launch", title="Plastics touring diagnosis",
                    industry="plastics", department="jxw", dimensions=["process"],
                    scale_min=1, scale_max=5)["id"]
    send("jxw", "campaign.enroll", campaign_id=campaign, enterprise_id=enterprise)
    send("jxw", "campaign.diagnose", campaign_id=campaign, enterprise_id=enterprise,
         scores={"process": 3}, findings=[{"stage": "production", "finding": "no SPC"}],
         experts=[expert])
    send("jxw", "campaign.collect_opinion", campaign_id=campaign, buyer="长城汽车",
         opinion="late deliveries")
    send("jxw", "campaign.issue_report", campaign_id=campaign, enterprise_id=enterprise,
         improvements=["adopt SPC"])
    send("jxw", "campaign.link_case", campaign_id=campaign, case_id=case)
    send("jxw", "campaign.close", campaign_id=campaign, summary="one maker diagnosed")
    dispute = send("portal", "dispute.file", buyer="张先生", producer_id=enterprise,
                   product="PVC pipe", description="pipe burst")["id"]
    send("samr", "dispute.schedule_mediation", dispute_id=dispute, at=slot["start"],
         place="office", mediator_department="samr")
    send("samr", "dispute.mediate", dispute_id=dispute, agreement=False, terms="no fault found")
    send("samr", "dispute.close", dispute_id=dispute)
    recall = send("samr", "recall.order", enterprise_id=enterprise, product="PVC pipe",
                  reason="wall too thin", quantity=10, department="samr")["id"]
    send("samr", "recall.amend", recall_id=recall, quantity=12, reason="another batch")
    send("samr", "recall.record_recalled", recall_id=recall, units=12)
    send("samr", "recall.record_destroyed", recall_id=recall, units=12)
    send("samr", "recall.record_loss_recovered", recall_id=recall, amount_yuan="300.00",
         source="producer")
    send("samr", "recall.complete", recall_id=recall)
    project = send("kjj", "improvement.open", enterprise_id=enterprise, title="SPC",
                   department="kjj")["id"]
    send("kjj", "improvement.record_investment", improvement_id=project, amount_yuan="8000")
    send("kjj", "improvement.expect_benefit", improvement_id=project, amount_yuan="20000")
    send("kjj", "improvement.realise_benefit", improvement_id=project, amount_yuan="5000.10")
    send("kjj", "improvement.complete", improvement_id=project, outcome="SPC in use")
    return {"enterprise_id": enterprise, "expert_id": expert, "equipment_id": instrument,
            "case_id": case, "campaign_id": campaign, "dispute_id": dispute,
            "recall_id": recall, "improvement_id": project}
