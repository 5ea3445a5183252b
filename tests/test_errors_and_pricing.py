"""Error classification, retry decisions, usage parsing and pricing."""

from decimal import Decimal

import pytest

from wan_dagster.dashscope import REGISTRY, PriceBook, Usage
from wan_dagster.dashscope.errors import (
    APIConnectionError, APIError, APITimeoutError, Disposition, create_disposition,
    is_resubmittable, read_disposition)


@pytest.mark.parametrize("status,code,on_create,on_read", [
    (429, "Throttling", Disposition.RETRY, Disposition.RETRY),
    (429, "Throttling.RateQuota", Disposition.RETRY, Disposition.RETRY),
    (429, "Throttling.AllocationQuota", Disposition.RETRY, Disposition.RETRY),
    (429, "PrepaidBillOverdue", Disposition.FINAL, Disposition.FINAL),
    (429, "CommodityNotPurchased", Disposition.FINAL, Disposition.FINAL),
    (500, "InternalError", Disposition.RECONCILE, Disposition.RETRY),
    (503, "ServiceUnavailable", Disposition.RECONCILE, Disposition.RETRY),
    (504, None, Disposition.RECONCILE, Disposition.RETRY),
    (408, "RequestTimeOut", Disposition.RECONCILE, Disposition.RETRY),
    (400, "InvalidParameter", Disposition.FINAL, Disposition.FINAL),
    (400, "DataInspectionFailed", Disposition.FINAL, Disposition.FINAL),
    (401, "InvalidApiKey", Disposition.FINAL, Disposition.FINAL),
    (403, "AccessDenied", Disposition.FINAL, Disposition.FINAL),
    (404, "ModelNotFound", Disposition.FINAL, Disposition.FINAL),
    (413, "BadRequest.TooLarge", Disposition.FINAL, Disposition.FINAL),
])
def test_classification_by_code(status, code, on_create, on_read):
    error = APIError(status, code, "x")
    assert create_disposition(error) is on_create
    assert read_disposition(error) is on_read


def test_connection_errors_create_only_retried_when_never_sent():
    assert create_disposition(APIConnectionError("refused", request_sent=False)) is Disposition.RETRY
    assert create_disposition(APIConnectionError("dropped", request_sent=True)) is Disposition.RECONCILE
    assert create_disposition(APITimeoutError("timeout", request_sent=True)) is Disposition.RECONCILE
    assert read_disposition(APITimeoutError("timeout", request_sent=True)) is Disposition.RETRY


def test_failed_task_codes():
    assert is_resubmittable("InternalError") and is_resubmittable("InternalError.Timeout")
    assert not is_resubmittable("DataInspectionFailed")
    assert not is_resubmittable("IPInfringementSuspect")
    assert not is_resubmittable("InvalidParameter")


def test_usage_both_vocabularies_and_no_invented_zero():
    new = Usage.parse({"duration": 10, "input_video_duration": 0, "output_video_duration": 10,
                       "video_count": 1, "SR": 720, "audio": False})
    assert (new.seconds, new.tier, new.audio) == (10.0, "720P", False)
    old = Usage.parse({"video_duration": 5, "video_ratio": "832*480", "video_count": 1})
    assert (old.seconds, old.tier, old.video_ratio) == (5.0, None, "832*480")
    sdk = Usage.parse({"video_count": 1, "video_duration": 0, "video_ratio": "", "duration": 10,
                       "SR": "720"})
    assert (sdk.seconds, sdk.tier) == (10.0, "720P")
    assert Usage.parse({"video_count": 1}).seconds is None
    assert Usage.parse(None) is None


def test_costs_from_usage():
    book = PriceBook.load()
    flash = REGISTRY.get("wan2.6-i2v-flash")
    loud = book.cost(flash, Usage.parse({"duration": 10, "SR": 720, "audio": True}))
    quiet = book.cost(flash, Usage.parse({"duration": 10, "SR": 720, "audio": False}))
    assert (loud.amount, quiet.amount) == (Decimal("3.00"), Decimal("1.50"))
    bg = book.cost(REGISTRY.get("wanx-background-generation-v2"), Usage.parse({"image_count": 1}))
    assert bg.amount == Decimal("0.08") and bg.currency == "CNY"
    legacy = book.cost(REGISTRY.get("wan2.2-i2v-flash"),
                       Usage.parse({"video_duration": 5, "video_count": 1}),
                       {"parameters": {"resolution": "480P"}})
    assert legacy.amount == Decimal("0.50")
    assert book.cost(flash, Usage.parse({"video_count": 1})) is None
    assert book.cost(REGISTRY.get("wan2.6-i2v"), Usage.parse({"duration": 5, "SR": 720})) is None


def test_estimate_prices_the_service_defaults():
    # wan2.6-i2v-flash defaults: 1080P, audio on, 5 s -> 5 * 0.50
    book = PriceBook.load()
    assert book.estimate(REGISTRY.get("wan2.6-i2v-flash")).amount == Decimal("2.50")
    silent = {"parameters": {"resolution": "720P", "audio": False, "duration": 4}}
    assert book.estimate(REGISTRY.get("wan2.6-i2v-flash"), silent).amount == Decimal("0.60")


def test_price_overrides(tmp_path):
    override = tmp_path / "prices.json"
    override.write_text('{"models": {"wanx-background-generation-v2": [{"price": "0.05"}]}}')
    book = PriceBook.load(overrides=override)
    cost = book.cost(REGISTRY.get("wanx-background-generation-v2"), Usage.parse({"image_count": 2}))
    assert cost.amount == Decimal("0.10")
    with pytest.raises(ValueError, match="bad keys"):
        PriceBook.load(overrides={"x": [{"price": "1", "resolution": "720P"}]})
