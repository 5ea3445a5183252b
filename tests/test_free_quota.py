"""Free-trial-only models (issue 11, item 5): the registry's fact, cited to the seeds; the
emulator's per-key quota and its final refusal; the client's final error that names what to
buy instead; pricing and the summaries that never show such a model as costing 0."""

from __future__ import annotations

import asyncio
import re
import time
from decimal import Decimal
from pathlib import Path

import dagster as dg
import httpx
import pytest

from seed_examples import SEEDS
from test_emulator import (ASYNC, KEY, api, create, data_uri, failed, photo_jpeg,  # noqa: F401
                           succeeded)
from wan_dagster.command.summary import render, summarise
from wan_dagster.core.batch import BatchRunner, BatchSettings
from wan_dagster.core.recipes import Recipe, RecipeOutput, When
from wan_dagster.core.catalog import load_catalog
from wan_dagster.core.ledger import Ledger, Status
from wan_dagster.core.store import LocalMediaStore
from wan_dagster.dashscope import (REGISTRY, AsyncDashScopeClient, DashScopeClient,
                                   FreeQuotaExhausted, PollPolicy, PriceBook, RetryPolicy,
                                   Usage)
from wan_dagster.dashscope.errors import Disposition, create_disposition
from wan_dagster.dashscope.pricing import cost_text, trial_terms
from wan_dagster.dashscope.registry import PAYG, BillingUnit, trial_only
from wan_dagster.dashscope.requests import shoe_model
from wan_dagster.emulator import Emulator
from wan_dagster.emulator.__main__ import _free_quota
from wan_dagster.emulator.quota import account_of
from wan_dagster.orchestration.resources import DashScopeResource, LedgerResource
from recipe_assets import recipe_asset

SEED = SEEDS / "000_abeeac904f9badb7.txt"
DATA = Path(__file__).resolve().parent.parent / "data"
SHOE = "/services/aigc/virtualmodel/generation"
WAN_EDIT = ("wanx2.1-imageedit", "wan2.5-i2i-preview")


def seed_line(number: int) -> str:
    return SEED.read_text(encoding="utf-8").splitlines()[number - 1]


def shoe_body(n: int = 1) -> dict:
    image = data_uri(photo_jpeg((600, 600)), "image/jpeg")
    return {"model": "shoemodel-v1",
            "input": {"template_image_url": image, "shoe_image_url": [image]},
            "parameters": {"n": n}}


def send(api: httpx.Client, body: dict, **headers: str) -> httpx.Response:
    """POST a shoe-model create, waiting out the model's submit rate (2 per second)."""
    while True:
        response = api.post(SHOE, json=body, headers={**ASYNC, **headers})
        if response.status_code != 429 or response.json()["code"] != "Throttling.RateQuota":
            return response
        time.sleep(0.2)


def refused(api: httpx.Client, n: int = 1) -> None:
    response = send(api, shoe_body(n))
    assert response.status_code == 403, response.text
    assert response.json()["code"] == "AllocationQuota.FreeTierOnly"


# ---------------------------------------------------------------------------- the registry


# (model, line saying it is free-trial-only and not purchasable, line of its 500-image quota,
#  the purchasable models that line recommends instead)
TRIAL_ONLY = [
    ("wanx-virtualmodel", 1996, 2083, WAN_EDIT),
    ("virtualmodel-v2", 1996, 2083, WAN_EDIT),  # V2's quota cells are merged with V1's
    ("shoemodel-v1", 2248, 2280, ()),
    ("wanx-poster-generation-v1", 2381, 2421,
     ("wan2.6-t2i", "wan2.5-t2i-preview", "wan2.2-t2i-flash", "wanx2.0-t2i-turbo")),
    ("image-instance-segmentation", 2669, 2702, ()),
    ("image-erase-completion", 2752, 2791, WAN_EDIT),
    ("wanx-x-painting", 2897, 2956, ("wanx2.1-imageedit",)),
]


@pytest.mark.parametrize("model, line, quota_line, replacements", TRIAL_ONLY)
def test_trial_only_models_as_the_seeds_say(model, line, quota_line, replacements):
    says = seed_line(line)
    assert model in says and "免费额度用完后不可调用且不支持付费" in says
    assert seed_line(quota_line) == "500张"
    # the image-editing pages recommend image editing, poster text-to-image; the others
    # only "stay tuned" (敬请关注后续动态)
    recommends = {"图像编辑-通义万相": WAN_EDIT, "文本生成图像": replacements}
    expected = next((models for text, models in recommends.items() if text in says), ())
    if "通义万相2.1" in says:
        expected = ("wanx2.1-imageedit",)
    spec = REGISTRY.get(model)
    assert spec.purchase == trial_only(500, *replacements) and replacements == expected
    assert spec.billing_unit is BillingUnit.IMAGE  # the quota counts images ("500张")
    assert spec.asynchronous  # the emulator holds quota for tasks
    assert "trial" not in spec.notes.lower()  # the fact lives in one place


