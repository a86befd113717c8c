"""好差评: the enterprise's rating of one stage of its case, and what a bad one sets going.

The national government-service practice the district follows is a closed loop. A case is
rated at each stage — accepted, served, resolved — on five levels, from 非常满意 to
非常不满意. A bad rating (不满意, 非常不满意) is for the department at fault (the lead
bureau for how a case was accepted, the case's lead for how it was served and resolved),
which must follow it up with the enterprise (回访核实) and then either rectify and tell the
enterprise what it did (整改反馈) within a number of working days on the district's calendar,
or, when the rating was unfounded, appeal (申诉) to the lead bureau, which reviews it (复核):
upheld, the department must rectify after all, in as many working days again; overturned,
the rating no longer counts. A follow-up overdue is escalated, as an overdue case is.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import AwareDatetime, Field

from domain import commands as c
from domain.base import Aggregate, CommandContext, DomainEvent
from domain.codes import Recorded
from domain.errors import refuse
from domain.lifecycle import require

Stage, Level = c.EvaluatedStage, c.Level
LEVELS_ZH = {"very_satisfied": "非常满意", "satisfied": "满意", "basically_satisfied": "基本满意",
             "dissatisfied": "不满意", "very_dissatisfied": "非常不满意"}
BAD = frozenset({"dissatisfied", "very_dissatisfied"})
# Still owed to the enterprise: a follow-up, or the rectification after it.
DUE = frozenset({"follow_up_due", "verified"})
Status = Literal["satisfied", "follow_up_due", "verified", "appealed", "rectified",
                 "overturned"]


class Evaluation(Aggregate):
    public_name = "evaluation"

    class Rated(DomainEvent):
        public_name = "evaluation.rated"
        case_id: UUID
        enterprise_id: UUID
        stage: Stage
        level: Level
        comment: str = ""
        department: Recorded.department  # at fault, should the rating be bad
        # The window or town post that took the case (None: the online portal).
        station: Recorded.station | None
        follow_up_due: AwareDatetime | None  # for a bad rating

        def apply(self, evaluation: Evaluation) -> None:
            evaluation.case_id, evaluation.enterprise_id = self.case_id, self.enterprise_id
            evaluation.stage, evaluation.level = self.stage, self.level
            evaluation.department, evaluation.station = self.department, self.station
            evaluation.due = self.follow_up_due
            evaluation.status = "follow_up_due" if self.level in BAD else "satisfied"
            evaluation.escalations, evaluation.escalated_for = 0, None

    class FollowedUp(DomainEvent):
        public_name = "evaluation.followed_up"
        contact: str = Field(min_length=1)  # with whom, and how
        finding: str = Field(min_length=1)

        def apply(self, evaluation: Evaluation) -> None:
            evaluation.status = "verified"

    class RectificationReported(DomainEvent):
        public_name = "evaluation.rectification_reported"
        rectification: str = Field(min_length=1)  # what was done
        told: str = Field(min_length=1)  # how the enterprise was told
        on_time: bool

        def apply(self, evaluation: Evaluation) -> None:
            evaluation.status, evaluation.due = "rectified", None

    class Appealed(DomainEvent):
        public_name = "evaluation.appealed"
        reason: str = Field(min_length=1)

        def apply(self, evaluation: Evaluation) -> None:
            evaluation.status, evaluation.due = "appealed", None

    class Reviewed(DomainEvent):
        public_name = "evaluation.reviewed"
        upheld: bool  # the rating stands: rectify after all
        note: str = ""
        rectification_due: AwareDatetime | None

        def apply(self, evaluation: Evaluation) -> None:
            evaluation.status = "verified" if self.upheld else "overturned"
            evaluation.due = self.rectification_due

    class Escalated(DomainEvent):
        public_name = "evaluation.escalated"
        level: int = Field(ge=1)
        overdue_since: AwareDatetime

        def apply(self, evaluation: Evaluation) -> None:
            evaluation.escalations, evaluation.escalated_for = self.level, self.overdue_since

    case_id: UUID
    enterprise_id: UUID
    stage: Stage
    level: Level
    department: str
    station: str | None
    status: Status
    due: AwareDatetime | None
    escalations: int
    escalated_for: AwareDatetime | None  # the due date it was last escalated for

    @classmethod
    def rate(cls, ctx: CommandContext, evaluation_id: UUID, *, case_id: UUID,
             enterprise_id: UUID, stage: Stage, level: Level, comment: str, department: str,
             station: str | None, follow_up_due: datetime) -> Evaluation:
        return cls.start(evaluation_id, cls.Rated, ctx, case_id=case_id,
                         enterprise_id=enterprise_id, stage=stage, level=level,
                         comment=comment, department=department, station=station,
                         follow_up_due=follow_up_due if level in BAD else None)

    def follow_up(self, ctx: CommandContext, contact: str, finding: str) -> None:
        require(self, c.FollowUpEvaluation.states, "followed up")
        self.trigger(self.FollowedUp, ctx, contact=contact, finding=finding)

    def report_rectification(self, ctx: CommandContext, rectification: str, told: str) -> None:
        require(self, c.ReportRectification.states, "rectified")
        self.trigger(self.RectificationReported, ctx, rectification=rectification, told=told,
                     on_time=self.due is None or ctx.at <= self.due)

    def appeal(self, ctx: CommandContext, reason: str) -> None:
        require(self, c.AppealEvaluation.states, "appealed")
        self.trigger(self.Appealed, ctx, reason=reason)

    def review(self, ctx: CommandContext, upheld: bool, note: str,
               rectification_due: datetime) -> None:
        require(self, c.ReviewAppeal.states, "reviewed")
        self.trigger(self.Reviewed, ctx, upheld=upheld, note=note,
                     rectification_due=rectification_due if upheld else None)

    def escalate(self, ctx: CommandContext) -> None:
        """Once for each due date missed; nothing if it is not overdue at `ctx.at`."""
        if (self.status not in DUE or self.due is None or ctx.at <= self.due
                or self.escalated_for == self.due):
            return
        self.trigger(self.Escalated, ctx, level=self.escalations + 1, overdue_since=self.due)


def stage_reached(stage: Stage, case_status: str, visits: int) -> bool:
    """Whether a case has been through `stage`, so that it can be rated for it."""
    if case_status in ("submitted", "rejected", "withdrawn"):
        return False
    if stage == "accepted":
        return True
    if stage == "served":
        return visits > 0 or case_status in ("resolved", "closed")
    return case_status in ("resolved", "closed")


def not_reached(stage: Stage, case_status: str) -> Exception:
    return refuse("case.stage_not_reached", f"This case is {case_status}: it has not been "
                  f"{stage} yet, so that stage cannot be rated.", stage=stage,
                  status=case_status)
