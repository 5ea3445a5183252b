"""Async tasks: the store, their lifecycle and the scheduler that drives it.

PENDING → RUNNING → SUCCEEDED / FAILED (or PENDING → CANCELED), as on DashScope. Each model
runs at most ``spec.limits.concurrency`` tasks at once; the rest wait PENDING in a FIFO queue,
which is the documented behaviour. Inputs are fetched and media rendered by worker threads when
a task starts; the task reports SUCCEEDED only once its (scaled, seeded) latency has passed.
Ended tasks and their result files vanish RESULT_TTL_SECONDS (scaled) after they end.

Locking: every task field is read and written under ``self._cond`` (one lock for the store,
the queues and the slot counts). Workers never touch a Task: they hand their outcome to
``_deliver``. Under the lock only leaf locks are taken (Bill, Faults, FreeQuota); file I/O and
rendering happen outside it.
"""

from __future__ import annotations

import hashlib
import logging
import math
import random
import threading
import uuid
from collections import Counter, deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from wan_dagster.dashscope.registry import RESULT_TTL_SECONDS, ModelSpec, Output, run_time
from wan_dagster.dashscope.types import TaskStatus

from .billing import Bill
from .blobs import BlobStore
from .clock import Clock
from .faults import Faults
from .generate import Rendered, param_value, render, requested_count
from .inputs import Fetcher, Requester, TaskFailure
from .oss import Signer
from .quota import FreeQuota
from .results import (Facts, billed_quantity, prompt_output, result_output, service_time,
                      usage_for)

log = logging.getLogger(__name__)

#: Service-side seconds from submit to start when a slot is free (images, videos).
_DISPATCH_DELAY = {"image": (0.05, 1.0), "video": (2.0, 8.0)}
#: Between scheduler passes when nothing is due sooner (safety net; passes are event-driven).
_MAX_IDLE_WAIT = 1.0


class QueueFull(Exception):
    """Too many PENDING tasks for one model (429 Throttling.AllocationQuota)."""


@dataclass(eq=False)
class Task:
    task_id: str
    spec: ModelSpec
    body: dict[str, Any]
    fingerprint: str
    request_id: str
    oss_resolve: bool
    submitted_at: float
    ready_at: float  # earliest start: the dispatch delay
    status: TaskStatus = TaskStatus.PENDING
    started_at: float | None = None
    ended_at: float | None = None
    slow: float = 1.0  # latency factor of the ``slow`` fault, rolled at start
    # Set by _deliver (or at start for injected failures); reported once due_at has passed.
    outcome: Rendered | TaskFailure | None = None
    due_at: float | None = None
    result: dict[str, Any] = field(default_factory=dict)  # output fields of a SUCCEEDED task
    usage: dict[str, Any] | None = None

    @property
    def kind(self) -> str:
        return "video" if self.spec.output is Output.VIDEO else "image"

    @property
    def prompt(self) -> str | None:
        return (self.body.get("input") or {}).get("prompt") or None

    @property
    def image_count(self) -> int | None:
        """Images asked for, for ``task_metrics`` of ``results[]`` image tasks."""
        if self.spec.result_path != "results[].url" or not self.spec.task_metrics:
            return None
        return requested_count(self.spec, self.body)


