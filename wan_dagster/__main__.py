"""``python -m wan_dagster``: generate a background and a product video for one sample product
on the embedded DashScope emulator, and write them to disk.

Nothing is paid: the emulator stands in for DashScope unless ``--live`` is given, in which case
``DASHSCOPE_API_KEY`` and the real Beijing endpoint are used (and billed).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import time
from pathlib import Path
from typing import Iterator

import pandas as pd

from .dashscope import DashScopeClient, PriceBook, Task
from .dashscope.requests import TaskRequest, background_generation, image_to_video
from .mediainfo import probe_image, probe_video

log = logging.getLogger("wan_dagster")
REPO_DATA = Path(__file__).resolve().parent.parent / "data"


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    row = _sample_row(args.catalog, args.sku)
    out = Path(args.out) / row["sku"]
    with _client(args) as client:
        prices = PriceBook.load()
        background = background_generation(
            args.catalog.parent / row["cutout_image"], ref_prompt=row["background_prompt"],
            model_version="v3")
        bg_task, bg_file = _generate(client, background, out / "background.png")
        video = image_to_video(
            bg_file, model=args.video_model, prompt=row["video_prompt"],
            resolution=args.resolution, duration=args.duration)
        video_task, video_file = _generate(client, video, out / "video.mp4")
    image, clip = probe_image(bg_file), probe_video(video_file)
    print(f"\nSKU {row['sku']} ({row['title']})")
    print(f"  background  {bg_file}  {image.width}x{image.height} {image.format} {image.mode}")
    print(f"  video       {video_file}  {clip.codec} {clip.width}x{clip.height} "
          f"{clip.fps:g} fps {clip.duration_s:.2f} s audio={clip.has_audio}")
    total = 0.0
    for request, task in ((background, bg_task), (video, video_task)):
        cost = prices.cost(request.spec, task.usage, request.body)
        amount = float(cost.amount) if cost else None
        total += amount or 0.0
        print(f"  {request.model:32s} task {task.task_id}  usage {dict(task.usage.raw)}  "
              f"cost {'unknown' if amount is None else f'{amount:.2f} {prices.currency}'}")
    print(f"  total {total:.2f} {prices.currency}")
    return 0


def _generate(client: DashScopeClient, request: TaskRequest, dest: Path) -> tuple[Task, Path]:
    started = time.monotonic()
    task = client.create(request)
    log.info("%s: created task %s", request.model, task.task_id)
    task = client.wait(task).raise_for_status()
    downloaded = client.download(task.result_urls[0], dest)
    log.info("%s: %s after %.1fs, %d bytes -> %s", request.model, task.status,
             time.monotonic() - started, downloaded.size, dest)
    return task, dest


@contextlib.contextmanager
def _client(args: argparse.Namespace) -> Iterator[DashScopeClient]:
    if args.live:
        with DashScopeClient(api_key=os.environ["DASHSCOPE_API_KEY"]) as client:
            yield client
        return
    from .dashscope.policy import PollPolicy
    from .emulator import Emulator

    with Emulator(time_scale=args.time_scale) as emulator:
        log.info("no live service requested: using the embedded DashScope emulator at %s "
                 "(time scale %g; nothing is billed)", emulator.base_url, args.time_scale)
        poll = PollPolicy().scaled(args.time_scale)
        with DashScopeClient(api_key="emulator", base_url=emulator.base_url, poll=poll) as client:
            yield client


def _sample_row(catalog: Path, sku: str | None) -> dict:
    frame = pd.read_csv(catalog, dtype=str, keep_default_na=False)
    rows = frame[frame["sku"] == sku] if sku else frame[~frame["sku"].str.startswith("BRK")]
    if rows.empty:
        sys.exit(f"no SKU {sku!r} in {catalog}")
    return rows.iloc[0].to_dict()


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m wan_dagster", description=__doc__)
    parser.add_argument("--catalog", type=Path, default=REPO_DATA / "catalog.csv")
    parser.add_argument("--sku", help="SKU to generate (default: the first valid one)")
    parser.add_argument("--out", default="out", help="output directory (default: out/)")
    parser.add_argument("--video-model", default="wan2.2-i2v-flash")
    parser.add_argument("--resolution", default="480P")
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--time-scale", type=float, default=0.02,
                        help="emulator latency multiplier (default 0.02: a 3-minute video "
                             "takes ~4 s)")
    parser.add_argument("--live", action="store_true",
                        help="use the real DashScope service with DASHSCOPE_API_KEY (billed)")
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(main())
