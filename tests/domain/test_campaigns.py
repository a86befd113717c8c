import pytest
from pydantic import ValidationError

from domain.commands import (CloseCampaign, CollectOpinion, DiagnoseEnterprise, EnrollEnterprise,
                             IssueReport, LaunchCampaign, LinkCase, VisitFinding)
from domain.errors import DomainError

DIMENSIONS = ("raw_materials", "formula", "firing", "inspection")
GOOD = {"raw_materials": 60, "formula": 45, "firing": 70, "inspection": 80}


def refusal(call, *args, **kwargs):
    with pytest.raises(DomainError) as refused:
        call(*args, **kwargs)
    return refused.value


def launched(world):
    return world.app.launch_campaign(world.ctx(), LaunchCampaign(
        title="Brick industry touring diagnosis", industry="building_bricks",
        department="samr", dimensions=DIMENSIONS)).id


def enrolled(world, count=1):
    campaign_id = launched(world)
    makers = [world.enterprise() for _ in range(count)]
    for maker in makers:
        world.app.enroll_enterprise(world.ctx(), EnrollEnterprise(campaign_id=campaign_id,
                                                                  enterprise_id=maker))
    return campaign_id, makers


def diagnose(world, campaign_id, maker, scores=GOOD, **kwargs):
    return world.app.diagnose_enterprise(world.ctx(), DiagnoseEnterprise(
        campaign_id=campaign_id, enterprise_id=maker, scores=scores,
        findings=(VisitFinding(stage="raw_materials", finding="no coal gangue: shale only"),),
        **kwargs))


def events_of(world, aggregate_id):
    return len(list(world.app.events.get(aggregate_id)))


def test_a_campaign_is_launched_for_an_industry_with_its_dimensions_and_scale(world):
    campaign = world.app.get_campaign(launched(world))

    assert (campaign.industry, campaign.department, campaign.status) \
        == ("building_bricks", "samr", "open")
    assert (campaign.dimensions, campaign.scale) == (DIMENSIONS, (0, 100))


@pytest.mark.parametrize("args", [
    {"dimensions": ("firing", "firing")}, {"scale_min": 10, "scale_max": 10},
])
def test_refuses_a_campaign_without_distinct_dimensions_or_a_scale(world, args):
    launch = {"title": "x", "industry": "building_bricks", "department": "samr",
              "dimensions": DIMENSIONS} | args

    assert refusal(world.app.launch_campaign, world.ctx(), LaunchCampaign(**launch)).code \
        == "campaign.invalid_input"


def test_refuses_a_campaign_without_dimensions():
    with pytest.raises(ValidationError, match="dimensions"):
        LaunchCampaign(title="x", industry="building_bricks", department="samr", dimensions=())


def test_refuses_a_campaign_led_by_an_unknown_department(world):
    assert refusal(world.app.launch_campaign, world.ctx(), LaunchCampaign(
        title="x", industry="building_bricks", department="cia", dimensions=DIMENSIONS)).code \
        == "campaign.unknown_department"


def test_enterprises_are_enrolled_and_diagnosed_on_every_dimension(world):
    campaign_id, (maker,) = enrolled(world)
    expert = world.expert()

    diagnose(world, campaign_id, maker, experts=(expert,))

    diagnosis = world.app.get_campaign(campaign_id).diagnoses[maker]
    assert diagnosis.scores == GOOD and diagnosis.experts == (expert,)


def test_refuses_enrolling_an_unregistered_enterprise(world):
    campaign_id = launched(world)

    refused = refusal(world.app.enroll_enterprise, world.ctx(), EnrollEnterprise(
        campaign_id=campaign_id, enterprise_id=world.expert()))

    assert refused.code == "enterprise.not_found"
    assert events_of(world, campaign_id) == 1


def test_refuses_enrolling_an_enterprise_twice(world):
    campaign_id, (maker,) = enrolled(world)

    assert refusal(world.app.enroll_enterprise, world.ctx(), EnrollEnterprise(
        campaign_id=campaign_id, enterprise_id=maker)).code == "campaign.already_enrolled"
    assert events_of(world, campaign_id) == 2


@pytest.mark.parametrize("scores, code", [
    (GOOD | {"firing": 101}, "campaign.score_out_of_scale"),
    (GOOD | {"formula": -1}, "campaign.score_out_of_scale"),
    ({k: v for k, v in GOOD.items() if k != "firing"}, "campaign.missing_dimension"),
    (GOOD | {"marketing": 50}, "campaign.unknown_dimension"),
])
def test_refuses_a_diagnosis_off_the_scale_or_off_the_dimensions(world, scores, code):
    campaign_id, (maker,) = enrolled(world)

    assert refusal(diagnose, world, campaign_id, maker, scores).code == code
    assert events_of(world, campaign_id) == 2


def test_refuses_diagnosing_an_enterprise_not_enrolled(world):
    campaign_id = launched(world)

    assert refusal(diagnose, world, campaign_id, world.enterprise()).code \
        == "campaign.not_enrolled"


