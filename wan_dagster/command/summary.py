"""What the main command prints at the end: SKUs done and failed (each failure with its catalog
row and column, or the service's reason), what this command paid, the cumulative cost, checks."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Iterable

from ..core.catalog import Catalog
from ..core.ledger import Ledger, Status
from ..core.unowned import UnownedTask
from ..dashscope.pricing import trial_terms


@dataclass
class Spend:
    """Billed generations per model; ``unpriced`` have no published CNY price (never summed)."""

    cost: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    count: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    unpriced: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, model: str, cost: Decimal | None) -> None:
        self.count[model] += 1
        if cost is None:
            self.unpriced[model] += 1
        else:
            self.cost[model] += cost

    @property
    def total(self) -> Decimal:
        return sum(self.cost.values(), Decimal(0))


@dataclass
class Summary:
    done: list[str]
    failed: list[tuple[str, str]]  # (SKU, why)
    this_run: Spend
    cumulative: Spend
    unowned: list[UnownedTask] = field(default_factory=list)  # billed, owned by no SKU

    @property
    def sku_count(self) -> int:
        return len(self.done) + len(self.failed)


def summarise(catalog: Catalog, ledger: Ledger, run_ids: Iterable[str],
              unowned: list[UnownedTask] | None = None) -> Summary:
    """The state of every catalog SKU in the ledger, the spend of ``run_ids`` against all, and
    ``unowned`` (``core.unowned.unowned_tasks``) billed tasks no SKU owns."""
    done, failed = [], []
    for product in catalog.products:
        problems = []
        for asset, fingerprint in product.input_fingerprints.items():
            attempt = ledger.latest(asset, product.sku, fingerprint)
            if attempt is None:
                problems.append(f"{asset}: not generated yet")
            elif attempt.status != Status.STORED:
                problems.append(f"{asset}: {attempt.message or attempt.status}")
        if problems:
            failed.append((product.sku, "; ".join(problems)))
        else:
            done.append(product.sku)
    for sku, errors in catalog.invalid_skus.items():
        failed.append((sku, "; ".join(str(e) for e in errors)))
    mine = {a.id for run_id in set(run_ids) for a in ledger.attempts(run_id=run_id)}
    this_run, cumulative = Spend(), Spend()
    for row in ledger.cost_rows(include_unstored=True):
        cumulative.add(row["model"], row["cost"])
        if row["attempt_id"] in mine:
            this_run.add(row["model"], row["cost"])
    return Summary(done, failed, this_run, cumulative, list(unowned or []))


def render(summary: Summary) -> str:
    lines = ["", "==== Summary ====",
             f"SKUs done: {len(summary.done)} of {summary.sku_count}",
             f"SKUs failed: {len(summary.failed)}"]
    lines += [f"  {sku}: {why}" for sku, why in summary.failed]
    lines.append("Cost by model (CNY, from the usage the service returned): "
                 "this command / all runs so far")
    for model in sorted(summary.cumulative.count):
        terms = trial_terms(model)
        if terms is not None:  # its 0 is no price: say what it is instead
            lines.append(f"  {model:32s} {terms}: {summary.this_run.count.get(model, 0):3d} / "
                         f"{summary.cumulative.count[model]:3d} generations")
            continue
        lines.append(f"  {model:32s} {_amount(summary.this_run, model):>8s} "
                     f"({summary.this_run.count.get(model, 0):3d}) / "
                     f"{_amount(summary.cumulative, model):>8s} "
                     f"({summary.cumulative.count[model]:3d} generations)")
    lines.append(f"  {'total':32s} {_total(summary.this_run):>8s} "
                 f"({sum(summary.this_run.count.values()):3d}) / "
                 f"{_total(summary.cumulative):>8s} "
                 f"({sum(summary.cumulative.count.values()):3d} generations)")
    unpriced = sum(summary.this_run.unpriced.values())
    lines.append(f"Spent by this command: {summary.this_run.total:.2f} CNY"
                 + (f", plus {unpriced} generation(s) with no published price" if unpriced
                    else ""))
    if summary.unowned:
        priced = sum((t.cost for t in summary.unowned if t.cost is not None), Decimal(0))
        lines.append(f"Billed tasks no SKU owns: {len(summary.unowned)} ({priced:.2f} CNY priced "
                     "from their usage; see python -m wan_dagster.command.resolve list)")
        lines += [f"  {t.task_id}  SKU {t.sku}  {t.model}  "
                  + ("cost unknown" if t.cost is None else f"{t.cost:.2f} {t.currency}")
                  for t in summary.unowned]
    return "\n".join(lines)


def _amount(spend: Spend, model: str) -> str:
    """The model's priced sum; its generations with no published price are counted beside it,
    never shown as a 0 that reads like a price."""
    count, unpriced = spend.count.get(model, 0), spend.unpriced.get(model, 0)
    if count and unpriced == count:
        return "unpriced"
    amount = f"{spend.cost.get(model, Decimal(0)):.2f}"
    return f"{amount} + {unpriced} unpriced" if unpriced else amount


def _total(spend: Spend) -> str:
    unpriced = sum(spend.unpriced.values())
    return f"{spend.total:.2f}" + (f" + {unpriced} unpriced" if unpriced else "")
