"""Screenshots of the Dagster UI and the review gallery as a user sees them after a batch.

    .venv/bin/python tests/ui_screenshots.py /tmp/screens

Runs the sample catalog on an embedded emulator into ``out/media`` (the definitions' default
store) with a throw-away DAGSTER_HOME, one SKU rejected by the service on purpose, then the
review job; starts ``dagster dev`` on a free loopback port over the same DAGSTER_HOME and saves
headless-Chromium screenshots of the asset page, a failed SKU's partition, the catalog page and
the gallery. Not a test: a way to look at the product.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FAILING = "ELE-6004"  # the last valid row: the batch before it is one contiguous range
STARTUP_S = 180


def batch(home: Path) -> None:
    os.environ["DAGSTER_HOME"] = str(home)
    import dagster as dg

    from wan_dagster.emulator import Emulator
    from wan_dagster.orchestration.defs import build_defs
    from wan_dagster.orchestration.launch import execute_job_run
    from wan_dagster.orchestration.resources import DashScopeResource
    from wan_dagster.orchestration.sensors import fingerprints, register_skus

    with Emulator(time_scale=0.005) as emulator, dg.DagsterInstance.get() as instance:
        defs = build_defs(dashscope=DashScopeResource(base_url=emulator.base_url))
        skus = list(fingerprints(defs.resources["catalog"].load()))
        register_skus(instance, skus)
        for job, tags in [("catalog_job", {}),
                          ("media_job", {"dagster/asset_partition_range_start": skus[0],
                                         "dagster/asset_partition_range_end": skus[-2]})]:
            print(job, execute_job_run(defs, instance, job, tags=tags).status)
        emulator.faults.update(task_data_inspection=1.0)
        print("failing", execute_job_run(defs, instance, "media_job",
                                         partition_key=FAILING).status)
        print("review", execute_job_run(defs, instance, "review_job").status)


def reexecute(base: str, home: Path) -> str:
    """What "Re-execute from failure" sends for the run this script started from Python."""
    import json

    import dagster as dg
    from dagster_graphql.client.query import LAUNCH_PIPELINE_REEXECUTION_MUTATION

    os.environ["DAGSTER_HOME"] = str(home)
    with dg.DagsterInstance.get() as instance:
        failed = instance.get_runs(dg.RunsFilter(statuses=[dg.DagsterRunStatus.FAILURE]))[0]
    body = json.dumps({"query": LAUNCH_PIPELINE_REEXECUTION_MUTATION, "variables": {
        "reexecutionParams": {"parentRunId": failed.run_id, "strategy": "FROM_FAILURE"}}})
    request = urllib.request.Request(f"{base}/graphql", body.encode(),
                                     {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as answer:
        return json.load(answer)["data"]["launchPipelineReexecution"]["__typename"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main(screens: Path) -> None:
    home = Path(tempfile.mkdtemp(prefix="wan-ui-home-"))
    subprocess.run([sys.executable, __file__, "--batch", str(home)], check=True, cwd=REPO)
    port = free_port()
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    dev = subprocess.Popen([str(Path(sys.executable).parent / "dagster"), "dev", "-h",
                            "127.0.0.1", "-p", str(port)], cwd=REPO, env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           start_new_session=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + STARTUP_S
        while True:
            try:
                urllib.request.urlopen(f"{base}/server_info", timeout=5)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)
        sys.path.insert(0, str(REPO / "tests"))
        from browser import chromium

        shots = [
            ("asset_page.png", f"{base}/assets/background_image", "Materialize"),
            ("partition_failed.png",
             f"{base}/assets/background_image?view=partitions&partition={FAILING}", FAILING),
            ("asset_events.png",
             f"{base}/assets/product_video?view=events&partition=APP-1001", "APP-1001"),
            ("asset_checks.png", f"{base}/assets/product_video?view=checks", "media_decodes"),
            ("catalog_page.png", f"{base}/assets/product_catalog", "invalid_rows"),
            ("gallery.png", (REPO / "out" / "media" / "gallery" / "index.html").as_uri(),
             "Review gallery"),
        ]
        with chromium() as page:
            for name, url, text in shots:
                page.open(url, settle_js=f"document.body && "
                                         f"document.body.innerText.includes({text!r})",
                          timeout_s=120)
                time.sleep(3)  # let the UI finish its follow-up queries and images
                page.evaluate("[...document.querySelectorAll('button')]"
                              ".find(b => b.innerText === 'Skip')?.click()")  # first-visit modal
                time.sleep(1)
                print(page.screenshot(screens / name))
                if name == "partition_failed.png":  # the reason: the partition's events
                    page.evaluate("[...document.querySelectorAll('button')].find(b => "
                                  "b.innerText.startsWith('View all historical events'))"
                                  "?.click()")
                    time.sleep(3)
                    page.evaluate("document.querySelector('[role=dialog] tbody tr td')"
                                  "?.click()")  # expand the observation: code, message, row
                    time.sleep(2)
                    print(page.screenshot(screens / "partition_failed_events.png"))
        print("re-execute the failed run from the UI's API:", reexecute(base, home))
    finally:
        os.killpg(dev.pid, signal.SIGTERM)
        dev.wait(timeout=60)


if __name__ == "__main__":
    if sys.argv[1] == "--batch":
        batch(Path(sys.argv[2]))
    else:
        main(Path(sys.argv[1]))
