"""How soon a finished video is noticed, and how many fetches that costs: our client's
``run`` against the official SDK's ``async_call`` + ``wait`` on the same emulator, run
one after the other with the same settings (not a test: it takes minutes of real time).

    .venv/bin/python benchmarks/poll_notice.py [--videos 2] [--model wan2.2-i2v-flash]

The emulator runs at real speed (time scale 1), because the SDK polls on a fixed real-time
schedule. Notice delay = the moment the caller has the finished task minus the task's
``end_time``; fetches = the emulator's count of ``GET /tasks/{id}`` per video.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Callable

import dashscope
from PIL import Image

from wan_dagster.dashscope import DashScopeClient
from wan_dagster.dashscope.requests import image_to_video
from wan_dagster.dashscope.types import SHANGHAI
from wan_dagster.emulator import Emulator

KEY = "sk-benchmark"


def ours(emulator: Emulator, model: str, frame: Path, prompt: str) -> float:
    with DashScopeClient(api_key=KEY, base_url=emulator.base_url) as client:
        task = client.run(image_to_video(frame, model=model, prompt=prompt, resolution="480P",
                                         duration=5))
    noticed = time.time()
    assert task.status == "SUCCEEDED" and task.end_time is not None, task
    return noticed - task.end_time.timestamp()


def sdk(emulator: Emulator, model: str, frame: Path, prompt: str) -> float:
    dashscope.base_http_api_url = emulator.base_url
    created = dashscope.VideoSynthesis.async_call(api_key=KEY, model=model, prompt=prompt,
                                                  img_url=f"file://{frame}", resolution="480P",
                                                  duration=5)
    done = dashscope.VideoSynthesis.wait(created, api_key=KEY)
    noticed = time.time()
    assert done.output.task_status == "SUCCEEDED", done
    ended = datetime.strptime(done.output.end_time, "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=SHANGHAI)
    return noticed - ended.timestamp()


def measure(name: str, emulator: Emulator, videos: int, run: Callable[..., float],
            model: str, frame: Path) -> tuple[float, float]:
    before = emulator.counters["fetches"]
    with ThreadPoolExecutor(videos) as pool:
        delays = list(pool.map(lambda i: run(emulator, model, frame, f"{name} turn {i}"),
                               range(videos)))
    fetches = (emulator.counters["fetches"] - before) / videos
    print(f"{name:5s} notice delay median {statistics.median(delays):5.2f} s "
          f"(each: {', '.join(f'{d:.2f}' for d in delays)}), {fetches:.1f} fetches per video")
    return statistics.median(delays), fetches


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--videos", type=int, default=2, help="per side, run at once")
    parser.add_argument("--model", default="wan2.2-i2v-flash")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, Emulator(time_scale=1.0, seed=7) as emulator:
        frame = Path(tmp) / "frame.png"
        Image.new("RGB", (832, 480), (180, 90, 30)).save(frame)
        our_delay, our_fetches = measure("ours", emulator, args.videos, ours, args.model, frame)
        sdk_delay, sdk_fetches = measure("sdk", emulator, args.videos, sdk, args.model, frame)
    print(f"ratio ours/sdk: notice delay {our_delay / sdk_delay:.2f}, "
          f"fetches {our_fetches / sdk_fetches:.2f}")


if __name__ == "__main__":
    main()
