"""`onestop demo`: the article's stories, retold through the public command subjects.

Every step is sent as the principal that would really send it — the online portal, a town
post, a window, the lead bureau, a department — with a command id fixed by the story, so
running the demo again gets every first outcome back and doubles nothing. The figures are
the article's: 83 experts and 32 instruments in the shared libraries; 34 brick makers
diagnosed on tour, opinions from 84 buyer units, 20-odd disputes mediated, over 800,000
bricks recalled and destroyed, over 2 million yuan recovered; 48 supplier problems and 100
improvement projects at Great Wall (38.81 million yuan invested, 240 million expected); its
metrology room saving about a million yuan a year.

The stories are dated as they happened, from March 2022 on (`STORY_START`): each command
says when (`occurred_at`), so the results count each fact in its month, while the log
records them now. Fixed dates also make a second run send the very same commands.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from domain.credit_code import ALPHABET, check_character

Send = Callable[[str, str, dict], Awaitable[dict]]  # principal, command, body -> reply

CST = timezone(timedelta(hours=8))
STAGES = ("raw_materials", "production", "inspection", "finished_products")
BRICK_TOWNS = ("laisu", "xianlong", "jinlong", "linjiang", "hegeng", "songgai", "wujian",
               "baofeng", "shuangshi", "honglu", "sanjiao", "banqiao", "zhutuo", "qingfeng")


class DemoFailed(Exception):
    """A step was refused: the demo's data and the service disagree."""


def credit_codes(seed: int) -> Callable[[], str]:
    rng = random.Random(seed)

    def next_code() -> str:
        body = "91500118" + "".join(rng.choice(ALPHABET) for _ in range(9))
        return body + check_character(body)

    return next_code


# 09:00 on the first of March 2022, Chongqing time: the day the stories begin.
STORY_START = datetime(2022, 3, 1, 9, 0, tzinfo=CST)


