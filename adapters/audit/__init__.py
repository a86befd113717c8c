"""The audit trail: what happened that is not an event (refusals, reads), kept as durably."""
