"""Resolving an AMBIGUOUS create by hand, when the task list could not tell its task apart.

A person who has found the task in the DashScope console (model, time) adopts it for the
attempt; one who is sure no task was created withdraws the attempt, so that the next run sends
it afresh. Both are checked against the service first, because a wrong answer costs money: a
task is adopted only if it is listed for the attempt's model in the attempt's window, no other
attempt owns it and it shows no other prompt; an attempt is withdrawn only while no unowned task
of its model is listed in its window (unless forced). The attempt is leased while this happens,
so no run or sensor settles it at the same time.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from ..dashscope import DashScopeClient
from ..dashscope._core import reconcile_window
from .leases import lease_seconds, new_owner
from .ledger import Attempt, Ledger, LedgerError, Status
from .unknown_creates import recorded_request, withdraw_unsent

__all__ = ["ResolutionRefused", "adopt", "candidates", "withdraw"]


class ResolutionRefused(LedgerError):
    """The resolution asked for would be wrong or unsafe; the message says why."""


def candidates(client: DashScopeClient, ledger: Ledger, attempt: Attempt) -> list[str]:
    """Task ids of the attempt's model listed in its window that no attempt owns."""
    start, end = reconcile_window(attempt.created_at, datetime.now(UTC))
    owned = ledger.known_task_ids(attempt.model)
    return [row.task_id for row in client.iter_tasks(model=attempt.model, start=start, end=end)
            if row.task_id not in owned]


def adopt(client: DashScopeClient, ledger: Ledger, attempt_id: int, task_id: str) -> Attempt:
    """Record ``task_id`` as the task of AMBIGUOUS attempt ``attempt_id``; the task sensor (or
    the SKU's next run) then collects it."""
    with _held(ledger, attempt_id) as attempt:
        listed = candidates(client, ledger, attempt)
        if task_id not in listed:
            raise ResolutionRefused(
                f"task {task_id} is not an unowned {attempt.model} task listed since attempt "
                f"{attempt_id} was created ({attempt.created_at:%Y-%m-%d %H:%M:%S} UTC); "
                f"unowned candidates: {', '.join(listed) or 'none'}")
        shown, asked = client.fetch(task_id, model=attempt.model).orig_prompt, \
            recorded_request(attempt).prompt
        if shown and asked and shown != asked:
            raise ResolutionRefused(f"task {task_id} shows the prompt {shown!r}, attempt "
                                    f"{attempt_id} sent {asked!r}: it is another SKU's task")
        return ledger.mark_submitted(attempt_id, task_id)


def withdraw(client: DashScopeClient, ledger: Ledger, attempt_id: int, *,
             force: bool = False) -> Attempt:
    """Record that AMBIGUOUS attempt ``attempt_id`` created no task (its SKU's next run sends
    it again, and pays again if a task did exist: hence the check, unless ``force``)."""
    with _held(ledger, attempt_id) as attempt:
        listed = [] if force else candidates(client, ledger, attempt)
        if listed:
            raise ResolutionRefused(
                f"unowned {attempt.model} tasks are listed since attempt {attempt_id} was "
                f"created: {', '.join(listed)}; one may be its task (adopt it), or pass --force "
                "if you know they belong to something else")
        return withdraw_unsent(ledger, attempt, why="withdrawn by hand: no task was created")


@contextmanager
def _held(ledger: Ledger, attempt_id: int) -> Iterator[Attempt]:
    """The AMBIGUOUS attempt, leased to this resolution while the block runs."""
    owner = new_owner("resolve")
    attempt, granted = ledger.claim(attempt_id, owner, lease_seconds())
    if attempt.status != Status.AMBIGUOUS:
        if granted:
            ledger.release_leases(owner, attempt_id)
        raise ResolutionRefused(f"attempt {attempt_id} is {attempt.status}, not AMBIGUOUS: "
                                "nothing to resolve")
    if not granted:
        raise ResolutionRefused(f"attempt {attempt_id} is being settled by {attempt.owner} "
                                f"(lease until {attempt.lease_until}); try again later")
    try:
        yield attempt
    finally:
        ledger.release_leases(owner, attempt_id)
