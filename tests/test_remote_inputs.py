"""Remote image URLs are checked before a SKU's first create, against a real HTTP server on
loopback: a 404, a URL that hangs, an HTML page, a declared or streamed oversize body and a
closed port each fail their SKU with the row, the column and the rule, and cost nothing (the
emulator's bill), not even the background of an apparel row whose model image is the bad URL;
the good rows of the same batch, remote images included, complete."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pandas as pd
import pytest

from url_server import DATA, url_server
from wan_dagster.core.batch import BatchRunner, BatchSettings
from wan_dagster.core.recipes import DEFAULT_RECIPE
from wan_dagster.core.catalog import load_catalog
from wan_dagster.core.ledger import Ledger
from wan_dagster.core.remote import UrlCheck
from wan_dagster.core.store import LocalMediaStore
from wan_dagster.dashscope import AsyncDashScopeClient, PriceBook
from wan_dagster.emulator import Emulator

#: A small cap, so that the streamed oversize body stays cheap to refuse.
CAP = 2_000_000
#: Generous for the good URLs on a loaded machine; the hanging one costs this once.
CHECK = UrlCheck(timeout=3.0, max_bytes=CAP)


def catalog_with_urls(root: Path, base: str) -> Path:
    """SKU → (sample row, column, cell): remote cells, good and bad, on a local catalog."""
    cases = {
        "URL-GOOD-BAG": ("BAG-3002", "cutout_image", f"{base}/images/BAG-3002_cutout.png"),
        "URL-GOOD-APP": ("APP-1003", "model_image", f"{base}/images/APP-1003_model.jpg"),
        "URL-404": ("BAG-3002", "cutout_image", f"{base}/missing.png"),
        "URL-HANG": ("BAG-3002", "cutout_image", f"{base}/hang.png"),
        "URL-HTML": ("BAG-3002", "cutout_image", f"{base}/page.png"),
        "URL-HUGE": ("BAG-3002", "cutout_image", f"{base}/huge.png"),
        "URL-ENDLESS": ("BAG-3002", "cutout_image", f"{base}/endless.png"),
        "URL-CLOSED": ("BAG-3002", "cutout_image", "http://127.0.0.1:9/x.png"),
        "URL-APP-MODEL-404": ("APP-1003", "model_image", f"{base}/missing.png"),
    }
    sample = pd.read_csv(DATA / "catalog.csv", dtype="str", keep_default_na=False,
                         na_values=[""]).set_index("sku", drop=False)
    rows = []
    for sku, (base_sku, column, cell) in cases.items():
        row = sample.loc[base_sku].copy()
        row["sku"], row[column] = sku, cell
        row["background_prompt"] = f"{row['background_prompt']} ({sku})"
        rows.append(row)
    shutil.copytree(DATA / "images", root / "images")
    path = root / "catalog.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


EXPECTED = {  # SKU → (column, rule), the rule's start after the URL
    "URL-404": ("cutout_image", "answered HTTP 404, not the image"),
    "URL-HANG": ("cutout_image", "did not answer within 3 s"),
    "URL-HTML": ("cutout_image", "serves text/html, not an image"),
    "URL-HUGE": ("cutout_image", "is larger than 2.0 MB"),
    "URL-ENDLESS": ("cutout_image", "is larger than 2.0 MB"),
    "URL-CLOSED": ("cutout_image", "cannot be fetched (ConnectError"),
    "URL-APP-MODEL-404": ("model_image", "answered HTTP 404, not the image"),
}


#: Results live 24 h scaled: 14 min here, so that a slow machine cannot outlast them.
@pytest.mark.emulator(time_scale=0.01)
def test_bad_urls_fail_their_sku_before_any_create(emulator: Emulator, tmp_path: Path) -> None:
    with url_server() as server:
        catalog = load_catalog(catalog_with_urls(tmp_path, server.base_url))
        assert catalog.errors == ()  # no network at load: the URLs are checked per SKU
        ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")

        async def run() -> list:
            async with AsyncDashScopeClient(api_key="x", base_url=emulator.base_url) as client:
                runner = BatchRunner(client, ledger, LocalMediaStore(tmp_path / "media"),
                                     PriceBook.load(), BatchSettings(url_check=CHECK))
                return await runner.run(catalog.products, DEFAULT_RECIPE.names)

        outcomes = asyncio.run(run())
    failed = {o.sku: o for o in outcomes if not o.ok}
    assert set(failed) == set(EXPECTED), {sku: o.error for sku, o in failed.items()}
    for sku, (column, rule) in EXPECTED.items():
        row = catalog.by_sku[sku].row
        errors = {o.error for o in outcomes if o.sku == sku}
        assert len(errors) == 1, errors  # every asset of the SKU, for the same reason
        [error] = errors
        assert error.startswith(f"row {row} (sku {sku!r}), column {column}: http"), error
        assert rule in error, error
    assert {o.sku for o in outcomes if o.ok} == {"URL-GOOD-BAG", "URL-GOOD-APP"}
    # the judge: 2 + 3 creates for the good SKUs, every billed task one of theirs
    billed = {line.task_id for line in emulator.bill.lines}
    attempts = ledger.attempts()
    assert emulator.counters["creates"] == 5 == len(billed)
    assert {a.sku for a in attempts} == {"URL-GOOD-BAG", "URL-GOOD-APP"}
    assert billed == {a.task_id for a in attempts}