class Story:
    """The stories, each step dated `day` days after `start` (`on`), and the times its
    fields name counted from there too."""

    def __init__(self, send: Send, start: datetime = STORY_START) -> None:
        self.send = send
        self.start = start
        self.day = 0.0
        self.last_position = 0
        self.steps = 0

    def at(self, days: float) -> str:
        return (self.start + timedelta(days=days)).isoformat()

    def on(self, day: float) -> None:
        """What follows happened `day` days into the stories."""
        self.day = day

    async def step(self, principal: str, command: str, step: str, **fields) -> dict:
        body = {"command_id": f"demo2022-{step}", "person": PEOPLE.get(principal, "经办人"),
                "occurred_at": self.at(self.day), **fields}
        reply = await self.send(principal, command, body)
        if not reply.get("ok"):
            raise DemoFailed(f"{command} ({step}) as {principal}: {reply.get('error')}")
        self.steps += 1
        self.last_position = max(self.last_position, reply.get("position") or 0)
        return reply

    async def run(self) -> None:
        experts, instruments = await self.libraries()
        await self.district_enterprises()
        brickworks = await self.brick_makers()
        await self.touring_diagnosis(brickworks, experts)
        await self.disputes(brickworks)
        await self.recalls(brickworks)
        great_wall = await self.great_wall(experts, instruments)
        await self.six_service_modes([enterprise for enterprise, _ in brickworks] + [great_wall])

    async def district_enterprises(self) -> None:
        """The platform serves all 353 of the district's above-scale enterprises (the
        article): 13 of them come up in the stories below, the other 340 are registered here."""
        self.on(0)
        code = credit_codes(353)
        for n in range(ABOVE_SCALE - 13):
            await self.step("samr", "enterprise.register", f"above-scale-{n:03d}",
                            credit_code=code(), name=f"永川规上企业{n + 1:03d}",
                            scale="above_scale", industry=INDUSTRIES[n % len(INDUSTRIES)],
                            town=BRICK_TOWNS[n % len(BRICK_TOWNS)])

    async def six_service_modes(self, helped: list[str]) -> None:
        """37 more problems of the same 35 enterprises, brought through the service modes and
        solved: 72 problems collected and solved in all (the article: 70余个), 35 enterprises
        helped (30余家). Each is rated when resolved (好差评); the bad ratings are followed
        up and rectified, one is found unfounded on appeal."""
        for n in range(37):
            self.on(160 + 2 * n)
            service, lead = MODES_SERVICES[n % len(MODES_SERVICES)]
            sender, channel, station = MODES_CHANNELS[n % len(MODES_CHANNELS)]
            case = (await self.step(
                sender, "case.submit", f"mode-case-{n:02d}", enterprise_id=helped[n % 35],
                service_type=service, description=PROBLEMS[n % len(PROBLEMS)],
                channel=channel, station=station))["id"]
            await self.step("samr", "case.accept", f"mode-accept-{n:02d}", case_id=case,
                            lead=lead)
            self.on(160 + 2 * n + 1)
            await self.step(lead, "case.resolve", f"mode-resolve-{n:02d}", case_id=case,
                            outcome="问题解决", invested_yuan="0.00",
                            saved_per_year_yuan="0.00", expected_benefit_yuan="0.00")
            level = RATINGS[n % len(RATINGS)]
            rating = (await self.step(sender, "case.evaluate", f"mode-rating-{n:02d}",
                                      case_id=case, stage="resolved", level=level))["id"]
            if level in ("dissatisfied", "very_dissatisfied"):
                await self.step(lead, "evaluation.follow_up", f"mode-follow-up-{n:02d}",
                                evaluation_id=rating, contact="电话回访企业负责人",
                                finding="办理时限偏长" if n % 2 else "企业误解检测结论")
                if n % 2:
                    await self.step(lead, "evaluation.report_rectification",
                                    f"mode-rectified-{n:02d}", evaluation_id=rating,
                                    rectification="压缩办理时限", told="电话告知企业负责人")
                else:
                    await self.step(lead, "evaluation.appeal", f"mode-appeal-{n:02d}",
                                    evaluation_id=rating, reason="检测按标准进行，差评不实")
                    await self.step("samr", "evaluation.review", f"mode-review-{n:02d}",
                                    evaluation_id=rating, upheld=False, note="复核不属实")

    async def libraries(self) -> tuple[list[str], list[str]]:
        self.on(0)
        experts = [(await self.step("samr", "expert.register", f"expert-{n:03d}",
                                    name=f"专家{n:02d}", affiliation="重庆文理学院",
                                    specialties=["building_materials", "quality_management"]
                                    ))["id"] for n in range(1, 84)]
        instruments = [(await self.step("samr", "equipment.register", f"instrument-{n:02d}",
                                        name=f"高精尖设备{n:02d}",
                                        owner_institution="永川区检验检测中心",
                                        capabilities=["compressive_strength"],
                                        calibration_valid_until=self.at(700)))["id"]
                       for n in range(1, 33)]
        return experts, instruments

    async def brick_makers(self) -> list[tuple[str, str]]:
        """34 brick makers register and ask for help, most at their town's post."""
        code = credit_codes(34)
        makers = []
        for n in range(34):
            self.on(1 + n // 3)
            town = BRICK_TOWNS[n % len(BRICK_TOWNS)]
            post = f"post_{town}"
            online = n % 3 == 0
            enterprise = await self.step(
                "portal" if online else post, "enterprise.register", f"brickworks-{n:02d}",
                credit_code=code(), name=f"永川{n + 1:02d}号页岩砖厂", scale="small_micro",
                industry="building_bricks", town=town)
            case = await self.step(
                "portal" if online else post, "case.submit", f"brick-case-{n:02d}",
                enterprise_id=enterprise["id"], service_type="quality_management",
                description="煤矸石断供后砖块粉化（“粉末砖头”）",
                channel="online_platform" if online else "town_post",
                station=None if online else post)
            await self.step("samr", "case.accept", f"brick-accept-{n:02d}",
                            case_id=case["id"], lead="samr", collaborators=["jxw"])
            makers.append((enterprise["id"], case["id"]))
        return makers

    async def touring_diagnosis(self, brickworks: list[tuple[str, str]],
                                experts: list[str]) -> None:
        self.on(20)
        campaign = (await self.step(
            "samr", "campaign.launch", "brick-tour", title="建筑用砖行业质量巡回问诊",
            industry="building_bricks", department="samr", dimensions=list(STAGES),
            scale_min=0, scale_max=100))["id"]
        for n, (enterprise_id, case_id) in enumerate(brickworks):
            self.on(21 + n)
            await self.step("samr", "campaign.enroll", f"tour-enroll-{n:02d}",
                            campaign_id=campaign, enterprise_id=enterprise_id)
            await self.step("samr", "campaign.link_case", f"tour-link-{n:02d}",
                            campaign_id=campaign, case_id=case_id)
            await self.step(
                "samr", "campaign.diagnose", f"tour-diagnose-{n:02d}", campaign_id=campaign,
                enterprise_id=enterprise_id,
                scores={stage: 40 + (n * 7 + i * 13) % 45 for i, stage in enumerate(STAGES)},
                findings=[{"stage": "raw_materials", "finding": "页岩替代煤矸石，缺少内燃料"},
                          {"stage": "production", "finding": "烧成曲线未调整，砖芯欠火"}],
                experts=[experts[n % len(experts)]])
            await self.step("samr", "campaign.issue_report", f"tour-report-{n:02d}",
                            campaign_id=campaign, enterprise_id=enterprise_id,
                            improvements=["调整配方，掺入内燃料", "提高烧成温度", "逐批检验抗压强度"])
            await self.step("samr", "case.resolve", f"brick-resolve-{n:02d}", case_id=case_id,
                            outcome="配方调整后产品合格", invested_yuan="30000.00",
                            saved_per_year_yuan="0.00", expected_benefit_yuan="150000.00")
        for n in range(84):
            self.on(60 + n / 4)
            await self.step("samr", "campaign.collect_opinion", f"tour-opinion-{n:02d}",
                            campaign_id=campaign, buyer=f"购砖单位{n + 1:02d}",
                            opinion="希望统一抗压强度检验方法")
        self.on(85)
        await self.step("samr", "campaign.close", "brick-tour-close", campaign_id=campaign,
                        summary="34家企业全部完成诊断，一企一策整改")

    async def disputes(self, brickworks: list[tuple[str, str]]) -> None:
        for n in range(21):
            self.on(90 + n)
            producer = brickworks[n % len(brickworks)][0]
            dispute = (await self.step(
                "samr", "dispute.file", f"dispute-{n:02d}", buyer=f"购砖单位{n + 1:02d}",
                producer_id=producer, product="页岩砖", description="砖块粉化，要求退赔"))["id"]
            await self.step("samr", "dispute.schedule_mediation", f"dispute-meet-{n:02d}",
                            dispute_id=dispute, at=self.at(self.day + 7),
                            place="永川区市场监管局调解室", mediator_department="samr")
            self.on(90 + n + 7)
            await self.step("samr", "dispute.mediate", f"dispute-mediate-{n:02d}",
                            dispute_id=dispute, agreement=True, terms="更换同批次合格产品",
                            compensation_yuan="15000.00")
            await self.step("samr", "dispute.close", f"dispute-close-{n:02d}",
                            dispute_id=dispute)

    async def recalls(self, brickworks: list[tuple[str, str]]) -> None:
        """820,000 bricks from four makers, all destroyed; 2.05 million yuan recovered."""
        for n, quantity in enumerate((300_000, 220_000, 180_000, 120_000)):
            self.on(120 + 5 * n)
            recall = (await self.step(
                "samr", "recall.order", f"recall-{n}", enterprise_id=brickworks[n][0],
                product="页岩砖", reason="抗压强度不合格", quantity=quantity,
                department="samr"))["id"]
            self.on(120 + 5 * n + 2)
            await self.step("samr", "recall.record_recalled", f"recall-back-{n}",
                            recall_id=recall, units=quantity)
            self.on(120 + 5 * n + 3)
            await self.step("samr", "recall.record_destroyed", f"recall-destroyed-{n}",
                            recall_id=recall, units=quantity)
            await self.step("samr", "recall.record_loss_recovered", f"recall-loss-{n}",
                            recall_id=recall, amount_yuan=str(Decimal(quantity) * Decimal("2.5")),
                            source="生产企业赔付")
            await self.step("samr", "recall.complete", f"recall-done-{n}", recall_id=recall)

    async def great_wall(self, experts: list[str], instruments: list[str]) -> str:
        code = credit_codes(48)
        self.on(150)
        great_wall = (await self.step(
            "asc_window", "enterprise.register", "great-wall", credit_code=code(),
            name="长城汽车股份有限公司重庆分公司", scale="above_scale",
            industry="automotive", town="shenglilu"))["id"]
        suppliers = [(await self.step(
            "portal", "enterprise.register", f"supplier-{n:02d}", credit_code=code(),
            name=f"长城汽车供应商{n + 1:02d}", scale="above_scale" if n % 4 == 0 else "small_micro",
            industry="auto_parts", town=BRICK_TOWNS[n % len(BRICK_TOWNS)]))["id"]
            for n in range(48)]
        # 100 improvement projects: 38.81 million invested, 240 million expected.
        for n in range(100):
            self.on(155 + n / 2)
            supplier = suppliers[n] if n < 48 else None
            project = (await self.step(
                "jxw", "improvement.open", f"gw-project-{n:03d}", enterprise_id=great_wall,
                title=f"专项改进项目{n + 1:03d}", department="jxw", supplier_id=supplier,
                problem="供货质量问题" if supplier else None))["id"]
            await self.step("jxw", "improvement.record_investment", f"gw-invest-{n:03d}",
                            improvement_id=project, amount_yuan="388100.00")
            await self.step("jxw", "improvement.expect_benefit", f"gw-expect-{n:03d}",
                            improvement_id=project, amount_yuan="2400000.00")
        # Its metrology room, built with the platform's help: about a million a year saved.
        self.on(210)
        case = await self.step("asc_window", "case.submit", "gw-metrology",
                               enterprise_id=great_wall, service_type="metrology",
                               description="建设企业计量室", channel="offline_window",
                               station="asc_window")
        self.on(211)
        await self.step("samr", "case.accept", "gw-metrology-accept", case_id=case["id"])
        await self.step("samr", "case.assign_expert", "gw-metrology-expert",
                        case_id=case["id"], expert_id=experts[0], start=self.at(218),
                        end=self.at(218.25))
        await self.step("samr", "case.book_equipment", "gw-metrology-instrument",
                        case_id=case["id"], equipment_id=instruments[0], start=self.at(218),
                        end=self.at(218.25))
        self.on(240)
        await self.step("samr", "case.resolve", "gw-metrology-resolve", case_id=case["id"],
                        outcome="计量室建成，自主检定", invested_yuan="500000.00",
                        saved_per_year_yuan="1000000.00", expected_benefit_yuan="1000000.00")
        return great_wall


ABOVE_SCALE = 353  # the district's above-scale enterprises (规上企业)
INDUSTRIES = ("machinery", "electronics", "food", "tea", "textiles", "ceramics",
              "building_materials", "plastics", "motorcycles", "construction")
# The service modes the problems came by: (who sends it, channel, station).
MODES_CHANNELS = (("portal", "online_platform", None), ("asc_window", "offline_window",
                                                         "asc_window"),
                  ("ipc_fenghuanghu", "park_base", "ipc_fenghuanghu"),
                  ("post_laisu", "town_post", "post_laisu"),
                  ("ipc_gangqiao", "quality_alliance", "ipc_gangqiao"),
                  ("ipc_sanjiao", "industry_led", "ipc_sanjiao"))
MODES_SERVICES = (("metrology", "samr"), ("standards", "samr"), ("inspection_testing", "samr"),
                  ("certification", "samr"), ("training_consultation", "kjj"))
PROBLEMS = ("计量器具检定周期过长", "企业标准不会制定", "原材料检测没有能力", "产品认证流程不清楚",
            "质量管理人员缺乏培训", "出厂检验方法不规范")
# 好差评 as the enterprises gave it: mostly good, one in ten bad.
RATINGS = ("very_satisfied", "satisfied", "very_satisfied", "basically_satisfied",
           "very_satisfied", "satisfied", "very_satisfied", "satisfied", "very_satisfied",
           "dissatisfied", "very_satisfied", "satisfied", "very_satisfied", "satisfied",
           "very_satisfied", "satisfied", "very_satisfied", "very_satisfied",
           "very_dissatisfied")
PEOPLE = {"portal": "企业经办人", "samr": "王科长", "jxw": "陈干事",
          "asc_window": "窗口受理员"}
