"""The hand-off export and the review gallery after real batches: files under readable names,
a manifest that matches the ledger, the same on S3, and the gallery as a person sees it in a
real (headless Chromium) browser."""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

import dagster as dg
from dagster._core.storage.dagster_run import DagsterRunStatus

from wan_dagster.core.ledger import Ledger, Status
from wan_dagster.core.store import safe_name
from wan_dagster.orchestration.defs import build_defs
from wan_dagster.orchestration.launch import execute_job_run
from wan_dagster.orchestration.resources import (CatalogResource, DashScopeResource,
                                                 LedgerResource, MediaStoreResource)
from wan_dagster.orchestration.sensors import register_skus

from browser import chromium
from test_ui_paths import resources, small_catalog

pytest_plugins = ["s3_server"]

DONE = ["APP-1001", "SHO-2001", "BAG-3001"]
FAILING = "HOM-5001"
INVALID = "BRK-JPEG"
ROWS = {"APP-1001": 3, "SHO-2001": 3, "BAG-3001": 2}  # stored files per SKU


@pytest.fixture
def reviewed(tmp_path, emulator):
    """Three SKUs done, one rejected by the service, one invalid row; then the review job."""
    catalog = small_catalog(tmp_path, [*DONE, FAILING, INVALID])
    defs = build_defs(**resources(tmp_path, emulator, catalog))
    with dg.instance_for_test() as instance:
        register_skus(instance, DONE)
        done = execute_job_run(defs, instance, "media_job", tags={
            "dagster/asset_partition_range_start": DONE[0],
            "dagster/asset_partition_range_end": DONE[-1]})
        assert done.status == DagsterRunStatus.SUCCESS
        register_skus(instance, [FAILING])
        emulator.faults.update(task_data_inspection=1.0)
        failed = execute_job_run(defs, instance, "media_job", partition_key=FAILING)
        assert failed.status == DagsterRunStatus.FAILURE
        review = execute_job_run(defs, instance, "review_job")
        assert review.status == DagsterRunStatus.SUCCESS
        yield tmp_path, instance


def latest_metadata(instance, asset: str) -> dict:
    event = instance.get_latest_materialization_event(dg.AssetKey(asset))
    return {k: v.value for k, v in event.asset_materialization.metadata.items()}


def test_handoff_has_current_media_under_readable_names_and_a_manifest(reviewed):
    tmp_path, instance = reviewed
    media = tmp_path / "media"
    csv = pd.read_csv(media / "handoff" / "manifest.csv")
    parquet = pd.read_parquet(media / "handoff" / "manifest.parquet")
    pd.testing.assert_frame_equal(csv, parquet, check_dtype=False)
    assert csv.groupby("sku").size().to_dict() == ROWS
    for row in csv.itertuples():
        assert row.uri == f"handoff/{safe_name(row.sku)}/{row.asset}.{row.uri[-3:]}"
        assert (media / row.uri).stat().st_size == row.size_bytes
        assert row.task_id
        assert isinstance(row.prompt, str), row  # the default recipe prompts every request
    videos = csv[csv["asset"] == "product_video"]
    assert (videos["duration_s"] > 0).all() and csv[csv["asset"] != "product_video"][
        "duration_s"].isna().all()
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    paid = {a.task_id: a.cost for a in ledger.attempts(status=Status.STORED)}
    for row in csv.itertuples():
        assert Decimal(str(row.cost_cny)) == paid[row.task_id]
    metadata = latest_metadata(instance, "media_handoff")
    assert metadata["files"] == sum(ROWS.values()) and metadata["skus"] == len(ROWS)
    assert metadata["manifest_csv"] == "handoff/manifest.csv"  # relative to the store


def test_materializations_carry_prompt_relative_uri_and_a_thumbnail(reviewed):
    _, instance = reviewed
    for asset in ("background_image", "product_video"):
        event = instance.get_latest_materialization_event(dg.AssetKey(asset))
        metadata = event.asset_materialization.metadata
        assert metadata["media/uri"].value.startswith(f"{asset}/")  # not /abs/server/path
        assert metadata["dashscope/prompt"].value
        assert event.asset_materialization.description.startswith(
            "![preview](data:image/jpeg;base64,")  # videos get their first frame


