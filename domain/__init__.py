"""The quality-infrastructure one-stop service domain: enterprises, the expert and instrument
libraries, and service cases, as event-sourced aggregates with pydantic events.

Imports only the standard library, pydantic and eventsourcing. Start at `domain.application`
(the `OneStop` application and its use cases) and `domain.case_events` (the facts of a case).
"""
