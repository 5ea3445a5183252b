"""Our own DashScope client for the Wan models: sync and async over httpx, a model registry,
pre-flight validation, retries that never bill twice, shared rate limits and pricing.

No Dagster imports here: the client is usable on its own.
"""

from .client import AsyncDashScopeClient, DashScopeClient
from .errors import (AmbiguousCreateError, APIConnectionError, APIError, APITimeoutError,
                     DashScopeError, DownloadError, FreeQuotaExhausted, TaskFailedError,
                     TaskTimeoutError, ValidationError)
from .policy import PollPolicy, RetryPolicy
from .pricing import Cost, PriceBook
from .registry import REGISTRY, Limits, ModelSpec, Region
from .types import Task, TaskPage, TaskStatus, TaskSummary, Usage

__all__ = [
    "AmbiguousCreateError", "APIConnectionError", "APIError", "APITimeoutError",
    "AsyncDashScopeClient", "Cost", "DashScopeClient", "DashScopeError", "DownloadError",
    "FreeQuotaExhausted", "Limits", "ModelSpec", "PollPolicy", "PriceBook", "REGISTRY", "Region",
    "RetryPolicy", "Task", "TaskFailedError", "TaskPage", "TaskStatus", "TaskSummary",
    "TaskTimeoutError", "Usage", "ValidationError",
]