def test_gallery_in_a_real_browser(reviewed):
    tmp_path, instance = reviewed
    metadata = latest_metadata(instance, "review_gallery")
    assert (metadata["skus"], metadata["skus_done"], metadata["skus_failed"],
            metadata["skus_invalid"]) == (5, 3, 1, 1)
    page_url = (tmp_path / "media" / metadata["page"]).as_uri()
    with chromium() as page:
        page.open(page_url, settle_js="""document.readyState === 'complete' &&
            [...document.images].every(i => i.complete) &&
            [...document.querySelectorAll('video')].every(v => v.readyState >= 1)""")
        seen = page.evaluate("""({
            cards: document.querySelectorAll('section.sku').length,
            images: document.images.length,
            broken: [...document.images].filter(i => i.naturalWidth === 0).map(i => i.src),
            videos: [...document.querySelectorAll('video')].map(v => ({
                width: v.videoWidth, duration: v.duration, poster: v.poster})),
            failed: [...document.querySelectorAll('section[data-status=failed] li')]
                .map(li => li.textContent),
            invalid: [...document.querySelectorAll('section[data-status=invalid] li')]
                .map(li => li.textContent),
            prompts: [...document.querySelectorAll('.prompt')].filter(p => p.textContent).length,
        })""")
        assert seen["cards"] == 5 and not seen["broken"]
        # cutouts of the 4 valid SKUs + stills: APP/SHO 2 each, BAG 1
        assert seen["images"] == 4 + 2 + 2 + 1
        assert len(seen["videos"]) == 3
        assert all(v["width"] > 0 and v["duration"] > 0 and v["poster"] for v in seen["videos"])
        assert any("DataInspectionFailed" in reason for reason in seen["failed"])
        assert any("cutout_image" in reason for reason in seen["invalid"])
        assert seen["prompts"] == 8  # every generation has a text prompt (the image edits too)
        playing = page.evaluate("""(async () => {
            const video = document.querySelector('video');
            video.muted = true;
            await video.play();
            await new Promise(done => setTimeout(done, 500));
            return video.currentTime;
        })()""")
        assert playing > 0  # the player really decodes the H.264 file
        posters = page.evaluate("""Promise.all([...document.querySelectorAll('video')].map(
            v => new Promise(done => { const i = new Image(); i.onload = () =>
                done(i.naturalWidth); i.onerror = () => done(0); i.src = v.poster; })))""")
        assert all(width > 0 for width in posters)
        shown = page.evaluate("""(() => { const counts = {};
            for (const [name, value] of [['status', 'failed'], ['category', 'shoes']]) {
                const select = document.getElementById(name);
                select.value = value; select.dispatchEvent(new Event('change'));
                counts[value] = Number(document.body.dataset.shown);
                select.value = ''; select.dispatchEvent(new Event('change'));
            }
            return counts; })()""")
        assert shown == {"failed": 1, "shoes": 1}
        shot = page.screenshot(tmp_path / "gallery.png")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000


def test_handoff_and_gallery_on_s3(emulator, s3_client, s3_bucket, s3_endpoint_url, tmp_path):
    from dagster_aws.s3 import S3Resource

    catalog = small_catalog(tmp_path, ["HOM-5002"])
    s3 = S3Resource(endpoint_url=s3_endpoint_url, aws_access_key_id="test",
                    aws_secret_access_key="test", region_name="us-east-1")
    defs = build_defs(
        dashscope=DashScopeResource(base_url=emulator.base_url,
                                    poll_scale=0.01),
        catalog=CatalogResource(path=str(catalog)),
        ledger=LedgerResource(url=f"sqlite:///{tmp_path / 'ledger.db'}"),
        media_store=MediaStoreResource(kind="s3", bucket=s3_bucket, prefix="media", s3=s3))
    with dg.instance_for_test() as instance:
        register_skus(instance, ["HOM-5002"])
        for job in ("media_job", "review_job"):
            run = execute_job_run(defs, instance, job,
                                  partition_key="HOM-5002" if job == "media_job" else None)
            assert run.status == DagsterRunStatus.SUCCESS, job
        keys = {o["Key"] for o in s3_client.list_objects_v2(
            Bucket=s3_bucket, Prefix="media/")["Contents"]}
        folder = f"media/handoff/{safe_name('HOM-5002')}"
        assert {f"{folder}/background_image.png", f"{folder}/product_video.mp4",
                "media/handoff/manifest.csv", "media/handoff/manifest.parquet",
                "media/gallery/index.html"} <= keys
        body = s3_client.get_object(Bucket=s3_bucket, Key="media/handoff/manifest.parquet")
        manifest = pd.read_parquet(io.BytesIO(body["Body"].read()))
        assert set(manifest["uri"]) == {f"s3://{s3_bucket}/{folder}/background_image.png",
                                        f"s3://{s3_bucket}/{folder}/product_video.mp4"}
        assert latest_metadata(instance, "media_handoff")["manifest_csv"] == \
            f"s3://{s3_bucket}/media/handoff/manifest.csv"


def test_video_thumbnail_is_the_first_frame_scaled_to_fit_with_its_aspect():
    from PIL import Image

    from wan_dagster.core.review import thumbnail_jpeg
    from wan_dagster.emulator import media

    red = Image.new("RGB", (480, 272), (200, 40, 40))
    clip = media.video(first=red, last=None, width=480, height=272, duration_s=1, fps=8,
                       audio=False, seed=1)
    thumb = Image.open(io.BytesIO(thumbnail_jpeg(clip, video=True)))
    assert thumb.format == "JPEG" and thumb.size == (200, 113)
    r, g, b = thumb.convert("RGB").getpixel((100, 56))
    assert r > g + 80 and r > b + 80  # the first frame's colour
    poster = Image.open(io.BytesIO(thumbnail_jpeg(clip, video=True, size=640)))
    assert poster.size == (480, 272)  # never enlarged
