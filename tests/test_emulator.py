"""The DashScope emulator, driven over real HTTP with httpx: protocol, lifecycle, limits, media,
expiry, uploads, faults, admin and the CLI."""

from __future__ import annotations

import base64
import http.client
import io
import json
import logging
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from PIL import Image

from wan_dagster.dashscope.registry import (MAX_BODY_BYTES, REGISTRY, RESULT_TTL_SECONDS,
                                            Output, keep_aspect_size)
from wan_dagster.dashscope.types import SHANGHAI
from wan_dagster.emulator import Emulator, FaultConfig
from wan_dagster.dashscope.mediainfo import probe_image, probe_video

KEY = "sk-emulator-test-SECRET-5d1c9e"
BACKGROUND = "/services/aigc/background-generation/generation/"
VIDEO = "/services/aigc/video-generation/video-synthesis"
ASYNC = {"X-DashScope-Async": "enable"}
SERVICE_TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}")
PRODUCT_RGB = (180, 40, 40)


# ---------------------------------------------------------------------------- helpers


def _encode(img: Image.Image, fmt: str) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt)
    return buf.getvalue()


def cutout_png(size: tuple[int, int] = (320, 240)) -> bytes:
    """A product cutout: an opaque rectangle on a transparent canvas."""
    img = Image.new("RGBA", size, (0, 0, 0, 0))
    img.paste((*PRODUCT_RGB, 255), (80, 60, 240, 180))
    return _encode(img, "PNG")


def photo_jpeg(size: tuple[int, int] = (750, 1000)) -> bytes:
    return _encode(Image.new("RGB", size, (30, 120, 200)), "JPEG")


def data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def background_body(base: str | None = None, prompt: str = "a marble table") -> dict:
    return {"model": "wanx-background-generation-v2",
            "input": {"base_image_url": base or data_uri(cutout_png(), "image/png"),
                      "ref_prompt": prompt},
            "parameters": {"n": 1}}


def i2v_body(model: str = "wan2.6-i2v-flash", **parameters) -> dict:
    return {"model": model,
            "input": {"img_url": data_uri(photo_jpeg(), "image/jpeg"), "prompt": "turns slowly"},
            "parameters": parameters}


@pytest.fixture
def api(emulator: Emulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emulator.base_url, headers={"Authorization": f"Bearer {KEY}"},
                      timeout=30) as client:
        yield client


def create(api: httpx.Client, body: dict, path: str = BACKGROUND, **headers: str) -> str:
    """Create a task, waiting out the model's submit rate like a well-behaved client."""
    response = api.post(path, json=body, headers={**ASYNC, **headers})
    while response.status_code == 429 and response.json()["code"] == "Throttling.RateQuota":
        time.sleep(0.2)
        response = api.post(path, json=body, headers={**ASYNC, **headers})
    assert response.status_code == 200, response.text
    assert response.json()["output"]["task_status"] == "PENDING"
    return response.json()["output"]["task_id"]


def wait_for(api: httpx.Client, task_id: str, statuses: set[str] | None = None,
             timeout: float = 30) -> dict:
    """Poll (within the 20/s fetch limit) until the task reaches one of ``statuses``."""
    statuses = statuses or {"SUCCEEDED", "FAILED", "CANCELED", "UNKNOWN"}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = api.get(f"/tasks/{task_id}")
        if response.status_code == 200 and response.json()["output"]["task_status"] in statuses:
            return response.json()
        time.sleep(0.06)
    raise AssertionError(f"task {task_id} did not reach {statuses} in {timeout}s")


def succeeded(api: httpx.Client, task_id: str) -> dict:
    answer = wait_for(api, task_id)
    assert answer["output"]["task_status"] == "SUCCEEDED", answer
    return answer


def failed(api: httpx.Client, task_id: str) -> dict:
    answer = wait_for(api, task_id)
    assert answer["output"]["task_status"] == "FAILED", answer
    return answer["output"]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def media_server() -> Iterator[tuple[str, dict[str, tuple[int, bytes, float]]]]:
    """A local HTTP server for input URLs: path -> (status, body, delay seconds)."""
    routes: dict[str, tuple[int, bytes, float]] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, body, delay = routes.get(self.path, (404, b"not found", 0.0))
            time.sleep(delay)
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                     daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", routes
    server.shutdown()
    server.server_close()


