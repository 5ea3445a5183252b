"""Shared limits: sliding windows book future slots instead of spinning; slots are counted."""

import asyncio
import threading
import time

from wan_dagster.dashscope.limits import SlidingWindow, SlotCounter, account_state

from slot_waiters import start_waiters


def test_window_never_books_more_than_the_rate_in_any_second():
    window = SlidingWindow(rate=2.0, margin=0.05)
    booked = []
    for _ in range(7):
        now = time.monotonic()
        booked.append(now + window.reserve())  # the absolute moment each caller may send
    start = booked[0]
    assert booked[1] - start < 0.01  # the first two go at once
    for i, moment in enumerate(booked):
        inside = [t for t in booked if moment <= t < moment + 1.0]
        assert len(inside) <= 2, (i, [round(t - start, 3) for t in booked])
    assert booked[6] - start < 3 * 1.05 + 0.05  # and no slower than that


def test_window_is_shared_by_threads():
    bucket = SlidingWindow(rate=5.0)
    waits: list[float] = []
    lock = threading.Lock()

    def take():
        w = bucket.reserve()
        with lock:
            waits.append(w)

    threads = [threading.Thread(target=take) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(1 for w in waits if w == 0.0) == 5
    assert max(waits) > 3.0  # 15 more at 5 per second


def test_slow_rates_space_single_requests():
    window = SlidingWindow(rate=0.5, margin=0.0)
    assert [window.reserve() for _ in range(2)][1] > 1.99


def test_slot_counter():
    slots = SlotCounter(2)
    assert slots.try_acquire() and slots.try_acquire()
    assert not slots.try_acquire()
    assert not slots.acquire(timeout=0.01)
    slots.release()
    assert slots.acquire(timeout=0.01)
    assert slots.in_use == 2


def test_account_state_is_per_account_and_hides_the_key():
    a = account_state("http://x/api/v1", "sk-secret-1")
    assert account_state("http://x/api/v1/", "sk-secret-1") is a
    assert account_state("http://x/api/v1", "sk-secret-2") is not a
    from wan_dagster.dashscope import limits
    assert "sk-secret-1" not in repr(limits._ACCOUNTS)


def test_an_answered_request_holds_its_token_a_window_from_the_answer():
    """A request that went out late (a busy loop) still arrived by its answer: the next one on
    its token waits a whole window from there, not from the moment first booked."""
    window = SlidingWindow(rate=1.0, margin=0.0)
    first = window.book()
    time.sleep(0.2)  # sent (and answered) late
    answered_at = time.monotonic()
    window.answered(first)
    second = window.book()
    assert time.monotonic() + second.delay >= answered_at + window.window


class _TimerCountingLoop(asyncio.SelectorEventLoop):
    """Counts the timers scheduled on it: a waiter that polls schedules one per look."""

    timers = 0

    def call_at(self, when, callback, *args, context=None):  # type: ignore[no-untyped-def]
        self.timers += 1
        return super().call_at(when, callback, *args, context=context)


def test_coroutines_waiting_for_a_slot_are_woken_by_a_release_not_a_timer():
    """Regression: every waiting coroutine polled every 50 ms, so 200 ``run`` calls gathered
    over a model's slots woke the loop 4,000 times a second while nothing changed."""
    slots = SlotCounter(1)
    loop = _TimerCountingLoop()

    async def batch() -> tuple[int, list[int]]:
        slots.try_acquire()
        waiters, got = start_waiters(slots, 200)
        await asyncio.sleep(0)
        before = loop.timers
        await asyncio.sleep(0.3)  # the one timer scheduled while they all wait
        during = loop.timers - before
        slots.release()
        await asyncio.gather(*waiters)
        return during, got

    try:
        during, got = loop.run_until_complete(batch())
    finally:
        loop.close()
    assert during == 1
    assert got == list(range(200))  # in turn, each once
    assert slots.in_use == 0


def test_a_woken_waiter_that_is_cancelled_hands_the_slot_to_the_next():
    slots = SlotCounter(1)

    async def batch() -> None:
        assert slots.try_acquire()
        first = asyncio.create_task(slots.acquire_async())
        second = asyncio.create_task(slots.acquire_async())
        await asyncio.sleep(0)  # both wait, in that order
        slots.release()  # chooses the first...
        first.cancel()  # ...which is cancelled before it runs
        await asyncio.wait_for(second, 5)  # the next one gets the slot all the same
        assert slots.in_use == 1

    asyncio.run(batch())


def test_a_release_from_another_thread_wakes_a_coroutine():
    slots = SlotCounter(1)
    assert slots.try_acquire()

    async def wait_for_it() -> None:
        releaser = threading.Timer(0.05, slots.release)
        releaser.start()
        await asyncio.wait_for(slots.acquire_async(), 5)
        releaser.join()

    asyncio.run(wait_for_it())
    assert slots.in_use == 1
