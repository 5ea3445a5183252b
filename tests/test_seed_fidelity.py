"""Each difference between the seeds and our code that issue 12 lists, checked rule by rule
against the seed line it comes from: in the client's validation (nothing is paid) and in the
emulator over real HTTP with real media (what the service does)."""

from __future__ import annotations

import httpx
import pytest

from seed_media import audio, video
from test_emulator import (KEY, api, cutout_png, create, failed, media_server,  # noqa: F401
                           photo_jpeg, succeeded)
from wan_dagster.dashscope import DashScopeClient, ValidationError
from wan_dagster.dashscope.mediainfo import probe_video
from wan_dagster.dashscope.registry import REGISTRY, count_words
from wan_dagster.dashscope.requests import background_generation, generic, image_to_video

I2V = "/services/aigc/video-generation/video-synthesis"
IMAGE2VIDEO = "/services/aigc/image2video/video-synthesis"


def problems_of(build) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        build()
    return caught.value.problems


def video_of(answer: dict) -> bytes:
    output = answer["output"]
    url = output.get("video_url") or output.get("output_video_url") or \
        output["results"]["video_url"]
    return httpx.get(url).content


# ---------------------------------------------------------------------------- prompts


def test_background_prompt_is_150_words_not_150_characters():
    # seed 000 L1524: "英文最多支持150个单词"
    thirty_words = ("a polished walnut table in warm morning light with soft shadows, a linen "
                    "backdrop, eucalyptus sprigs, a ceramic vase and gentle reflections on the "
                    "wood grain beside a bright window")
    assert len(thirty_words) > 150 and count_words(thirty_words) == 30
    background_generation(cutout_png(), ref_prompt=thirty_words)
    too_long = " ".join(["word"] * 151)
    assert problems_of(lambda: background_generation(cutout_png(), ref_prompt=too_long)) == [
        "input.ref_prompt: must be at most 150 words (a Chinese character counts as one), got "
        "151 (model wanx-background-generation-v2)"]


def test_poster_prompts_share_one_50_word_budget():
    # seed 000 L2429: "两者加起来最多50个字/单词" (Chinese characters and English words together)
    base = {"title": "春节快乐", "generate_mode": "generate"}
    generic("wanx-poster-generation-v1", {**base, "prompt_text_zh": "灯笼" * 10,
                                          "prompt_text_en": " ".join(["lantern"] * 30)})
    problems = problems_of(lambda: generic("wanx-poster-generation-v1", {
        **base, "prompt_text_zh": "灯笼" * 10, "prompt_text_en": " ".join(["lantern"] * 31)}))
    assert problems == ["input.prompt_text_zh + input.prompt_text_en: at most 50 words together "
                        "(a Chinese character counts as one), got 51 "
                        "(model wanx-poster-generation-v1)"]


def test_a_null_prompt_is_an_unsent_prompt(api):
    # seed 000 L4545-4553: the SDK's effect-template sample sends no prompt; SDK 1.x writes
    # "prompt": null into input, which the service accepts
    body = {"model": "wanx2.1-i2v-turbo",
            "input": {"prompt": None, "img_url": _data_uri(photo_jpeg()), "template": "flying"},
            "parameters": {"resolution": "480P", "duration": 3}}
    succeeded(api, create(api, body, I2V))
    body = {"model": "wan2.6-t2v", "input": {"prompt": None}, "parameters": {}}
    answer = api.post(I2V, json=body, headers={"X-DashScope-Async": "enable"})
    assert answer.status_code == 400 and "input.prompt: required" in answer.json()["message"]


def _data_uri(data: bytes) -> str:
    import base64
    return "data:image/jpeg;base64," + base64.b64encode(data).decode()


# ---------------------------------------------------------------------------- audio and video


@pytest.fixture
def client(emulator):
    with DashScopeClient(api_key=KEY, base_url=emulator.base_url) as c:
        yield c


