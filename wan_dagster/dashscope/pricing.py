"""Cost from ``usage`` and a price book that ships as data (``prices.json``) and can be overridden.

A price row may be selected by resolution tier, audio and ``video_ratio`` (animate mode, EMO
frame). Cost is computed from what the service returned; a dry run estimates from the request
instead. A model with no price row gets ``None``: an unknown price is never guessed. A
free-trial-only model (registry ``Purchase``) has no price row and costs nothing, but its cost
says so (``Cost.free_trial_quota``) and reports print its terms (``cost_text``), never a 0 that
would read as a price.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from importlib import resources
from os import PathLike
from typing import Any, Mapping

from .registry import REGISTRY, BillingUnit, ModelSpec, tier_of_size
from .types import Usage


@dataclass(frozen=True)
class PriceRow:
    price: Decimal
    tier: str | None = None
    audio: bool | None = None
    ratio: str | None = None
    note: str | None = None

    def matches(self, tier: str | None, audio: bool | None, ratio: str | None) -> bool:
        return all(want is None or want == have
                   for want, have in ((self.tier, tier), (self.audio, audio), (self.ratio, ratio)))


@dataclass(frozen=True)
class Cost:
    model: str
    unit: BillingUnit
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal
    currency: str
    selectors: Mapping[str, Any] = field(default_factory=dict)
    #: Set for a free-trial-only model: ``amount`` is 0 while its trial quota (this many
    #: units per account) lasts, and then the model cannot be called or bought at all.
    free_trial_quota: int | None = None

    def __str__(self) -> str:
        if self.free_trial_quota is not None:
            return _terms(self.free_trial_quota, self.unit)
        return f"{self.amount:.2f} {self.currency}"


@dataclass(frozen=True)
class BillingKey:
    """The price selectors of one generation, resolved from usage, request and defaults."""

    tier: str | None
    audio: bool | None
    ratio: str | None


class PriceBook:
    def __init__(self, rows: Mapping[str, list[PriceRow]], currency: str = "CNY"):
        self._rows = dict(rows)
        self.currency = currency

    @classmethod
    def load(cls, path: str | PathLike[str] | None = None,
             overrides: Mapping[str, Any] | str | PathLike[str] | None = None) -> PriceBook:
        """The shipped book (or ``path``), with ``overrides`` replacing whole model entries.
        ``overrides`` is a mapping or a JSON file in the same shape as ``prices.json``."""
        if path is None:
            data = json.loads(resources.files(__package__).joinpath("prices.json").read_text())
        else:
            data = _read_json(path)
        models: dict[str, Any] = dict(data["models"])
        if overrides is not None:
            extra = overrides if isinstance(overrides, Mapping) else _read_json(overrides)
            models.update(extra.get("models", extra))
        rows = {name: [_row(entry, name) for entry in entries] for name, entries in models.items()}
        return cls(rows, data.get("currency", "CNY"))

    def __contains__(self, model: str) -> bool:
        return model in self._rows

    def unit_price(self, model: str, key: BillingKey) -> Decimal | None:
        matching = [r for r in self._rows.get(model, []) if r.matches(key.tier, key.audio, key.ratio)]
        return matching[0].price if len(matching) == 1 else None

    def cost(self, spec: ModelSpec, usage: Usage | None,
             request: Mapping[str, Any] | None = None) -> Cost | None:
        """Cost of a finished task from its ``usage``; None if usage lacks the billed quantity
        or no single price row applies."""
        if usage is None:
            return None
        quantity = usage.image_count if spec.billing_unit == BillingUnit.IMAGE else usage.seconds
        if quantity is None:
            return None
        return self._price(spec, Decimal(str(quantity)), billing_key(spec, request, usage))

    def estimate(self, spec: ModelSpec, request: Mapping[str, Any] | None = None) -> Cost | None:
        """Expected cost of a request before it is sent (for dry runs and budgets)."""
        params = (request or {}).get("parameters", {})
        if spec.billing_unit == BillingUnit.IMAGE:
            quantity = params.get("n", spec.default("n") or 1)
        else:
            quantity = params.get("duration", spec.default("duration"))
            if quantity is None and spec.video is not None:
                quantity = spec.video.default_duration
        if quantity is None:
            return None
        return self._price(spec, Decimal(str(quantity)), billing_key(spec, request, None))

    def _price(self, spec: ModelSpec, quantity: Decimal, key: BillingKey) -> Cost | None:
        selectors = {k: v for k, v in vars(key).items() if v is not None}
        trial = spec.purchase.free_quota
        if trial is not None:
            return Cost(spec.name, spec.billing_unit, quantity, Decimal(0), Decimal(0),
                        self.currency, selectors, free_trial_quota=trial)
        price = self.unit_price(spec.name, key)
        if price is None:
            return None
        return Cost(spec.name, spec.billing_unit, quantity, price, quantity * price,
                    self.currency, selectors)


def trial_terms(model: str) -> str | None:
    """How a free-trial-only model is paid for, in words; None for a model that is sold."""
    spec = REGISTRY.get(model) if model in REGISTRY else None
    if spec is None or spec.purchase.free_quota is None:
        return None
    return _terms(spec.purchase.free_quota, spec.billing_unit)


def _terms(free_quota: int, unit: BillingUnit) -> str:
    return f"free while the trial quota lasts ({free_quota} {unit.value}s), not purchasable"


def cost_text(model: str, amount: Decimal | float | None, currency: str = "CNY") -> str:
    """An amount as reports print it: "0.14 CNY", "unknown" without a published price, and a
    free-trial-only model's terms (``trial_terms``) instead of its 0."""
    terms = trial_terms(model)
    if terms is not None:
        return terms
    return "unknown" if amount is None else f"{amount:.2f} {currency}"


def billing_key(spec: ModelSpec, request: Mapping[str, Any] | None, usage: Usage | None) -> BillingKey:
    """Resolve tier/audio/ratio: what the service reported wins, then what was asked for,
    then the model's documented default (so a default 1080P is priced as 1080P)."""
    params = (request or {}).get("parameters", {})
    tier = usage.tier if usage else None
    if tier is None:
        if "resolution" in params:
            tier = params["resolution"]
        elif "size" in params and spec.video is not None:
            tier = tier_of_size(params["size"])
        elif "min_len" in params or spec.param("min_len"):
            tier = f"{params.get('min_len', spec.default('min_len'))}P"
        elif spec.video is not None:
            tier = spec.video.default_tier
    audio = usage.audio if usage else None
    if audio is None and spec.video is not None:
        if spec.video.audio == "optional":
            audio = params.get("audio", spec.default("audio"))
        else:
            audio = spec.video.audio == "always"
    ratio = usage.video_ratio if usage else None
    if ratio is None and "mode" in params:
        ratio = "pro" if params["mode"] == "wan-pro" else "standard"
    return BillingKey(tier, audio, ratio)


def _read_json(path: str | PathLike[str]) -> dict[str, Any]:
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def _row(entry: Mapping[str, Any], model: str) -> PriceRow:
    unknown = set(entry) - {"price", "tier", "audio", "ratio", "note"}
    if unknown or "price" not in entry:
        raise ValueError(f"price book entry for {model} has bad keys {sorted(unknown)} "
                         f"or no 'price': {dict(entry)}")
    return PriceRow(Decimal(str(entry["price"])), entry.get("tier"), entry.get("audio"),
                    entry.get("ratio"), entry.get("note"))