# ---------------------------------------------------------------------------- lifecycle and media


def test_background_generation_keeps_size_and_product(api, emulator):
    base = cutout_png((320, 240))
    task_id = create(api, background_body(data_uri(base, "image/png")))
    answer = succeeded(api, task_id)
    output = answer["output"]
    assert answer["usage"] == {"image_count": 1}
    assert output["task_metrics"] == {"TOTAL": 1, "SUCCEEDED": 1, "FAILED": 0}
    for key in ("submit_time", "scheduled_time", "end_time"):
        assert SERVICE_TIME.fullmatch(output[key]), output[key]
    url = output["results"][0]["url"]
    assert "Expires=" in url and "Signature=" in url
    png = httpx.get(url).content
    info = probe_image(png)
    assert (info.format, info.width, info.height) == ("PNG", 320, 240)
    result = Image.open(io.BytesIO(png)).convert("RGB")
    assert result.getpixel((160, 120)) == PRODUCT_RGB  # the product is kept
    assert result.getpixel((5, 5)) != (0, 0, 0)  # the transparent area got a background
    (line,) = emulator.bill.lines
    assert (line.task_id, line.unit, line.quantity) == (task_id, "image", 1)


def test_trailing_slash_is_optional_on_create_paths(api):
    for path in (BACKGROUND, BACKGROUND.rstrip("/")):
        create(api, background_body(), path)


def test_image_to_video_is_h264_at_keep_aspect_size(api):
    spec = REGISTRY.get("wan2.6-i2v-flash")
    task_id = create(api, i2v_body(resolution="720P", duration=2), VIDEO)
    answer = succeeded(api, task_id)
    assert answer["output"]["orig_prompt"] == "turns slowly"
    info = probe_video(httpx.get(answer["output"]["video_url"]).content)
    assert (info.width, info.height) == keep_aspect_size("720P", 750, 1000) == (816, 1104)
    assert (info.codec, info.fps, info.duration_s, info.has_audio) == ("h264", 30, 2, True)
    usage = answer["usage"]
    assert set(usage) == set(spec.usage_fields)
    assert usage == {"duration": 2, "input_video_duration": 0, "output_video_duration": 2,
                     "video_count": 1, "SR": 720, "audio": True}


def test_text_to_video_follows_the_size_parameter(api):
    body = {"model": "wanx2.1-t2v-turbo", "input": {"prompt": "a red sneaker on sand"},
            "parameters": {"size": "832*480"}}
    answer = succeeded(api, create(api, body, VIDEO))
    info = probe_video(httpx.get(answer["output"]["video_url"]).content)
    assert (info.width, info.height, info.fps, info.duration_s, info.has_audio) == (
        832, 480, 30, 5, False)
    assert answer["usage"] == {"video_duration": 5, "video_ratio": "832*480", "video_count": 1}


def test_sync_detect_answers_directly_and_bills_one_image(api, emulator, media_server):
    host, routes = media_server
    routes["/face.jpg"] = (200, photo_jpeg((600, 800)), 0.0)
    response = api.post("/services/aigc/image2video/face-detect",
                        json={"model": "emo-detect-v1", "input": {"image_url": f"{host}/face.jpg"},
                              "parameters": {"ratio": "1:1"}})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["output"]["check_pass"] is True and len(body["output"]["ext_bbox"]) == 4
    assert body["usage"] == {"image_count": 1}
    (line,) = emulator.bill.lines
    assert (line.model, line.quantity, line.task_id) == ("emo-detect-v1", 1, body["request_id"])


def _required_body(spec, url_of) -> dict:
    """The smallest valid request for ``spec``: required parameters and media only."""
    body: dict = {"model": spec.name, "input": {}, "parameters": {}}
    for param in spec.params:
        if param.required:
            kind = param.type[0] if isinstance(param.type, tuple) else param.type
            body[param.where][param.name] = param.choices[0] if param.choices else {
                str: "a leather handbag", int: int(param.minimum or 0),
                list: [10, 10, 300, 300]}[kind]
    for field in spec.media:
        if field.required:
            body["input"][field.name] = [url_of(field)] if field.is_list else url_of(field)
    return body


