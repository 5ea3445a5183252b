"""What a SIGKILL at each point of a generation costs after recovery, measured (not a test:
run it).

    .venv/bin/python tests/crash_table.py

For every kill point of tests/crash_run.py: a fresh emulator (the tests' time scale and seed)
and work directory, the run killed there, then re-run. The ledger at the kill, the partition
statuses, the emulator's counters and bill, and the decoded media root fill the table.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from crash_run import KILL_POINTS, Report, crash_and_recover
from wan_dagster.emulator import Emulator

COLUMNS = ("kill point", "what the ledger showed at the kill", "SKUs completed after recovery",
           "tasks created", "tasks billed", "files checked (decoded OK / total)")


def row(report: Report) -> tuple[str, ...]:
    ledger = "; ".join(f"{a.asset} {a.status.value}, task id "
                       + ("stored" if a.task_id else "not stored") for a in report.at_kill)
    skus = len({sku for sku, _ in report.statuses})
    return (f"{report.point.name}: {report.point.what}",
            f"{ledger} ({report.created_at_kill} task(s) at the service)",
            f"{len(report.completed)}/{skus}", str(report.tasks_created),
            str(sum(report.billed.values())), f"{report.decoded}/{len(report.files)}")


def main() -> None:
    logging.disable(logging.INFO)  # the re-runs' Dagster event logs would bury the table
    reports = []
    for point in KILL_POINTS:
        with Emulator(time_scale=0.002, seed=1) as emulator, \
                tempfile.TemporaryDirectory() as tmp:
            reports.append(crash_and_recover(emulator, Path(tmp), point))
    print("| " + " | ".join(COLUMNS) + " |")
    print("|" + "---|" * len(COLUMNS))
    for report in reports:
        print("| " + " | ".join(row(report)) + " |")
    for report in reports:
        if report.scratch_left:
            print(f"\n{report.point.name}: the killed run left in its temp directory: "
                  + ", ".join(map(str, report.scratch_left)))


if __name__ == "__main__":
    main()
