"""What the ledger cannot account for, as UI metadata: AMBIGUOUS creates (with the way to settle
them by hand) and billed tasks no SKU owns. The cost asset and the task sensor show the same
tables, built here from ``core.unowned``."""

from __future__ import annotations

import dagster as dg

from ..core.ledger import Ledger
from ..core.unowned import Ambiguous, UnownedTask, ambiguous_attempts, unowned_tasks
from ..dashscope import PriceBook
from .resources import DashScopeResource

RESOLVE_HINT = ("Settle by hand: python -m wan_dagster.command.resolve --ledger URL adopt "
                "ATTEMPT_ID TASK_ID | withdraw ATTEMPT_ID (README 'Resolving an ambiguous create')")


def ambiguous_metadata(rows: list[Ambiguous]) -> dict[str, dg.MetadataValue]:
    """The AMBIGUOUS attempts: attempt id, SKU, asset, model, sent at, why."""
    schema = dg.TableSchema([dg.TableColumn("attempt_id", "int"), dg.TableColumn("sku"),
                             dg.TableColumn("asset"), dg.TableColumn("model"),
                             dg.TableColumn("sent_at"), dg.TableColumn("why")])
    return {
        "ambiguous_creates": dg.MetadataValue.int(len(rows)),
        "ambiguous_creates_table": dg.MetadataValue.table(
            [dg.TableRecord({"attempt_id": a.attempt_id, "sku": a.sku, "asset": a.asset,
                             "model": a.model,
                             "sent_at": a.sent_at.isoformat() if a.sent_at else "",
                             "why": a.why}) for a in rows], schema=schema),
        "ambiguous_creates_how_to_resolve": dg.MetadataValue.text(RESOLVE_HINT),
    }


def unowned_metadata(tasks: list[UnownedTask]) -> dict[str, dg.MetadataValue]:
    """Billed tasks no SKU owns: task id, SKU (or "unknown"), model, cost."""
    schema = dg.TableSchema([dg.TableColumn("task_id"), dg.TableColumn("sku"),
                             dg.TableColumn("model"), dg.TableColumn("cost", "float"),
                             dg.TableColumn("currency")])
    known = [t.cost for t in tasks if t.cost is not None]
    return {
        "unowned_billed_tasks": dg.MetadataValue.int(len(tasks)),
        "unowned_billed_cost_cny": dg.MetadataValue.float(float(sum(known))),
        "unowned_billed_tasks_table": dg.MetadataValue.table(
            [dg.TableRecord({"task_id": t.task_id, "sku": t.sku, "model": t.model,
                             "cost": float(t.cost) if t.cost is not None else None,
                             "currency": t.currency}) for t in tasks], schema=schema),
    }


def ledger_report(ledger: Ledger, dashscope: DashScopeResource) -> dict[str, dg.MetadataValue]:
    """Both tables; the billed tasks only where a task list is shared (not the embedded
    emulator, which lives and dies with each run)."""
    report = ambiguous_metadata(ambiguous_attempts(ledger))
    if dashscope.uses_emulator:
        return report
    with dashscope.get_client(ledger) as client:
        return report | unowned_metadata(unowned_tasks(client, ledger, PriceBook.load()))
