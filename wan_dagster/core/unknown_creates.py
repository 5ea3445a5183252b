"""Creates whose outcome is unknown (AMBIGUOUS, or sent by a run that is gone): what to look
for in the service's task list, and what the ledger records of the answer.

The batch (before it sends another create of the model) and the task sensor (for AMBIGUOUS
attempts no live run settles) both settle them through here, so they decide alike: the one
unowned listed task that can be this create's is adopted; none that could be means the create
never landed (withdrawn, so the next run sends it afresh); several, or a task that shows nothing
to tell it apart while other creates of the model are unresolved, leave it AMBIGUOUS.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from ..dashscope import AmbiguousCreateError, Task
from ..dashscope.requests import TaskRequest
from .ledger import Attempt, Ledger, LedgerConflict

__all__ = ["known_task_ids", "recorded_request", "record", "rival_count", "rivals", "search",
           "withdraw_unsent"]


def recorded_request(attempt: Attempt) -> TaskRequest:
    """The attempt's request as the ledger keeps it: compact (data URIs hashed), so only its
    model and prompt are read, to find its task; never sent."""
    body = attempt.request_body
    return TaskRequest(model=attempt.model, input=body.get("input", {}),
                       parameters=body.get("parameters", {}))


def rivals(ledger: Ledger, attempt: Attempt) -> list[Attempt]:
    """The other creates of the attempt's model whose task is not recorded yet."""
    return [a for a in ledger.unresolved_creates(attempt.model) if a.id != attempt.id]


def rival_count(ledger: Ledger, attempt: Attempt) -> Callable[[], int]:
    """How many ``rivals`` the attempt has, for the client to count only when it reconciles
    (one ledger read fewer per create)."""
    return lambda: len(rivals(ledger, attempt))


def known_task_ids(ledger: Ledger, model: str) -> Callable[[datetime], set[str]]:
    """The model's task ids the ledger records since a moment, for the client to rule out when
    it reconciles: read only then, and only over the listing's window."""
    return lambda since: ledger.known_task_ids(model, since=since)


def search(ledger: Ledger, attempt: Attempt) -> dict[str, Any]:
    """The keyword arguments of ``client.recover`` for ``attempt``: from its creation on, never
    a task another attempt owns, and no prompt-less adoption while it has rivals."""
    return {"since": attempt.created_at,
            "known_task_ids": known_task_ids(ledger, attempt.model),
            "rivals": rival_count(ledger, attempt)}


def record(ledger: Ledger, attempt: Attempt,
           found: Task | None | AmbiguousCreateError) -> Attempt:
    """What ``client.recover`` answered, in the ledger: its task adopted, the create withdrawn
    (no task could be its), or the attempt left AMBIGUOUS with the candidates in its message.
    If another process settled it meanwhile, its answer stands and is returned."""
    try:
        if isinstance(found, AmbiguousCreateError):
            return ledger.mark_ambiguous(attempt.id, str(found))
        if found is not None:
            return ledger.mark_submitted(attempt.id, found.task_id)
        return withdraw_unsent(ledger, attempt)
    except LedgerConflict as conflict:
        if conflict.current is None:
            raise
        return conflict.current


def withdraw_unsent(ledger: Ledger, attempt: Attempt, *,
                    why: str = "no task was found for this create: it never reached the "
                               "service") -> Attempt:
    """The service's task list shows no task for this attempt: its create never landed."""
    return ledger.mark_not_created(attempt.id, why)