def test_refuses_a_second_diagnosis(world):
    campaign_id, (maker,) = enrolled(world)
    diagnose(world, campaign_id, maker)

    assert refusal(diagnose, world, campaign_id, maker).code == "campaign.already_diagnosed"


def test_refuses_a_diagnosis_by_an_unknown_expert(world):
    campaign_id, (maker,) = enrolled(world)

    assert refusal(diagnose, world, campaign_id, maker, experts=(maker,)).code \
        == "expert.not_found"


def test_opinions_are_collected_from_buyer_units(world):
    campaign_id, (maker,) = enrolled(world)

    world.app.collect_opinion(world.ctx(), CollectOpinion(
        campaign_id=campaign_id, buyer="永川建工集团", opinion="bricks crumble in rain",
        enterprise_id=maker))
    world.app.collect_opinion(world.ctx(), CollectOpinion(
        campaign_id=campaign_id, buyer="双竹镇建材站", opinion="sizes vary"))

    assert [o.buyer for o in world.app.get_campaign(campaign_id).opinions] \
        == ["永川建工集团", "双竹镇建材站"]


def test_one_report_with_improvements_per_diagnosed_enterprise(world):
    campaign_id, (maker,) = enrolled(world)
    diagnose(world, campaign_id, maker)

    world.app.issue_report(world.ctx(), IssueReport(
        campaign_id=campaign_id, enterprise_id=maker,
        improvements=("add fly ash to the formula",)))

    assert world.app.get_campaign(campaign_id).reports[maker].improvements \
        == ("add fly ash to the formula",)
    assert refusal(world.app.issue_report, world.ctx(), IssueReport(
        campaign_id=campaign_id, enterprise_id=maker, improvements=("again",))).code \
        == "campaign.report_exists"


def test_refuses_a_report_before_the_diagnosis(world):
    campaign_id, (maker,) = enrolled(world)

    assert refusal(world.app.issue_report, world.ctx(), IssueReport(
        campaign_id=campaign_id, enterprise_id=maker, improvements=("x",))).code \
        == "campaign.not_diagnosed"


def test_cases_raised_during_the_campaign_are_linked_once(world):
    campaign_id, case_id = launched(world), world.case()

    world.app.link_case(world.ctx(), LinkCase(campaign_id=campaign_id, case_id=case_id))
    world.app.link_case(world.ctx(), LinkCase(campaign_id=campaign_id, case_id=case_id))

    assert world.app.get_campaign(campaign_id).cases == [case_id]
    assert refusal(world.app.link_case, world.ctx(),
                   LinkCase(campaign_id=campaign_id, case_id=campaign_id)).code \
        == "case.not_found"


def test_refuses_closing_while_an_enrolled_enterprise_is_not_diagnosed(world):
    campaign_id, (first, second) = enrolled(world, 2)
    diagnose(world, campaign_id, first)

    refused = refusal(world.app.close_campaign, world.ctx(),
                      CloseCampaign(campaign_id=campaign_id, summary="done"))

    assert refused.code == "campaign.open_diagnoses"
    assert refused.fields["enterprises"] == [str(second)]
    assert world.app.get_campaign(campaign_id).status == "open"


def test_a_closed_campaign_takes_no_more_enterprises(world):
    campaign_id, (maker,) = enrolled(world)
    diagnose(world, campaign_id, maker)

    world.app.close_campaign(world.ctx(), CloseCampaign(
        campaign_id=campaign_id, summary="34 makers diagnosed, formulas adjusted"))

    assert world.app.get_campaign(campaign_id).summary == "34 makers diagnosed, formulas adjusted"
    assert refusal(world.app.enroll_enterprise, world.ctx(), EnrollEnterprise(
        campaign_id=campaign_id, enterprise_id=world.enterprise())).code \
        == "campaign.invalid_transition"


def test_a_retried_launch_or_enrolment_is_not_applied_twice(world):
    launch = world.ctx(command_id="launch-1")
    campaign = LaunchCampaign(title="x", industry="building_bricks", department="samr",
                              dimensions=DIMENSIONS)
    first = world.app.launch_campaign(launch, campaign)
    again = world.app.launch_campaign(launch, campaign)
    maker, enrol = world.enterprise(), world.ctx(command_id="enrol-1")
    world.app.enroll_enterprise(enrol, EnrollEnterprise(campaign_id=first.id,
                                                        enterprise_id=maker))

    replayed = world.app.enroll_enterprise(enrol, EnrollEnterprise(campaign_id=first.id,
                                                                   enterprise_id=maker))

    assert again.replayed and again.id == first.id
    assert replayed.replayed and world.app.get_campaign(first.id).enrolled == [maker]


def test_every_campaign_event_carries_who_when_and_why(world):
    ctx = world.ctx(correlation_id="tour-2022")

    campaign_id = world.app.launch_campaign(ctx, LaunchCampaign(
        title="x", industry="building_bricks", department="samr", dimensions=DIMENSIONS)).id

    (event,) = world.app.events.get(campaign_id)
    assert (event.actor, event.command_id, event.correlation_id, event.timestamp) \
        == (ctx.actor, ctx.command_id, "tour-2022", ctx.at)