def test_every_image_and_detect_model_answers_in_its_vocabulary(api, emulator, media_server):
    host, routes = media_server
    routes["/cutout.png"] = (200, cutout_png((512, 512)), 0.0)
    routes["/photo.jpg"] = (200, photo_jpeg((512, 512)), 0.0)

    def url_of(field) -> str:
        required = field.rule is not None and field.rule.alpha == "required"
        return f"{host}/cutout.png" if required else f"{host}/photo.jpg"

    specs = [s for s in REGISTRY if s.output in (Output.IMAGE, Output.DETECTION)]
    tasks = {}
    for spec in specs:
        body = _required_body(spec, url_of)
        if spec.asynchronous:
            tasks[create(api, body, spec.endpoint)] = spec
        else:
            response = api.post(spec.endpoint, json=body)
            assert response.status_code == 200, (spec.name, response.text)
            assert response.json()["usage"] == {"image_count": 1}
    for task_id, spec in tasks.items():
        answer = succeeded(api, task_id)
        assert set(answer["usage"]) == set(spec.usage_fields), spec.name
        count = answer["usage"]["image_count"]
        urls = ([r["url"] for r in answer["output"]["results"]]
                if spec.result_path == "results[].url" else [answer["output"][spec.result_path]])
        assert len(urls) == count >= 1, spec.name
        assert probe_image(httpx.get(urls[0]).content).width > 0, spec.name
    assert len(emulator.bill.lines) == len(specs)


# ---------------------------------------------------------------------------- request errors


def test_missing_key_is_401(api, emulator):
    response = httpx.post(emulator.base_url + BACKGROUND, json=background_body(), headers=ASYNC)
    assert response.status_code == 401
    body = response.json()
    assert (body["code"], body["message"]) == ("InvalidApiKey", "No API-key provided.")
    assert body["request_id"]


@pytest.mark.emulator(api_key=KEY)
def test_wrong_key_is_401_when_a_key_is_configured(api, emulator):
    response = httpx.get(f"{emulator.base_url}/tasks/x", headers={"Authorization": "Bearer sk-no"})
    assert response.status_code == 401
    assert response.json()["message"] == "Invalid API-key provided."
    assert api.get("/tasks/x").status_code == 200


def test_async_header_is_required(api):
    response = api.post(BACKGROUND, json=background_body())
    assert response.status_code == 403
    assert response.json()["code"] == "AccessDenied"
    assert response.json()["message"] == "current user api does not support synchronous calls"


@pytest.mark.parametrize("body, field", [
    (i2v_body("wan2.2-i2v-plus", resolution="720P"), "resolution"),
    (i2v_body("wan2.2-i2v-flash", audio=True), "audio"),
])
def test_parameters_the_model_does_not_allow_are_400(api, emulator, body, field):
    response = api.post(VIDEO, json=body, headers=ASYNC)
    assert response.status_code == 400
    assert response.json()["code"] == "InvalidParameter"
    assert f"parameters.{field}" in response.json()["message"]
    assert emulator.counters["creates"] == 0


def test_request_shape_errors(api):
    def post(content: bytes | str, path: str = BACKGROUND) -> tuple[int, str, str]:
        r = api.post(path, content=content, headers={**ASYNC, "Content-Type": "application/json"})
        return r.status_code, r.json()["code"], r.json()["message"]

    assert post(b"{not json")[:2] == (400, "InvalidParameter")
    assert post('{"model": "wanx-background-generation-v2", "input": {}}')[:2] == (
        400, "BadRequest.EmptyInput")
    assert post('{"model": "wanx-nonexistent", "input": {"x": 1}}') == (
        400, "InvalidParameter", "Model not exist.")
    assert post('{"model": "wan2.2-kf2v-flash", "input": {"x": 1}}', VIDEO)[2] == (
        "url error, please check url!")
    assert post(b"{" + b" " * MAX_BODY_BYTES + b"}")[:2] == (413, "BadRequest.TooLarge")


def test_unknown_sdk_fields_are_tolerated(api):
    body = i2v_body("wan2.2-i2v-flash", resolution="480P")
    body["input"]["function"] = "image_to_video"  # sent by the official SDK
    body["input"]["extend_prompt"] = True
    create(api, body, VIDEO)


