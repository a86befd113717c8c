"""Read models built from the log: each projection folds events into its own documents."""

from __future__ import annotations

from projections.audit import AuditTrail
from projections.cases import CaseView
from projections.enterprises import EnterpriseHistory
from projections.equipment import EquipmentBookings
from projections.experts import ExpertSchedules
from projections.intake import Intake
from projections.programme_kpis import Kpis
from projections.view import Projection
from projections.worklists import Worklists

ALL_PROJECTIONS: tuple[Projection, ...] = (
    CaseView(), Worklists(), EnterpriseHistory(), ExpertSchedules(), EquipmentBookings(),
    Intake(), AuditTrail(), Kpis(),
)
