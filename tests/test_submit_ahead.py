"""Submit ahead: a batch keeps one task per model queued at the service beyond the model's
concurrency, so a freed slot is taken by the service at once instead of idling until the
client notices the end and sends the next create; the service still runs no more than the
concurrency at once."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from wan_dagster.core.batch import BatchRunner, BatchSettings
from wan_dagster.core.recipes.defaults import BACKGROUND
from wan_dagster.core.catalog import load_catalog
from wan_dagster.core.ledger import Ledger
from wan_dagster.core.store import LocalMediaStore
from wan_dagster.dashscope import REGISTRY, AsyncDashScopeClient, Limits, PollPolicy, PriceBook
from wan_dagster.dashscope.limits import SUBMIT_AHEAD

from account_run import peak_concurrency

DATA = Path(__file__).resolve().parent.parent / "data"
MODEL = "wanx-background-generation-v2"  # concurrency 1: every hand-over shows
SKUS = ["BAG-3001", "BAG-3002", "HOM-5001", "HOM-5002"]
#: Submits well above the pace at which the service ends tasks (time scale 0.05: 0.4-1.5 s),
#: on both sides, so that the submit rate never decides when a create can go.
FAST_SUBMITS = Limits(20, 1)
SCALE = 0.05


@pytest.mark.emulator(time_scale=SCALE, registry=REGISTRY.with_limits({MODEL: FAST_SUBMITS}))
def test_the_next_task_is_queued_before_the_running_one_ends(emulator, tmp_path) -> None:
    by_sku = load_catalog(DATA / "catalog.csv").by_sku

    async def batch() -> list:
        async with AsyncDashScopeClient(api_key="sk-test", base_url=emulator.base_url,
                                        poll=PollPolicy().scaled(SCALE),
                                        limits={MODEL: FAST_SUBMITS}) as client:
            runner = BatchRunner(client, Ledger(f"sqlite:///{tmp_path / 'ledger.db'}"),
                                 LocalMediaStore(tmp_path / "media"), PriceBook.load(),
                                 BatchSettings(run_id="ahead"))
            return await runner.run([by_sku[s] for s in SKUS], {BACKGROUND})

    outcomes = asyncio.run(batch())
    assert all(o.ok for o in outcomes) and len(outcomes) == len(SKUS)
    rows = sorted(emulator.tasks.list(since=None, before=None, model=MODEL, status=None),
                  key=lambda row: row["start_time"])
    assert len(rows) == len(SKUS)
    # the second task was created while the first ran (not once the first had ended), and
    # started when it ended
    assert rows[1]["gmt_create"] < rows[0]["end_time"] <= rows[1]["start_time"], rows
    limit = REGISTRY.get(MODEL).limits.concurrency
    assert peak_concurrency(emulator)[MODEL] == limit
    alive = max(sum(1 for r in rows if r["gmt_create"] <= row["gmt_create"] < r["end_time"])
                for row in rows)
    assert alive == limit + SUBMIT_AHEAD


@pytest.mark.emulator(time_scale=SCALE, registry=REGISTRY.with_limits({MODEL: FAST_SUBMITS}))
def test_a_lost_create_is_matched_while_the_next_waits_its_turn(emulator, tmp_path) -> None:
    """The first create lands but its answer is lost; the second SKU's create (allowed ahead)
    waits for it without being marked sent, so reconciliation adopts the lone new task (an
    image task shows no prompt to match) instead of giving up on a rival that never sent."""
    by_sku = load_catalog(DATA / "catalog.csv").by_sku
    emulator.faults.inject("create", "drop_after")

    async def batch() -> list:
        async with AsyncDashScopeClient(api_key="sk-test", base_url=emulator.base_url,
                                        poll=PollPolicy().scaled(SCALE),
                                        limits={MODEL: FAST_SUBMITS}) as client:
            runner = BatchRunner(client, Ledger(f"sqlite:///{tmp_path / 'ledger.db'}"),
                                 LocalMediaStore(tmp_path / "media"), PriceBook.load(),
                                 BatchSettings(run_id="lost"))
            return await runner.run([by_sku[s] for s in SKUS[:2]], {BACKGROUND})

    outcomes = asyncio.run(batch())
    assert [o.error for o in outcomes if not o.ok] == []
    assert emulator.counters["creates"] == 2 and emulator.faults.injected()
