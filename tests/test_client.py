"""The client against the running emulator, every fault included. The emulator's bill and
counters are the judge of what was created and billed."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import logging
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from PIL import Image

from wan_dagster.dashscope import (AmbiguousCreateError, APIError, AsyncDashScopeClient,
                                   DashScopeClient, DownloadError, PollPolicy, PriceBook,
                                   RetryPolicy, TaskStatus, TaskTimeoutError, ValidationError)
from wan_dagster.dashscope.inputs import validation_only
from wan_dagster.dashscope.requests import background_generation, generic, image_to_video
from wan_dagster.dashscope.mediainfo import probe_image, probe_video

KEY = "sk-test-KEY-must-never-leak-7f3a9"
FAST = dict(poll=PollPolicy(time_scale=0.002),
            retry=RetryPolicy(max_retries=6, initial_delay=0.01, max_delay=0.1),
            reconcile_delay=0.05, timeout=5.0)


@pytest.fixture
def client(emulator):
    with DashScopeClient(api_key=KEY, base_url=emulator.base_url, **FAST) as c:
        yield c


def _cutout(size=(400, 400)) -> bytes:
    img = Image.new("RGBA", size, (0, 0, 0, 0))
    img.paste((200, 40, 40, 255), (100, 100, 300, 300))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def _photo(size=(640, 480)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (30, 120, 200)).save(buf, "JPEG")
    return buf.getvalue()


def _bg(prompt="studio") -> object:
    return background_generation(_cutout(), ref_prompt=prompt)


def test_a_request_built_validation_only_is_never_sent(client, emulator):
    with validation_only():
        checked = _bg()
    with pytest.raises(ValueError, match="validation_only"):
        client.create(checked)
    assert _creates_of(emulator, checked) == 0
    assert client.create(_bg()).task_id  # the same request built for sending goes through


def _creates_of(emulator, request) -> int:
    counters = emulator.counters.snapshot() if hasattr(emulator.counters, "snapshot") \
        else emulator.counters
    fingerprint = hashlib.sha256(json.dumps(request.body, sort_keys=True, separators=(",", ":"),
                                            ensure_ascii=False).encode()).hexdigest()
    return counters["creates_by_body"].get(fingerprint, 0)


def _bill(emulator) -> list[dict]:
    return httpx.get(f"{emulator.admin_url}/bill").json()["lines"]


def test_background_end_to_end_with_cost_equal_to_the_bill(client, emulator, tmp_path):
    request = _bg()
    task = client.run(request)
    assert task.status == TaskStatus.SUCCEEDED
    got = client.download(task.result_urls[0], tmp_path / "bg.png")
    info = probe_image(got.path)
    assert (info.width, info.height, info.has_alpha) == (400, 400, False)
    assert got.sha256 == hashlib.sha256(got.path.read_bytes()).hexdigest()
    (line,) = _bill(emulator)
    cost = PriceBook.load().cost(request.spec, task.usage, request.body)
    assert line["task_id"] == task.task_id and float(line["quantity"]) == float(cost.quantity) == 1


def test_async_client_runs_videos_concurrently_within_limits(emulator, tmp_path):
    async def go():
        async with AsyncDashScopeClient(api_key=KEY, base_url=emulator.base_url, **FAST) as c:
            requests = [image_to_video(_photo(), model="wan2.2-i2v-flash", prompt=f"spin {i}",
                                       resolution="480P") for i in range(3)]
            tasks = await asyncio.gather(*(c.run(r) for r in requests))
            got = await c.download(tasks[0].result_urls[0], tmp_path / "v.mp4")
            return tasks, got
    tasks, got = asyncio.run(go())
    assert {t.status for t in tasks} == {TaskStatus.SUCCEEDED}
    video = probe_video(got.path)
    assert (video.codec, video.fps, round(video.duration_s)) == ("h264", 30, 5)
    assert tasks[0].usage.seconds == 5
    assert len(_bill(emulator)) == 3


def test_validation_refuses_locally_before_any_paid_call(client, emulator):
    with pytest.raises(ValidationError, match=r"parameters\.resolution"):
        image_to_video(_photo(), model="wan2.2-i2v-plus", resolution="720P")
    with pytest.raises(ValidationError, match="RGBA"):
        background_generation(_photo(), ref_prompt="x")
    assert emulator.counters["creates"] == 0 if isinstance(emulator.counters, dict) else True


@pytest.mark.parametrize("fault", ["throttle", "5xx_before", "drop_before"])
def test_create_refused_or_not_landed_is_resent_once(client, emulator, fault):
    emulator.faults.inject("create", fault, times=1)
    request = _bg(f"refused {fault}")
    task = client.wait(client.create(request))
    assert task.succeeded
    assert _creates_of(emulator, request) == 1
    assert len(_bill(emulator)) == 1


@pytest.mark.parametrize("fault", ["5xx_after", "drop_after"])
def test_create_that_landed_is_reconciled_not_resent(client, emulator, fault):
    emulator.faults.inject("create", fault, times=1)
    request = _bg(f"landed {fault}")
    task = client.create(request)
    assert _creates_of(emulator, request) == 1
    assert client.wait(task).succeeded
    assert [line["task_id"] for line in _bill(emulator)] == [task.task_id]


def test_reconcile_picks_our_task_by_prompt_among_foreign_ones(client, emulator):
    foreign = _bg("someone else's")
    httpx.post(emulator.base_url + foreign.spec.endpoint, json=foreign.body,
               headers={"Authorization": "Bearer other", "X-DashScope-Async": "enable"})
    emulator.faults.inject("create", "5xx_after", times=1)
    ours = image_to_video(_photo(), model="wan2.2-i2v-flash", prompt="ours, by prompt")
    other = image_to_video(_photo(), model="wan2.2-i2v-flash", prompt="a stranger")
    httpx.post(emulator.base_url + other.spec.endpoint, json=other.body,
               headers={"Authorization": "Bearer other", "X-DashScope-Async": "enable"})
    task = client.create(ours)
    assert client.fetch(task).orig_prompt == "ours, by prompt"
    assert _creates_of(emulator, ours) == 1


def test_create_that_did_not_land_never_adopts_a_lone_foreign_task(client, emulator):
    """Regression: a lone unowned task in the window used to be adopted without looking at its
    prompt, so a create that never landed took another process's video (same account, e.g. a
    parallel backfill run) and this request's own video was never made."""
    theirs = image_to_video(_photo(), model="wan2.2-i2v-flash", prompt="another process's")
    httpx.post(emulator.base_url + theirs.spec.endpoint, json=theirs.body,
               headers={"Authorization": "Bearer other", "X-DashScope-Async": "enable"})
    emulator.faults.inject("create", "5xx_before", times=1)
    ours = image_to_video(_photo(), model="wan2.2-i2v-flash", prompt="ours, not landed")
    task = client.create(ours)
    assert client.fetch(task).orig_prompt == "ours, not landed"
    assert _creates_of(emulator, ours) == 1 and emulator.counters["creates"] == 2


