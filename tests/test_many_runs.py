"""Several runs in separate processes on one DashScope account and one ledger (a SQLite file,
and a real PostgreSQL database), judged by the emulator: what it billed, the 429s it answered,
and from its task list how many tasks of each model were alive at once.

Overlapping runs over the same SKUs (one in reverse order) must pay once per generation and
all succeed: the run that meets an attempt another live run holds waits for that run's outcome
and reports the SKU as done. Runs over disjoint SKUs share the account's limits through the
ledger's database: no throttled submit, never more tasks of a model alive than its limit.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from account_run import run_all, stored_everything, verdict
from big_catalog import build_catalog
from wan_dagster.core.ledger import Ledger
from wan_dagster.dashscope import REGISTRY

#: Images take 80-300 ms and videos 0.6-3 s: long enough for runs to overlap for real.
TIME_SCALE = 0.01


def _runs(emulator, ledger_url: str, tmp_path: Path, sku_sets: list[list[str]], catalog: Path):
    finished = run_all(emulator.base_url, ledger_url, catalog, tmp_path / "media", TIME_SCALE,
                       sku_sets, tmp_path / "logs")
    for run in finished:  # 0 spurious failures: every run succeeded, whoever paid
        assert run.returncode == 0 and run.summary and not run.summary["failed"], run.log
    return finished


@pytest.mark.emulator(time_scale=TIME_SCALE)
def test_overlapping_runs_on_the_same_skus_pay_once(emulator, ledger_url, tmp_path):
    catalog, skus = build_catalog(tmp_path / "catalog", 8, model_shots=2)
    finished = _runs(emulator, ledger_url, tmp_path, [skus, skus[::-1], skus], catalog)

    generations = 8 * 2 + 2  # a background and a video each, and two model shots
    with Ledger(ledger_url) as ledger:
        judged = verdict(emulator, ledger)
        assert stored_everything(ledger, skus)
    assert judged.paid_twice == [] and judged.unowned == []
    assert judged.bill_lines == generations
    # each run reports every SKU: paid by itself, or done by another run (reused)
    assert [r.summary["stored"] + r.summary["reused"] for r in finished] == [generations] * 3
    assert sum(r.summary["stored"] for r in finished) == generations
    assert judged.throttled == 0 and judged.over_limit() == {}


@pytest.mark.emulator(time_scale=TIME_SCALE)
def test_runs_on_disjoint_skus_share_the_account_limits(emulator, ledger_url, tmp_path):
    catalog, skus = build_catalog(tmp_path / "catalog", 12, model_shots=0)
    thirds = [skus[n::3] for n in range(3)]
    _runs(emulator, ledger_url, tmp_path, thirds, catalog)

    with Ledger(ledger_url) as ledger:
        judged = verdict(emulator, ledger)
        assert stored_everything(ledger, skus)
    assert judged.paid_twice == [] and judged.unowned == [] and judged.bill_lines == 12 * 2
    assert judged.throttled == 0  # three processes, one account: no 429 of our own making
    assert judged.over_limit() == {}, judged.peak
    # the limits were reached (the runs really did share them), not merely never approached
    assert judged.peak == {model: REGISTRY.get(model).limits.concurrency
                           for model in judged.peak}
