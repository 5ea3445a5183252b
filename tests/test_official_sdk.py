"""The official ``dashscope`` SDK, pointed at the emulator, completes real tasks end to end:
proof that the emulator speaks DashScope's wire protocol, not just our client's dialect."""

import httpx
import pytest
from PIL import Image

dashscope = pytest.importorskip("dashscope")

from wan_dagster.dashscope.mediainfo import probe_image, probe_video  # noqa: E402


@pytest.fixture
def sdk(emulator, monkeypatch):
    monkeypatch.setattr(dashscope, "base_http_api_url", emulator.base_url)
    return dashscope


def _frame(path, size=(640, 480)):
    Image.new("RGB", size, (180, 90, 30)).save(path, "PNG")
    return path


def test_sdk_image_to_video(sdk, emulator, tmp_path):
    frame = _frame(tmp_path / "frame.png")
    rsp = sdk.VideoSynthesis.call(api_key="sk-sdk", model="wan2.2-i2v-flash",
                                  prompt="the product turns slowly", img_url=f"file://{frame}",
                                  resolution="480P")
    assert rsp.status_code == 200, rsp
    assert rsp.output.task_status == "SUCCEEDED", rsp
    video = tmp_path / "out.mp4"
    video.write_bytes(httpx.get(rsp.output.video_url).content)
    info = probe_video(video)
    assert (info.codec, info.fps, round(info.duration_s)) == ("h264", 30, 5)
    assert rsp.usage.video_count == 1


def test_sdk_image_synthesis(sdk, emulator, tmp_path):
    base = _frame(tmp_path / "base.png", (512, 512))
    rsp = sdk.ImageSynthesis.call(api_key="sk-sdk", model="wanx2.1-imageedit",
                                  function="stylization_all", prompt="convert to watercolour",
                                  base_image_url=f"file://{base}", n=1)
    assert rsp.status_code == 200, rsp
    assert rsp.output.task_status == "SUCCEEDED", rsp
    image = tmp_path / "out.png"
    image.write_bytes(httpx.get(rsp.output.results[0].url).content)
    assert probe_image(image).width > 0
    assert rsp.usage.image_count == 1