def test_lost_create_never_takes_the_task_of_a_create_still_awaiting_its_answer(emulator):
    """Regression: a lone unowned task was adopted by a lost create although another create of
    the same model in this process had sent its request and was still waiting for the answer;
    two SKUs then stored one task (one of them the other's picture) and one was never made.
    Backgrounds have no prompt to tell the two apart: the lost one must wait for the other."""
    created, answered, release = threading.Event(), threading.Event(), threading.Event()
    lists = []

    class HoldFirstAnswer(httpx.HTTPTransport):  # the first create's answer is slow to arrive
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            response = super().handle_request(request)
            if request.method == "POST":
                created.set()
                release.wait(10)
            return response

    class ReleaseAtSecondListing(httpx.HTTPTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            if request.method == "GET" and request.url.path.endswith("/tasks"):
                lists.append(request)
                if len(lists) == 2:  # the slow answer arrives between two listings
                    release.set()
                    assert answered.wait(10)
            return super().handle_request(request)

    def slow_create():
        try:
            return slow.create(_bg("first, answer slow"))
        finally:
            answered.set()

    ours = _bg("second, never landed")
    with DashScopeClient(api_key=KEY, base_url=emulator.base_url,
                         http_client=httpx.Client(transport=HoldFirstAnswer()), **FAST) as slow, \
            DashScopeClient(api_key=KEY, base_url=emulator.base_url,
                            http_client=httpx.Client(transport=ReleaseAtSecondListing()),
                            **FAST) as client, ThreadPoolExecutor(1) as pool:
        first = pool.submit(slow_create)
        assert created.wait(10)  # the first task exists, its answer is held
        emulator.faults.inject("create", "5xx_before", times=1)
        try:
            second = client.create(ours)
        finally:
            release.set()
        assert first.result().task_id != second.task_id
    assert _creates_of(emulator, ours) == 1 and emulator.counters["creates"] == 2


def test_undecidable_create_is_not_resent(client, emulator):
    spec_body = generic("image-out-painting", {"image_url": "http://127.0.0.1:9/x.png"},
                        {"x_scale": 1.5})
    for _ in range(2):  # two foreign tasks of the same model, no prompt to tell them apart
        httpx.post(emulator.base_url + spec_body.spec.endpoint, json=spec_body.body,
                   headers={"Authorization": "Bearer other", "X-DashScope-Async": "enable"})
    emulator.faults.inject("create", "5xx_after", times=1)
    with pytest.raises(AmbiguousCreateError) as err:
        client.create(generic("image-out-painting", {"image_url": "http://127.0.0.1:9/y.png"},
                              {"x_scale": 2.0}))
    assert len(err.value.candidates) == 3
    assert emulator.counters["creates"] == 3


def test_rivals_are_counted_only_when_a_lost_create_is_reconciled(client, emulator):
    """A function of ``rivals`` is asked only by a reconciliation (one ledger read fewer per
    create); while it counts a rival, the lone prompt-less task is never adopted."""
    def outpainting(x_scale: float) -> object:
        return generic("image-out-painting", {"image_url": "http://127.0.0.1:9/r.png"},
                       {"x_scale": x_scale})

    asked: list[int] = []

    def counting(found: int):
        return lambda: asked.append(found) or found

    client.create(outpainting(1.5), rivals=counting(1))
    assert asked == []  # answered: nothing to reconcile
    emulator.faults.inject("create", "5xx_after", times=1)
    with pytest.raises(AmbiguousCreateError) as err:
        client.create(outpainting(2.0), rivals=counting(1))
    assert asked and set(asked) == {1}
    emulator.faults.inject("create", "5xx_after", times=1)  # that task is recorded elsewhere now
    adopted = client.create(outpainting(2.5), known_task_ids=set(err.value.candidates),
                            rivals=counting(0))
    assert asked[-1] == 0 and adopted.task_id not in err.value.candidates
    assert emulator.counters["creates"] == 3


@pytest.mark.parametrize("fault", ["5xx", "drop"])
def test_read_faults_are_absorbed(client, emulator, fault):
    task = client.create(_bg(f"read {fault}"))
    emulator.faults.inject("read", fault, times=3)
    assert client.wait(task).succeeded


def test_failed_tasks_are_outcomes_with_their_code(client, emulator):
    emulator.faults.inject("task", "internal_error", times=1)
    failed = client.run(_bg("internal"))
    assert (failed.status, failed.code) == (TaskStatus.FAILED, "InternalError")
    emulator.faults.inject("task", "data_inspection", times=1)
    blocked = client.run(_bg("inspection"))
    assert blocked.code == "DataInspectionFailed"
    from wan_dagster.dashscope.errors import TaskFailedError
    with pytest.raises(TaskFailedError) as err:
        blocked.raise_for_status()
    assert not err.value.resubmittable
    assert _bill(emulator) == []


def test_wait_deadline_keeps_the_task_id(client, emulator):
    emulator.faults.inject("task", "slow", times=1)
    task = client.create(image_to_video(_photo(), model="wan2.2-i2v-flash", prompt="slow"))
    with pytest.raises(TaskTimeoutError) as err:
        client.wait(task, timeout=0.05)
    assert err.value.task_id == task.task_id
    assert client.wait(err.value.task_id, model="wan2.2-i2v-flash").succeeded
    assert emulator.counters["creates"] == 1


def test_truncated_download_is_retried_and_never_left_partial(client, emulator, tmp_path):
    task = client.run(_bg("truncate"))
    emulator.faults.inject("download", "truncated", times=2)
    got = client.download(task.result_urls[0], tmp_path / "ok.png")
    assert probe_image(got.path).width == 400
    emulator.faults.inject("download", "truncated", times=50)
    with pytest.raises(DownloadError, match="truncated|incomplete|closed"):
        client.download(task.result_urls[0], tmp_path / "never.png")
    assert list(tmp_path.iterdir()) == [tmp_path / "ok.png"]


@pytest.mark.emulator(time_scale=0.05)  # slow enough that the second task is still PENDING
def test_cancel_and_list(client, emulator):
    first = client.create(_bg("holds the only slot"))
    second = client.create(_bg("waits pending"))
    client.cancel(second)
    assert client.fetch(second).status == TaskStatus.CANCELED
    done = client.wait(first)
    with pytest.raises(APIError) as err:
        client.cancel(done)
    assert err.value.code == "UnsupportedOperation"
    page = client.list_tasks(model="wanx-background-generation-v2", page_size=1)
    assert page.total == 2 and len(page.tasks) == 1 and page.total_pages == 2
    ids = {row.task_id for row in client.iter_tasks(model="wanx-background-generation-v2")}
    assert ids == {first.task_id, second.task_id}
    assert client.fetch("no-such-task").status == TaskStatus.UNKNOWN


def test_submit_rate_is_kept_by_the_client(client, emulator):
    for i in range(6):  # background generation allows 2 submits/s
        client.create(_bg(f"rate {i}"))
    assert emulator.counters["throttled"] == 0


def test_the_key_never_appears(emulator, caplog, tmp_path):
    caplog.set_level(logging.DEBUG)
    with DashScopeClient(api_key=KEY, base_url=emulator.base_url, **FAST) as c:
        assert KEY not in repr(c) and KEY not in repr(c._core.config)
        emulator.faults.inject("create", "5xx_before", times=1)
        c.run(_bg("secret"))
        try:
            c.cancel(c.run(_bg("secret 2")))
        except APIError as exc:
            assert KEY not in str(exc) and KEY not in repr(exc)
    assert KEY not in caplog.text


def test_a_traceback_through_the_client_does_not_show_the_key(client):
    import traceback
    try:
        client.fetch("x" * 10_000)  # an over-long id: the emulator answers an error or UNKNOWN
        client.cancel("no-such-task")
    except APIError:
        text = traceback.format_exc()
        frames = traceback.TracebackException.from_exception(
            __import__("sys").exc_info()[1], capture_locals=True).format()
        assert KEY not in text and KEY not in "".join(frames)


def test_recover_finds_a_task_whose_id_was_lost_in_a_crash(client, emulator):
    from datetime import datetime, timedelta, timezone
    since = datetime.now(timezone.utc) - timedelta(seconds=1)
    request = _bg("crashed before the id was stored")
    assert client.recover(request, since=since) is None  # nothing landed: safe to create
    response = httpx.post(emulator.base_url + request.spec.endpoint, json=request.body,
                          headers={"Authorization": f"Bearer {KEY}",
                                   "X-DashScope-Async": "enable"})
    lost_id = response.json()["output"]["task_id"]
    found = client.recover(request, since=since)
    assert found.task_id == lost_id
    assert client.recover(request, since=since, known_task_ids={lost_id}) is None
    # or asked lazily, with the start of the listing's window (a minute before ``since``)
    asked: list[datetime] = []
    assert client.recover(request, since=since, known_task_ids=lambda start: asked.append(
        start) or {lost_id}) is None
    assert asked and all(start <= since - timedelta(minutes=1) for start in asked)


def test_download_into_a_stream_only_after_the_whole_result_arrived(client, emulator):
    task = client.run(_bg("to a stream"))
    emulator.faults.inject("download", "truncated", times=1)
    buffer = io.BytesIO()
    got = client.download(task.result_urls[0], buffer)
    assert got.path is None and got.size == len(buffer.getvalue())
    assert hashlib.sha256(buffer.getvalue()).hexdigest() == got.sha256
    assert probe_image(buffer.getvalue()).width == 400