def test_a_one_second_audio_fails_in_the_client_and_in_the_emulator(api, client, media_server,
                                                                     tmp_path):
    # seed 000 L4971-4977: wav or mp3, 3-30 s, at most 15 MB
    short = tmp_path / "short.mp3"
    short.write_bytes(audio(1.0))
    with pytest.raises(ValidationError, match=r"input.audio_url \(short.mp3\): 1.00 s long; "
                                              r"needs 3 s <= length <= 30 s"):
        client.upload_file("wan2.6-i2v-flash", short, field="audio_url")
    host, routes = media_server
    routes["/short.mp3"] = (200, audio(1.0), 0.0)
    routes["/text.mp3"] = (200, b"ID3 but really a text file\n" * 40, 0.0)
    body = {"model": "wan2.6-i2v-flash",
            "input": {"img_url": _data_uri(photo_jpeg()), "prompt": "turns",
                      "audio_url": f"{host}/short.mp3"},
            "parameters": {"resolution": "720P", "duration": 2}}
    assert failed(api, create(api, body, I2V))["code"] == "InvalidFile.Duration"
    body["input"]["audio_url"] = f"{host}/text.mp3"
    assert failed(api, create(api, body, I2V))["code"] == "InvalidFile.Openerror"


def test_a_text_file_named_mp3_is_refused_before_upload(client, tmp_path):
    fake = tmp_path / "song.mp3"
    fake.write_text("not audio at all\n" * 50)
    with pytest.raises(ValidationError, match="not readable audio"):
        client.upload_file("wan2.2-s2v", fake, field="audio_url")


def test_a_local_driving_video_is_checked_before_the_upload_hint():
    # seed 000 L8049: animate driving videos last 2-30 s
    problems = problems_of(lambda: generic("wan2.2-animate-move", {}, {"mode": "wan-std"},
                                           image_url="https://example.com/p.png",
                                           video_url=video(1.0)))
    assert problems[0] == "input.video_url: 1.00 s long; needs 2 s <= length <= 30 s"
    assert "client.upload_file('wan2.2-animate-move', path, field='video_url')" in problems[1]


def test_short_driving_video_and_small_retalk_video_fail_the_task(api, media_server):
    host, routes = media_server
    routes["/person.jpg"] = (200, photo_jpeg((512, 512)), 0.0)
    routes["/one-second.mp4"] = (200, video(1.0), 0.0)
    routes["/small.mp4"] = (200, video(3.0, (640, 360), fps=25), 0.0)
    routes["/voice.mp3"] = (200, audio(3.0), 0.0)
    animate = {"model": "wan2.2-animate-move",
               "input": {"image_url": f"{host}/person.jpg", "video_url": f"{host}/one-second.mp4"},
               "parameters": {"mode": "wan-std"}}
    assert failed(api, create(api, animate, IMAGE2VIDEO))["code"] == "InvalidFile.Duration"
    # seed 000 L11473: VideoRetalk sides 640-2048 px
    retalk = {"model": "videoretalk",
              "input": {"video_url": f"{host}/small.mp4", "audio_url": f"{host}/voice.mp3"}}
    output = failed(api, create(api, retalk, IMAGE2VIDEO))
    assert output["code"] == "InvalidFile.Resolution" and "640x360" in output["message"]


# ---------------------------------------------------------------------------- wan video


def test_wan25_takes_audio_false_and_makes_a_silent_video(api):
    # seed 002 L493-494: no audio_url and audio false gives a silent video
    image_to_video(photo_jpeg(), prompt="turns", model="wan2.5-i2v-preview", audio=False,
                   resolution="480P")
    body = {"model": "wan2.5-i2v-preview",
            "input": {"img_url": _data_uri(photo_jpeg((1280, 720))), "prompt": "turns"},
            "parameters": {"resolution": "480P", "audio": False}}
    info = probe_video(video_of(succeeded(api, create(api, body, I2V))))
    assert not info.has_audio


@pytest.mark.parametrize("model,field,path", [
    ("wan2.2-i2v-flash", "img_url", I2V),
    ("wan2.2-kf2v-flash", "first_frame_url", IMAGE2VIDEO)])
@pytest.mark.parametrize("size,expected", [((1280, 720), (832, 480)), ((720, 1280), (480, 832)),
                                           ((700, 700), (624, 624))])
