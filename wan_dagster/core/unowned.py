"""Billed tasks no attempt owns, and creates whose outcome is still unknown: what a user must be
told about money the ledger cannot account for.

A task the service billed (SUCCEEDED in its task list, for a model and time the ledger covers)
that no attempt records was paid for and will never be collected: a lost create answer that
could not be matched, or a create sent by something other than this ledger's runs. Nobody may
be left to find that out from the invoice, so the task sensor, the main command's summary and
the cost asset all report it through ``unowned_tasks``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from ..dashscope import DashScopeClient, PriceBook, Task
from ..dashscope.registry import RESULT_TTL_SECONDS
from .ledger import Attempt, Ledger, Status
from .unknown_creates import recorded_request

__all__ = ["Ambiguous", "UnownedTask", "ambiguous_attempts", "unowned_tasks"]

#: The list shows tasks for as long as the service keeps them; a minute either side for skew.
_KEPT = timedelta(seconds=RESULT_TTL_SECONDS)
_SKEW = timedelta(minutes=1)
UNKNOWN_SKU = "unknown"


@dataclass(frozen=True)
class UnownedTask:
    """A billed task no attempt owns. ``sku`` is that of the attempts whose prompt the task
    shows ("unknown" when it shows none, or one no attempt sent); ``cost`` is priced from the
    usage the service returned (None if it returned no billed quantity)."""

    task_id: str
    model: str
    sku: str
    created: datetime | None
    cost: Decimal | None
    currency: str


@dataclass(frozen=True)
class Ambiguous:
    """An attempt whose create may have been billed but matches no task yet."""

    attempt_id: int
    sku: str
    asset: str
    model: str
    sent_at: datetime | None
    why: str


def ambiguous_attempts(ledger: Ledger) -> list[Ambiguous]:
    """Every AMBIGUOUS attempt, oldest first (see README "Resolving an ambiguous create")."""
    return [Ambiguous(a.id, a.sku, a.asset, a.model, a.sent_at, a.message or "")
            for a in ledger.attempts(status=Status.AMBIGUOUS)]


def unowned_tasks(client: DashScopeClient, ledger: Ledger, prices: PriceBook,
                  now: datetime | None = None) -> list[UnownedTask]:
    """Billed tasks of the ledger's models, since its first attempt of each (within the 24 h
    the service lists them), that no attempt owns; one task fetch each for prompt and usage."""
    now = now or datetime.now(UTC)
    found: list[UnownedTask] = []
    for model, first in sorted(ledger.models_since(now - _KEPT - _SKEW).items()):
        owned = ledger.known_task_ids(model)
        listed = [row for row in client.iter_tasks(model=model, status="SUCCEEDED",
                                                   start=first - _SKEW, end=now + _SKEW)
                  if row.task_id not in owned]
        if not listed:
            continue
        attempts = ledger.attempts(model=model)
        for row in listed:
            task = client.fetch(row.task_id, model=model)
            found.append(_described(task, model, row.created, attempts, prices, client))
    return found


def _described(task: Task, model: str, created: datetime | None, attempts: list[Attempt],
               prices: PriceBook, client: DashScopeClient) -> UnownedTask:
    senders = [a for a in attempts
               if task.orig_prompt and recorded_request(a).prompt == task.orig_prompt]
    skus = sorted({a.sku for a in senders})
    body = senders[-1].request_body if senders else None
    cost = prices.cost(client.registry.get(model), task.usage, body)
    return UnownedTask(task.task_id, model, ", ".join(skus) or UNKNOWN_SKU, created,
                       cost.amount if cost else None, prices.currency)
