"""What each emulator fault does to the client, measured (not a test: run it).

    .venv/bin/python tests/fault_table.py

For every fault kind: a fresh emulator, the fault injected ``times`` times, then one
background generation through the client (create, wait, download). The emulator's counters
and bill say what really happened: tasks created, tasks billed, 429s sent.
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

from PIL import Image

from wan_dagster.dashscope import DashScopeClient, DashScopeError, PollPolicy, RetryPolicy
from wan_dagster.dashscope.requests import background_generation
from wan_dagster.emulator import Emulator

FAULTS = [  # (stage, kind, times)
    ("create", "throttle", 2), ("create", "5xx_before", 1), ("create", "drop_before", 1),
    ("create", "5xx_after", 1), ("create", "drop_after", 1), ("read", "5xx", 3),
    ("read", "drop", 3), ("task", "internal_error", 1), ("task", "data_inspection", 1),
    ("task", "slow", 1), ("download", "truncated", 2), ("download", "truncated", 50),
]


def cutout() -> bytes:
    img = Image.new("RGBA", (400, 400), (0, 0, 0, 0))
    img.paste((200, 40, 40, 255), (100, 100, 300, 300))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def one(stage: str, kind: str, times: int, workdir: Path) -> dict:
    with Emulator(time_scale=0.002, seed=1) as emulator, DashScopeClient(
            api_key="sk-fault-table", base_url=emulator.base_url, reconcile_delay=0.05,
            poll=PollPolicy(time_scale=0.002),
            retry=RetryPolicy(max_retries=6, initial_delay=0.01, max_delay=0.1)) as client:
        emulator.faults.inject(stage, kind, times=times)
        outcome = ""
        try:
            task = client.create(background_generation(cutout(), ref_prompt=f"{stage} {kind}"))
            if kind == "slow":
                try:
                    client.wait(task, timeout=0.05)
                except DashScopeError as exc:
                    outcome = f"{type(exc).__name__} (id kept), then "
            task = client.wait(task)
            outcome += f"{task.status}" + (f" {task.code}" if task.code else "")
            if task.succeeded:
                client.download(task.result_urls[0], workdir / f"{kind}{times}.png")
                outcome += ", downloaded"
        except DashScopeError as exc:
            outcome += f", then {type(exc).__name__}: {str(exc)[:60]}" if outcome \
                else f"{type(exc).__name__}: {str(exc)[:60]}"
        counters = emulator.counters
        return {"fault": f"{stage}/{kind} x{times}", "client outcome": outcome,
                "tasks created": counters["creates"], "tasks billed": len(emulator.bill.lines),
                "429 sent": counters["throttled"], "task lists (reconcile)": counters["lists"],
                "task fetches": counters["fetches"],
                "downloads": counters["downloads"]}


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        rows = [one(stage, kind, times, Path(tmp)) for stage, kind, times in FAULTS]
    columns = list(rows[0])
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for row in rows:
        print("| " + " | ".join(str(row[c]) for c in columns) + " |")


if __name__ == "__main__":
    main()