def test_480p_output_has_the_listed_sizes(api, model, field, path, size, expected):
    # seed 000 L4678 (aspect kept, sides /16) and the 480P size table L7464-7470
    body = {"model": model, "input": {field: _data_uri(photo_jpeg(size)), "prompt": "turns"},
            "parameters": {"resolution": "480P"}}
    answer = succeeded(api, create(api, body, path))
    info = probe_video(video_of(answer))
    assert (info.width, info.height) == expected


def test_reference_videos_are_videos_and_their_seconds_are_billed(api, media_server):
    # seed 000 L6903-6906 (MP4 references) and L7260: 1 video + 1 image bills min(video, 2.5 s)
    host, routes = media_server
    routes["/dancer.mp4"] = (200, video(3.0), 0.0)
    routes["/clock.jpg"] = (200, photo_jpeg((512, 512)), 0.0)
    body = {"model": "wan2.6-r2v-flash",
            "input": {"prompt": "character1 dances beside character2",
                      "reference_urls": [f"{host}/dancer.mp4", f"{host}/clock.jpg"]},
            "parameters": {"size": "1280*720", "duration": 2, "audio": False}}
    usage = succeeded(api, create(api, body, I2V))["usage"]
    assert usage["input_video_duration"] == 2.5 and usage["output_video_duration"] == 2
    assert usage["duration"] == 4.5


# ---------------------------------------------------------------------------- digital humans


def test_animate_is_720p_at_the_mode_frame_rate_for_the_video_length(api, media_server):
    # seed 000 L3640-3660: 720P; wan-std 15 fps, wan-pro 25 fps; length follows the video
    host, routes = media_server
    routes["/person.jpg"] = (200, photo_jpeg((512, 512)), 0.0)
    routes["/dance.mp4"] = (200, video(2.5, (360, 640)), 0.0)
    body = {"model": "wan2.2-animate-mix",
            "input": {"image_url": f"{host}/person.jpg", "video_url": f"{host}/dance.mp4"},
            "parameters": {"mode": "wan-pro"}}
    answer = succeeded(api, create(api, body, IMAGE2VIDEO))
    info = probe_video(video_of(answer))
    assert (info.width, info.height, info.fps, round(info.duration_s, 1)) == (720, 1280, 25, 2.5)
    assert answer["usage"] == {"video_duration": 2.5, "video_ratio": "pro"}


def test_s2v_is_16_fps_at_480p_for_the_audio_length(api, media_server):
    # seed 000 L3605-3611: 480P 16 fps, length follows the audio
    host, routes = media_server
    routes["/person.jpg"] = (200, photo_jpeg((512, 512)), 0.0)
    routes["/voice.wav"] = (200, audio(3.0, "wav"), 0.0)
    body = {"model": "wan2.2-s2v",
            "input": {"image_url": f"{host}/person.jpg", "audio_url": f"{host}/voice.wav"},
            "parameters": {"resolution": "480P"}}
    answer = succeeded(api, create(api, body, IMAGE2VIDEO))
    info = probe_video(video_of(answer))
    assert (info.width, info.height, info.fps, round(info.duration_s)) == (624, 624, 16, 3)
    assert answer["usage"]["duration"] == 3.0


@pytest.mark.parametrize("ext_bbox,size", [([100, 100, 400, 400], (512, 512)),
                                           ([100, 100, 400, 500], (512, 704))])
def test_emo_is_512_wide_at_15_fps_for_the_audio_length(api, media_server, ext_bbox, size):
    # seed 000 L10662: 1:1 ext_bbox gives 512x512, 3:4 gives 512x704; L3780: 15 fps
    host, routes = media_server
    routes["/portrait.jpg"] = (200, photo_jpeg((600, 800)), 0.0)
    routes["/song.mp3"] = (200, audio(2.0), 0.0)
    body = {"model": "emo-v1",
            "input": {"image_url": f"{host}/portrait.jpg", "audio_url": f"{host}/song.mp3",
                      "face_bbox": [150, 150, 350, 350], "ext_bbox": ext_bbox}}
    answer = succeeded(api, create(api, body, IMAGE2VIDEO))
    info = probe_video(video_of(answer))
    assert ((info.width, info.height), info.fps, round(info.duration_s)) == (size, 15, 2)