def test_unknown_task_is_unknown_not_404(api):
    response = api.get("/tasks/0385dc79-5ff8-4d82-bcb6-000000000000")
    assert response.status_code == 200
    assert response.json()["output"] == {"task_id": "0385dc79-5ff8-4d82-bcb6-000000000000",
                                         "task_status": "UNKNOWN"}
    assert response.json()["request_id"]


def test_keep_alive_and_chunked_request_bodies(api):
    peers = {api.get("/tasks/x").extensions["network_stream"].get_extra_info("client_addr")
             for _ in range(3)}
    assert len(peers) == 1  # one connection served all three requests

    def chunks() -> Iterator[bytes]:
        yield b'{"model": "wanx-background-generation-v2", '
        yield b'"input": {}}'

    response = api.post(BACKGROUND, content=chunks(), headers=ASYNC)
    assert response.request.headers["Transfer-Encoding"] == "chunked"
    assert response.json()["code"] == "BadRequest.EmptyInput"
    assert api.get("/tasks/x").status_code == 200  # the connection is still in step


# ---------------------------------------------------------------------------- limits and queueing


@pytest.mark.emulator(time_scale=0.05)
def test_concurrency_one_keeps_the_second_task_pending(api):
    first = create(api, background_body(prompt="first"))
    second = create(api, background_body(prompt="second"))
    wait_for(api, first, {"RUNNING"})
    assert api.get(f"/tasks/{second}").json()["output"]["task_status"] == "PENDING"
    succeeded(api, first)
    succeeded(api, second)


@pytest.mark.emulator(time_scale=0.05)
def test_cancel_pending_only(api):
    first = create(api, background_body(prompt="first"))
    second = create(api, background_body(prompt="second"))
    response = api.post(f"/tasks/{second}/cancel")
    assert response.status_code == 200 and set(response.json()) == {"request_id"}
    assert wait_for(api, second)["output"]["task_status"] == "CANCELED"
    succeeded(api, first)
    refused = api.post(f"/tasks/{first}/cancel")
    assert (refused.status_code, refused.json()["code"]) == (400, "UnsupportedOperation")


def test_submitting_faster_than_the_model_rate_is_429(api, emulator):
    rate = int(REGISTRY.get("wanx-background-generation-v2").limits.submit_per_second)
    for i in range(rate):
        create(api, background_body(prompt=f"burst {i}"))
    response = api.post(BACKGROUND, json=background_body(prompt="one too many"), headers=ASYNC)
    assert response.status_code == 429
    assert response.json()["code"] == "Throttling.RateQuota"
    assert response.json()["message"] == "Requests rate limit exceeded, please try again later."
    assert int(response.headers["Retry-After"]) >= 1
    assert emulator.counters["throttled"] == 1 and emulator.counters["creates"] == rate


@pytest.mark.emulator(time_scale=1.0, max_queue_per_model=1)
def test_queue_deeper_than_the_maximum_is_allocation_quota(api):
    create(api, background_body(prompt="runs"))
    time.sleep(1.05)  # the dispatch delay at scale 1 is at most 1 s; then it runs for >= 8 s
    create(api, background_body(prompt="waits"))
    response = api.post(BACKGROUND, json=background_body(prompt="no room"), headers=ASYNC)
    assert (response.status_code, response.json()["code"]) == (429, "Throttling.AllocationQuota")


def test_list_filters_and_pages_newest_first(api):
    ids = [create(api, background_body(prompt=f"list {i}")) for i in range(2)]
    ids.append(create(api, i2v_body("wan2.2-i2v-flash", resolution="480P"), VIDEO))
    for task_id in ids:
        wait_for(api, task_id)
    page = api.get("/tasks", params={"page_no": 1, "page_size": 2}).json()
    assert (page["total"], page["total_page"], page["page_no"], page["page_size"]) == (3, 2, 1, 2)
    assert [row["task_id"] for row in page["data"]] == ids[::-1][:2]
    row = page["data"][0]
    assert set(row) == {"task_id", "status", "model_name", "request_id", "gmt_create",
                        "start_time", "end_time"}
    assert row["gmt_create"] <= row["start_time"] <= row["end_time"]
    second = api.get("/tasks", params={"page_no": 2, "page_size": 2}).json()
    assert [row["task_id"] for row in second["data"]] == [ids[0]]
    by_model = api.get("/tasks", params={"model_name": "wanx-background-generation-v2"}).json()
    assert {row["task_id"] for row in by_model["data"]} == set(ids[:2])
    by_status = api.get("/tasks", params={"status": "SUCCEEDED"}).json()
    assert by_status["total"] == 3
    now = datetime.now(SHANGHAI)
    window = {"start_time": (now - timedelta(minutes=5)).strftime("%Y%m%d%H%M%S"),
              "end_time": now.strftime("%Y%m%d%H%M%S")}
    assert api.get("/tasks", params=window).json()["total"] == 3
    past = {"start_time": "20200101000000", "end_time": "20200102000000"}
    assert api.get("/tasks", params=past).json()["total"] == 0
    assert api.get("/tasks", params={"start_time": "yesterday"}).status_code == 400


