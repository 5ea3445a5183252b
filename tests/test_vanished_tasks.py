"""A task the service answers UNKNOWN for is told apart by its age: expired after DashScope's
24 h, or unknown to the service (lost, or another account's) well within them. Either way the
ledger says which, the failure says which, nothing is paid again unasked, and the UI's run
config ``regenerate_expired`` pays for a new one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

import dagster as dg

from test_task_sensor import (SKU, background_run, ended_on_the_service, env,  # noqa: F401
                              leave_behind, tick)
from wan_dagster.core.ledger import Attempt, Ledger, Status, attempts_table
from wan_dagster.core.vanished import vanished_reason
from wan_dagster.emulator import Emulator

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def step_failure(result: dg.ExecuteInProcessResult) -> str:
    event = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    return event.event_specific_data.error.message


def a_day_passes_here(ledger_url: str, attempt: Attempt, hours: float) -> None:
    """Our side's clock for ``attempt``: created and submitted ``hours`` earlier."""
    shift = timedelta(hours=hours)
    engine = sa.create_engine(ledger_url)
    with engine.begin() as conn:
        conn.execute(attempts_table.update().where(attempts_table.c.id == attempt.id).values(
            created_at=attempt.created_at - shift, submitted_at=attempt.submitted_at - shift))
    engine.dispose()


def regenerated(defs, instance, ledger: Ledger, emulator: Emulator, first: Attempt) -> None:
    """Only regenerate_expired pays again; the new result is stored and billed once."""
    creates = emulator.counters["creates"]
    again = background_run(defs, instance, regenerate_expired=True)
    assert again.success
    assert emulator.counters["creates"] == creates + 1
    latest = ledger.latest_for_sku("background_image", SKU)
    assert latest.status == Status.STORED and latest.attempt_no == first.attempt_no + 1
    assert latest.task_id in {line.task_id for line in emulator.bill.lines}


def test_a_task_the_service_lost_is_unknown_not_expired(env, emulator):  # noqa: F811
    defs, instance, ledger = env
    leave_behind(defs, instance)
    [left] = ledger.attempts()
    emulator.tasks.clear()  # the service forgets every task, minutes after the create

    plain = background_run(defs, instance)
    message = step_failure(plain)
    [lost] = ledger.attempts()
    assert lost.status == Status.EXPIRED and lost.message in message
    assert f"task {left.task_id} is unknown to the service 0 min after it was submitted" \
        in lost.message
    assert "expired:" not in lost.message and "regenerate_expired" in lost.message
    assert emulator.counters["creates"] == 1  # reported, not silently paid for again
    regenerated(defs, instance, ledger, emulator, lost)


def test_a_task_past_its_24_hours_is_expired(env, emulator):  # noqa: F811
    defs, instance, ledger = env
    leave_behind(defs, instance)
    [left] = ledger.attempts()
    ended_on_the_service(emulator, left)
    emulator.clock.advance(25 * 3600)  # the service's day passes: the task vanishes
    a_day_passes_here(defs.resources["ledger"].url, left, 25)

    assert not tick(defs, instance).run_requests  # the task sensor finds it gone
    [expired] = ledger.attempts()
    assert expired.status == Status.EXPIRED
    assert expired.message.startswith(
        f"task {left.task_id} expired: DashScope keeps a task and its result 24 h, and it was "
        f"submitted 25 h ago")
    assert expired.message in step_failure(background_run(defs, instance))
    assert emulator.counters["creates"] == 1
    regenerated(defs, instance, ledger, emulator, expired)


def test_the_wording_turns_at_24_hours():
    attempt = Attempt(1, "background_image", "S", "fp", 1, "m", "rfp", {}, Status.SUBMITTED,
                      "t-1", None, None, None, None, None, None, None, None, None, NOW, NOW,
                      NOW, None)
    assert "unknown to the service 23 h 59 min" in vanished_reason(
        attempt, NOW + timedelta(hours=24) - timedelta(minutes=1))
    assert "expired: DashScope keeps a task and its result 24 h, and it was submitted 24 h ago" \
        in vanished_reason(attempt, NOW + timedelta(hours=24))
