"""The questions departments, stations, the bureau and auditors ask of the views.

Each function takes a `ViewReader` (the store's reading face) and the `Asker`, enforces what
the asker may see, and returns plain JSON-able dicts. Refusals are `QueryError`s with a
stable code: query.forbidden, query.not_found, query.invalid.
"""

from projections.queries.access import Asker, QueryError
from projections.queries.audit import (
    TrailPage,
    audit_changes,
    audit_listing,
    audit_page,
    case_visibility,
)
from projections.queries.cases import case_as_it_stood, get_case, list_cases, visible_case
from projections.queries.enterprises import enterprise_by_credit_code, enterprise_history
from projections.queries.intake import intake_counts
from projections.queries.kpis import kpi_summary, satisfaction_ranking
from projections.queries.resources import (
                                           equipment_bookings,
                                           equipment_utilisation,
                                           expert_schedule,
                                           expert_workload,
)
from projections.queries.worklists import list_worklist

__all__ = ["Asker", "QueryError", "TrailPage", "audit_changes", "audit_listing", "audit_page",
           "case_as_it_stood", "case_visibility",
           "enterprise_by_credit_code", "enterprise_history", "equipment_bookings",
           "equipment_utilisation", "expert_schedule", "expert_workload", "get_case",
           "intake_counts", "kpi_summary", "list_cases", "list_worklist", "satisfaction_ranking",
           "visible_case"]