# ---------------------------------------------------------------------------- expiry and signing


def test_results_and_tasks_expire(api, emulator):
    task_id = create(api, background_body())
    url = succeeded(api, task_id)["output"]["results"][0]["url"]
    tampered = re.sub(r"Signature=[^&]+", "Signature=AAAA", url)
    assert httpx.get(tampered).status_code == 403
    assert httpx.get(url, headers={"Range": "bytes=0-9"}).status_code == 206
    emulator.clock.advance(RESULT_TTL_SECONDS + 60)
    assert api.get(f"/tasks/{task_id}").json()["output"]["task_status"] == "UNKNOWN"
    assert api.get("/tasks").json()["total"] == 0
    expired = httpx.get(url)
    assert expired.status_code == 403
    assert "<Code>AccessDenied</Code>" in expired.text and "expired" in expired.text


# ---------------------------------------------------------------------------- inputs


def test_unreachable_input_fails_with_connection_refused(api):
    url = f"http://127.0.0.1:{closed_port()}/product.png"
    output = failed(api, create(api, background_body(url)))
    assert output["code"] == "InvalidURL.ConnectionRefused"
    assert output["message"] == f"Connection to {url} refused, please provide avaiable URL"


def test_input_download_errors(api, media_server):
    host, routes = media_server
    routes["/slow.png"] = (200, cutout_png(), 3.0)  # longer than the 1 s minimum timeout
    routes["/junk.png"] = (200, b"not an image at all", 0.0)
    cases = {f"{host}/missing.png": "BadRequest.InputDownloadFailed",
             f"{host}/slow.png": "InvalidURL.Timeout",
             f"{host}/junk.png": "InvalidFile.Openerror"}
    ids = {create(api, background_body(url)): code for url, code in cases.items()}
    for task_id, code in ids.items():
        assert failed(api, task_id)["code"] == code


def test_rgb_jpeg_as_background_base_fails_with_the_rgba_rule(api, emulator):
    output = failed(api, create(api, background_body(data_uri(photo_jpeg(), "image/jpeg"))))
    assert output["code"] == "InvalidParameter"
    assert "base_image_url" in output["message"] and "RGBA" in output["message"]
    assert emulator.bill.lines == []


def test_video_frame_too_small_fails_with_resolution(api):
    body = i2v_body("wan2.2-i2v-flash", resolution="480P")
    body["input"]["img_url"] = data_uri(photo_jpeg((200, 200)), "image/jpeg")
    output = failed(api, create(api, body, VIDEO))
    assert output["code"] == "InvalidFile.Resolution" and "img_url" in output["message"]


def test_upload_policy_then_oss_url(api):
    model = "wanx-background-generation-v2"
    policy = api.get("/uploads", params={"action": "getPolicy", "model": model}).json()["data"]
    assert set(policy) == {"policy", "signature", "upload_dir", "upload_host", "expire_in_seconds",
                           "max_file_size_mb", "oss_access_key_id", "x_oss_object_acl",
                           "x_oss_forbid_overwrite"}
    key = f"{policy['upload_dir']}/product.png"
    form = {"OSSAccessKeyId": policy["oss_access_key_id"], "Signature": policy["signature"],
            "policy": policy["policy"], "key": key,
            "x-oss-object-acl": policy["x_oss_object_acl"],
            "x-oss-forbid-overwrite": policy["x_oss_forbid_overwrite"],
            "success_action_status": "200"}
    upload = httpx.post(policy["upload_host"], data=form,
                        files={"file": ("product.png", cutout_png(), "image/png")})
    assert upload.status_code == 200, upload.text
    forged = httpx.post(policy["upload_host"], data={**form, "Signature": "forged"},
                        files={"file": ("product.png", cutout_png(), "image/png")})
    assert forged.status_code == 403 and "SignatureDoesNotMatch" in forged.text
    resolved = create(api, background_body(f"oss://{key}"),
                      **{"X-DashScope-OssResourceResolve": "enable"})
    succeeded(api, resolved)
    output = failed(api, create(api, background_body(f"oss://{key}", prompt="no header")))
    assert output["code"] == "InvalidParameter"
    assert "X-DashScope-OssResourceResolve" in output["message"]