def test_every_other_model_is_sold_and_every_replacement_is_sold():
    trial = {row[0] for row in TRIAL_ONLY}
    assert {s.name for s in REGISTRY if s.purchase.trial_only} == trial
    assert all(s.purchase == PAYG for s in REGISTRY if s.name not in trial)
    for spec in REGISTRY:
        for name in spec.purchase.replacements:
            assert not REGISTRY.get(name).purchase.trial_only, (spec.name, name)


# ---------------------------------------------------------------------------- pricing


def test_a_trial_only_cost_says_so_and_never_reads_as_a_price():
    book = PriceBook.load()
    spec = REGISTRY.get("virtualmodel-v2")
    assert "virtualmodel-v2" not in book  # not sold: no price row
    cost = book.cost(spec, Usage.parse({"image_count": 2}))
    estimate = book.estimate(spec, {"parameters": {"n": 1}})
    assert (cost.amount, cost.free_trial_quota, estimate.free_trial_quota) == (0, 500, 500)
    terms = "free while the trial quota lasts (500 images), not purchasable"
    assert str(cost) == str(estimate) == trial_terms("virtualmodel-v2") == terms
    assert cost_text("virtualmodel-v2", Decimal(0)) == terms
    assert not re.search(r"\b0(\.0+)?\b", terms)
    sold = book.cost(REGISTRY.get("wanx2.1-imageedit"), Usage.parse({"image_count": 1}))
    assert sold.free_trial_quota is None and str(sold) == "0.14 CNY"
    assert trial_terms("wanx2.1-imageedit") is None
    assert cost_text("wan2.6-t2i", None) == "unknown"


# ---------------------------------------------------------------------------- the emulator


@pytest.mark.emulator(free_quota={"shoemodel-v1": 2})
def test_the_emulator_refuses_a_trial_model_once_the_keys_quota_is_used(api, emulator):
    first, second = create(api, shoe_body(), SHOE), create(api, shoe_body(), SHOE)
    # the two in flight hold the whole quota: a third is refused before either ends
    refused(api)
    succeeded(api, first), succeeded(api, second)
    refused(api)
    assert sum(line.quantity for line in emulator.bill.lines) == 2
    assert emulator.counters["creates"] == 2 and emulator.counters["quota_refused"] == 2
    other_key = send(api, shoe_body(), Authorization="Bearer sk-another-account")
    assert other_key.status_code == 200, other_key.text
    background = {"model": "wanx-background-generation-v2",
                  "input": {"base_image_url": data_uri(photo_jpeg(), "image/jpeg")}}
    assert create(api, background)  # a model that is sold has no quota
    quota = httpx.get(f"{emulator.admin_url}/quota").json()
    assert quota["limits"]["shoemodel-v1"] == 2
    assert quota["used"]["shoemodel-v1"][account_of(KEY)] == 2
    assert KEY not in str(quota)


@pytest.mark.emulator(free_quota={"shoemodel-v1": 1})
def test_failed_tasks_use_no_quota(api, emulator):
    emulator.faults.inject("task", "internal_error")
    failed(api, create(api, shoe_body(), SHOE))
    succeeded(api, create(api, shoe_body(), SHOE))
    refused(api)
    assert len(emulator.bill.lines) == 1


@pytest.mark.emulator(free_quota={"shoemodel-v1": 2}, time_scale=1.0)
def test_a_canceled_task_gives_its_images_back(api, emulator):
    create(api, shoe_body(), SHOE)  # runs for 8 s or more: the model runs one task at a time
    queued = create(api, shoe_body(), SHOE)
    refused(api)
    assert api.post(f"/tasks/{queued}/cancel").status_code == 200
    assert send(api, shoe_body()).status_code == 200


@pytest.mark.emulator(free_quota={"shoemodel-v1": 3})
def test_a_create_asking_for_more_images_than_are_left_is_refused(api, emulator):
    succeeded(api, create(api, shoe_body(n=2), SHOE))
    refused(api, n=2)
    succeeded(api, create(api, shoe_body(n=1), SHOE))


def test_quota_settings_are_checked_and_reset_restores_them(emulator):
    admin = emulator.admin_url
    assert httpx.get(f"{admin}/quota").json()["limits"]["wanx-virtualmodel"] == 500
    for bad in ({"wanx2.1-imageedit": 5}, {"shoemodel-v1": -1}, {"shoemodel-v1": "2"}):
        assert httpx.post(f"{admin}/quota", json=bad).status_code == 400, bad
    assert httpx.post(f"{admin}/quota", json={"shoemodel-v1": 0}).status_code == 200
    httpx.post(f"{admin}/reset")
    assert httpx.get(f"{admin}/quota").json()["limits"]["shoemodel-v1"] == 500
    with pytest.raises(ValueError, match="not a free-trial-only model"):
        Emulator(free_quota={"wan2.6-i2v": 3})


