"""What the emulator charged (the bill) and what it was asked (the counters).

These are the test judge's evidence: a retry policy that double-bills shows up as two bill
lines with the same request fingerprint, a lost create as a create counted without a task the
client knows about. Each class has its own lock and never calls out while holding it.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Any

from .faults import Faults


def fingerprint(body: Any) -> str:
    """sha256 of the canonical JSON of a request body: same content, same fingerprint."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class BillLine:
    task_id: str  # the request_id for synchronous (detect) calls, which have no task
    model: str
    unit: str  # "image" or "second"
    quantity: float
    usage: dict[str, Any]
    request_fingerprint: str
    billed_at: str  # ISO 8601, UTC


class Bill:
    """Append-only list of charges."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lines: list[BillLine] = []

    def charge(self, *, task_id: str, model: str, unit: str, quantity: float,
               usage: dict[str, Any], request_fingerprint: str, at: float) -> BillLine:
        line = BillLine(task_id, model, unit, quantity, dict(usage), request_fingerprint,
                        datetime.fromtimestamp(at, timezone.utc).isoformat(timespec="milliseconds"))
        with self._lock:
            self._lines.append(line)
        return line

    @property
    def lines(self) -> list[BillLine]:
        with self._lock:
            return list(self._lines)

    def to_json(self) -> dict[str, Any]:
        lines = self.lines
        totals: dict[str, dict[str, float]] = {}
        for line in lines:
            entry = totals.setdefault(line.model, {"unit": line.unit, "quantity": 0, "lines": 0})
            entry["quantity"] += line.quantity
            entry["lines"] += 1
        return {"lines": [asdict(line) for line in lines], "totals": totals}

    def clear(self) -> None:
        with self._lock:
            self._lines.clear()


class Counters:
    """Request counts. ``creates`` counts accepted creates (tasks made); ``throttled`` the 429s
    sent; ``quota_refused`` the creates refused because a free quota was used up; the others
    count requests received, whatever their answer. Injected faults are counted by ``Faults``
    and reported here too."""

    NAMES = ("creates", "throttled", "quota_refused", "fetches", "lists", "cancels",
             "downloads")

    def __init__(self, faults: Faults) -> None:
        self._faults = faults
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._by_body: Counter[str] = Counter()

    def add(self, name: str, n: int = 1) -> None:
        if name not in self.NAMES:
            raise ValueError(f"unknown counter {name!r}")
        with self._lock:
            self._counts[name] += n

    def created(self, body_fingerprint: str) -> None:
        with self._lock:
            self._counts["creates"] += 1
            self._by_body[body_fingerprint] += 1

    def __getitem__(self, name: str) -> Any:
        return self.snapshot()[name]

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            snap: dict[str, Any] = {name: self._counts[name] for name in self.NAMES}
            snap["creates_by_body"] = dict(self._by_body)
        snap["faults_injected"] = self._faults.injected()
        return snap

    def clear(self) -> None:
        with self._lock:
            self._counts.clear()
            self._by_body.clear()
