"""Configuration and wire details shared by the sync and async clients (no I/O here)."""

from __future__ import annotations

import os
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Mapping

import httpx

from .errors import APIConnectionError, APIError, APITimeoutError
from .limits import AccountState, ModelLimiter, SharedLimits, account_state
from .policy import PollPolicy, RetryPolicy
from .registry import (BASE_URLS, FETCH_REQUESTS_PER_SECOND, REGISTRY, Limits, Region, Registry,
                       RunTime)
from .types import SHANGHAI

USER_AGENT = "wan-dagster/0.1.0 (httpx)"


class Secret:
    """Holds the API key so that no repr, log line or traceback can show it."""

    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __reduce__(self):  # never pickle the key into a file
        raise TypeError("the API key cannot be pickled")


@dataclass
class ClientConfig:
    """Everything a client instance needs; one per instance, never process-global."""

    api_key: Secret
    base_url: str
    registry: Registry = REGISTRY
    workspace: str | None = None
    timeout: httpx.Timeout = field(default_factory=lambda: httpx.Timeout(30.0, connect=10.0))
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    poll: PollPolicy = field(default_factory=PollPolicy)
    #: How long after an ambiguous create the task list is searched, and how often.
    reconcile_attempts: int = 3
    reconcile_delay: float = 1.0
    #: Where the account's limits are kept when several processes share the account (the
    #: ledger's database); None keeps them in this process.
    shared_limits: SharedLimits | None = None

    @classmethod
    def build(cls, *, api_key: str | None = None, region: Region | str = Region.BEIJING,
              base_url: str | None = None, workspace: str | None = None,
              timeout: float | httpx.Timeout | None = None, retry: RetryPolicy | None = None,
              poll: PollPolicy | None = None, limits: Mapping[str, Limits] | None = None,
              registry: Registry = REGISTRY, **extra: Any) -> ClientConfig:
        key = api_key if api_key is not None else os.environ.get("DASHSCOPE_API_KEY", "")
        if not key:
            raise ValueError("no DashScope API key: pass api_key= or set DASHSCOPE_API_KEY")
        config = cls(
            api_key=Secret(key),
            base_url=(base_url or BASE_URLS[Region(region)]).rstrip("/"),
            registry=registry.with_limits(dict(limits)) if limits else registry,
            workspace=workspace,
            **extra,
        )
        if timeout is not None:
            config.timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        if retry is not None:
            config.retry = retry
        if poll is not None:
            config.poll = poll
        return config


@dataclass(frozen=True)
class Expectation:
    """What this client knows of a task it created: its request's run-time window and the
    monotonic moment the create was sent (the task cannot have started earlier)."""

    run_time: RunTime
    sent_at: float


class ClientCore:
    """What the flows share: this instance's config and its account's process-wide state."""

    #: How many created tasks' expectations are remembered (a bound, not a working set).
    EXPECTATIONS_KEPT = 10_000

    def __init__(self, config: ClientConfig, fetch_per_second: float = FETCH_REQUESTS_PER_SECOND):
        self.config = config
        self.account: AccountState = account_state(config.base_url, config.api_key.reveal(),
                                                   fetch_per_second, config.shared_limits)
        self._expectations: OrderedDict[str, Expectation] = OrderedDict()

    def expect(self, task_id: str, expectation: Expectation) -> None:
        """Remember how long a task this client created should run, for ``wait``'s cadence."""
        self._expectations[task_id] = expectation
        while len(self._expectations) > self.EXPECTATIONS_KEPT:
            self._expectations.popitem(last=False)

    def expectation(self, task_id: str) -> Expectation | None:
        return self._expectations.get(task_id)

    def __repr__(self) -> str:
        return f"<DashScope client {self.config.base_url}>"

    def limiter(self, model: str) -> ModelLimiter:
        return self.account.model(model, self.config.registry.get(model).limits)

    def headers(self, *, asynchronous: bool = False, oss_resolve: bool = False,
                json_body: bool = False) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.config.api_key.reveal()}",
                   "User-Agent": USER_AGENT}
        if json_body:
            headers["Content-Type"] = "application/json"
        if asynchronous:
            headers["X-DashScope-Async"] = "enable"
        if oss_resolve:
            headers["X-DashScope-OssResourceResolve"] = "enable"
        if self.config.workspace:
            headers["X-DashScope-WorkSpace"] = self.config.workspace
        return headers

    def url(self, path: str) -> str:
        return self.config.base_url + path


def api_error(response: httpx.Response) -> APIError:
    """The APIError for a non-2xx answer; tolerant of non-JSON bodies from proxies."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    message = body.get("message") or response.text[:200] or response.reason_phrase
    return APIError(response.status_code, body.get("code") or None, message,
                    body.get("request_id"), _retry_after(response))


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return None


def connection_error(exc: httpx.TransportError) -> APIConnectionError:
    """Map an httpx transport error to ours, deciding whether the request may have been seen.
    Only a failure to connect proves it was not; anything later is ambiguous."""
    not_sent = isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout))
    kind = APITimeoutError if isinstance(exc, httpx.TimeoutException) and not not_sent \
        else APIConnectionError
    return kind(f"{type(exc).__name__}: {exc}", request_sent=not not_sent)


def list_time(moment: datetime) -> str:
    """The task list's ``YYYYMMDDhhmmss`` in Asia/Shanghai."""
    return moment.astimezone(SHANGHAI).strftime("%Y%m%d%H%M%S")


def reconcile_window(sent_at: datetime, now: datetime) -> tuple[datetime, datetime]:
    """A generous window around an ambiguous create (a minute of clock skew either side)."""
    return sent_at - timedelta(minutes=1), now + timedelta(minutes=1)
