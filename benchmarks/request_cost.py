"""CPU of one task fetch, side by side in one run against one emulator: a bare
``httpx.AsyncClient`` GET, our client's ``fetch`` with the account's limits in memory, and the
same with the limits shared through a SQLite ledger (as a batch runs it). The difference between
the rows is what our layers add per request; the first row is what the HTTP stack costs on this
machine before any of our code.

    .venv/bin/python benchmarks/request_cost.py [--fetches 80] [--gap 0.1]

Each fetch is followed by a ``gap`` of sleep, as polls are (a wake-up from sleep costs CPU of
its own on a small virtual machine); the CPU of the same number of sleeps alone is measured
and taken off. The emulator runs in a process of its own (its CPU is not counted) at real
speed, so the fetched video task stays RUNNING throughout.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Awaitable, Callable

import httpx
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))

from makespan import KEY, EmulatorProcess  # noqa: E402
from wan_dagster.core.ledger import Ledger  # noqa: E402
from wan_dagster.dashscope import AsyncDashScopeClient, DashScopeClient  # noqa: E402
from wan_dagster.dashscope.requests import image_to_video  # noqa: E402
from wan_dagster.orchestration.resources import DashScopeResource  # noqa: E402


async def cpu_per_call(call: Callable[[], Awaitable[object]], count: int, gap: float) -> float:
    """CPU seconds per ``call`` (one warm-up first), less the CPU of the sleeps between."""
    await call()
    started = time.process_time()
    for _ in range(count):
        await call()
        await asyncio.sleep(gap)
    spent = time.process_time() - started
    started = time.process_time()
    for _ in range(count):
        await asyncio.sleep(gap)
    return (spent - (time.process_time() - started)) / count


def running_task(emulator: EmulatorProcess, work: Path) -> str:
    """A video task that runs for a minute or more at real speed."""
    frame = work / "frame.png"
    Image.new("RGB", (832, 480), (120, 140, 160)).save(frame)
    with DashScopeClient(api_key=KEY, base_url=emulator.base_url) as client:
        return client.create(image_to_video(frame, model="wan2.2-i2v-flash", prompt="a turn",
                                            resolution="480P", duration=5)).task_id


async def scenarios(emulator: EmulatorProcess, task_id: str, work: Path, count: int,
                    gap: float) -> dict[str, float]:
    found: dict[str, float] = {}
    async with httpx.AsyncClient() as http:
        url, headers = f"{emulator.base_url}/tasks/{task_id}", {"Authorization": f"Bearer {KEY}"}
        found["bare httpx GET"] = await cpu_per_call(
            lambda: http.get(url, headers=headers), count, gap)
    async with AsyncDashScopeClient(api_key=KEY, base_url=emulator.base_url) as client:
        found["our fetch, limits in memory"] = await cpu_per_call(
            lambda: client.fetch(task_id, model="wan2.2-i2v-flash"), count, gap)
    ledger = Ledger(f"sqlite:///{work / 'ledger.db'}")
    resource = DashScopeResource(base_url=emulator.base_url)
    async with resource.get_async_client(ledger) as client:
        found["our fetch, limits in the ledger"] = await cpu_per_call(
            lambda: client.fetch(task_id, model="wan2.2-i2v-flash"), count, gap)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fetches", type=int, default=80)
    parser.add_argument("--gap", type=float, default=0.1)
    args = parser.parse_args()
    emulator = EmulatorProcess(1.0)
    try:
        with tempfile.TemporaryDirectory(prefix="wan-request-cost-") as tmp:
            work = Path(tmp)
            task_id = running_task(emulator, work)
            found = asyncio.run(scenarios(emulator, task_id, work, args.fetches, args.gap))
    finally:
        emulator.close()
    bare = found["bare httpx GET"]
    print(f"{args.fetches} fetches each, {args.gap * 1000:.0f} ms apart")
    for name, seconds in found.items():
        print(f"  {name:32s} {seconds * 1000:5.2f} ms CPU per fetch ({seconds / bare:4.2f}x bare)")


if __name__ == "__main__":
    main()
