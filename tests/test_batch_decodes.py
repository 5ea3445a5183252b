"""The batch decodes each request input once per content: the decode verdicts it learns are
kept in the ledger's database (``core.image_verdicts``), where the catalog's load keeps its
own, so an image already decoded there, or shared by many SKUs, is not decoded again for
every request."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
from pathlib import Path

import pytest

from wan_dagster.core.batch import BatchRunner, BatchSettings
from wan_dagster.core.catalog import load_catalog
from wan_dagster.core.image_verdicts import ValidationCache
from wan_dagster.core.ledger import Ledger
from wan_dagster.core.recipes.defaults import BACKGROUND
from wan_dagster.core.store import LocalMediaStore
from wan_dagster.dashscope import AsyncDashScopeClient, PollPolicy, PriceBook

from big_catalog import build_catalog

SCALE = 0.02


@pytest.mark.emulator(time_scale=SCALE)
def test_two_skus_with_the_same_cutout_decode_it_once(emulator, tmp_path: Path) -> None:
    catalog, skus = build_catalog(tmp_path / "catalog", 2, model_shots=0)
    first, second = (load_catalog(catalog).by_sku[sku] for sku in skus)
    # the second SKU's cutout is the first's file (a catalog may point many rows at one)
    twins = [first, dataclasses.replace(second, cutout_image=first.cutout_image)]
    url = f"sqlite:///{tmp_path / 'ledger.db'}"

    async def batch() -> list:
        async with AsyncDashScopeClient(api_key="sk-test", base_url=emulator.base_url,
                                        poll=PollPolicy().scaled(SCALE)) as client:
            runner = BatchRunner(client, Ledger(url), LocalMediaStore(tmp_path / "media"),
                                 PriceBook.load(), BatchSettings(run_id="twins"))
            return await runner.run(twins, {BACKGROUND})

    outcomes = asyncio.run(batch())
    assert [o.ok for o in outcomes] == [True, True]
    assert ValidationCache.for_url(url).stats["decodes"] == 1
    stored = ValidationCache(Ledger(url))  # what another process finds in the database
    stored.refresh()
    assert stored.verdict(_sha256(Path(first.cutout_image)), _never) is not None


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _never() -> None:  # a stored verdict must be found, not decoded again
    raise AssertionError("decoded again: the verdict was not stored")