class Tasks:
    """The task store and its scheduler thread."""

    def __init__(self, *, clock: Clock, faults: Faults, bill: Bill, quota: FreeQuota,
                 blobs: BlobStore, signer: Signer, fetcher: Fetcher, public_url: str,
                 max_queue: int, seed: int, workers: int):
        self._clock = clock
        self._faults = faults
        self._bill = bill
        self._quota = quota
        self._blobs = blobs
        self._signer = signer
        self._fetcher = fetcher
        self._public_url = public_url
        self._max_queue = max_queue
        self._seed = seed
        self._workers = workers
        self._cond = threading.Condition()
        self._reset_state()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None
        clock.on_advance(self._wake)

    def _reset_state(self) -> None:
        self._tasks: dict[str, Task] = {}
        self._pending: dict[str, deque[Task]] = {}
        self._running: Counter[str] = Counter()
        self._rng = random.Random(self._seed)

    # ------------------------------------------------------------------ lifecycle of the engine

    def start(self) -> None:
        self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="emulator-render")
        self._thread = threading.Thread(target=self._loop, name="emulator-scheduler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def clear(self) -> None:
        """Forget every task (admin reset); renders in flight are discarded on delivery."""
        with self._cond:
            self._reset_state()
            self._cond.notify_all()
        self._blobs.delete("results")

    def _wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

    # ------------------------------------------------------------------ the API's operations

    def submit(self, spec: ModelSpec, body: dict[str, Any], *, fingerprint: str,
               request_id: str, oss_resolve: bool, account: str) -> Task:
        """Create a PENDING task, queued FIFO behind its model's others. Raises QueueFull, or
        FreeQuotaUsedUp when ``account``'s free quota of a trial-only model cannot cover it."""
        with self._cond:
            queue = self._pending.setdefault(spec.name, deque())
            if len(queue) >= self._max_queue:
                raise QueueFull(spec.name)
            now = self._clock.now()
            task = Task(str(uuid.uuid4()), spec, body, fingerprint, request_id, oss_resolve,
                        submitted_at=now, ready_at=now)
            self._quota.hold(account, spec.name, requested_count(spec, body), task.task_id)
            task.ready_at += self._clock.scaled(self._rng.uniform(*_DISPATCH_DELAY[task.kind]))
            self._tasks[task.task_id] = task
            queue.append(task)
            self._cond.notify_all()
            return task

    def describe(self, task_id: str) -> dict[str, Any] | None:
        """The fetch answer's ``output`` (and ``usage``) of a live task, None if there is none."""
        with self._cond:
            task = self._live(task_id)
            if task is None:
                return None
            output: dict[str, Any] = {"task_id": task.task_id, "task_status": task.status.value,
                                      "submit_time": service_time(task.submitted_at)}
            if task.started_at is not None:
                output["scheduled_time"] = service_time(task.started_at)
            if task.ended_at is not None:
                output["end_time"] = service_time(task.ended_at)
            output.update(prompt_output(task.spec, task.prompt))
            if task.status is TaskStatus.SUCCEEDED:
                output.update(task.result)
            if task.status is TaskStatus.FAILED and isinstance(task.outcome, TaskFailure):
                output["code"], output["message"] = task.outcome.code, task.outcome.message
            metrics = _task_metrics(task)
            if metrics is not None:
                output["task_metrics"] = metrics
            answer: dict[str, Any] = {"output": output}
            if task.usage is not None:
                answer["usage"] = dict(task.usage)
            return answer

    def list(self, *, since: float | None, before: float | None, model: str | None,
             status: str | None) -> list[dict[str, Any]]:
        """List rows of live tasks created in [since, before), newest first."""
        with self._cond:
            now = self._clock.now()
            rows = []
            for task in sorted(self._tasks.values(), key=lambda t: t.submitted_at, reverse=True):
                if (self._expired(task, now)
                        or (since is not None and task.submitted_at < since)
                        or (before is not None and task.submitted_at >= before)
                        or (model and task.spec.name != model)
                        or (status and task.status.value != status)):
                    continue
                row: dict[str, Any] = {"task_id": task.task_id, "status": task.status.value,
                                       "model_name": task.spec.name,
                                       "request_id": task.request_id,
                                       "gmt_create": _ms(task.submitted_at)}
                if task.started_at is not None:
                    row["start_time"] = _ms(task.started_at)
                if task.ended_at is not None:
                    row["end_time"] = _ms(task.ended_at)
                rows.append(row)
            return rows

    def cancel(self, task_id: str) -> bool:
        """PENDING → CANCELED; False for any other state (or no such task)."""
        with self._cond:
            task = self._live(task_id)
            if task is None or task.status is not TaskStatus.PENDING:
                return False
            self._pending[task.spec.name].remove(task)
            task.status, task.ended_at = TaskStatus.CANCELED, self._clock.now()
            self._quota.release(task.task_id)
            self._cond.notify_all()
            return True

    def _live(self, task_id: str) -> Task | None:
        task = self._tasks.get(task_id)
        if task is None or self._expired(task, self._clock.now()):
            return None
        return task

    def _expired(self, task: Task, now: float) -> bool:
        return task.ended_at is not None and now >= self._expires_at(task)

    def _expires_at(self, task: Task) -> float:
        assert task.ended_at is not None
        return task.ended_at + self._clock.scaled(RESULT_TTL_SECONDS)

    # ------------------------------------------------------------------ the scheduler

    def _loop(self) -> None:
        while True:
            with self._cond:
                if self._stopping:
                    return
                now = self._clock.now()
                started = self._start_ready(now)
                self._finish_due(now)
                expired = self._drop_expired(now)
                if not started and not expired:
                    self._cond.wait(self._next_wake(now))
            for task, who, seed in started:
                self._pool.submit(self._work, task, who, seed)
            for task_id in expired:
                self._blobs.delete(f"results/{task_id}")

    def _start_ready(self, now: float) -> list[tuple[Task, Requester, int]]:
        """Move queue heads into free slots; return the tasks that need rendering."""
        to_render = []
        for model, queue in self._pending.items():
            while queue and queue[0].ready_at <= now and (
                    self._running[model] < queue[0].spec.limits.concurrency):
                task = queue.popleft()
                self._running[model] += 1
                task.status, task.started_at = TaskStatus.RUNNING, now
                if self._faults.fires("slow"):
                    task.slow = self._faults.slow_factor
                injected = self._injected_failure()
                if injected is not None:
                    task.outcome = injected
                    task.due_at = now + self._latency(task, None)
                else:
                    who = Requester(task.spec.name, task.oss_resolve)
                    to_render.append((task, who, self._render_seed(task)))
        return to_render

    def _injected_failure(self) -> TaskFailure | None:
        if self._faults.fires("task_internal_error"):
            return TaskFailure("InternalError", "Internal server error")
        if self._faults.fires("task_data_inspection"):
            return TaskFailure("DataInspectionFailed",
                               "Input data may contain inappropriate content.")
        return None

    def _render_seed(self, task: Task) -> int:
        """The request's ``seed`` if it sent one, else one derived from the task id."""
        seed = param_value(task.spec, task.body, "seed")
        if isinstance(seed, int) and not isinstance(seed, bool):
            return seed
        digest = hashlib.sha256(f"{self._seed}:{task.task_id}".encode()).digest()
        return int.from_bytes(digest[:4], "big")

    def _latency(self, task: Task, facts: Facts | None) -> float:
        """Scaled run time of a task, drawn from the registry's window for what it produced
        (None: an injected failure)."""
        if task.kind == "image":
            window = run_time(Output.IMAGE)
        else:
            facts = facts or Facts()
            window = run_time(Output.VIDEO, facts.duration_s, facts.width * facts.height)
        seconds = self._rng.uniform(window.shortest, window.longest)
        return self._clock.scaled(seconds * task.slow)

    def _work(self, task: Task, who: Requester, seed: int) -> None:
        """Worker thread: fetch, check and render, publish the files, then deliver."""
        outcome: Rendered | TaskFailure
        try:
            outcome = render(self._fetcher, task.spec, task.body, who, seed)
            for name, data in outcome.files:
                self._blobs.put(f"results/{task.task_id}/{name}", data)
        except TaskFailure as failure:
            outcome = failure
        except Exception:  # an emulator bug: the client sees what the service would say
            log.exception("rendering task %s (%s) failed", task.task_id, task.spec.name)
            outcome = TaskFailure("InternalError", "Internal server error")
        self._deliver(task, outcome)

    def _deliver(self, task: Task, outcome: Rendered | TaskFailure) -> None:
        with self._cond:
            forgotten = self._tasks.get(task.task_id) is not task  # reset meanwhile
            if not forgotten:
                task.outcome = outcome
                task.due_at = self._clock.now()  # input failures end at once, like the service
                if isinstance(outcome, Rendered):
                    task.due_at = task.started_at + self._latency(task, outcome.facts)
                self._cond.notify_all()
        if forgotten:
            self._blobs.delete(f"results/{task.task_id}")

    def _finish_due(self, now: float) -> None:
        for task in self._tasks.values():
            if (task.status is TaskStatus.RUNNING and task.outcome is not None
                    and task.due_at is not None and task.due_at <= now):
                self._finish(task, now)

    def _finish(self, task: Task, now: float) -> None:
        """End a task whose outcome is due; a success is billed. An emulator bug while
        building the answer fails the task (InternalError) rather than the scheduler."""
        self._running[task.spec.name] -= 1
        task.ended_at = now
        if isinstance(task.outcome, Rendered):
            try:
                task.result, task.usage, quantity = self._success(task, task.outcome)
            except Exception:
                log.exception("finishing task %s (%s) failed", task.task_id, task.spec.name)
                task.outcome = TaskFailure("InternalError", "Internal server error")
            else:
                task.status = TaskStatus.SUCCEEDED
                self._bill.charge(task_id=task.task_id, model=task.spec.name,
                                  unit=task.spec.billing_unit.value, quantity=quantity,
                                  usage=task.usage, request_fingerprint=task.fingerprint, at=now)
                self._quota.settle(task.task_id, quantity)
                return
        task.status = TaskStatus.FAILED
        self._quota.release(task.task_id)

    def _success(self, task: Task, rendered: Rendered) -> tuple[dict[str, Any], dict[str, Any],
                                                                  float]:
        """Output fields (signed URLs valid until the record expires), usage and quantity."""
        expires_at = self._expires_at(task)
        urls = []
        for name, _ in rendered.files:
            path = f"/results/{task.task_id}/{name}"
            urls.append(f"{self._public_url}{path}?{self._signer.signed_query(path, expires_at)}")
        usage = usage_for(task.spec, rendered.facts)
        assert task.started_at is not None
        return (result_output(task.spec, urls, task.prompt, rendered.template_id,
                              rendered.actual_prompt, task.body, task.started_at), usage,
                billed_quantity(usage))

    def _drop_expired(self, now: float) -> list[str]:
        gone = [t.task_id for t in self._tasks.values() if self._expired(t, now)]
        for task_id in gone:
            del self._tasks[task_id]
        return gone

    def _next_wake(self, now: float) -> float:
        """Seconds until something may become due (never more than _MAX_IDLE_WAIT)."""
        moments = [now + _MAX_IDLE_WAIT]
        for queue in self._pending.values():
            if queue and self._running[queue[0].spec.name] < queue[0].spec.limits.concurrency:
                moments.append(queue[0].ready_at)
        for task in self._tasks.values():
            if task.status is TaskStatus.RUNNING and task.outcome is not None:
                moments.append(task.due_at)
            elif task.ended_at is not None:
                moments.append(self._expires_at(task))
        return max(0.0, min(moments) - now)


def _task_metrics(task: Task) -> dict[str, int] | None:
    total = task.image_count
    if total is None or task.status is TaskStatus.PENDING or task.status is TaskStatus.CANCELED:
        return None
    done = {TaskStatus.SUCCEEDED: (total, 0), TaskStatus.FAILED: (0, total)}
    succeeded, failed = done.get(task.status, (0, 0))
    return {"TOTAL": total, "SUCCEEDED": succeeded, "FAILED": failed}


def _ms(ts: float) -> int:
    return int(math.floor(ts * 1000))
