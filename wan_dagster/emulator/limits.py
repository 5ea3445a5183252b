"""Gateway rate limits: sliding one-second windows per model (and one for task fetches).

Windows run on real time, not on the emulated clock: a rate limit belongs to the gateway, not
to a task's latency, and clients enforce it with their own real-time limiters. Compressing it
with ``time_scale`` would hide exactly the 429s a rehearsal is meant to show.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque


class SlidingWindowLimiter:
    """Admits at most ``rate`` requests per key in any one-second window (burst = rate).
    A rate below 1/s admits one request per ``1/rate`` seconds."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._windows: dict[str, deque[float]] = {}

    def admit(self, key: str, rate: float) -> float | None:
        """Record a request and return None if admitted; otherwise the seconds to wait."""
        capacity = max(1, math.floor(rate))
        span = capacity / rate
        now = time.monotonic()
        with self._lock:
            window = self._windows.setdefault(key, deque())
            while window and window[0] <= now - span:
                window.popleft()
            if len(window) >= capacity:
                return window[0] + span - now
            window.append(now)
            return None

    def clear(self) -> None:
        with self._lock:
            self._windows.clear()
