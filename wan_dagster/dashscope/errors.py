"""Errors, classified by DashScope ``code`` (not by HTTP status), and the retry decisions they imply.

A create that may have reached the service is never simply retried: DashScope has no
idempotency key, so a blind retry can bill twice. ``create_disposition`` says whether a failed
create was clearly refused (safe to resend), is final, or is ambiguous (reconcile first).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol


class _TaskState(Protocol):
    """What an error needs of a task; a protocol, so that ``types`` (whose ``Task`` raises these
    errors) is not imported back here."""

    @property
    def task_id(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def code(self) -> str | None: ...
    @property
    def message(self) -> str | None: ...

#: 429 codes that clear with time (Throttling.AllocationQuota: too many tasks queued).
THROTTLING_CODES = frozenset({
    "Throttling", "Throttling.RateQuota", "Throttling.BurstRate", "Throttling.AllocationQuota",
    "LimitRequests",
})
#: Server-side trouble: a read may be retried; a create that got one may still have landed.
TRANSIENT_SERVER_CODES = frozenset({
    "InternalError", "InternalError.Algo", "InternalError.Timeout", "SystemError",
    "ServiceUnavailable", "ModelUnavailable", "GatewayTimeout", "RequestTimeOut",
})
#: 403 codes that, on a free-trial-only model (registry ``Purchase``), mean its trial quota is
#: used up. The seeds say only that such a call is refused once the quota is gone ("免费额度用完
#: 后不可调用", seed 000 L2080; "检查免费额度是否已用尽" among the causes of an API error,
#: L1983) and name no code. The service's code for a used-up free tier is 403
#: AllocationQuota.FreeTierOnly (what the emulator answers); a model that cannot be bought is
#: also one the account has not purchased (403 AccessDenied.Unpurchased). Neither is
#: Throttling.AllocationQuota: that 429 clears with time.
FREE_QUOTA_CODES = frozenset({"AllocationQuota.FreeTierOnly", "AccessDenied.Unpurchased"})
#: Statuses that mean "try again later" when the body carries no recognisable code.
TRANSIENT_STATUSES = frozenset({408, 500, 502, 503, 504})
#: FAILED-task codes after which a new task may be submitted (the old one was not billed).
RESUBMITTABLE_TASK_CODES = frozenset({"InternalError", "InternalError.Algo",
                                      "InternalError.Timeout", "SystemError", "RequestTimeOut"})


class Disposition(StrEnum):
    RETRY = "retry"  # clearly not done: send again after a backoff
    RECONCILE = "reconcile"  # may have been done: look for the task before sending again
    FINAL = "final"  # do not send again


class DashScopeError(Exception):
    """Base of every error this client raises."""


class ValidationError(DashScopeError, ValueError):
    """The request breaks a documented rule; nothing was sent (so nothing was paid)."""

    def __init__(self, model: str, problems: list[str]):
        self.model = model
        self.problems = list(problems)
        super().__init__(f"invalid request for {model}: " + "; ".join(self.problems))


class APIError(DashScopeError):
    """The service answered with an error body ``{"code", "message", "request_id"}``."""

    def __init__(self, status_code: int, code: str | None, message: str,
                 request_id: str | None = None, retry_after: float | None = None):
        self.status_code = status_code
        self.code = code
        self.message = message
        self.request_id = request_id
        self.retry_after = retry_after
        super().__init__(f"HTTP {status_code} {code or '-'}: {message}"
                         + (f" (request_id {request_id})" if request_id else ""))

    @property
    def is_throttling(self) -> bool:
        return self.code in THROTTLING_CODES

    @property
    def is_transient(self) -> bool:
        """True when the same read may succeed later."""
        if self.code in THROTTLING_CODES or self.code in TRANSIENT_SERVER_CODES:
            return True
        return self.code is None and self.status_code in TRANSIENT_STATUSES


class FreeQuotaExhausted(APIError):
    """A free-trial-only model refused a create because the account's trial quota is used up.
    Final: the model can never be called again by this account, nor bought; only another
    model helps, so the message names the purchasable ones the seeds recommend."""

    def __init__(self, model: str, free_quota: int, unit: str, replacements: tuple[str, ...],
                 cause: APIError):
        self.model = model
        self.replacements = replacements
        instead = (f"use a purchasable model instead: {' or '.join(replacements)}"
                   if replacements else "DashScope names no purchasable replacement")
        super().__init__(cause.status_code, cause.code,
                         f"{model} is free-trial-only: its free quota ({free_quota} {unit}s) "
                         f"is used up and it cannot be bought; {instead}. The service said: "
                         f"{cause.message}", cause.request_id)


class APIConnectionError(DashScopeError):
    """No usable answer. ``request_sent`` tells whether the service may have seen the request:
    a refused connection means it did not; a timeout or dropped connection means it may have."""

    def __init__(self, message: str, *, request_sent: bool):
        self.request_sent = request_sent
        super().__init__(message)


class APITimeoutError(APIConnectionError):
    """The request timed out (it may have been processed)."""


class AmbiguousCreateError(DashScopeError):
    """A create's outcome stayed unknown after reconciliation; it was NOT resent, because
    resending could bill twice. ``candidates`` are task ids that might be ours."""

    def __init__(self, model: str, candidates: list[str], cause: BaseException | None = None):
        self.model = model
        self.candidates = candidates
        detail = f"candidates {candidates}" if candidates else "no matching task listed yet"
        super().__init__(f"create for {model} may have succeeded but could not be matched to a "
                         f"task ({detail}); not resent to avoid paying twice. Cause: {cause!r}")


class TaskTimeoutError(DashScopeError):
    """``wait`` reached its deadline. The task id is kept so nobody pays for it twice."""

    def __init__(self, task: _TaskState, waited: float):
        self.task = task
        self.task_id = task.task_id
        super().__init__(f"task {task.task_id} still {task.status} after {waited:.0f}s; "
                         f"it keeps running on the service, resume with wait({task.task_id!r})")


class TaskFailedError(DashScopeError):
    """Raised by ``Task.raise_for_status`` for a task that ended FAILED, CANCELED or UNKNOWN."""

    def __init__(self, task: _TaskState):
        self.task = task
        self.code = task.code
        super().__init__(f"task {task.task_id} {task.status}: {task.code or '-'} {task.message or ''}"
                         .rstrip())

    @property
    def resubmittable(self) -> bool:
        return is_resubmittable(self.code)


class DownloadError(DashScopeError):
    """A result could not be downloaded completely (truncated, expired URL, HTTP error)."""

    def __init__(self, message: str, *, retryable: bool = False):
        self.retryable = retryable
        super().__init__(message)


def is_resubmittable(code: str | None) -> bool:
    """True when a FAILED task's code is transient, so a fresh task may be created."""
    return code in RESUBMITTABLE_TASK_CODES


def create_disposition(error: BaseException) -> Disposition:
    """What to do after a create failed with ``error``."""
    if isinstance(error, APIError):
        if error.is_throttling:
            return Disposition.RETRY
        if error.code in TRANSIENT_SERVER_CODES or (
                error.code is None and error.status_code in TRANSIENT_STATUSES):
            return Disposition.RECONCILE
        return Disposition.FINAL
    if isinstance(error, APIConnectionError):
        return Disposition.RECONCILE if error.request_sent else Disposition.RETRY
    return Disposition.FINAL


def read_disposition(error: BaseException) -> Disposition:
    """What to do after a read (fetch, list, download) failed with ``error``."""
    if isinstance(error, APIConnectionError):
        return Disposition.RETRY
    if isinstance(error, APIError) and error.is_transient:
        return Disposition.RETRY
    return Disposition.FINAL
