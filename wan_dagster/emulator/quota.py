"""The free quota of trial-only models, per account (API key) and model.

A trial-only model (registry ``Purchase``) gives each account ``free_quota`` images; once they
are used the service refuses its creates for good (seed 000 L1996). A create holds the images
it asks for while its task runs, so that tasks in flight cannot together overrun the quota; a
success uses what was billed, a failure or cancel gives the hold back (failures use no quota,
seed 000 L573). Limits default to the registry's and may be set per model (smaller, to reach
the end in a test). The lock is a leaf lock: ``Tasks`` calls in while holding its own.
"""

from __future__ import annotations

import hashlib
import threading
from collections import Counter
from typing import Any, Mapping

from wan_dagster.dashscope.registry import Registry


class FreeQuotaUsedUp(Exception):
    """The account's free quota of a trial-only model cannot cover this create."""


def account_of(api_key: str) -> str:
    """The account a key stands for, as the quota's records name it: a digest, never the key."""
    return hashlib.sha256(api_key.encode()).hexdigest()[:12]


class FreeQuota:
    def __init__(self, registry: Registry, limits: Mapping[str, int] | None = None):
        self._defaults = {s.name: s.purchase.free_quota for s in registry
                          if s.purchase.free_quota is not None}
        self._configured = {**self._defaults, **self._checked(limits or {})}
        self._lock = threading.Lock()
        self._limits = dict(self._configured)
        self._used: Counter[tuple[str, str]] = Counter()  # (account, model) -> images
        self._held: dict[str, tuple[str, str, int]] = {}  # task id -> (account, model, images)

    def _checked(self, limits: Mapping[str, Any]) -> dict[str, int]:
        for model, images in limits.items():
            if model not in self._defaults:
                raise ValueError(f"{model!r} is not a free-trial-only model; those are: "
                                 f"{', '.join(sorted(self._defaults))}")
            if not isinstance(images, int) or isinstance(images, bool) or images < 0:
                raise ValueError(f"the free quota of {model} must be a whole number of images "
                                 f">= 0, got {images!r}")
        return dict(limits)

    def set_limits(self, limits: Mapping[str, Any]) -> dict[str, Any]:
        """Change some models' quotas (admin); usage so far is kept."""
        checked = self._checked(limits)
        with self._lock:
            self._limits.update(checked)
        return self.snapshot()

    def hold(self, account: str, model: str, images: int, task_id: str) -> None:
        """Reserve ``images`` of a trial-only model for a new task, or raise FreeQuotaUsedUp.
        Models that are sold pay-as-you-go have no quota."""
        with self._lock:
            limit = self._limits.get(model)
            if limit is None:
                return
            held = sum(n for a, m, n in self._held.values() if (a, m) == (account, model))
            if self._used[account, model] + held + images > limit:
                raise FreeQuotaUsedUp(model)
            self._held[task_id] = (account, model, images)

    def settle(self, task_id: str, images: float) -> None:
        """A held task succeeded and was billed ``images``: they are used."""
        with self._lock:
            held = self._held.pop(task_id, None)
            if held is not None:
                self._used[held[0], held[1]] += int(images)

    def release(self, task_id: str) -> None:
        """A held task failed or was canceled: it used nothing."""
        with self._lock:
            self._held.pop(task_id, None)

    def snapshot(self) -> dict[str, Any]:
        """Limits, and images used and held per model and account (admin, tests)."""
        with self._lock:
            used: dict[str, dict[str, int]] = {}
            for (account, model), images in self._used.items():
                used.setdefault(model, {})[account] = images
            held: dict[str, dict[str, int]] = {}
            for account, model, images in self._held.values():
                held.setdefault(model, {}).setdefault(account, 0)
                held[model][account] += images
            return {"limits": dict(self._limits), "used": used, "held": held}

    def clear(self) -> None:
        """Forget usage and admin changes (admin reset); limits set at start stay."""
        with self._lock:
            self._limits = dict(self._configured)
            self._used.clear()
            self._held.clear()