# ---------------------------------------------------------------------------- faults


def test_fault_throttle_and_5xx_before_create_nothing(api, emulator):
    emulator.faults.inject("create", "throttle")
    emulator.faults.inject("create", "5xx_before")
    first = api.post(BACKGROUND, json=background_body(), headers=ASYNC)
    assert (first.status_code, first.json()["code"]) == (429, "Throttling.RateQuota")
    second = api.post(BACKGROUND, json=background_body(), headers=ASYNC)
    assert (second.status_code, second.json()["code"]) == (500, "InternalError")
    assert emulator.counters["creates"] == 0
    assert emulator.counters["faults_injected"] == {"throttle": 1, "create_5xx_before": 1}


def test_fault_5xx_after_creates_and_bills_exactly_one_task(api, emulator):
    emulator.faults.inject("create", "5xx_after")
    response = api.post(BACKGROUND, json=background_body(), headers=ASYNC)
    assert (response.status_code, response.json()["code"]) == (500, "InternalError")
    (row,) = api.get("/tasks").json()["data"]
    succeeded(api, row["task_id"])
    (line,) = emulator.bill.lines
    assert line.task_id == row["task_id"]
    assert emulator.counters["creates_by_body"] == {line.request_fingerprint: 1}


@pytest.mark.parametrize("when, created", [("drop_before", 0), ("drop_after", 1)])
def test_fault_drop_closes_the_connection_without_an_answer(api, emulator, when, created):
    emulator.faults.inject("create", when)
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        api.post(BACKGROUND, json=background_body(), headers=ASYNC)
    assert emulator.counters["creates"] == created
    assert api.get("/tasks").json()["total"] == created  # the client reconnects fine


def test_fault_read_5xx_and_drop(api, emulator):
    emulator.faults.inject("read", "5xx")
    assert api.get("/tasks/x").status_code in (500, 503)
    emulator.faults.inject("read", "drop", times=2)
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        api.get("/tasks/x")
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        api.get("/tasks")
    assert api.get("/tasks/x").json()["output"]["task_status"] == "UNKNOWN"


@pytest.mark.parametrize("kind, code, message", [
    ("internal_error", "InternalError", "Internal server error"),
    ("data_inspection", "DataInspectionFailed", "Input data may contain inappropriate content."),
])
def test_fault_task_failures_are_not_billed(api, emulator, kind, code, message):
    emulator.faults.inject("task", kind)
    output = failed(api, create(api, background_body()))
    assert (output["code"], output["message"]) == (code, message)
    assert emulator.bill.lines == []


@pytest.mark.emulator(faults=FaultConfig(slow=1.0, slow_factor=5.0))
def test_fault_slow_multiplies_latency(api, emulator):
    output = succeeded(api, create(api, background_body()))["output"]
    started, ended = (datetime.strptime(output[k], "%Y-%m-%d %H:%M:%S.%f")
                      for k in ("scheduled_time", "end_time"))
    minimum = 8 * emulator.clock.time_scale * 5  # shortest image latency, five times over
    assert (ended - started).total_seconds() >= minimum - 0.002
    assert emulator.counters["faults_injected"] == {"slow": 1}


def test_fault_truncated_download(api, emulator):
    url = succeeded(api, create(api, background_body()))["output"]["results"][0]["url"]
    emulator.faults.inject("download", "truncated")
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        httpx.get(url)
    assert len(httpx.get(url).content) > 0
    assert emulator.counters["downloads"] == 2


