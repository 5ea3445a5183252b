"""Typed views of DashScope answers. Parsing is tolerant (unknown fields and statuses are kept,
never fatal); ``raw`` always holds what the service sent."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from enum import StrEnum
from typing import Any, Mapping

from .errors import TaskFailedError

#: DashScope timestamps are naive Asia/Shanghai times.
SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")


class TaskStatus(StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    PRE_PROCESSING = "PRE-PROCESSING"
    POST_PROCESSING = "POST-PROCESSING"
    SUSPENDED = "SUSPENDED"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELED = "CANCELED"
    UNKNOWN = "UNKNOWN"  # no such task, someone else's, or expired after 24 h


def parse_status(text: Any) -> TaskStatus | str:
    """A known TaskStatus, or the raw string for a status this client has never seen."""
    try:
        return TaskStatus(str(text))
    except ValueError:
        return str(text)


TERMINAL_STATUSES = frozenset({TaskStatus.SUCCEEDED, TaskStatus.FAILED, TaskStatus.CANCELED,
                               TaskStatus.UNKNOWN})


def parse_time(value: Any) -> datetime | None:
    """``2025-09-25 11:07:28.590`` (milliseconds sometimes absent) or epoch ms → aware datetime."""
    if value in (None, ""):
        return None
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value / 1000, tz=timezone.utc)
    for fmt in ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S"):
        try:
            return datetime.strptime(str(value), fmt).replace(tzinfo=SHANGHAI)
        except ValueError:
            continue
    return None


@dataclass(frozen=True)
class Usage:
    """``usage`` in either vocabulary. Missing keys stay None: a zero is never invented."""

    raw: Mapping[str, Any]
    image_count: int | None = None
    #: billed seconds: ``duration`` (newer models) or else ``video_duration`` (older ones)
    seconds: float | None = None
    #: resolution tier from ``SR`` ("720P"), None when the answer has no SR
    tier: str | None = None
    video_ratio: str | None = None
    audio: bool | None = None

    @classmethod
    def parse(cls, raw: Mapping[str, Any] | None) -> Usage | None:
        if not raw:
            return None
        seconds = _number(raw.get("duration"))
        if seconds is None:
            seconds = _number(raw.get("video_duration"))
        sr = raw.get("SR")
        tier = f"{int(float(sr))}P" if sr not in (None, "") else None
        count = raw.get("image_count")
        audio = raw.get("audio")
        return cls(raw=dict(raw), image_count=int(count) if count is not None else None,
                   seconds=seconds, tier=tier,
                   video_ratio=raw.get("video_ratio") or None,
                   audio=audio if isinstance(audio, bool) else None)


def _number(value: Any) -> float | None:
    if value is None or value == "":
        return None
    return float(value)


@dataclass(frozen=True)
class Task:
    """One task as last seen. ``status`` is a TaskStatus, or the raw string for statuses this
    client does not know (those are treated as still in progress)."""

    task_id: str
    status: TaskStatus | str
    request_id: str | None = None
    model: str | None = None
    submit_time: datetime | None = None
    scheduled_time: datetime | None = None
    end_time: datetime | None = None
    result_urls: tuple[str, ...] = ()
    template_id: str | None = None
    code: str | None = None
    message: str | None = None
    usage: Usage | None = None
    orig_prompt: str | None = None
    actual_prompt: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_response(cls, payload: Mapping[str, Any], model: str | None = None) -> Task:
        output = payload.get("output") or {}
        return cls(
            task_id=str(output.get("task_id", "")),
            status=parse_status(output.get("task_status", "UNKNOWN")),
            request_id=payload.get("request_id"),
            model=model,
            submit_time=parse_time(output.get("submit_time")),
            scheduled_time=parse_time(output.get("scheduled_time")),
            end_time=parse_time(output.get("end_time")),
            result_urls=_result_urls(output),
            template_id=output.get("template_id"),
            code=output.get("code") or None,
            message=output.get("message") or None,
            usage=Usage.parse(payload.get("usage")),
            orig_prompt=output.get("orig_prompt") or _first_result_field(output, "orig_prompt"),
            actual_prompt=output.get("actual_prompt") or _first_result_field(output, "actual_prompt"),
            raw=dict(payload),
        )

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def succeeded(self) -> bool:
        return self.status == TaskStatus.SUCCEEDED

    def raise_for_status(self) -> Task:
        """Return self if SUCCEEDED; raise TaskFailedError for FAILED, CANCELED or UNKNOWN."""
        if self.is_terminal and not self.succeeded:
            raise TaskFailedError(self)
        return self


def _result_urls(output: Mapping[str, Any]) -> tuple[str, ...]:
    """Every documented place a result URL sits, in one order."""
    urls: list[str] = []
    results = output.get("results")
    if isinstance(results, list):
        urls += [r["url"] for r in results if isinstance(r, dict) and r.get("url")]
    elif isinstance(results, dict) and results.get("video_url"):
        urls.append(results["video_url"])
    for key in ("output_image_url", "video_url", "output_video_url"):
        if output.get(key):
            urls.append(output[key])
    return tuple(urls)


def _first_result_field(output: Mapping[str, Any], key: str) -> str | None:
    results = output.get("results")
    if isinstance(results, list) and results and isinstance(results[0], dict):
        return results[0].get(key) or None
    return None


@dataclass(frozen=True)
class TaskSummary:
    """One row of ``GET /tasks`` (the list endpoint)."""

    task_id: str
    status: TaskStatus | str
    model: str | None
    request_id: str | None
    created: datetime | None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> TaskSummary:
        return cls(task_id=str(row.get("task_id", "")),
                   status=parse_status(row.get("status", "UNKNOWN")),
                   model=row.get("model_name"), request_id=row.get("request_id"),
                   created=parse_time(row.get("gmt_create")), raw=dict(row))


@dataclass(frozen=True)
class TaskPage:
    tasks: tuple[TaskSummary, ...]
    total: int
    page_no: int
    page_size: int
    total_pages: int
