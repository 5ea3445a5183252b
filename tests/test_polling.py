"""Polling cadence: nothing is fetched before a task can have ended, its end is noticed soon
after, and a queued task is not polled as if it were about to end."""

from __future__ import annotations

import httpx
import pytest

from wan_dagster.dashscope import REGISTRY, DashScopeClient, PollPolicy, TaskTimeoutError
from wan_dagster.dashscope.registry import IMAGE_RUN_TIME, VIDEO_RUN_TIME, Output, RunTime, run_time
from wan_dagster.dashscope.requests import image_to_video

from test_client import FAST, KEY, _photo

WINDOW = RunTime(100.0, 140.0)


def test_nothing_is_fetched_before_the_shortest_run_time() -> None:
    policy = PollPolicy()
    assert policy.delay(WINDOW, 0.0) >= 100.0
    assert policy.delay(WINDOW, 60.0) >= 40.0


def test_the_first_look_is_one_interval_past_the_shortest_run_time_where_an_end_can_be() -> None:
    """At the shortest run time itself the task is certainly still running: that fetch would
    be wasted, and an end within the first interval is noticed at the same moment anyway."""
    policy = PollPolicy()
    assert policy.delay(WINDOW, 0.0) == 105.0  # 100 s, then 40 s / 8
    assert policy.delay(WINDOW, 60.0) == 45.0
    assert policy.delay(WINDOW, 99.0) == 6.0


def test_inside_the_window_it_polls_every_eighth_of_it_within_1_to_5_seconds() -> None:
    policy = PollPolicy()
    assert policy.delay(WINDOW, 100.0) == 5.0  # 40 s / 8
    assert policy.delay(RunTime(100.0, 116.0), 101.0) == 2.0
    assert policy.delay(RunTime(10.0, 12.0), 11.0) == 1.0


def test_past_the_window_it_backs_off_to_the_documented_15_seconds() -> None:
    policy = PollPolicy()
    delays = [policy.delay(WINDOW, 150.0)]
    for _ in range(10):
        delays.append(policy.delay(WINDOW, 150.0, delays[-1]))
    assert delays == sorted(delays) and delays[0] == 6.5 and delays[-1] == 15.0


def test_a_queued_task_is_looked_at_four_times_per_shortest_run_time() -> None:
    assert PollPolicy().delay(WINDOW, None) == 25.0
    assert PollPolicy().delay(RunTime(2.0, 3.0), None) == 1.0


def test_a_queued_task_whose_start_the_service_dates_is_looked_at_after_the_shortest() -> None:
    """It cannot end sooner, and once it runs its answer says when it started: the look comes
    one interval past the shortest run time, as for a running task's first."""
    assert PollPolicy().delay(WINDOW, None, start_dated=True) == 105.0


def test_time_scale_shrinks_every_interval() -> None:
    fast = PollPolicy().scaled(0.01)
    assert fast.delay(WINDOW, 0.0) == pytest.approx(1.05)
    assert fast.delay(WINDOW, 1.2) == pytest.approx(0.05)


def test_a_video_request_s_window_follows_its_length_and_size() -> None:
    flash = REGISTRY.get("wan2.2-i2v-flash")
    short = flash.run_time({"resolution": "480P", "duration": 5})
    assert VIDEO_RUN_TIME.shortest <= short.shortest < short.longest <= VIDEO_RUN_TIME.longest
    longer = REGISTRY.get("wan2.5-i2v-preview").run_time({"resolution": "1080P", "duration": 10})
    assert longer.shortest > short.longest
    assert REGISTRY.get("wanx-background-generation-v2").run_time({}) == IMAGE_RUN_TIME
    assert run_time(Output.VIDEO) == VIDEO_RUN_TIME


@pytest.mark.emulator(time_scale=0.01)
def test_a_created_video_is_fetched_only_inside_its_window(emulator) -> None:
    """Against the emulator, which draws run times from the same window: a 5 s 480P video
    (115-141 service seconds) is fetched at most (window / near interval) + 2 times."""
    options = {**FAST, "poll": PollPolicy(time_scale=0.01)}
    with DashScopeClient(api_key=KEY, base_url=emulator.base_url, **options) as client:
        request = image_to_video(_photo(), model="wan2.2-i2v-flash", prompt="slow turn",
                                 resolution="480P", duration=5)
        task = client.wait(client.create(request))
    assert task.status == "SUCCEEDED"
    window = request.spec.run_time(request.parameters)
    near = (window.longest - window.shortest) / 8
    assert 1 <= emulator.counters["fetches"] <= (window.longest - window.shortest) / near + 2


@pytest.mark.emulator(time_scale=0.01)
def test_a_video_queued_behind_others_is_polled_from_its_dated_start(emulator) -> None:
    """The model runs two at once: a short video sent after two longer ones waits in the
    service's queue for about a run time. Seen queued, it cannot end within its shortest run
    time, and once running, the service's ``submit_time`` and ``scheduled_time`` say how long
    it was queued: so it is looked at once per shortest run time while queued (not four
    times), and then as a video that was never queued (at most window / near interval + 2)."""
    answers: list[str] = []

    def seen(response: httpx.Response) -> None:
        if response.request.method == "GET" and "/tasks/" in response.request.url.path:
            response.read()
            answers.append(response.json()["output"]["task_status"])

    options = {**FAST, "poll": PollPolicy(time_scale=0.01)}
    with DashScopeClient(api_key=KEY, base_url=emulator.base_url, **options,
                         http_client=httpx.Client(event_hooks={"response": [seen]})) as client:
        for n in range(2):
            client.create(image_to_video(_photo(), model="wanx2.1-i2v-turbo", prompt=f"long {n}",
                                         resolution="720P", duration=5))
        request = image_to_video(_photo(), model="wanx2.1-i2v-turbo", prompt="short",
                                 resolution="480P", duration=3)
        task = client.wait(client.create(request))
    assert task.status == "SUCCEEDED"
    window = request.spec.run_time(request.parameters)
    queued_s = (task.scheduled_time - task.submit_time).total_seconds()
    assert queued_s > 0.2  # it did wait in the queue
    assert answers.count("PENDING") <= queued_s / (window.shortest * 0.01) + 1
    near = (window.longest - window.shortest) / 8
    running = len(answers) - answers.count("PENDING")
    assert running <= (window.longest - window.shortest) / near + 2


@pytest.mark.emulator(time_scale=0.01)
def test_a_resumed_task_of_unknown_start_is_polled_as_if_near_its_end(emulator) -> None:
    """A task this client did not create (a re-run resuming it) may be about to end, so it is
    polled at the window's cadence at once; the client that created it knows it cannot end
    before the shortest run time (0.6 s here) and fetches nothing sooner."""
    options = {**FAST, "poll": PollPolicy(time_scale=0.01)}
    request = image_to_video(_photo(), model="wan2.2-i2v-flash", prompt="x", duration=5)
    with DashScopeClient(api_key=KEY, base_url=emulator.base_url, **options) as creator:
        task = creator.create(request)
        with pytest.raises(TaskTimeoutError):
            creator.wait(task, timeout=0.3)
        by_creator = emulator.counters["fetches"]
    with DashScopeClient(api_key=KEY, base_url=emulator.base_url, **options) as resumer:
        with pytest.raises(TaskTimeoutError):
            resumer.wait(task.task_id, model=request.model, timeout=0.3)
    assert by_creator == 1  # the deadline's last look
    assert emulator.counters["fetches"] - by_creator >= 3
