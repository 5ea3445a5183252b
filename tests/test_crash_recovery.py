"""A run SIGKILLed at each point of a generation, then re-run: every SKU ends materialized,
each generation is billed exactly once, and the media root holds only complete files.

The killed run is a real process (tests/crash_run.py) against the in-process emulator, whose
holds stop it at the exact point and whose bill and counters outlive it."""

from __future__ import annotations

import pytest

from crash_run import ASSETS, KILL_POINTS, SKUS, crash_and_recover
from wan_dagster.core.ledger import Status

POINTS = {point.name: point for point in KILL_POINTS}


@pytest.mark.parametrize("name, status_at_kill, task_id_stored, created_at_kill", [
    ("intent", Status.INTENT, False, 0),  # the create is held before any task exists
    ("created", Status.INTENT, False, 1),  # the task exists, its answer is held
    ("polling", Status.SUBMITTED, True, 1),  # the slowed task is still running
    ("download", Status.SUCCEEDED, True, 1),  # half the result is on the wire
])
def test_a_killed_run_recovers_on_re_run_without_paying_twice(
        emulator, tmp_path, name, status_at_kill, task_id_stored, created_at_kill):
    report = crash_and_recover(emulator, tmp_path, POINTS[name])

    # the kill landed where it was meant to: on the SKU's first generation, the background
    (first,) = report.at_kill
    assert (first.asset, first.status, first.task_id is not None) == (
        "background_image", status_at_kill, task_id_stored)
    assert report.created_at_kill == created_at_kill

    # recovery: everything materialized, nothing left in flight
    assert report.recovered, report.failures
    assert report.completed == list(SKUS)
    assert {(a.sku, a.asset, a.status) for a in report.attempts} == {
        (sku, asset, Status.STORED) for sku in SKUS for asset in ASSETS}

    # billed once per generation: as many tasks created as billed, each owned by the ledger
    work = {(sku, asset) for sku in SKUS for asset in ASSETS}
    assert report.billed == {key: 1 for key in work}
    assert report.tasks_created == len(work)

    # every stored file decodes, one per generation, and nothing partial sits beside them
    assert report.files == {path: None for path in report.files}
    assert len(report.files) == len(work)
    # the killed run's scratch (a partial download after the download kill) is swept
    assert report.scratch_left == []
