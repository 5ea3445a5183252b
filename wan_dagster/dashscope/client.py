"""Sync and async DashScope clients: thin drivers that run the shared flows (``_flows``) with
httpx. Region, base URL and API key belong to each instance, never to the process."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import os
import shutil
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, AsyncIterator, BinaryIO, Iterator

import httpx

from . import _flows as flows
from ._core import ClientConfig, ClientCore, connection_error
from .limits import Slots
from .registry import Registry
from .types import Task, TaskPage, TaskSummary

if TYPE_CHECKING:
    from .requests import TaskRequest


def _task_id(task: Task | str) -> str:
    return task.task_id if isinstance(task, Task) else task


def _model_of(task: Task | str, model: str | None) -> str | None:
    return model or (task.model if isinstance(task, Task) else None)


class _Base:
    def __init__(self, config: ClientConfig):
        self._core = ClientCore(config)

    @property
    def base_url(self) -> str:
        return self._core.config.base_url

    @property
    def registry(self) -> Registry:
        return self._core.config.registry

    def slot_counter(self, model: str) -> Slots:
        """The account-wide slots of ``model``'s live tasks, its concurrency plus
        ``limits.SUBMIT_AHEAD`` (the pipeline's scheduler uses them)."""
        return self._core.limiter(model).running

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.base_url}>"


class DashScopeClient(_Base):
    """Blocking client. ``DashScopeClient(api_key=..., region="beijing")``; the key defaults to
    ``DASHSCOPE_API_KEY``. Use as a context manager or call ``close()``."""

    def __init__(self, api_key: str | None = None, *, http_client: httpx.Client | None = None,
                 **options: Any):
        super().__init__(ClientConfig.build(api_key=api_key, **options))
        self._http = http_client or httpx.Client(timeout=self._core.config.timeout)

    def __enter__(self) -> DashScopeClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # ------------------------------------------------------------------ operations

    def create(self, request: TaskRequest, *, known_task_ids: flows.KnownTaskIds = (),
               rivals: flows.Rivals = 0) -> Task:
        """Create a task (never twice; see ``_flows.create``). ``known_task_ids``: ids the caller
        already owns elsewhere (e.g. its ledger), never to be adopted by reconciliation, or a
        function of the moment since which they matter (asked only if the create is reconciled);
        ``rivals``: creates of this model by other processes whose outcome is unrecorded, or a
        function that counts them (asked likewise only if the create is reconciled)."""
        return self._run(flows.create(self._core, request, known_task_ids, rivals))

    def recover(self, request: TaskRequest, *, since: datetime,
                known_task_ids: flows.KnownTaskIds = (), rivals: flows.Rivals = 0) -> Task | None:
        """The task ``request`` created at/after ``since`` (a crash lost its id), or None if
        none landed; AmbiguousCreateError if it cannot be told apart from others."""
        return self._run(flows.recover(self._core, request, since, known_task_ids, rivals))

    def fetch(self, task: Task | str, *, model: str | None = None) -> Task:
        return self._run(flows.fetch(self._core, _task_id(task), _model_of(task, model)))

    def wait(self, task: Task | str, *, model: str | None = None,
             timeout: float | None = None) -> Task:
        return self._run(flows.wait(self._core, _task_id(task), _model_of(task, model), timeout))

    def run(self, request: TaskRequest, *, timeout: float | None = None,
            known_task_ids: flows.KnownTaskIds = ()) -> Task:
        """Create and wait within the model's concurrency limit."""
        return self._run(flows.run(self._core, request, timeout, known_task_ids))

    def cancel(self, task: Task | str) -> None:
        self._run(flows.cancel(self._core, _task_id(task)))

    def list_tasks(self, **filters: Any) -> TaskPage:
        """One page of ``GET /tasks``: page_no, page_size, model, status, start, end."""
        return self._run(flows.list_page(self._core, **filters))

    def iter_tasks(self, *, page_size: int = 100, **filters: Any) -> Iterator[TaskSummary]:
        page_no = 1
        while True:
            page = self.list_tasks(page_no=page_no, page_size=page_size, **filters)
            yield from page.tasks
            if page_no >= page.total_pages or not page.tasks:
                return
            page_no += 1

    def call(self, request: TaskRequest) -> dict[str, Any]:
        """Call a synchronous endpoint (the detect models)."""
        return self._run(flows.call_sync(self._core, request))

    def download(self, url: str, dest: str | os.PathLike[str] | BinaryIO) -> flows.Downloaded:
        """Stream a result to a path (atomically) or into a binary stream (which receives the
        bytes only once the whole download was verified)."""
        if isinstance(dest, (str, os.PathLike)):
            return self._run(flows.download(self._core, url, Path(dest)))
        with _spool() as path:
            done = self._run(flows.download(self._core, url, path))
            _copy_into(path, dest)
        return dataclasses.replace(done, path=None)

    def upload_file(self, model: str, path: str | os.PathLike[str],
                    field: str | None = None) -> str:
        return self._run(flows.upload_file(self._core, model, Path(path), field))

    # ------------------------------------------------------------------ driver

    def _run(self, flow: flows.Flow) -> Any:
        result: Any = None
        error: BaseException | None = None
        while True:
            try:
                action = flow.throw(error) if error is not None else flow.send(result)
            except StopIteration as stop:
                return stop.value
            result, error = None, None
            try:
                result = self._perform(action)
            except httpx.TransportError as exc:
                error = connection_error(exc)

    def _perform(self, action: Any) -> Any:
        if isinstance(action, flows.Send):
            return self._http.request(action.method, action.url, headers=action.headers,
                                      json=action.json, content=action.content,
                                      params=action.params, data=action.data,
                                      files=action.files)
        if isinstance(action, flows.Sleep):
            time.sleep(action.seconds)
            return None
        if isinstance(action, flows.WaitSlot):
            action.counter.acquire()
            return None
        if isinstance(action, flows.Book):
            return action.window.book()
        if isinstance(action, flows.Stream):
            with self._http.stream("GET", action.url) as response, open(action.path, "wb") as out:
                if response.is_error:
                    response.read()
                    return _stream_result(response, 0, hashlib.sha256(), response.text)
                digest, size = hashlib.sha256(), 0
                for chunk in response.iter_bytes():
                    out.write(chunk)
                    digest.update(chunk)
                    size += len(chunk)
                return _stream_result(response, size, digest)
        raise TypeError(f"unknown action {action!r}")