def test_the_cli_flag_sets_one_model_or_every_trial_model():
    assert _free_quota(["shoemodel-v1=2"]) == {"shoemodel-v1": 2}
    every = _free_quota(["7", "shoemodel-v1=1"])
    assert every["wanx-x-painting"] == 7 and every["shoemodel-v1"] == 1
    assert set(every) == {row[0] for row in TRIAL_ONLY}


# ---------------------------------------------------------------------------- the client


@pytest.mark.emulator(free_quota={"shoemodel-v1": 1})
def test_the_client_raises_a_final_error_naming_the_model_and_never_retries(emulator):
    retry = RetryPolicy(max_retries=6, initial_delay=0.01, max_delay=0.05)
    with DashScopeClient(api_key="sk-test", base_url=emulator.base_url, retry=retry,
                         poll=PollPolicy(time_scale=0.002)) as client:
        request = shoe_model(photo_jpeg((600, 600)), photo_jpeg((600, 600)))
        client.run(request)
        with pytest.raises(FreeQuotaExhausted) as caught:
            client.create(request)
    error = caught.value
    assert create_disposition(error) is Disposition.FINAL
    assert emulator.counters["quota_refused"] == 1  # sent once: neither retried nor reconciled
    assert emulator.counters["lists"] == 0
    assert (error.status_code, error.code) == (403, "AllocationQuota.FreeTierOnly")
    assert "shoemodel-v1 is free-trial-only: its free quota (500 images) is used up and it " \
           "cannot be bought; DashScope names no purchasable replacement" in str(error)


MODEL_SHOT = "model_shot"
#: The virtual model only on opt-in: without it the recipe is refused when it loads.
TRIAL_RECIPE = Recipe(outputs=[RecipeOutput(
    name=MODEL_SHOT, kind="model_shot", model="virtualmodel-v2", allow_trial_models=True,
    source={"image": "model_image", "mask": "model_mask"}, prompt="{model_prompt}",
    when=When(categories=["apparel"]))])


@pytest.mark.emulator(free_quota={"virtualmodel-v2": 1})
def test_skus_after_the_quota_fail_with_that_message_and_costs_show_no_zero(emulator, tmp_path):
    catalog = load_catalog(DATA / "catalog.csv", recipe=TRIAL_RECIPE)
    products = [catalog.by_sku["APP-1001"], catalog.by_sku["APP-1003"]]
    url = f"sqlite:///{tmp_path / 'ledger.db'}"

    async def run():
        async with AsyncDashScopeClient(api_key="sk-test", base_url=emulator.base_url,
                                        poll=PollPolicy(time_scale=0.002)) as client:
            runner = BatchRunner(client, ledger, LocalMediaStore(tmp_path / "media"),
                                 PriceBook.load(), BatchSettings(run_id="run-q", recipe=TRIAL_RECIPE))
            return await runner.run(products, [MODEL_SHOT])

    with Ledger(url) as ledger:
        outcomes = asyncio.run(run())
        (stored,) = [o for o in outcomes if o.ok]
        (out,) = [o for o in outcomes if not o.ok]  # the model runs one task at a time
        assert out.code == "AllocationQuota.FreeTierOnly"
        assert "virtualmodel-v2 is free-trial-only" in out.error
        assert "use a purchasable model instead: wanx2.1-imageedit or wan2.5-i2i-preview" \
            in out.error
        (attempt,) = [a for a in ledger.attempts(run_id="run-q") if a.sku == out.sku]
        assert attempt.status is Status.FAILED and "free-trial-only" in attempt.message
        summary = render(summarise(catalog, ledger, ["run-q"]))
    (failure,) = [line for line in summary.splitlines() if line.startswith(f"  {out.sku}:")]
    assert f"{MODEL_SHOT}: HTTP 403 AllocationQuota.FreeTierOnly: virtualmodel-v2 is " \
           "free-trial-only" in failure
    (row,) = [line for line in summary.splitlines() if line.startswith("  virtualmodel-v2")]
    terms = "free while the trial quota lasts (500 images), not purchasable"
    assert row.split() == ["virtualmodel-v2", *f"{terms}:".split(), "1", "/", "1", "generations"]
    costs = dg.materialize([recipe_asset("generation_costs", TRIAL_RECIPE)], resources={
        "ledger": LedgerResource(url=url),
        "dashscope": DashScopeResource(base_url=emulator.base_url, poll_scale=0.01)})
    (event,) = costs.asset_materializations_for_node("generation_costs")
    by_model = event.metadata["by_model"].value
    (model_row,) = [r for r in by_model.splitlines() if r.startswith("| virtualmodel-v2 |")]
    assert model_row.startswith(f"| virtualmodel-v2 | {terms} | 1")