def test_fault_rates_use_the_seeded_rng(emulator):
    assert emulator.faults.update(read_5xx=1.0).read_5xx == 1.0
    assert all(emulator.faults.fires("read_5xx") for _ in range(5))
    with pytest.raises(ValueError):
        emulator.faults.update(read_5xx=2.0)
    with pytest.raises(ValueError):
        emulator.faults.inject("create", "explode")
    with pytest.raises(ValueError):  # holds are inject-only: no rate parks requests at random
        emulator.faults.update(create_hold_before=1.0)


# ---------------------------------------------------------------------------- holds


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what} not reached in {timeout}s"
        time.sleep(0.01)


def wait_held(emulator: Emulator, name: str) -> None:
    """Until the hold ``name`` has begun: its handler is parked."""
    wait_until(lambda: emulator.faults.injected().get(name) == 1, name)


def result_url(api: httpx.Client) -> str:
    return succeeded(api, create(api, background_body()))["output"]["results"][0]["url"]


def test_hold_before_parks_the_create_before_any_task_exists(api, emulator):
    admin = emulator.admin_url
    httpx.post(f"{admin}/faults/inject", json={"stage": "create", "kind": "hold_before"})
    with ThreadPoolExecutor(1) as pool:
        held = pool.submit(api.post, BACKGROUND, json=background_body(), headers=ASYNC)
        wait_held(emulator, "create_hold_before")
        assert emulator.counters["creates"] == 0 and api.get("/tasks").json()["total"] == 0
        assert not held.done()
        assert httpx.post(f"{admin}/faults/release").json() == {"released": 1}
        response = held.result(timeout=10)
    assert response.status_code == 200, response.text
    task_id = response.json()["output"]["task_id"]
    succeeded(api, task_id)
    assert [line.task_id for line in emulator.bill.lines] == [task_id]
    assert emulator.counters["faults_injected"] == {"create_hold_before": 1}
    assert emulator.faults.holding() == 0


def test_hold_after_parks_the_answer_of_a_task_that_runs_and_bills(api, emulator):
    emulator.faults.inject("create", "hold_after")
    with ThreadPoolExecutor(1) as pool:
        held = pool.submit(api.post, BACKGROUND, json=background_body(), headers=ASYNC)
        wait_held(emulator, "create_hold_after")
        (row,) = api.get("/tasks").json()["data"]
        succeeded(api, row["task_id"])  # the task runs and is billed while its answer waits
        assert [line.task_id for line in emulator.bill.lines] == [row["task_id"]]
        assert not held.done()
        assert emulator.faults.release() == 1
        response = held.result(timeout=10)
    assert response.json()["output"]["task_id"] == row["task_id"]
    assert emulator.counters["creates"] == 1


def test_download_hold_sends_half_then_the_rest_after_release(api, emulator):
    url = result_url(api)
    whole = httpx.get(url).content
    half = len(whole) // 2
    emulator.faults.inject("download", "hold")
    with httpx.stream("GET", url) as response:
        assert int(response.headers["Content-Length"]) == len(whole)
        chunks = response.iter_raw(half)
        first = next(chunks)
        wait_held(emulator, "download_hold")
        assert first == whole[:half]
        assert emulator.faults.release() == 1
        rest = b"".join(chunks)
    assert first + rest == whole
    assert probe_image(first + rest).width > 0
    assert emulator.counters["downloads"] == 2


@pytest.mark.parametrize("kind, created", [("hold_before", 0), ("hold_after", 1)])
def test_a_client_that_leaves_ends_the_hold(api, emulator, kind, created):
    """A killed client: the held create is dropped. Before, nothing is ever created (even after
    a release); after, the task exists, runs and is billed once."""
    emulator.faults.inject("create", kind)
    conn = http.client.HTTPConnection("127.0.0.1", emulator.port, timeout=10)
    conn.request("POST", f"/api/v1{BACKGROUND}", body=json.dumps(background_body()),
                 headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json",
                          **ASYNC})
    wait_held(emulator, f"create_{kind}")
    conn.close()
    wait_until(lambda: emulator.faults.holding() == 0, "the hold noticing its client left")
    assert emulator.faults.release() == 0
    rows = api.get("/tasks").json()["data"]
    assert len(rows) == emulator.counters["creates"] == created
    for row in rows:
        succeeded(api, row["task_id"])
    assert len(emulator.bill.lines) == created


