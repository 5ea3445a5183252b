"""Why a task the service no longer knows has no result, in a user's words.

DashScope answers UNKNOWN both for a task whose 24 h are over and for one it never had or lost
(created under another account, region or workspace; an emulator restarted). The ledger marks
both EXPIRED, since nothing more can be collected, but the user must be told which happened:
only the task's age, as this side recorded it, can tell them apart.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ..dashscope.registry import RESULT_TTL_SECONDS
from .ledger import Attempt

__all__ = ["vanished_reason"]

RETENTION = timedelta(seconds=RESULT_TTL_SECONDS)
_REGENERATE = ("run the SKU again with regenerate_expired (python -m wan_dagster "
               "--regenerate-expired) to pay for a new one")


def vanished_reason(attempt: Attempt, now: datetime | None = None) -> str:
    """The ledger message of an attempt whose task the service answered UNKNOWN for."""
    since = attempt.submitted_at or attempt.created_at
    age = (now or datetime.now(UTC)) - since
    if age >= RETENTION:
        return (f"task {attempt.task_id} expired: DashScope keeps a task and its result "
                f"{_hours(RETENTION)} h, and it was submitted {_hours(age)} h ago "
                f"({since:%Y-%m-%d %H:%M} UTC) without being collected; {_REGENERATE}")
    return (f"task {attempt.task_id} is unknown to the service {_duration(age)} after it was "
            f"submitted, well within the {_hours(RETENTION)} h it keeps tasks: it was lost, or "
            f"created under another account, region or workspace; {_REGENERATE}")


def _hours(span: timedelta) -> int:
    return int(span.total_seconds() // 3600)


def _duration(span: timedelta) -> str:
    minutes = int(span.total_seconds() // 60)
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"
