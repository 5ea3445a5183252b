"""Timing policies: how long to back off before a retry and how often to poll a task."""

from __future__ import annotations

import random
from dataclasses import dataclass

from .registry import Output


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
    """Adaptive polling: images are checked every few seconds (the docs: every 3 s for the first
    30 s, then less often), videos, which take minutes, start slower and back off to ~15 s."""

    image_initial: float = 3.0
    video_initial: float = 5.0
    maximum: float = 15.0
    growth: float = 1.3
    steady_after: float = 30.0  # seconds of waiting before the interval starts to grow

    def interval(self, output: Output, elapsed: float, previous: float | None) -> float:
        start = self.image_initial if output == Output.IMAGE else self.video_initial
        if previous is None or elapsed < self.steady_after:
            base = start
        else:
            base = min(self.maximum, previous * self.growth)
        return base * random.uniform(0.9, 1.1)

    def scaled(self, factor: float) -> PollPolicy:
        """The same shape, faster or slower (for an emulator run with a time scale)."""
        return PollPolicy(self.image_initial * factor, self.video_initial * factor,
                          self.maximum * factor, self.growth, self.steady_after * factor)
