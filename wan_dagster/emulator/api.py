"""The DashScope wire protocol under ``/api/v1``: auth, creates, task fetch/list/cancel and
upload policies, with the documented status codes, error codes and answer shapes.

Transport-free: operations take parsed requests and return ``Reply`` objects or raise
``ApiError`` / ``DropConnection``; ``server.py`` does the HTTP.
"""

from __future__ import annotations

import hmac
import json
import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Mapping

from wan_dagster.dashscope.registry import (FETCH_REQUESTS_PER_SECOND, Endpoint, ModelSpec,
                                            Registry)
from wan_dagster.dashscope.validation import check_request

from .billing import Bill, Counters, fingerprint
from .clock import Clock
from .detect import detect_output
from .faults import Faults
from .inputs import Fetcher, Requester, TaskFailure
from .limits import SlidingWindowLimiter
from .quota import FreeQuotaUsedUp, account_of
from .results import Facts, billed_quantity, parse_list_time, usage_for
from .tasks import QueueFull, Tasks
from .uploads import Uploads

#: Create paths, without trailing slash (both spellings are accepted).
_ENDPOINTS: dict[str, Endpoint] = {e.value.rstrip("/"): e for e in Endpoint}


class ApiError(Exception):
    """An error answer ``{"code", "message", "request_id"}`` with an HTTP status."""

    def __init__(self, status: int, code: str, message: str,
                 headers: Mapping[str, str] | None = None):
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})


class DropConnection(Exception):
    """Close the connection without sending any answer (an injected fault)."""


@dataclass
class Reply:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


def new_request_id() -> str:
    return str(uuid.uuid4())


