"""What each query answers: the shape of `result` in its `Answered` reply, for the contract.

The answers are the views' own documents (projections/), handed over as JSON; these models
describe them and nothing reads them back. They forbid fields they do not name, so a view
that changes what it keeps fails the test that validates real answers against the contract
(tests/bus/contract/test_contract_on_the_bus.py) until its model here says so too.
"""

from bus.contract.results.cases import CasePage, CaseWithTimeline, Visibility, WorklistPage
from bus.contract.results.registers import (
    EnterpriseEntry,
    EnterpriseWithCases,
    EquipmentWithBookings,
    ExpertWithBookings,
    Utilisation,
    Workload,
)
from bus.contract.results.reports import (
    AuditPage,
    DeliveryPage,
    IntakeTotals,
    KpiTotals,
    Ranking,
    ReadPage,
    RefusalPage,
    SentPage,
    ViewsReport,
)

__all__ = ["AuditPage", "CasePage", "CaseWithTimeline", "DeliveryPage", "EnterpriseEntry",
           "EnterpriseWithCases", "EquipmentWithBookings", "ExpertWithBookings", "IntakeTotals",
           "KpiTotals", "Ranking", "ReadPage", "RefusalPage", "SentPage", "Utilisation", "ViewsReport",
           "Visibility", "WorklistPage", "Workload"]
