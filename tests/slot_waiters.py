"""Many coroutines waiting for one slot at once, as gathered ``run`` calls do: for the tests
that count what waiting costs (timers, database asks) while a slot is held."""

from __future__ import annotations

import asyncio
from typing import Any


def start_waiters(slots: Any, count: int) -> tuple[list[asyncio.Task[None]], list[int]]:
    """``count`` tasks started on the running loop, each taking a slot of ``slots`` (a
    ``SlotCounter`` or ``DatabaseSlots``), noting its number and giving the slot back; and the
    list of numbers in the order they got it."""
    got: list[int] = []

    async def waiter(number: int) -> None:
        await slots.acquire_async()
        got.append(number)
        slots.release()

    return [asyncio.create_task(waiter(n)) for n in range(count)], got
