"""The task sensor: paid work that no live run is collecting (its run died, was terminated or
gave up waiting) is found in the ledger, polled within the account's fetch limit and the tick
budget, and each finished task gets a short collect run, keyed by its task id so that it is
never collected twice, nearest to expiry first. Failed and expired tasks are recorded in the
ledger with their code without a run. AMBIGUOUS creates are settled through the task list
(``core.unknown_creates``, as a run settles them) once their window has fully passed: the one
task that can be theirs adopted and collected, none withdrawn, several left for a person."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import dagster as dg

from ..dashscope import (AmbiguousCreateError, DashScopeClient, DashScopeError, PriceBook, Task,
                         TaskStatus)
from ..dashscope.errors import is_resubmittable
from ..core import unknown_creates
from ..core.leases import lease_seconds, new_owner
from ..core.ledger import Attempt, Ledger, LedgerConflict, Status
from ..core.unowned import ambiguous_attempts, unowned_tasks
from ..core.vanished import vanished_reason
from .ledger_report import RESOLVE_HINT, ambiguous_metadata, unowned_metadata
from .resources import DashScopeResource, LedgerResource

#: Dagster gives a tick 60 s by default; like dagster-fivetran's polling sensor, keep 20 spare.
TICK_BUDGET_S = 40.0
#: A live run stops waiting for a task after ``wait_timeout_s`` (1 h by default): a task of a
#: run that still looks alive after this long (e.g. its process was killed and no run monitor
#: noticed) is collected anyway. Results live 24 h, so this leaves most of a day to collect.
#: Attempts without a task id are left to a live run however old: it may still send them.
ORPHAN_AFTER = timedelta(hours=2)
#: The asset whose page shows what the ledger cannot account for (``ledger_report``).
COSTS_ASSET = dg.AssetKey("generation_costs")
#: In-flight attempts read per tick; the cursor carries the rest to the next tick.
SCAN_LIMIT = 10_000
#: An AMBIGUOUS create is settled once the task list has had time to show its task: the
#: reconciliation window's minute of clock skew past its sending, and a minute for the list to
#: catch up. Only then does an empty list prove that the create never landed.
SETTLE_AFTER = timedelta(minutes=2)


@dataclass(frozen=True, order=True)
class _Position:
    """Where a round through the in-flight attempts (in expiry order) stopped; ordered as
    ``Ledger.in_flight`` orders them."""

    since: float  # submission (or creation) time, epoch seconds
    attempt_id: int

    @classmethod
    def of(cls, attempt: Attempt) -> _Position:
        return cls((attempt.submitted_at or attempt.created_at).timestamp(), attempt.id)


def _load(cursor: str | None) -> tuple[_Position | None, str]:
    """Where the round stopped, and the digest of what was last reported unaccounted for."""
    data = json.loads(cursor) if cursor else {}
    position = _Position(data["since"], data["attempt_id"]) if "since" in data else None
    return position, data.get("reported", "")


def _dump(position: _Position | None, reported: str) -> str:
    """Without a position the next round starts from the beginning (Dagster keeps the old
    cursor when a tick returns an empty one, so the cursor is never empty)."""
    data: dict[str, object] = {"reported": reported}
    if position is not None:
        data |= {"since": position.since, "attempt_id": position.attempt_id}
    return json.dumps(data)


class _Runs:
    """Which attempts a live run is still looking after (one run lookup per run id)."""

    def __init__(self, instance: dg.DagsterInstance, now: datetime, orphan_after: timedelta):
        self._instance = instance
        self._now = now
        self._orphan_after = orphan_after
        self._alive: dict[str, bool] = {}

    def owns(self, attempt: Attempt) -> bool:
        if attempt.lease_until is not None and attempt.lease_until > self._now:
            return True  # a live process (a run, or the main command) is working on it
        if attempt.run_id is None or attempt.status == Status.AMBIGUOUS:
            return False  # an AMBIGUOUS create is settled by whoever claims it first
        if attempt.run_id not in self._alive:
            run = self._instance.get_run_by_id(attempt.run_id)
            self._alive[attempt.run_id] = run is not None and not run.is_finished
        if not self._alive[attempt.run_id]:
            return False
        if attempt.submitted_at is None:  # a big batch's intents wait hours for a slot
            return True
        return self._now - attempt.submitted_at < self._orphan_after


def collect_request(attempt: Attempt) -> dg.RunRequest:
    """A collect run for one attempt: keyed by its task id (or, with no task id yet, by the
    attempt, whose create the run reconciles), so the daemon never launches it twice."""
    key = f"collect:{attempt.task_id}" if attempt.task_id else f"recover:{attempt.id}"
    return dg.RunRequest(
        run_key=key,
        run_config={"ops": {"collect_task": {"config": {"attempt_id": attempt.id}}}},
        tags={"wan/sku": attempt.sku, "wan/asset": attempt.asset,
              "wan/attempt_id": str(attempt.id), "wan/task_id": attempt.task_id or ""})


class _Settler:
    """Settles AMBIGUOUS creates from the sensor, holding each one's lease while it does, so
    that no run reconciles or sends for it at the same time."""

    def __init__(self, client: DashScopeClient, ledger: Ledger, now: datetime,
                 settle_after: timedelta):
        self._client = client
        self._ledger = ledger
        self._due = now - settle_after
        self._owner = new_owner("task-sensor")
        self._lease_s = lease_seconds()

    def settle(self, attempt: Attempt) -> Attempt:
        """The attempt as the task list leaves it (unchanged while its window is open or a
        live process holds it)."""
        if (attempt.sent_at or attempt.created_at) > self._due:
            return attempt
        claimed, granted = self._ledger.claim(attempt.id, self._owner, self._lease_s)
        if not granted:
            return claimed
        try:
            if claimed.status != Status.AMBIGUOUS:  # settled by another process meanwhile
                return claimed
            try:
                found: Task | None | AmbiguousCreateError = self._client.recover(
                    unknown_creates.recorded_request(claimed),
                    **unknown_creates.search(self._ledger, claimed))
            except AmbiguousCreateError as exc:
                found = exc
            return unknown_creates.record(self._ledger, claimed, found)
        finally:
            self._ledger.release_leases(self._owner, attempt.id)


def _poll(client: DashScopeClient, ledger: Ledger, attempt: Attempt, settler: _Settler,
          log: dg.DagsterLogManager) -> dg.RunRequest | None:
    """Decide about one orphaned attempt: a collect run, a ledger record, or wait."""
    if attempt.status == Status.AMBIGUOUS:
        settled = settler.settle(attempt)
        if settled.status != attempt.status or settled.message != attempt.message:
            log.info(f"{attempt.asset} {attempt.sku}: ambiguous create of attempt {attempt.id} "
                     f"is now {settled.status}"
                     + (f" (task {settled.task_id})" if settled.task_id else "")
                     + (f": {settled.message}" if settled.status == Status.AMBIGUOUS else ""))
        if settled.status != Status.SUBMITTED:
            return None
        attempt = settled
    if attempt.status != Status.SUBMITTED:  # SUCCEEDED uncollected, or a create to recover
        return collect_request(attempt)
    assert attempt.task_id is not None
    task = client.fetch(attempt.task_id, model=attempt.model)
    if task.succeeded:
        return collect_request(attempt)
    if task.status == TaskStatus.UNKNOWN:
        reason = vanished_reason(attempt)
        ledger.mark_expired(attempt.id, reason)
        log.warning(f"{attempt.asset} {attempt.sku}: {reason}")
    elif task.status == TaskStatus.CANCELED:
        ledger.mark_canceled(attempt.id)
    elif task.status == TaskStatus.FAILED:
        ledger.mark_failed(attempt.id, task.code or "FAILED", task.message or "",
                           retryable=is_resubmittable(task.code))
        log.info(f"{attempt.asset} {attempt.sku}: task {attempt.task_id} FAILED {task.code}: "
                 f"{task.message}")
    return None


def _report_unaccounted(client: DashScopeClient, ledger: Ledger, reported: str,
                        log: dg.DagsterLogManager) -> tuple[str, list[dg.AssetObservation]]:
    """Warn about AMBIGUOUS creates and billed tasks no SKU owns after every round, and show
    them on the cost asset (an observation) whenever they changed. Returns the new digest."""
    try:
        unowned = unowned_tasks(client, ledger, PriceBook.load())
    except DashScopeError as exc:  # the task list is away: the next round tells
        log.warning(f"could not list billed tasks to check that every one has its SKU: {exc}")
        return reported, []
    ambiguous = ambiguous_attempts(ledger)
    if unowned:
        log.warning(f"{len(unowned)} billed task(s) no SKU owns (task, SKU, model, cost): "
                    + "; ".join(f"{t.task_id} {t.sku} {t.model} "
                                f"{'unknown' if t.cost is None else f'{t.cost} {t.currency}'}"
                                for t in unowned))
    if ambiguous:
        log.warning(f"{len(ambiguous)} create(s) with an unknown outcome (attempt, SKU, asset, "
                    "model): " + "; ".join(f"{a.attempt_id} {a.sku} {a.asset} {a.model}"
                                           for a in ambiguous) + f". {RESOLVE_HINT}")
    digest = hashlib.sha256(json.dumps(
        [sorted(t.task_id for t in unowned), sorted(a.attempt_id for a in ambiguous)]
    ).encode()).hexdigest()[:16] if unowned or ambiguous else ""
    if digest == reported:
        return reported, []
    return digest, [dg.AssetObservation(
        asset_key=COSTS_ASSET,
        metadata=ambiguous_metadata(ambiguous) | unowned_metadata(unowned),
        description=f"{len(unowned)} billed task(s) no SKU owns, {len(ambiguous)} create(s) "
                    "with an unknown outcome (task sensor)")]


def build_task_sensor(collect_job: dg.JobDefinition, *, minimum_interval_seconds: int = 60,
                      tick_budget_s: float = TICK_BUDGET_S,
                      orphan_after: timedelta = ORPHAN_AFTER,
                      settle_after: timedelta = SETTLE_AFTER,
                      default_status: dg.DefaultSensorStatus = dg.DefaultSensorStatus.RUNNING
                      ) -> dg.SensorDefinition:
    @dg.sensor(name="task_sensor", job=collect_job, default_status=default_status,
               minimum_interval_seconds=minimum_interval_seconds,
               description="Polls DashScope tasks that no live run is collecting and launches a "
                           "collect run per finished task (nearest to expiry first); records "
                           "failed and expired ones in the ledger; settles ambiguous creates "
                           "through the task list; reports billed tasks no SKU owns.")
    def task_sensor(context: dg.SensorEvaluationContext, dashscope: DashScopeResource,
                    ledger: LedgerResource):
        if dashscope.uses_emulator:
            return dg.SkipReason("no API key: the embedded emulator lives inside each run, so "
                                 "there is no shared task to poll")
        deadline = time.monotonic() + tick_budget_s
        start, reported = _load(context.cursor)
        attempts = [a for a in ledger.ledger.in_flight(limit=SCAN_LIMIT)
                    if start is None or start < _Position.of(a)]
        now = datetime.now(UTC)
        runs = _Runs(context.instance, now, orphan_after)
        requests: list[dg.RunRequest] = []
        checked = owned = errors = 0
        # Creates are settled only once their window has passed: one listing tells all.
        with dashscope.get_client(ledger.ledger, reconcile_attempts=1) as client:
            settler = _Settler(client, ledger.ledger, now, settle_after)
            for attempt in attempts:
                if checked and time.monotonic() > deadline:  # at least one per tick
                    break
                checked += 1
                if runs.owns(attempt):
                    owned += 1
                    continue
                try:
                    request = _poll(client, ledger.ledger, attempt, settler, context.log)
                except (DashScopeError, LedgerConflict) as exc:  # the next round tries again
                    errors += 1
                    context.log.warning(f"{attempt.sku} task {attempt.task_id}: {exc}")
                    continue
                if request is not None:
                    requests.append(request)
            left = len(attempts) - checked
            events: list[dg.AssetObservation] = []
            if not left:  # a round is done: tell what the ledger cannot account for
                reported, events = _report_unaccounted(client, ledger.ledger, reported,
                                                       context.log)
        summary = (f"{checked} in-flight attempt(s) checked ({owned} still with a live run, "
                   f"{errors} not reachable), {len(requests)} collect run(s) requested"
                   + (f"; {left} left for the next tick" if left else ""))
        context.log.info(summary)
        # A round cut short by the budget resumes after the last attempt checked; a finished
        # round starts over from the attempts nearest to expiry.
        position = (_Position.of(attempts[checked - 1]) if checked else start) if left else None
        cursor = _dump(position, reported)
        if not requests:
            return dg.SensorResult(skip_reason=summary, cursor=cursor, asset_events=events)
        return dg.SensorResult(run_requests=requests, cursor=cursor, asset_events=events)

    return task_sensor

