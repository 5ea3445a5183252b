"""Shared limits: token buckets book future slots instead of spinning; slots are counted."""

import threading

from wan_dagster.dashscope.limits import SlotCounter, TokenBucket, account_state


def test_token_bucket_books_waits_in_order():
    bucket = TokenBucket(rate=2.0)  # burst 2
    waits = [bucket.reserve() for _ in range(5)]
    assert waits[:2] == [0.0, 0.0]
    assert waits[2] > 0 and waits[2] < waits[3] < waits[4]
    assert abs((waits[4] - waits[2]) - 1.0) < 0.05  # two more tokens at 2/s


def test_token_bucket_is_shared_by_threads():
    bucket = TokenBucket(rate=5.0)
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
    assert max(waits) > 2.5  # 15 more tokens at 5/s


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
