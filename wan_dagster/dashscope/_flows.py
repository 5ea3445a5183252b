"""Every client operation, written once as a generator that yields I/O actions.

The sync client runs a flow with ``httpx.Client`` and ``time.sleep``; the async client runs the
same flow with ``httpx.AsyncClient`` and ``asyncio.sleep``. So retries, reconciliation, rate
limits and polling are decided in one place, and both clients behave identically.

A driver answers ``Send`` with an ``httpx.Response`` (body read), ``Stream`` with a
``StreamResult``, ``Book`` with a ``Booking``, ``Sleep`` and ``WaitSlot`` with None;
transport failures are thrown back into the flow as ``APIConnectionError`` at the ``yield``.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Generator, Iterable, Mapping

from ._core import ClientCore, Expectation, api_error, list_time, reconcile_window
from .errors import (FREE_QUOTA_CODES, AmbiguousCreateError, APIConnectionError, APIError,
                     DashScopeError, Disposition, DownloadError, FreeQuotaExhausted,
                     TaskTimeoutError, ValidationError, create_disposition, read_disposition)
from .limits import Slots, Window
from .registry import ModelSpec, Output, run_time
from .types import Task, TaskPage, TaskStatus, TaskSummary
from .validation import check_media

if TYPE_CHECKING:
    from .requests import TaskRequest

# --------------------------------------------------------------------------- actions


@dataclass(frozen=True)
class Send:
    method: str
    url: str
    # Not in the repr: the headers carry the API key and tracebacks print reprs.
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    json: Any = field(default=None, repr=False)
    content: bytes | None = field(default=None, repr=False)  # a body already encoded
    params: Mapping[str, Any] | None = None
    data: Mapping[str, Any] | None = None
    files: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Stream:
    """GET ``url`` and write the body to ``path`` (overwriting it)."""

    url: str
    path: Path


@dataclass(frozen=True)
class StreamResult:
    status: int
    size: int
    expected: int | None  # Content-Length, when the server sent one
    sha256: str
    content_type: str | None
    text: str = ""  # the body of an error answer


@dataclass(frozen=True)
class Sleep:
    seconds: float


@dataclass(frozen=True)
class Book:
    """Book a moment in ``window`` (answered with its ``Booking``). A window shared through a
    database answers after a write: the async driver awaits ``book_async``, which makes it
    off its event loop."""

    window: Window


@dataclass(frozen=True)
class WaitSlot:
    """Block until one slot of ``counter`` is taken."""

    counter: Slots


@dataclass(frozen=True)
class Downloaded:
    path: Path | None  # None when the result was streamed into a caller's stream
    size: int
    sha256: str
    content_type: str | None


Flow = Generator[Any, Any, Any]

#: Task ids the caller already owns elsewhere (its ledger), never to be adopted by
#: reconciliation: the ids, or a function that gives those of tasks recorded at or after a
#: moment, asked only when a create is reconciled (with the start of the listing's window).
KnownTaskIds = Iterable[str] | Callable[[datetime], Iterable[str]]


#: Creates of the model elsewhere whose outcome is not recorded yet: their count, or a function
#: that counts them, asked only when a lost create is reconciled (most creates never are).
Rivals = int | Callable[[], int]


def _known(known: KnownTaskIds, since: datetime) -> frozenset[str]:
    return frozenset(known(since) if callable(known) else known)


def _counted(rivals: Rivals) -> int:
    return rivals() if callable(rivals) else rivals


def _now() -> datetime:
    return datetime.now(timezone.utc)


# --------------------------------------------------------------------------- reads


def read(core: ClientCore, send: Send, *, fetch_limited: bool = True) -> Flow:
    """One read with capped, jittered retries that honour Retry-After. Reads are safe to repeat."""
    policy = core.config.retry
    for attempt in range(policy.max_retries + 1):
        booking = None
        if fetch_limited:
            booking = yield Book(core.account.fetches)
            if booking.delay:
                yield Sleep(booking.delay)
        try:
            try:
                response = yield send
            finally:
                if booking is not None:
                    core.account.fetches.answered(booking)
            if response.is_success:
                return response
            raise api_error(response)
        except (APIError, APIConnectionError) as exc:
            if read_disposition(exc) is not Disposition.RETRY or attempt == policy.max_retries:
                raise
            yield Sleep(policy.delay(attempt, getattr(exc, "retry_after", None)))
    raise AssertionError("unreachable")


def fetch(core: ClientCore, task_id: str, model: str | None = None) -> Flow:
    response = yield from read(core, Send("GET", core.url(f"/tasks/{task_id}"), core.headers()))
    return Task.from_response(response.json(), model)


def list_page(core: ClientCore, *, page_no: int = 1, page_size: int = 10, model: str | None = None,
              status: str | None = None, start: datetime | None = None,
              end: datetime | None = None) -> Flow:
    params: dict[str, Any] = {"page_no": page_no, "page_size": page_size}
    if model:
        params["model_name"] = model
    if status:
        params["status"] = status
    if start:
        params["start_time"] = list_time(start)
    if end:
        params["end_time"] = list_time(end)
    response = yield from read(core, Send("GET", core.url("/tasks"), core.headers(), params=params))
    body = response.json()
    return TaskPage(
        tasks=tuple(TaskSummary.from_row(row) for row in body.get("data") or []),
        total=int(body.get("total") or 0),
        page_no=int(body.get("page_no") or page_no),
        page_size=int(body.get("page_size") or page_size),
        total_pages=int(body.get("total_page") or 0),
    )


def list_all(core: ClientCore, *, max_pages: int = 20, page_size: int = 100, **filters: Any) -> Flow:
    """Every listed task matching ``filters`` (bounded: a runaway listing cannot stall a run)."""
    rows: list[TaskSummary] = []
    for page_no in range(1, max_pages + 1):
        page = yield from list_page(core, page_no=page_no, page_size=page_size, **filters)
        rows.extend(page.tasks)
        if page_no >= page.total_pages or not page.tasks:
            break
    return rows


def wait(core: ClientCore, task_id: str, model: str | None, timeout: float | None) -> Flow:
    """Poll until the task ends, at the cadence of its run-time window (``PollPolicy``).
    FAILED/CANCELED/UNKNOWN are returned, not raised. Transient read trouble only delays the
    answer: a paid task is never given up over a blip. At the deadline TaskTimeoutError carries
    the task id so the caller can resume later.

    A task this client created that the service dates (``submit_time``, ``scheduled_time``)
    started when its create was sent plus the time it waited in the service's queue: a
    difference of the service's own times, so no clock is compared with another. A task
    queued ahead (``limits.SUBMIT_AHEAD``) is then polled from its real start, not as if it
    had run since it was sent."""
    policy = core.config.poll
    known = core.expectation(task_id)
    if known is not None:
        expected, running_since = known.run_time, known.sent_at
    else:  # not created here (a resumed task): the model's window, start unknown
        output = core.config.registry.get(model).output if model else Output.VIDEO
        expected, running_since = run_time(output), None
    started = time.monotonic()
    last = Task(task_id=task_id, status="NOT_YET_FETCHED", model=model)
    interval: float | None = None
    queued_at: float | None = None  # when it was last seen queued
    dated = False  # the service dates the task's times: a queued one's start will show
    if running_since is not None:
        interval = policy.delay(expected, started - running_since)
        yield Sleep(interval if timeout is None else min(interval, timeout))
    while True:
        try:
            last = yield from fetch(core, task_id, model)
        except (APIError, APIConnectionError) as exc:
            if read_disposition(exc) is not Disposition.RETRY:
                raise
        else:
            if last.is_terminal:
                return last
        now = time.monotonic()
        dated = dated or (known is not None and last.submit_time is not None)
        if last.status == TaskStatus.PENDING:
            queued_at, running_since = now, None
        elif (dated_start := _started(known, last)) is not None:
            running_since = dated_start
        elif running_since is None:
            # It started after it was last seen queued; never seen queued, it may be near its end.
            running_since = queued_at if queued_at is not None else (
                now - expected.shortest * policy.time_scale)
        elapsed = now - started
        if timeout is not None and elapsed >= timeout:
            raise TaskTimeoutError(last, elapsed)
        interval = policy.delay(expected, None if running_since is None else now - running_since,
                                interval, start_dated=dated)
        yield Sleep(interval if timeout is None else min(interval, timeout - elapsed))


def _started(known: Expectation | None, task: Task) -> float | None:
    """The monotonic moment a task this client created started running, from the service's
    dates: when the create was sent, plus how long the task was queued. None if not dated."""
    if known is None or task.submit_time is None or task.scheduled_time is None:
        return None
    queued_s = (task.scheduled_time - task.submit_time).total_seconds()
    return known.sent_at + max(0.0, queued_s)


def cancel(core: ClientCore, task_id: str) -> Flow:
    """Cancel a PENDING task. The service refuses others with 400 UnsupportedOperation."""
    yield from read(core, Send("POST", core.url(f"/tasks/{task_id}/cancel"), core.headers()),
                    fetch_limited=False)


# --------------------------------------------------------------------------- creates


def create(core: ClientCore, request: TaskRequest, known_task_ids: KnownTaskIds = (),
           rivals: Rivals = 0) -> Flow:
    """Create a task without ever paying twice.

    Throttling and refused connections are retried with backoff. A create whose fate is unknown
    (timeout, dropped connection, 5xx) is reconciled through the task list (see ``reconcile``):
    our task is adopted if it can be told apart; only if none appears is the create sent again;
    if it cannot be told apart, AmbiguousCreateError is raised and nothing is resent. One
    create of a model is on the wire at a time (``ModelLimiter.creates``, account-wide when
    the limits are shared). ``rivals``: creates of this model elsewhere whose outcome is not
    recorded yet (see ``reconcile``).
    """
    if any(item.omitted for item in request.media):
        raise ValueError(f"this {request.model} request was built under validation_only(): its "
                         f"media are placeholders; build it again outside the block to send it")
    spec = core.config.registry.get(request.model)
    limiter = core.limiter(spec.name)
    policy = core.config.retry
    # The canonical JSON: encoded once per request (a caller may do it off its event loop),
    # however often the create is sent.
    send = Send("POST", core.url(spec.endpoint), content=request.canonical_json,
                headers=core.headers(asynchronous=True, json_body=True,
                                     oss_resolve=request.needs_oss_resolve))
    for attempt in range(policy.max_retries + 1):
        yield WaitSlot(limiter.creates)
        booking = yield Book(limiter.submits)
        try:
            if booking.delay:
                yield Sleep(booking.delay)
            with core.account.creating(spec.name):
                return (yield from _create_once(core, spec, request, send, known_task_ids,
                                                      rivals))
        except (APIError, APIConnectionError) as exc:
            if create_disposition(exc) is Disposition.FINAL or attempt == policy.max_retries:
                raise
            retry_after = getattr(exc, "retry_after", None)
        finally:
            limiter.submits.answered(booking)
            limiter.creates.release()
        yield Sleep(policy.delay(attempt, retry_after))
    raise AssertionError("unreachable")


def _create_once(core: ClientCore, spec: ModelSpec, request: TaskRequest, send: Send,
                 known: KnownTaskIds, rivals: Rivals) -> Flow:
    """One create: its task (found by reconciliation if the answer was lost), or the error."""
    sent_at = _now()
    expectation = Expectation(spec.run_time(request.parameters), time.monotonic())
    try:
        response = yield send
        if not response.is_success:
            raise _refusal(spec, api_error(response))
    except (APIError, APIConnectionError) as exc:
        if create_disposition(exc) is Disposition.RECONCILE:
            found = yield from reconcile(core, spec, request, sent_at, known, exc, rivals)
            if found is not None:
                core.expect(found.task_id, expectation)
                return found
        raise
    task = Task.from_response(response.json(), spec.name)
    core.account.own(task.task_id)
    core.expect(task.task_id, expectation)
    return task


def _refusal(spec: ModelSpec, error: APIError) -> APIError:
    """A refused create's error; FreeQuotaExhausted when a trial-only model's quota is gone."""
    purchase = spec.purchase
    if purchase.free_quota is None or error.code not in FREE_QUOTA_CODES:
        return error
    return FreeQuotaExhausted(spec.name, purchase.free_quota, spec.billing_unit.value,
                              purchase.replacements, error)


def recover(core: ClientCore, request: TaskRequest, since: datetime,
            known_task_ids: KnownTaskIds = (), rivals: Rivals = 0) -> Flow:
    """After a crash between recording intent and storing the task id: the task this request
    created at or after ``since``, or None if it never landed. Holds the model's create slot,
    so that no create of the model lands while the list is searched."""
    spec = core.config.registry.get(request.model)
    creates = core.limiter(spec.name).creates
    yield WaitSlot(creates)
    try:
        with core.account.creating(spec.name):
            return (yield from reconcile(core, spec, request, since, known_task_ids,
                                         None, rivals))
    finally:
        creates.release()


def reconcile(core: ClientCore, spec: ModelSpec, request: TaskRequest, sent_at: datetime,
              known: KnownTaskIds, cause: BaseException | None, rivals: Rivals = 0) -> Flow:
    """Find the task a lost create may have made, among the listed tasks of its model that no
    create of this process owns. Returns it; returns None once several listings show none that
    can be ours (the create did not land); raises AmbiguousCreateError if some might be ours
    but none can be told apart. The caller counts as one of ``account.creating``; ``rivals``
    counts the creates of the model elsewhere (other processes) whose task may be listed but
    is not among ``known`` yet: while there are any, a task showing nothing to tell it apart
    is never adopted."""
    config = core.config
    undecided: list[str] = []
    foreign: set[str] = set()  # tasks seen showing another prompt: never fetched again
    for round_no in range(config.reconcile_attempts):
        if round_no:
            yield Sleep(config.reconcile_delay)
        start, end = reconcile_window(sent_at, _now())
        try:
            rows = yield from list_all(core, model=spec.name, start=start, end=end)
        except DashScopeError as exc:
            if round_no == config.reconcile_attempts - 1:
                raise AmbiguousCreateError(spec.name, undecided, exc) from exc
            continue
        exclude = core.account.owned() | _known(known, start) | foreign
        candidates = [row.task_id for row in rows if row.task_id not in exclude]
        task, undecided = yield from _ours(core, spec, request, candidates, foreign, rivals)
        if task is not None:
            core.account.own(task.task_id)
            return task
    if undecided:
        raise AmbiguousCreateError(spec.name, undecided, cause)
    return None


def _ours(core: ClientCore, spec: ModelSpec, request: TaskRequest, candidates: list[str],
          foreign: set[str], rivals: Rivals) -> Flow:
    """(our task, []) if one candidate is certainly ours, else (None, those that may be); the
    candidates showing another prompt are added to ``foreign``.

    A task showing our prompt is ours if it is the only one; one showing another prompt never
    is (adopting it would hand another product's media to this request). A task showing no
    prompt (image tasks echo it only in their results; some models take none) is ours only if
    it is the only one and no other create of this model, in this process or (``rivals``)
    elsewhere, is still unresolved: that create's answer may still be on its way, naming this
    very task.
    """
    fetched: dict[str, Task] = {}
    if request.prompt:
        for task_id in candidates:
            fetched[task_id] = yield from fetch(core, task_id, spec.name)
        same = [task for task in fetched.values() if task.orig_prompt == request.prompt]
        foreign.update(t for t, task in fetched.items()
                       if task.orig_prompt not in (None, request.prompt))
        if same:
            return (same[0], []) if len(same) == 1 else (None, [t.task_id for t in same])
        candidates = [t for t, task in fetched.items() if task.orig_prompt is None]
    if len(candidates) == 1 and core.account.unresolved_creates(spec.name) <= 1 \
            and _counted(rivals) == 0:
        lone = fetched.get(candidates[0]) or (yield from fetch(core, candidates[0], spec.name))
        return lone, []
    return None, candidates


def run(core: ClientCore, request: TaskRequest, timeout: float | None,
        known_task_ids: KnownTaskIds = ()) -> Flow:
    """Create and wait, holding one of the model's concurrency slots for the task's lifetime."""
    counter = core.limiter(request.model).running
    yield WaitSlot(counter)
    try:
        task = yield from create(core, request, known_task_ids)
        return (yield from wait(core, task.task_id, request.model, timeout))
    finally:
        counter.release()


def call_sync(core: ClientCore, request: TaskRequest) -> Flow:
    """Synchronous endpoints (detect): retried only when clearly refused, as they bill per call."""
    spec = core.config.registry.get(request.model)
    policy = core.config.retry
    send = Send("POST", core.url(spec.endpoint), json=request.body,
                headers=core.headers(json_body=True))
    submits = core.limiter(spec.name).submits
    for attempt in range(policy.max_retries + 1):
        booking = yield Book(submits)
        if booking.delay:
            yield Sleep(booking.delay)
        try:
            try:
                response = yield send
            finally:
                submits.answered(booking)
            if not response.is_success:
                raise api_error(response)
            return response.json()
        except (APIError, APIConnectionError) as exc:
            if create_disposition(exc) is not Disposition.RETRY or attempt == policy.max_retries:
                raise
            yield Sleep(policy.delay(attempt, getattr(exc, "retry_after", None)))
    raise AssertionError("unreachable")


# --------------------------------------------------------------------------- files


def download(core: ClientCore, url: str, dest: Path) -> Flow:
    """Stream a result into ``dest`` atomically: a partial file never appears under its name.
    Truncated or failed transfers are retried (a download is a read); an expired URL is final."""
    policy = core.config.retry
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(f".{dest.name}.{os.getpid()}.{id(dest):x}.part")
    try:
        for attempt in range(policy.max_retries + 1):
            try:
                result: StreamResult = yield Stream(url, part)
                _check_stream(result)
                os.replace(part, dest)
                return Downloaded(dest, result.size, result.sha256, result.content_type)
            except (APIConnectionError, DownloadError) as exc:
                retryable = not isinstance(exc, DownloadError) or exc.retryable
                if not retryable or attempt == policy.max_retries:
                    raise DownloadError(f"download of result failed: {exc}") from exc
                yield Sleep(policy.delay(attempt))
    finally:
        part.unlink(missing_ok=True)
    raise AssertionError("unreachable")


def _check_stream(result: StreamResult) -> None:
    if result.status == 403:
        raise DownloadError(f"result URL refused (HTTP 403: expired or bad signature) "
                            f"{result.text[:120]}")
    if result.status >= 500 or result.status == 429:
        raise DownloadError(f"HTTP {result.status}", retryable=True)
    if result.status >= 400:
        raise DownloadError(f"HTTP {result.status}: {result.text[:120]}")
    if result.expected is not None and result.size != result.expected:
        raise DownloadError(f"truncated: got {result.size} of {result.expected} bytes",
                            retryable=True)


def upload_file(core: ClientCore, model: str, path: Path, field: str | None = None) -> Flow:
    """Upload a local file to DashScope's temporary storage; returns its ``oss://`` URL (48 h,
    bound to ``model`` and this account). Creates using it send the OSS-resolve header.

    With ``field`` (e.g. ``"audio_url"``) the file is first decoded and checked against that
    field's documented rule, so a 1 s audio or a mislabelled file fails here, before it is
    uploaded and a task is paid for."""
    if field is not None:
        _check_upload(core, model, path, field)
    response = yield from read(core, Send("GET", core.url("/uploads"), core.headers(),
                                          params={"action": "getPolicy", "model": model}),
                               fetch_limited=False)
    policy = response.json()["data"]
    content = path.read_bytes()
    limit_mb = policy.get("max_file_size_mb")
    if limit_mb is not None and len(content) > float(limit_mb) * 1024 * 1024:
        raise DashScopeError(f"{path.name}: {len(content)} bytes exceeds the upload limit of "
                             f"{limit_mb} MB")
    key = f"{policy['upload_dir']}/{path.name}"
    form = {
        "OSSAccessKeyId": policy["oss_access_key_id"],
        "Signature": policy["signature"],
        "policy": policy["policy"],
        "x-oss-object-acl": policy["x_oss_object_acl"],
        "x-oss-forbid-overwrite": policy["x_oss_forbid_overwrite"],
        "key": key,
        "success_action_status": "200",
    }
    send = Send("POST", policy["upload_host"], data=form, files={"file": (path.name, content)})
    yield from read(core, send, fetch_limited=False)
    return f"oss://{key}"


def _check_upload(core: ClientCore, model: str, path: Path, field: str) -> None:
    media = core.config.registry.get(model).media_field(field)
    if media is None:
        raise ValidationError(model, [f"input.{field}: model {model} has no such media field"])
    if media.rule is not None:
        problems = check_media(path.read_bytes(), media.rule, f"input.{field} ({path.name})")
        if problems:
            raise ValidationError(model, problems)
