"""Injected faults: the failures a real DashScope client must survive, on demand.

Each fault is a rate in [0, 1] rolled with a seeded RNG (reproducible rehearsals), and can also
be queued a number of times with ``inject`` so that a test gets exactly the fault it wants at
the next request of that kind, whatever the rates say.

Holds (``create/hold_before``, ``create/hold_after``, ``download/hold``) are inject-only: they
park a request until ``release()``, so that a test can act (e.g. kill the client) at that exact
moment. A random rate of indefinite stalls would only hang rehearsals, so FaultConfig has no
field for them and ``update`` does not know them.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from typing import Any


def _rate(what: str) -> Any:
    return field(default=0.0, metadata={"help": what})


@dataclass
class FaultConfig:
    """Probability of each fault per eligible request or task (0 disables it)."""

    throttle: float = _rate("extra 429 Throttling.RateQuota on create")
    create_5xx_before: float = _rate("create answers 500 InternalError, nothing created")
    create_5xx_after: float = _rate("task created (and later billed), create answers 500")
    create_drop_before: float = _rate("create connection closed unanswered, nothing created")
    create_drop_after: float = _rate("task created, create connection closed unanswered")
    read_5xx: float = _rate("500/503 on task fetch and list")
    read_drop: float = _rate("connection closed unanswered on task fetch and list")
    task_internal_error: float = _rate("task FAILED InternalError")
    task_data_inspection: float = _rate("task FAILED DataInspectionFailed")
    slow: float = _rate("task latency multiplied by slow_factor")
    truncated_download: float = _rate("result download cut after about half its bytes")
    slow_factor: float = field(default=5.0, metadata={"help": "latency multiplier of `slow`"})

    def __post_init__(self) -> None:
        for name in RATE_FIELDS:
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
                raise ValueError(f"fault rate {name} must be a number in [0, 1], got {value!r}")
        if not isinstance(self.slow_factor, (int, float)) or self.slow_factor < 1.0:
            raise ValueError(f"slow_factor must be >= 1, got {self.slow_factor!r}")


RATE_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(FaultConfig) if f.name != "slow_factor")

#: ``inject(stage, kind)`` names, mapped to the FaultConfig rate they force.
_BY_STAGE: dict[tuple[str, str], str] = {
    ("create", "throttle"): "throttle",
    ("create", "5xx_before"): "create_5xx_before",
    ("create", "5xx_after"): "create_5xx_after",
    ("create", "drop_before"): "create_drop_before",
    ("create", "drop_after"): "create_drop_after",
    ("read", "5xx"): "read_5xx",
    ("read", "drop"): "read_drop",
    ("task", "internal_error"): "task_internal_error",
    ("task", "data_inspection"): "task_data_inspection",
    ("task", "slow"): "slow",
    ("download", "truncated"): "truncated_download",
    ("create", "hold_before"): "create_hold_before",
    ("create", "hold_after"): "create_hold_after",
    ("download", "hold"): "download_hold",
}
#: Inject-only faults that park the request (see ``Faults.hold``); no FaultConfig rate.
HOLDS: frozenset[str] = frozenset({"create_hold_before", "create_hold_after", "download_hold"})
#: How often a held request checks whether its client is still there.
_HOLD_POLL_S = 0.05


class Faults:
    """Decides, thread-safely, whether a fault fires now, and counts those that did; parks
    and releases held requests."""

    def __init__(self, config: FaultConfig | None = None, seed: int = 0):
        self._lock = threading.Condition()
        self._initial = FaultConfig(**asdict(config or FaultConfig()))
        self._seed = seed
        self._release_no = 0  # bumped by release(): a hold ends when it changes
        self._holding = 0  # requests parked right now
        self._closed = False  # the emulator is stopping: holds end, new ones do not start
        self.reset()

    def reset(self) -> None:
        """Back to the configuration the emulator started with; queued faults dropped, held
        requests released."""
        with self._lock:
            self._config = FaultConfig(**asdict(self._initial))
            self._rng = random.Random(self._seed)
            self._queued: Counter[str] = Counter()
            self._injected: Counter[str] = Counter()
            self._release_no += 1
            self._lock.notify_all()

    @property
    def config(self) -> FaultConfig:
        with self._lock:
            return FaultConfig(**asdict(self._config))

    def update(self, **changes: Any) -> FaultConfig:
        """Set some FaultConfig fields (validated together); unknown names raise ValueError."""
        unknown = set(changes) - {f.name for f in fields(FaultConfig)}
        if unknown:
            raise ValueError(f"unknown fault fields: {sorted(unknown)}; known: "
                             f"{[f.name for f in fields(FaultConfig)]}")
        with self._lock:
            self._config = FaultConfig(**{**asdict(self._config), **changes})
            return FaultConfig(**asdict(self._config))

    def inject(self, stage: str, kind: str, times: int = 1) -> None:
        """Force fault ``kind`` at the next ``times`` eligible points of ``stage``, e.g.
        ``inject("create", "5xx_after")``."""
        name = _BY_STAGE.get((stage, kind))
        if name is None:
            raise ValueError(f"unknown fault {stage}/{kind}; known: "
                             f"{sorted(f'{s}/{k}' for s, k in _BY_STAGE)}")
        if times < 1:
            raise ValueError(f"times must be >= 1, got {times}")
        with self._lock:
            self._queued[name] += times

    def fires(self, name: str) -> bool:
        """Whether fault ``name`` (a FaultConfig rate field) happens at this point."""
        with self._lock:
            if self._queued[name] > 0:
                self._queued[name] -= 1
            elif not self._rng.random() < getattr(self._config, name):
                return False
            self._injected[name] += 1
            return True

    def choice(self, options: tuple[Any, ...]) -> Any:
        """A seeded pick among the variants of a fault (e.g. 500 or 503)."""
        with self._lock:
            return self._rng.choice(options)

    @property
    def slow_factor(self) -> float:
        with self._lock:
            return self._config.slow_factor

    def hold_due(self, name: str) -> bool:
        """Whether an injected hold ``name`` (one of HOLDS) applies at this point; takes it."""
        if name not in HOLDS:
            raise ValueError(f"unknown hold {name!r}; known: {sorted(HOLDS)}")
        with self._lock:
            if self._queued[name] == 0:
                return False
            self._queued[name] -= 1
            return True

    def hold(self, name: str, client_gone: Callable[[], bool]) -> bool:
        """Park the calling request until ``release()`` (True: go on as normal), or until
        ``client_gone()`` says its client disconnected or the emulator stops (False: drop it).

        The hold is counted in ``injected()`` as it begins, under the same lock that
        ``release()`` takes, so a ``release()`` issued after a test saw the count always frees it.
        ``client_gone`` is polled every 50 ms, outside the lock.
        """
        with self._lock:
            if self._closed:
                return False
            self._injected[name] += 1
            self._holding += 1
            release_no = self._release_no
        try:
            while True:
                with self._lock:
                    if self._release_no == release_no and not self._closed:
                        self._lock.wait(_HOLD_POLL_S)
                    if self._closed:
                        return False
                    if self._release_no != release_no:
                        return True
                if client_gone():
                    return False
        finally:
            with self._lock:
                self._holding -= 1

    def release(self) -> int:
        """Let every request held right now go on; returns how many there were. Holds that
        begin later are not affected."""
        with self._lock:
            released = self._holding
            self._release_no += 1
            self._lock.notify_all()
            return released

    def holding(self) -> int:
        """How many requests are parked right now."""
        with self._lock:
            return self._holding

    def close(self) -> None:
        """The emulator is stopping: held requests are dropped now, and none is held again."""
        with self._lock:
            self._closed = True
            self._lock.notify_all()

    def injected(self) -> dict[str, int]:
        with self._lock:
            return {name: n for name, n in self._injected.items() if n}