class AsyncDashScopeClient(_Base):
    """The asyncio twin of DashScopeClient: same flows, same limits (shared with threads)."""

    def __init__(self, api_key: str | None = None, *,
                 http_client: httpx.AsyncClient | None = None, **options: Any):
        super().__init__(ClientConfig.build(api_key=api_key, **options))
        self._http = http_client or httpx.AsyncClient(timeout=self._core.config.timeout)

    async def __aenter__(self) -> AsyncDashScopeClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # ------------------------------------------------------------------ operations

    async def create(self, request: TaskRequest, *, known_task_ids: flows.KnownTaskIds = (),
                     rivals: flows.Rivals = 0) -> Task:
        return await self._run(flows.create(self._core, request, known_task_ids, rivals))

    async def recover(self, request: TaskRequest, *, since: datetime,
                      known_task_ids: flows.KnownTaskIds = (),
                      rivals: flows.Rivals = 0) -> Task | None:
        return await self._run(flows.recover(self._core, request, since, known_task_ids,
                                             rivals))

    async def fetch(self, task: Task | str, *, model: str | None = None) -> Task:
        return await self._run(flows.fetch(self._core, _task_id(task), _model_of(task, model)))

    async def wait(self, task: Task | str, *, model: str | None = None,
                   timeout: float | None = None) -> Task:
        return await self._run(flows.wait(self._core, _task_id(task), _model_of(task, model),
                                          timeout))

    async def run(self, request: TaskRequest, *, timeout: float | None = None,
                  known_task_ids: flows.KnownTaskIds = ()) -> Task:
        return await self._run(flows.run(self._core, request, timeout, known_task_ids))

    async def cancel(self, task: Task | str) -> None:
        await self._run(flows.cancel(self._core, _task_id(task)))

    async def list_tasks(self, **filters: Any) -> TaskPage:
        return await self._run(flows.list_page(self._core, **filters))

    async def iter_tasks(self, *, page_size: int = 100, **filters: Any) -> AsyncIterator[TaskSummary]:
        page_no = 1
        while True:
            page = await self.list_tasks(page_no=page_no, page_size=page_size, **filters)
            for row in page.tasks:
                yield row
            if page_no >= page.total_pages or not page.tasks:
                return
            page_no += 1

    async def call(self, request: TaskRequest) -> dict[str, Any]:
        return await self._run(flows.call_sync(self._core, request))

    async def download(self, url: str, dest: str | os.PathLike[str] | BinaryIO) -> flows.Downloaded:
        if isinstance(dest, (str, os.PathLike)):
            return await self._run(flows.download(self._core, url, Path(dest)))
        with _spool() as path:
            done = await self._run(flows.download(self._core, url, path))
            _copy_into(path, dest)
        return dataclasses.replace(done, path=None)

    async def upload_file(self, model: str, path: str | os.PathLike[str],
                          field: str | None = None) -> str:
        return await self._run(flows.upload_file(self._core, model, Path(path), field))

    # ------------------------------------------------------------------ driver

    async def _run(self, flow: flows.Flow) -> Any:
        result: Any = None
        error: BaseException | None = None
        while True:
            try:
                action = flow.throw(error) if error is not None else flow.send(result)
            except StopIteration as stop:
                return stop.value
            result, error = None, None
            try:
                result = await self._perform(action)
            except httpx.TransportError as exc:
                error = connection_error(exc)

    async def _perform(self, action: Any) -> Any:
        if isinstance(action, flows.Send):
            return await self._http.request(action.method, action.url, headers=action.headers,
                                            json=action.json, content=action.content,
                                            params=action.params, data=action.data,
                                            files=action.files)
        if isinstance(action, flows.Sleep):
            await asyncio.sleep(action.seconds)
            return None
        if isinstance(action, flows.WaitSlot):
            await action.counter.acquire_async()
            return None
        if isinstance(action, flows.Book):
            return await action.window.book_async()
        if isinstance(action, flows.Stream):
            async with self._http.stream("GET", action.url) as response:
                if response.is_error:
                    await response.aread()
                    return _stream_result(response, 0, hashlib.sha256(), response.text)
                digest, size = hashlib.sha256(), 0
                with open(action.path, "wb") as out:
                    async for chunk in response.aiter_bytes():
                        out.write(chunk)
                        digest.update(chunk)
                        size += len(chunk)
                return _stream_result(response, size, digest)
        raise TypeError(f"unknown action {action!r}")


@contextlib.contextmanager
def _spool() -> Iterator[Path]:
    """A private temporary file: a stream destination cannot be rewound for a retry."""
    with tempfile.TemporaryDirectory(prefix="wan-download-") as tmp:
        yield Path(tmp) / "result"


def _copy_into(path: Path, stream: BinaryIO) -> None:
    with open(path, "rb") as src:
        shutil.copyfileobj(src, stream)


def _stream_result(response: httpx.Response, size: int, digest: Any,
                   text: str = "") -> flows.StreamResult:
    # With a Content-Encoding the decoded size differs from Content-Length: nothing to compare.
    length = None if response.headers.get("Content-Encoding") else response.headers.get("Content-Length")
    return flows.StreamResult(response.status_code, size, int(length) if length else None,
                              digest.hexdigest(), response.headers.get("Content-Type"), text)
