"""Timing policies: how long to back off before a retry and how often to poll a task."""

from __future__ import annotations

import random
from dataclasses import dataclass, replace

from .registry import RunTime


@dataclass(frozen=True)
class RetryPolicy:
    """Capped exponential backoff with full jitter; ``Retry-After`` wins when the service sends it."""

    max_retries: int = 5
    initial_delay: float = 0.5
    max_delay: float = 30.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        if retry_after is not None:
            return min(self.max_delay, max(0.0, retry_after))
        ceiling = min(self.max_delay, self.initial_delay * (2 ** attempt))
        return random.uniform(ceiling / 2, ceiling)


@dataclass(frozen=True)
class PollPolicy:
    """When to look at a task again, from its request's run-time window (``RunTime``).

    A task cannot end before it has run for the window's shortest time, so nothing is fetched
    before then; inside the window it is fetched every eighth of the window (1-5 s), which keeps
    the delay in noticing its end to half that; past the window it backs off to the docs' 15 s.
    The first look comes one such interval after the shortest time, not at it: a task whose
    running time is counted from its create (or its dated start) cannot have ended by then,
    and one that ends within that first interval is noticed at its end either way.
    A task still queued cannot end within the shortest run time either: if the service will
    date its start (``scheduled_time``) it is looked at again one interval past that, where
    the same holds (learning its start sooner would only place a look it cannot end before),
    else four times per shortest run time, to learn roughly when it started. Intervals are in service seconds;
    ``time_scale`` shrinks them for an emulator that runs faster than the service."""

    window_fraction: float = 1 / 8
    near_min: float = 1.0
    near_max: float = 5.0
    queued_fraction: float = 1 / 4
    maximum: float = 15.0
    growth: float = 1.3
    time_scale: float = 1.0

    def delay(self, expected: RunTime, running_for: float | None,
              previous: float | None = None, *, start_dated: bool = False) -> float:
        """Seconds (real) until the next fetch. ``running_for``: real seconds since the earliest
        moment the task may have started running; None while it is queued. ``start_dated``:
        the service will tell when a queued task started, so there is no need to look early."""
        k = self.time_scale
        shortest, longest = expected.shortest * k, expected.longest * k
        near = min(max((longest - shortest) * self.window_fraction, self.near_min * k),
                   self.near_max * k)
        if running_for is None:
            if start_dated:
                return shortest + near
            return max(self.near_min * k, shortest * self.queued_fraction)
        if running_for < shortest:
            return shortest + near - running_for
        if running_for < longest:
            return near
        return min(self.maximum * k, max(near, (previous or near) * self.growth))

    def scaled(self, factor: float) -> PollPolicy:
        """The same cadence for a service whose time runs ``factor`` times as fast."""
        return replace(self, time_scale=self.time_scale * factor)