class DashScopeApi:
    """The API's operations; all shared state lives in the collaborators (thread-safe)."""

    def __init__(self, *, registry: Registry, tasks: Tasks, uploads: Uploads, fetcher: Fetcher,
                 faults: Faults, bill: Bill, counters: Counters, clock: Clock,
                 api_key: str | None):
        self._registry = registry
        self._tasks = tasks
        self._uploads = uploads
        self._fetcher = fetcher
        self._faults = faults
        self._bill = bill
        self._counters = counters
        self._clock = clock
        self._api_key = api_key
        self._limiter = SlidingWindowLimiter()

    def reset(self) -> None:
        self._limiter.clear()

    # ------------------------------------------------------------------ auth

    def authenticate(self, authorization: str | None) -> None:
        """Raise 401 unless the bearer key is acceptable: the configured key, or any non-empty
        key when none is configured. All keys see the same tasks; each has its own free quota
        of the trial-only models (``quota.py``)."""
        key = _bearer_key(authorization)
        if not key:
            raise ApiError(401, "InvalidApiKey", "No API-key provided.")
        if self._api_key is not None and not hmac.compare_digest(key.encode(),
                                                                 self._api_key.encode()):
            raise ApiError(401, "InvalidApiKey", "Invalid API-key provided.")

    # ------------------------------------------------------------------ create

    def create(self, path: str, headers: Mapping[str, str], raw: bytes,
               client_gone: Callable[[], bool]) -> Reply:
        """POST to a model endpoint: an async task, or a direct answer for detect models.
        ``client_gone`` tells an injected hold that the client disconnected (transport's call)."""
        spec, body = self._admit(path, headers, raw)
        self._fault_point("before", client_gone)
        if spec.asynchronous:
            try:
                task = self._tasks.submit(
                    spec, body, fingerprint=fingerprint(body),
                    request_id=new_request_id(),
                    oss_resolve=_enabled(headers, "x-dashscope-ossresourceresolve"),
                    account=account_of(_bearer_key(headers.get("authorization"))))
            except QueueFull:
                self._counters.add("throttled")
                raise ApiError(429, "Throttling.AllocationQuota", f"Too many tasks are queued "
                               f"for model {spec.name}, please try again later.") from None
            except FreeQuotaUsedUp:
                # the code: see dashscope.errors.FREE_QUOTA_CODES (the seeds name none)
                self._counters.add("quota_refused")
                raise ApiError(403, "AllocationQuota.FreeTierOnly",
                               "The free tier of the model has been exhausted, and the model "
                               "cannot be purchased.") from None
            self._counters.created(task.fingerprint)
            answer = Reply(200, {"output": {"task_id": task.task_id, "task_status": "PENDING"},
                                 "request_id": task.request_id})
        else:
            answer = self._detect(spec, body, headers)
        self._fault_point("after", client_gone)
        return answer

    def _admit(self, path: str, headers: Mapping[str, str], raw: bytes) -> tuple[ModelSpec, dict]:
        """Everything that refuses a create before anything is made, in the gateway's order:
        route, body, model, async header, input, parameters, then the rate limits. (Body size
        was checked by the transport; a data URI cannot exceed MAX_DATA_URI_BYTES inside a body
        of at most MAX_BODY_BYTES, which is smaller.)"""
        endpoint = _ENDPOINTS.get(path.rstrip("/"))
        if endpoint is None:
            raise ApiError(400, "InvalidParameter", "url error, please check url!")
        try:
            body = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ApiError(400, "InvalidParameter", f"The request body is not valid JSON: {exc}.")
        if not isinstance(body, dict):
            raise ApiError(400, "InvalidParameter", "The request body must be a JSON object.")
        model = body.get("model")
        if not model or not isinstance(model, str):
            raise ApiError(400, "BadRequest.EmptyModel", "Required parameter 'model' missing.")
        if model not in self._registry:
            raise ApiError(400, "InvalidParameter", "Model not exist.")
        spec = self._registry.get(model)
        if spec.endpoint is not endpoint:
            raise ApiError(400, "InvalidParameter", "url error, please check url!")
        if spec.asynchronous and not _enabled(headers, "x-dashscope-async"):
            raise ApiError(403, "AccessDenied",
                           "current user api does not support synchronous calls")
        if not body.get("input"):
            raise ApiError(400, "BadRequest.EmptyInput", "Required parameter 'input' missing.")
        problems = check_request(spec, body, self._registry)
        if problems:
            raise ApiError(400, "InvalidParameter", "; ".join(problems))
        self._throttle(f"submit:{spec.name}", spec.limits.submit_per_second,
                       fault=self._faults.fires("throttle"))
        return spec, body

    def _throttle(self, key: str, rate: float, fault: bool = False) -> None:
        wait = 1.0 if fault else self._limiter.admit(key, rate)
        if wait is not None:
            self._counters.add("throttled")
            raise ApiError(429, "Throttling.RateQuota",
                           "Requests rate limit exceeded, please try again later.",
                           {"Retry-After": str(max(1, math.ceil(wait)))})

    def _fault_point(self, when: str, client_gone: Callable[[], bool]) -> None:
        """Injected trouble just before the task is made, or just after (it exists, billed
        like any other): a hold, then a 5xx or a dropped connection. A hold whose client left,
        or that the emulator's stop ended, is dropped: before, nothing is created."""
        hold = f"create_hold_{when}"
        if self._faults.hold_due(hold) and not self._faults.hold(hold, client_gone):
            raise DropConnection()
        if self._faults.fires(f"create_5xx_{when}"):
            raise ApiError(500, "InternalError", "Internal server error")
        if self._faults.fires(f"create_drop_{when}"):
            raise DropConnection()

    def _detect(self, spec: ModelSpec, body: dict, headers: Mapping[str, str]) -> Reply:
        """A synchronous detect call: check the image now, answer, bill one image."""
        field = spec.media[0]
        who = Requester(spec.name, _enabled(headers, "x-dashscope-ossresourceresolve"))
        try:
            image = self._fetcher.image(body["input"][field.name], field, who)
        except TaskFailure as failure:
            raise ApiError(400, failure.code, failure.message) from None
        request_id = new_request_id()
        usage = usage_for(spec, Facts(image_count=1))
        self._bill.charge(task_id=request_id, model=spec.name, unit=spec.billing_unit.value,
                          quantity=billed_quantity(usage), usage=usage,
                          request_fingerprint=fingerprint(body), at=self._clock.now())
        output = detect_output(spec.name, image, body.get("parameters") or {})
        return Reply(200, {"output": output, "usage": usage, "request_id": request_id})

    # ------------------------------------------------------------------ tasks

    def fetch(self, task_id: str) -> Reply:
        self._counters.add("fetches")
        self._throttle("fetch", FETCH_REQUESTS_PER_SECOND)
        self._read_faults()
        answer = self._tasks.describe(task_id)
        if answer is None:
            answer = {"output": {"task_id": task_id, "task_status": "UNKNOWN"}}
        return Reply(200, {"request_id": new_request_id(), **answer})

    def list(self, query: Mapping[str, str]) -> Reply:
        self._counters.add("lists")
        self._read_faults()
        page_no, page_size = _positive(query, "page_no", 1), _positive(query, "page_size", 10)
        until = _list_time(query, "end_time")
        rows = self._tasks.list(since=_list_time(query, "start_time"),
                                before=None if until is None else until + 1,
                                model=query.get("model_name"), status=query.get("status"))
        start = (page_no - 1) * page_size
        return Reply(200, {"request_id": new_request_id(), "total": len(rows),
                           "data": rows[start:start + page_size],
                           "total_page": math.ceil(len(rows) / page_size),
                           "page_no": page_no, "page_size": page_size})

    def cancel(self, task_id: str) -> Reply:
        self._counters.add("cancels")
        if not self._tasks.cancel(task_id):
            raise ApiError(400, "UnsupportedOperation", "Failed to cancel the task, please "
                           "confirm if the task is in PENDING status.")
        return Reply(200, {"request_id": new_request_id()})

    def _read_faults(self) -> None:
        if self._faults.fires("read_5xx"):
            status, code = self._faults.choice(((500, "InternalError"),
                                                (503, "ServiceUnavailable")))
            raise ApiError(status, code, "Internal server error" if status == 500
                           else "Service temporarily unavailable, please try again later.")
        if self._faults.fires("read_drop"):
            raise DropConnection()

    # ------------------------------------------------------------------ uploads

    def upload_policy(self, query: Mapping[str, str]) -> Reply:
        if query.get("action") != "getPolicy":
            raise ApiError(400, "InvalidParameter", "action must be getPolicy.")
        model = query.get("model")
        if not model:
            raise ApiError(400, "BadRequest.EmptyModel", "Required parameter 'model' missing.")
        if model not in self._registry:
            raise ApiError(400, "InvalidParameter", "Model not exist.")
        return Reply(200, {"request_id": new_request_id(),
                           "data": self._uploads.policy(model)})


def _bearer_key(authorization: str | None) -> str:
    """The key of ``Authorization: Bearer KEY`` ("" when there is none)."""
    scheme, _, key = (authorization or "").partition(" ")
    return key.strip() if scheme.lower() == "bearer" else ""


def _enabled(headers: Mapping[str, str], name: str) -> bool:
    return (headers.get(name) or "").strip().lower() == "enable"


def _positive(query: Mapping[str, str], name: str, default: int) -> int:
    text = query.get(name)
    if text is None:
        return default
    if not text.isdigit() or int(text) < 1:
        raise ApiError(400, "InvalidParameter", f"{name} must be a positive integer, got {text!r}.")
    return int(text)


def _list_time(query: Mapping[str, str], name: str) -> float | None:
    text = query.get(name)
    if not text:
        return None
    try:
        return parse_list_time(text)
    except ValueError:
        raise ApiError(400, "InvalidParameter",
                       f"{name} must be YYYYMMDDhhmmss (Asia/Shanghai), got {text!r}.") from None