def test_emoji_is_square(api, media_server):
    # seed 000 L12307: "固定为standard，表示生成1:1画幅的视频"
    host, routes = media_server
    routes["/portrait.jpg"] = (200, photo_jpeg((600, 800)), 0.0)
    body = {"model": "emoji-v1",
            "input": {"image_url": f"{host}/portrait.jpg", "face_bbox": [150, 150, 350, 350],
                      "ext_bbox": [100, 100, 500, 500], "driven_id": "mengwa_kaixin"}}
    info = probe_video(video_of(succeeded(api, create(api, body, IMAGE2VIDEO))))
    assert info.width == info.height


def test_style_transform_output_short_side_is_min_len(api, media_server):
    # seed 000 L12497: min_len is the output's short side; L12644 bills duration at SR
    host, routes = media_server
    routes["/clip.mp4"] = (200, video(2.0, (480, 270)), 0.0)
    body = {"model": "video-style-transform", "input": {"video_url": f"{host}/clip.mp4"},
            "parameters": {"style": 1, "min_len": 540, "video_fps": 15}}
    answer = succeeded(api, create(api, body, I2V))
    info = probe_video(video_of(answer))
    assert (info.width, info.height, info.fps) == (960, 540, 15)
    assert answer["usage"] == {"duration": 2.0, "SR": 540}


def test_animate_anyone_refuses_the_placeholder_and_follows_video_ratio(api, media_server):
    # seed 000 L10095: "AACT.xxx.xxx-xxx.xxx" is a placeholder; L10108-10118: video_ratio
    host, routes = media_server
    routes["/dancer.jpg"] = (200, photo_jpeg((600, 800)), 0.0)
    routes["/dance.mp4"] = (200, video(2.5, (360, 640), fps=24), 0.0)
    body = {"model": "animate-anyone-gen2",
            "input": {"image_url": f"{host}/dancer.jpg", "template_id": "AACT.xxx.xxx-xxx.xxx"},
            "parameters": {"use_ref_img_bg": True, "video_ratio": "3:4"}}
    assert failed(api, create(api, body, IMAGE2VIDEO))["code"] == "InvalidParameter"
    template = {"model": "animate-anyone-template-gen2",
                "input": {"video_url": f"{host}/dance.mp4"}}
    made = succeeded(api, create(api, template, "/services/aigc/image2video/aa-template-generation/"))
    body["input"]["template_id"] = made["output"]["template_id"]
    info = probe_video(video_of(succeeded(api, create(api, body, IMAGE2VIDEO))))
    assert (info.width, info.height, info.fps, round(info.duration_s, 1)) == (720, 960, 15, 2.5)
    body["parameters"]["use_ref_img_bg"] = False  # the template video's frame instead
    info = probe_video(video_of(succeeded(api, create(api, body, IMAGE2VIDEO))))
    assert (info.width, info.height) == (720, 1280)


def test_every_follow_model_names_its_seed_rule():
    followers = {s.name for s in REGISTRY if s.follow is not None}
    assert followers == {"wan2.2-animate-move", "wan2.2-animate-mix", "wan2.2-s2v",
                         "animate-anyone-gen2", "emo-v1", "liveportrait", "videoretalk",
                         "emoji-v1", "video-style-transform"}


def test_liveportrait_follows_the_audio_at_video_fps(api, media_server):
    # seed 000 L11233: video_fps 15-30 sets the output frame rate; the length is the audio's
    host, routes = media_server
    routes["/face.jpg"] = (200, photo_jpeg((512, 512)), 0.0)
    routes["/talk.mp3"] = (200, audio(2.0), 0.0)
    body = {"model": "liveportrait",
            "input": {"image_url": f"{host}/face.jpg", "audio_url": f"{host}/talk.mp3"},
            "parameters": {"video_fps": 20}}
    answer = succeeded(api, create(api, body, IMAGE2VIDEO))
    info = probe_video(video_of(answer))
    assert (info.fps, round(info.duration_s)) == (20, 2)
    assert answer["usage"]["video_duration"] == 2.0


