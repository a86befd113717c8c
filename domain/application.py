"""The one-stop service application: every use case, on one store."""

from __future__ import annotations

from domain.casework import CaseUseCases
from domain.programmes import ProgrammeUseCases
from domain.registry import RegistryUseCases


class OneStop(CaseUseCases, RegistryUseCases, ProgrammeUseCases):
    """Cases, enterprises, experts, instruments and programmes live on one store, so a booking can
    change a case and an expert or instrument in a single atomic write."""
