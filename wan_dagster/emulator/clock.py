"""Emulated time: every latency and expiry goes through one ``Clock``.

Timestamps stay on the real wall clock (clients compare them with their own clock when they
reconcile through the task list); only *durations* are compressed by ``time_scale``, so a
24 h result lifetime at scale 0.001 lasts 86.4 real seconds. Tests can also jump ahead with
``advance`` instead of waiting.
"""

from __future__ import annotations

import threading
import time
from typing import Callable


class Clock:
    """Wall-clock time plus an offset that ``advance`` moves forward; thread-safe."""

    def __init__(self, time_scale: float = 1.0):
        if time_scale <= 0:
            raise ValueError(f"time_scale must be > 0, got {time_scale}")
        self.time_scale = time_scale
        self._offset = 0.0
        self._lock = threading.Lock()
        self._listeners: list[Callable[[], None]] = []

    def now(self) -> float:
        """Unix seconds, including any advance."""
        with self._lock:
            return time.time() + self._offset

    def scaled(self, service_seconds: float) -> float:
        """Real seconds that a service-side duration lasts here."""
        return service_seconds * self.time_scale

    def advance(self, service_seconds: float) -> None:
        """Jump ahead by a service-side duration (e.g. 25 h to expire results) and wake the
        scheduler so that whatever became due happens now."""
        with self._lock:
            self._offset += self.scaled(service_seconds)
            listeners = list(self._listeners)
        for listener in listeners:
            listener()

    def on_advance(self, listener: Callable[[], None]) -> None:
        with self._lock:
            self._listeners.append(listener)