@pytest.mark.parametrize("extension,seconds", [(False, 3.0), (True, 4.0)])
def test_videoretalk_is_as_long_as_the_shorter_input_unless_extended(api, media_server,
                                                                      extension, seconds):
    # seed 000 L11618-11623: by default the shorter of video and audio; video_extension
    # extends the video to the audio's length
    host, routes = media_server
    routes["/talk.mp4"] = (200, video(3.0, (640, 640), fps=25), 0.0)
    routes["/voice.mp3"] = (200, audio(4.0), 0.0)
    body = {"model": "videoretalk",
            "input": {"video_url": f"{host}/talk.mp4", "audio_url": f"{host}/voice.mp3"},
            "parameters": {"video_extension": extension}}
    answer = succeeded(api, create(api, body, IMAGE2VIDEO))
    assert answer["usage"]["video_duration"] == seconds


# ---------------------------------------------------------------------------- images


def _image_results(answer: dict) -> list:
    from wan_dagster.dashscope.mediainfo import probe_image
    return [probe_image(httpx.get(r["url"]).content) for r in answer["output"]["results"]]


@pytest.mark.parametrize("function,parameters,size", [
    ("expand", {"top_scale": 1.5, "bottom_scale": 1.5, "left_scale": 1.5, "right_scale": 1.5},
     (960, 768)),  # seed 000 L993: all 1.5 gives 1.5 times the original size
    ("expand", {"left_scale": 2.0}, (960, 512)),
    ("super_resolution", {"upscale_factor": 2}, (1280, 1024)),  # L1032
    ("stylization_all", {}, (640, 512))])
def test_image_edit_output_size_follows_the_function(api, function, parameters, size):
    body = {"model": "wanx2.1-imageedit",
            "input": {"function": function, "prompt": "a family on a lawn",
                      "base_image_url": _data_uri(photo_jpeg((640, 512)))},
            "parameters": {"n": 1, **parameters}}
    (image,) = _image_results(succeeded(api, create(api, body, "/services/aigc/image2image/"
                                                               "image-synthesis")))
    assert (image.width, image.height) == size


def test_segmentation_returns_the_mask_and_the_visualisation(api):
    # seed 000 L2721-2723: result 1 a pixel mask, result 2 a visualisation
    body = {"model": "image-instance-segmentation",
            "input": {"image_url": _data_uri(photo_jpeg((768, 1024)))}}
    mask, overlay = _image_results(succeeded(api, create(
        api, body, "/services/aigc/image2image/image-synthesis")))
    assert (mask.mode, overlay.mode) == ("L", "RGB")
    assert (mask.width, mask.height) == (overlay.width, overlay.height) == (768, 1024)


@pytest.mark.parametrize("orientation,portrait", [("竖版", True), ("横版", False)])
def test_posters_follow_portrait_or_landscape(api, orientation, portrait):
    # seed 000 L2402: "支持横版和竖版海报"
    body = {"model": "wanx-poster-generation-v1",
            "input": {"title": "春节快乐", "prompt_text_zh": "灯笼", "wh_ratios": orientation,
                      "generate_mode": "generate", "generate_num": 1}}
    (image,) = _image_results(succeeded(api, create(
        api, body, "/services/aigc/text2image/image-synthesis")))
    assert (image.height > image.width) is portrait


@pytest.mark.parametrize("model,parameters,returned", [
    ("wan2.2-kf2v-flash", {}, True),  # prompt_extend defaults to true (L5982)
    ("wan2.2-kf2v-flash", {"prompt_extend": False}, False),
    ("wan2.2-i2v-flash", {}, True)])
def test_actual_prompt_comes_back_when_the_prompt_was_rewritten(api, model, parameters, returned):
    # seed 000 L5265-5268: returned when prompt_extend is true, never by wan2.6
    field, path = (("first_frame_url", IMAGE2VIDEO) if "kf2v" in model else ("img_url", I2V))
    body = {"model": model, "input": {field: _data_uri(photo_jpeg((832, 480))), "prompt": "turns"},
            "parameters": {"resolution": "480P", **parameters}}
    output = succeeded(api, create(api, body, path))["output"]
    assert ("actual_prompt" in output) is returned
    assert not returned or output["actual_prompt"].startswith("turns ")


def test_wan26_never_returns_actual_prompt():
    assert not REGISTRY.get("wan2.6-i2v-flash").actual_prompt
    assert REGISTRY.get("wan2.5-i2v-preview").actual_prompt