@pytest.mark.parametrize("stage, kind", [("create", "hold_before"), ("create", "hold_after"),
                                         ("download", "hold")])
def test_stopping_never_waits_on_held_requests(api, emulator, stage, kind):
    url = result_url(api) if stage == "download" else None
    emulator.faults.inject(stage, kind)
    with ThreadPoolExecutor(1) as pool:
        held = pool.submit(httpx.get, url) if url else \
            pool.submit(api.post, BACKGROUND, json=background_body(), headers=ASYNC)
        wait_held(emulator, f"{stage}_{kind}")
        started = time.monotonic()
        emulator.stop()
        assert time.monotonic() - started < 2
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            held.result(timeout=10)
    assert emulator.faults.holding() == 0


# ---------------------------------------------------------------------------- admin


def test_admin_endpoints(api, emulator):
    admin = emulator.admin_url
    assert httpx.post(f"{admin}/faults", json={"read_5xx": 1.0}).json()["read_5xx"] == 1.0
    assert api.get("/tasks/x").status_code in (500, 503)
    assert httpx.post(f"{admin}/faults", json={"nonsense": 1}).status_code == 400
    assert httpx.get(f"{admin}/faults").json()["read_5xx"] == 1.0
    httpx.post(f"{admin}/faults", json={"read_5xx": 0.0})
    httpx.post(f"{admin}/faults/inject", json={"stage": "task", "kind": "internal_error"})
    failed(api, create(api, background_body(prompt="fails")))
    succeeded(api, create(api, background_body(prompt="bills")))
    bill = httpx.get(f"{admin}/bill").json()
    assert len(bill["lines"]) == 1
    assert bill["totals"]["wanx-background-generation-v2"]["quantity"] == 1
    counters = httpx.get(f"{admin}/counters").json()
    assert counters["creates"] == 2 and counters["fetches"] >= 2
    assert counters["faults_injected"] == {"read_5xx": 1, "task_internal_error": 1}
    assert httpx.post(f"{admin}/reset").status_code == 200
    assert httpx.get(f"{admin}/bill").json()["lines"] == []
    assert httpx.get(f"{admin}/counters").json()["creates"] == 0
    assert api.get("/tasks").json()["total"] == 0


# ---------------------------------------------------------------------------- secrecy and CLI


@pytest.mark.emulator(api_key=KEY)
def test_the_key_never_appears_in_emulator_output(api, emulator, caplog):
    caplog.set_level(logging.DEBUG)
    seen = []
    task_id = create(api, background_body())
    seen.append(succeeded(api, task_id))
    seen.append(api.get("/tasks").json())
    seen.append(httpx.get(f"{emulator.base_url}/tasks/x",
                          headers={"Authorization": f"Bearer {KEY}x"}).json())
    emulator.faults.inject("create", "5xx_after")
    seen.append(api.post(BACKGROUND, json=background_body(), headers=ASYNC).json())
    seen.append(httpx.get(f"{emulator.admin_url}/bill").json())
    seen.append(httpx.get(f"{emulator.admin_url}/counters").json())
    files = [p.read_bytes() for p in emulator.blobs.root.rglob("*") if p.is_file()]
    assert caplog.records  # access logs were captured
    assert KEY not in caplog.text and KEY not in repr(seen)
    assert all(KEY.encode() not in data for data in files)


def test_cli_serves_until_terminated(tmp_path):
    env = {**os.environ, "DASHSCOPE_EMULATOR_API_KEY": KEY}
    cmd = [sys.executable, "-m", "wan_dagster.emulator", "--port", "0", "--time-scale", "0.01",
           "--fault-read-5xx", "0", "--log-level", "DEBUG"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        line = proc.stdout.readline()
        base_url = re.search(r"http://\S+/api/v1", line).group(0)
        response = httpx.get(f"{base_url}/tasks/abc", headers={"Authorization": f"Bearer {KEY}"})
        assert response.json()["output"]["task_status"] == "UNKNOWN"
        assert httpx.get(f"{base_url}/tasks/abc",
                         headers={"Authorization": "Bearer wrong"}).status_code == 401
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=15)
    assert proc.returncode == 0, err
    assert KEY not in line + out + err
    assert "GET /api/v1/tasks/abc" in err  # access logs are on at DEBUG, without the key
