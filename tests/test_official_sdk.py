"""The official ``dashscope`` SDK 1.x, pointed at the emulator, completes real tasks end to end
for every family it wraps: proof that the emulator speaks DashScope's wire protocol (including
the SDK's own habits, such as ``"prompt": null``), not just our client's dialect."""

import httpx
import pytest
from PIL import Image

dashscope = pytest.importorskip("dashscope")

from wan_dagster.dashscope.mediainfo import probe_image, probe_video  # noqa: E402


@pytest.fixture
def sdk(emulator, monkeypatch):
    monkeypatch.setattr(dashscope, "base_http_api_url", emulator.base_url)
    return dashscope


def _frame(path, size=(640, 480), colour=(180, 90, 30)):
    Image.new("RGB", size, colour).save(path, "PNG")
    return f"file://{path}"


def _succeeded(rsp):
    assert rsp.status_code == 200, rsp
    assert rsp.output.task_status == "SUCCEEDED", rsp
    return rsp


def _video(rsp):
    return probe_video(httpx.get(_succeeded(rsp).output.video_url).content)


def test_sdk_image_to_video_with_a_prompt(sdk, tmp_path):
    rsp = sdk.VideoSynthesis.call(api_key="sk-sdk", model="wan2.2-i2v-flash",
                                  prompt="the product turns slowly",
                                  img_url=_frame(tmp_path / "frame.png"), resolution="480P")
    info = _video(rsp)
    # seed 000 L4678 + 480P size table L7464-7470: a 4:3 frame keeps its aspect, sides /16
    assert (info.codec, info.fps, round(info.duration_s)) == ("h264", 30, 5)
    assert (info.width, info.height) == (720, 544)
    assert rsp.usage.video_count == 1


def test_sdk_image_to_video_without_a_prompt_sends_null_and_succeeds(sdk, tmp_path):
    # SDK 1.x writes "prompt": null into input when no prompt is given (seed 000 L4553)
    rsp = sdk.VideoSynthesis.call(api_key="sk-sdk", model="wanx2.1-i2v-turbo",
                                  img_url=_frame(tmp_path / "frame.png", (1280, 720)),
                                  resolution="480P", duration=3)
    info = _video(rsp)
    assert (info.width, info.height, round(info.duration_s)) == (832, 480, 3)


def test_sdk_effect_template_as_in_the_seed_sample(sdk, tmp_path):
    # seed 000 L4545-4556: async_call with template="flying" and no prompt, then wait
    rsp = sdk.VideoSynthesis.async_call(api_key="sk-sdk", model="wanx2.1-i2v-turbo",
                                        img_url=_frame(tmp_path / "f.png", (720, 720)),
                                        template="flying", resolution="480P", duration=3,
                                        watermark=True)
    assert rsp.status_code == 200, rsp
    done = sdk.VideoSynthesis.wait(rsp, api_key="sk-sdk")
    assert (_video(done).width, _video(done).height) == (624, 624)


def test_sdk_keyframe_to_video(sdk, tmp_path):
    rsp = sdk.VideoSynthesis.call(api_key="sk-sdk", model="wan2.2-kf2v-flash",
                                  prompt="the bag opens",
                                  first_frame_url=_frame(tmp_path / "a.png", (1280, 720)),
                                  last_frame_url=_frame(tmp_path / "b.png", (1280, 720),
                                                        (20, 60, 200)),
                                  resolution="480P")
    info = _video(rsp)
    assert (info.width, info.height, round(info.duration_s)) == (832, 480, 5)
    assert rsp.usage.video_duration == 5


def test_sdk_image_edit(sdk, tmp_path):
    rsp = sdk.ImageSynthesis.call(api_key="sk-sdk", model="wanx2.1-imageedit",
                                  function="stylization_all", prompt="convert to watercolour",
                                  base_image_url=_frame(tmp_path / "base.png", (512, 512)), n=1)
    _succeeded(rsp)
    assert probe_image(httpx.get(rsp.output.results[0].url).content).width == 512
    assert rsp.usage.image_count == 1


def test_sdk_wanx_text_to_image(sdk):
    rsp = sdk.ImageSynthesis.call(api_key="sk-sdk", model="wanx2.0-t2i-turbo",
                                  prompt="a leather handbag on marble", n=2, size="768*512")
    _succeeded(rsp)
    sizes = {probe_image(httpx.get(r.url).content).width for r in rsp.output.results}
    assert sizes == {768} and rsp.usage.image_count == 2


@pytest.mark.emulator(time_scale=1.0)  # video dispatch takes 2-8 s: the task is still pending
def test_sdk_cancel_then_list(sdk, tmp_path):
    rsp = sdk.VideoSynthesis.async_call(api_key="sk-sdk", model="wan2.2-i2v-flash",
                                        prompt="turns", img_url=_frame(tmp_path / "f.png"),
                                        resolution="480P")
    assert rsp.status_code == 200, rsp
    cancelled = sdk.VideoSynthesis.cancel(rsp, api_key="sk-sdk")
    assert cancelled.status_code == 200, cancelled
    assert sdk.VideoSynthesis.fetch(rsp, api_key="sk-sdk").output.task_status == "CANCELED"
    listed = sdk.VideoSynthesis.list(api_key="sk-sdk", model_name="wan2.2-i2v-flash",
                                     status="CANCELED")
    assert listed.status_code == 200, listed
    assert [row["task_id"] for row in listed.output["data"]] == [rsp.output.task_id]


def test_sdk_text_to_video(sdk):
    rsp = sdk.VideoSynthesis.call(api_key="sk-sdk", model="wan2.2-t2v-plus",
                                  prompt="a leather bag on a turntable", size="832*480")
    info = _video(rsp)
    assert (info.width, info.height, round(info.duration_s)) == (832, 480, 5)


def test_sdk_reference_to_video_uploads_a_local_video_reference(sdk, tmp_path):
    from seed_media import video
    clip = tmp_path / "dancer.mp4"
    clip.write_bytes(video(2.0))
    rsp = sdk.VideoSynthesis.call(api_key="sk-sdk", model="wan2.6-r2v-flash",
                                  prompt="character1 dances", reference_urls=[f"file://{clip}"],
                                  size="1280*720", duration=2, audio=False)
    info = _video(rsp)
    assert (info.width, info.height) == (1280, 720)
    # seed 000 L7251: one reference video bills min(its length, 5 s) as input seconds
    assert rsp.usage.input_video_duration == 2
