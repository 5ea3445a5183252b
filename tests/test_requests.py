"""Request builders: registry rules, media preparation and the body/fingerprint contract, all
through the public builders (nothing here touches the network)."""

from __future__ import annotations

import base64
import hashlib
import io
import random
from pathlib import Path
from typing import Any, Callable

import pytest
from PIL import Image

from wan_dagster.dashscope.errors import ValidationError
from wan_dagster.dashscope.inputs import validation_only
from wan_dagster.dashscope.requests import (TaskRequest, background_generation, generic,
                                            image_edit, image_to_video, keyframe_to_video,
                                            out_painting, reference_to_video, shoe_model,
                                            text_to_video, virtual_model)

MakeImage = Callable[..., Path]


@pytest.fixture
def make_image(tmp_path: Path) -> MakeImage:
    """Write a small test image; RGBA ones get a transparent border around an opaque product."""
    counter = iter(range(1_000_000))

    def make(size: tuple[int, int] = (480, 400), mode: str = "RGB", fmt: str = "JPEG") -> Path:
        if mode == "RGBA":
            img = Image.new("RGBA", size, (0, 0, 0, 0))
            img.paste((200, 30, 30, 255), (size[0] // 4, size[1] // 4, size[0] // 2, size[1] // 2))
        else:
            img = Image.new(mode, size, (90, 140, 200))
        path = tmp_path / f"img{next(counter)}.{fmt.lower()}"
        img.save(path, format=fmt)
        return path

    return make


@pytest.fixture
def frame(make_image: MakeImage) -> Path:
    """A valid i2v first frame: RGB JPEG within 360-2000 px."""
    return make_image()


@pytest.fixture
def cutout(make_image: MakeImage) -> Path:
    """A valid background-generation base: RGBA PNG with transparent pixels."""
    return make_image(mode="RGBA", fmt="PNG")


def problems_of(build: Callable[[], Any]) -> list[str]:
    with pytest.raises(ValidationError) as info:
        build()
    return info.value.problems


def data_uri_bytes(uri: str) -> tuple[str, bytes]:
    header, payload = uri.split(",", 1)
    assert header.startswith("data:") and header.endswith(";base64")
    return header[5:-7], base64.b64decode(payload)


def walk_values(value: Any):
    yield value
    if isinstance(value, dict):
        for item in value.values():
            yield from walk_values(item)
    elif isinstance(value, list):
        for item in value:
            yield from walk_values(item)


# --------------------------------------------------------------------------- video rules


def test_resolution_outside_model_tiers_is_refused(frame: Path) -> None:
    problems = problems_of(lambda: image_to_video(frame, model="wan2.2-i2v-plus", resolution="720P"))
    assert len(problems) == 1
    assert problems[0].startswith("parameters.resolution:")
    assert "'480P', '1080P'" in problems[0]


def test_audio_is_refused_on_a_silent_model(frame: Path) -> None:
    problems = problems_of(lambda: image_to_video(frame, model="wan2.2-i2v-flash", audio=True))
    assert problems == ["parameters.audio: not supported by model wan2.2-i2v-flash"]


def test_audio_url_is_refused_on_a_silent_model(frame: Path) -> None:
    problems = problems_of(lambda: image_to_video(frame, model="wan2.2-i2v-flash",
                                                  audio_url="https://example.com/a.mp3"))
    assert problems == ["input.audio_url: not supported by model wan2.2-i2v-flash"]


@pytest.mark.parametrize(("model", "duration", "ok"), [
    ("wan2.2-i2v-flash", 5, True),
    ("wan2.2-i2v-flash", 10, False),
    ("wan2.6-i2v-flash", 15, True),
    ("wan2.6-i2v-flash", 16, False),
])
def test_duration_per_model(frame: Path, model: str, duration: int, ok: bool) -> None:
    build = lambda: image_to_video(frame, model=model, duration=duration)  # noqa: E731
    if ok:
        assert build().body["parameters"]["duration"] == duration
    else:
        assert problems_of(build)[0].startswith("parameters.duration: must be one of")


@pytest.mark.parametrize(("model", "length", "ok"), [
    ("wan2.2-i2v-flash", 800, True),
    ("wan2.2-i2v-flash", 801, False),
    ("wan2.6-i2v-flash", 1500, True),
])
def test_prompt_length_per_model(frame: Path, model: str, length: int, ok: bool) -> None:
    build = lambda: image_to_video(frame, model=model, prompt="x" * length)  # noqa: E731
    if ok:
        assert build().prompt == "x" * length
    else:
        assert problems_of(build) == [f"input.prompt: must be at most 800 characters, got 801 "
                                      f"(model {model})"]


def test_multi_shot_needs_prompt_extend(frame: Path) -> None:
    problems = problems_of(lambda: image_to_video(frame, model="wan2.6-i2v", shot_type="multi",
                                                  prompt_extend=False))
    assert problems[0].startswith("parameters.shot_type: 'multi' takes effect only with")
    assert image_to_video(frame, model="wan2.6-i2v", shot_type="multi").body["parameters"] == {
        "shot_type": "multi"}
    assert problems_of(lambda: text_to_video("a cat", model="wan2.6-t2v", shot_type="multi",
                                             prompt_extend=False))


def test_silent_flag_with_audio_url_is_refused(frame: Path) -> None:
    problems = problems_of(lambda: image_to_video(frame, model="wan2.6-i2v-flash", audio=False,
                                                  audio_url="https://example.com/a.mp3"))
    assert problems[0].startswith("input.audio_url: ignored because parameters.audio is false")


def test_templates_per_model(frame: Path) -> None:
    request = image_to_video(frame, model="wanx2.1-i2v-turbo", template="flying")
    assert request.body["input"]["template"] == "flying"
    problems = problems_of(lambda: image_to_video(frame, model="wanx2.1-i2v-turbo", template="melt"))
    assert len(problems) == 1 and problems[0].startswith("input.template: must be one of")
    assert image_to_video(frame, model="wanx2.1-i2v-plus", template="melt")
    assert problems_of(lambda: image_to_video(frame, model="wan2.6-i2v", template="flying")) == [
        "input.template: not supported by model wan2.6-i2v"]


def test_template_with_prompt_is_sent_as_given(frame: Path) -> None:
    request = image_to_video(frame, model="wanx2.1-i2v-plus", template="rose", prompt="ignored")
    assert request.body["input"]["prompt"] == "ignored"


def test_keyframe_and_text_and_reference_builders(frame: Path, make_image: MakeImage) -> None:
    kf = keyframe_to_video(frame, make_image(), model="wan2.2-kf2v-flash", resolution="480P")
    assert set(kf.body["input"]) == {"first_frame_url", "last_frame_url"}
    t2v = text_to_video("a cat", model="wan2.6-t2v", size="1280*720", duration=15,
                        audio_url="oss://dashscope-instant/a.mp3")
    assert t2v.needs_oss_resolve
    assert problems_of(lambda: text_to_video("a cat", model="wan2.2-t2v-plus", size="1280*720"))
    r2v = reference_to_video("character1 waves", ["https://example.com/p.png"],
                             model="wan2.6-r2v-flash", audio=False)
    assert r2v.body["input"]["reference_urls"] == ["https://example.com/p.png"]
    assert not r2v.needs_oss_resolve


def test_url_only_field_asks_for_an_upload(frame: Path) -> None:
    problems = problems_of(lambda: reference_to_video("character1 waves", [frame],
                                                      model="wan2.6-r2v"))
    assert len(problems) == 1
    assert problems[0].startswith("input.reference_urls[0]: model wan2.6-r2v takes only")
    assert str(frame) in problems[0] and "client.upload_file('wan2.6-r2v', path, field='reference_urls')" in problems[0]


# --------------------------------------------------------------------------- image rules


def test_background_base_must_be_rgba(make_image: MakeImage, cutout: Path) -> None:
    problems = problems_of(lambda: background_generation(make_image(), ref_prompt="a beach"))
    assert problems == [
        "input.base_image_url: format JPEG not accepted; use one of ['PNG', 'WEBP']",
        "input.base_image_url: must be an RGBA image with a transparent background "
        "(got JPEG mode RGB)",
    ]
    request = background_generation(cutout, ref_prompt="a beach")
    assert request.body["input"]["base_image_url"].startswith("data:image/png;base64,")


def test_background_needs_guidance(cutout: Path) -> None:
    problems = problems_of(lambda: background_generation(cutout))
    assert len(problems) == 1 and "needs guidance" in problems[0]


def test_background_edges_nest_under_reference_edge(cutout: Path, make_image: MakeImage) -> None:
    edge = make_image(mode="RGBA", fmt="PNG")
    request = background_generation(cutout, foreground_edges=[edge],
                                    foreground_edge_prompts=["a vase"], model_version="v3")
    edges = request.body["input"]["reference_edge"]
    assert set(edges) == {"foreground_edge", "foreground_edge_prompt"}
    assert edges["foreground_edge_prompt"] == ["a vase"]
    assert [m.field for m in request.media] == ["input.base_image_url",
                                                "input.reference_edge.foreground_edge[0]"]
    problems = problems_of(lambda: background_generation(
        cutout, foreground_edges=[edge], foreground_edge_prompts=["a", "b"]))
    assert problems[0].startswith("input.reference_edge.foreground_edge_prompt: 2 prompts for 1")


def test_rgba_first_frame_is_refused(make_image: MakeImage) -> None:
    rgba = make_image(mode="RGBA", fmt="PNG")
    problems = problems_of(lambda: image_to_video(rgba, model="wan2.6-i2v-flash"))
    assert len(problems) == 1
    assert problems[0].startswith("input.img_url: must not have an alpha channel")


def test_oversized_frame_is_refused(make_image: MakeImage) -> None:
    big = make_image(size=(2001, 400))
    problems = problems_of(lambda: image_to_video(big, model="wan2.6-i2v-flash"))
    assert problems == ["input.img_url: 2001x400 px; each side must be <= 2000 px"]


def test_file_over_10_mb_is_refused(tmp_path: Path) -> None:
    path = noisy_png(tmp_path / "noise.png", 1900)  # 10.8 MB, each side within 360-2000 px
    problems = problems_of(lambda: image_to_video(path, model="wan2.6-i2v-flash"))
    assert len(problems) == 1
    assert problems[0].startswith("input.img_url: 10.8 MB; the limit is 10 MB")


def noisy_png(path: Path, side: int, seed: int = 0) -> Path:
    """A PNG that does not compress: about 3 * side**2 bytes."""
    noise = Image.frombytes("RGB", (side, side), random.Random(seed).randbytes(side * side * 3))
    noise.save(path, format="PNG", compress_level=0)
    return path


def test_item_too_large_for_a_data_uri_is_refused(tmp_path: Path) -> None:
    big = noisy_png(tmp_path / "big.png", 2400)  # 17.3 MB: 23 MB as base64, over 20 MiB
    for value in (big, big.read_bytes()):
        problems = problems_of(lambda: out_painting(value, x_scale=1.5))  # noqa: B023
        assert len(problems) == 1
        assert problems[0].startswith("input.image_url: 17.3 MB is too large to send inline")


def test_body_over_16_mib_is_refused(tmp_path: Path) -> None:
    images = [noisy_png(tmp_path / f"{i}.png", 1400, seed=i) for i in range(3)]  # 5.9 MB each
    problems = problems_of(lambda: image_edit("wan2.5-i2i-preview", "merge", images=images))
    assert len(problems) == 1 and problems[0].startswith("body: 22.4 MiB; DashScope refuses")
    with validation_only():  # the base64 left out still counts towards the body
        assert problems_of(lambda: image_edit("wan2.5-i2i-preview", "merge",
                                              images=images)) == problems


def test_validation_only_build_checks_the_same_but_leaves_the_base64_out(
        make_image: MakeImage) -> None:
    frame, small = make_image((640, 480)), make_image((200, 200))
    sent = image_to_video(frame, prompt="a turn", model="wan2.6-i2v-flash")
    refused = problems_of(lambda: image_to_video(small, prompt="a turn", model="wan2.6-i2v-flash"))
    with validation_only():
        checked = image_to_video(frame, prompt="a turn", model="wan2.6-i2v-flash")
        assert refused and problems_of(lambda: image_to_video(
            small, prompt="a turn", model="wan2.6-i2v-flash")) == refused
    [full], [stand_in] = sent.media, checked.media
    assert stand_in.value == "data:image/jpeg;base64,"
    assert full.value.startswith(stand_in.value) and full.omitted == 0
    assert len(stand_in.value) + stand_in.omitted == len(full.value)
    assert (stand_in.sha256, stand_in.size_bytes) == (full.sha256, full.size_bytes)
    assert {**checked.body["input"], "img_url": full.value} == sent.body["input"]


def test_missing_local_file_names_field_and_path(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-sku.jpg"
    problems = problems_of(lambda: image_to_video(missing, model="wan2.6-i2v-flash"))
    assert problems == [f"input.img_url: local file {str(missing)!r} does not exist"]


def test_virtual_model_versions(make_image: MakeImage) -> None:
    base, mask = make_image(), make_image()
    v2 = virtual_model(base, mask, "a woman on a road", short_side_size=2048, aspect_ratio="4:3",
                       real_person=False)
    assert v2.body["parameters"] == {"short_side_size": "2048", "aspect_ratio": "4:3",
                                     "realPerson": False, "n": 1}
    problems = problems_of(lambda: virtual_model(base, mask, "a man", model="wanx-virtualmodel",
                                                 background_image=make_image(), aspect_ratio="4:3"))
    assert sorted(p.split(":")[0] for p in problems) == ["input.background_image_url",
                                                         "parameters.aspect_ratio"]


def test_shoe_model_takes_at_most_two_views(make_image: MakeImage) -> None:
    template = make_image()
    assert len(shoe_model(template, make_image()).body["input"]["shoe_image_url"]) == 1
    problems = problems_of(lambda: shoe_model(template, [make_image() for _ in range(3)]))
    assert problems == ["input.shoe_image_url: at most 2 items for model shoemodel-v1, got 3"]


def test_out_painting_and_image_edit(frame: Path) -> None:
    assert out_painting(frame, x_scale=1.5, angle=90).body["parameters"] == {
        "x_scale": 1.5, "angle": 90}  # out-painting has no n: one image per task
    edit = image_edit("wanx2.1-imageedit", "sharpen", base_image=frame,
                      function="super_resolution", upscale_factor=2)
    assert edit.body["parameters"] == {"n": 1, "upscale_factor": 2}
    problems = problems_of(lambda: image_edit("wanx2.1-imageedit", "sharpen", base_image=frame,
                                              function="super_resolution", upscale_facter=2))
    assert problems[0].startswith("parameters.upscale_facter: not a documented field")
    problems = problems_of(lambda: image_edit("wanx2.1-imageedit", "remove the cup",
                                              base_image=frame,
                                              function="description_edit_with_mask"))
    assert problems[0].startswith("input.mask_image_url: required by function")


def test_unknown_model_is_a_validation_error(frame: Path) -> None:
    problems = problems_of(lambda: image_to_video(frame, model="wan9-i2v"))
    assert problems[0].startswith("unknown model 'wan9-i2v'")


# --------------------------------------------------------------------------- media encoding


def test_data_uri_round_trip(frame: Path) -> None:
    request = image_to_video(frame, model="wan2.6-i2v-flash")
    original = frame.read_bytes()
    mime, sent = data_uri_bytes(request.body["input"]["img_url"])
    assert (mime, sent) == ("image/jpeg", original)
    (media,) = request.media
    assert (media.field, media.source, media.path) == ("input.img_url", "file", str(frame))
    assert media.size_bytes == len(original)
    assert media.sha256 == hashlib.sha256(original).hexdigest()
    again = image_to_video(request.body["input"]["img_url"], model="wan2.6-i2v-flash")
    assert again.body == request.body and again.media[0].source == "data-uri"
    assert image_to_video(original, model="wan2.6-i2v-flash").body == request.body


def test_data_uri_mime_follows_the_content(make_image: MakeImage) -> None:
    png = make_image(fmt="PNG").read_bytes()
    mislabelled = "data:image/jpeg;base64," + base64.b64encode(png).decode()
    request = image_to_video(mislabelled, model="wan2.6-i2v-flash")
    assert data_uri_bytes(request.body["input"]["img_url"]) == ("image/png", png)


def test_pil_image_is_sent_as_lossless_png_keeping_alpha() -> None:
    img = Image.new("RGBA", (300, 200), (0, 0, 0, 0))
    img.putpixel((10, 10), (255, 0, 0, 255))
    request = background_generation(img, ref_prompt="studio")
    mime, sent = data_uri_bytes(request.body["input"]["base_image_url"])
    assert mime == "image/png" and request.media[0].source == "pil"
    decoded = Image.open(io.BytesIO(sent))
    assert decoded.mode == "RGBA" and decoded.tobytes() == img.tobytes()


def test_remote_urls_pass_through_unread() -> None:
    request = image_to_video("https://example.com/frame.jpg", model="wan2.6-i2v-flash")
    assert request.body["input"]["img_url"] == "https://example.com/frame.jpg"
    assert (request.media[0].source, request.media[0].sha256) == ("url", None)


# --------------------------------------------------------------------------- body contract


def test_n_is_one_unless_asked(cutout: Path, frame: Path) -> None:
    assert background_generation(cutout, ref_prompt="x").body["parameters"] == {"n": 1}
    i2i = image_edit("wan2.5-i2i-preview", "make it blue", images=[frame])
    assert i2i.body["parameters"] == {"n": 1}
    assert generic("wan2.6-t2i", {"prompt": "a red shoe"}).body["parameters"] == {"n": 1}
    assert image_edit("wan2.5-i2i-preview", "x", images=frame, n=3).body["parameters"]["n"] == 3
    assert "n" not in image_to_video(frame, model="wan2.6-i2v-flash").body["parameters"]


def test_body_has_no_none_values(cutout: Path, frame: Path, make_image: MakeImage) -> None:
    requests = [
        background_generation(cutout, ref_prompt="a beach"),
        virtual_model(make_image(), make_image(), "a woman"),
        image_to_video(frame, model="wan2.6-i2v-flash"),
        keyframe_to_video(frame, model="wanx2.1-kf2v-plus", template="solaron"),
        text_to_video("a cat", model="wan2.6-t2v"),
        image_edit("wan2.5-i2i-preview", "x", images=[frame]),
    ]
    for request in requests:
        body = request.body
        assert set(body) == {"model", "input", "parameters"}
        assert all(value is not None for value in walk_values(body)), body
    assert requests[2].body["parameters"] == {}


def test_fingerprint_is_stable(frame: Path) -> None:
    first = image_to_video(frame, model="wan2.6-i2v-flash", prompt="spin", seed=7)
    second = image_to_video(frame, model="wan2.6-i2v-flash", prompt="spin", seed=7)
    assert first.fingerprint == second.fingerprint and first == second
    assert hash(first) == hash(second)
    body = first.body
    body["parameters"]["seed"] = 8  # the caller's copy, not the request
    assert first.fingerprint == second.fingerprint == hashlib.sha256(first.canonical_json).hexdigest()


@pytest.mark.parametrize("change", [
    {"prompt": "spin faster"}, {"seed": 8}, {"duration": 10}, {"resolution": "720P"},
    {"model": "wan2.6-i2v"}, {"watermark": False}, {"image": "pixel"},
])
def test_fingerprint_changes_with_any_field(frame: Path, change: dict[str, Any]) -> None:
    options: dict[str, Any] = {"model": "wan2.6-i2v-flash", "prompt": "spin", "seed": 7}
    base = image_to_video(frame, **options)
    image = frame
    if change.pop("image", None):
        img = Image.open(frame).convert("RGB")
        img.putpixel((0, 0), (0, 0, 0))
        image = frame.with_name("changed.png")
        img.save(image)
    assert image_to_video(image, **{**options, **change}).fingerprint != base.fingerprint


def test_request_is_immutable(frame: Path) -> None:
    request = image_to_video(frame, model="wan2.6-i2v-flash", prompt="spin")
    with pytest.raises(TypeError):
        request.input["prompt"] = "other"  # type: ignore[index]
    assert isinstance(request, TaskRequest) and "base64" not in repr(request)


def test_generic_reaches_speech_to_video() -> None:
    request = generic("wan2.2-s2v", {"image_url": "https://example.com/face.png",
                                     "audio_url": "https://example.com/voice.mp3"},
                      {"resolution": "480P"})
    assert request.body == {
        "model": "wan2.2-s2v",
        "input": {"image_url": "https://example.com/face.png",
                  "audio_url": "https://example.com/voice.mp3"},
        "parameters": {"resolution": "480P"},
    }
    keyworded = generic("wan2.2-s2v", {}, {"resolution": "480P"},
                        image_url="https://example.com/face.png",
                        audio_url="https://example.com/voice.mp3")
    assert keyworded.fingerprint == request.fingerprint


def test_generic_refuses_local_media_on_url_only_model(frame: Path) -> None:
    problems = problems_of(lambda: generic("wan2.2-s2v", {"image_url": frame}, {"resolution": "1080P"}))
    assert sorted(p.split(":")[0] for p in problems) == ["input.audio_url", "input.image_url",
                                                         "parameters.resolution"]
    assert "upload" in problems[0]


def test_every_problem_is_listed_at_once(make_image: MakeImage, tmp_path: Path) -> None:
    rgba = make_image(mode="RGBA", fmt="PNG")
    with pytest.raises(ValidationError) as info:
        image_to_video(rgba, model="wan2.2-i2v-plus", prompt="x" * 801, resolution="720P",
                       duration=10, audio=True, audio_url=tmp_path / "voice.mp3", seed=-1)
    fields = sorted(p.split(":")[0] for p in info.value.problems)
    assert fields == ["input.audio_url", "input.img_url", "input.prompt", "parameters.audio",
                      "parameters.duration", "parameters.resolution", "parameters.seed"]
    assert info.value.model == "wan2.2-i2v-plus"
    assert all(p in str(info.value) for p in info.value.problems)

    with pytest.raises(ValidationError) as info:
        background_generation(make_image(), ref_image=tmp_path / "gone.png",
                              foreground_edges=[make_image()], background_edge_prompts=["x"],
                              noise_level=1000)
    fields = sorted({p.split(":")[0] for p in info.value.problems})
    assert fields == ["input.base_image_url", "input.ref_image_url",
                      "input.reference_edge.background_edge_prompt",
                      "input.reference_edge.foreground_edge[0]", "parameters.noise_level"]


def test_decompression_bomb_is_a_validation_error_not_a_crash(tmp_path):
    """Bug fix: Pillow's DecompressionBombError is not an OSError and escaped the checks."""
    from PIL import Image as PILImage

    from wan_dagster.dashscope.errors import ValidationError
    from wan_dagster.dashscope.requests import image_to_video

    path = tmp_path / "bomb.png"
    PILImage.new("1", (15000, 15000)).save(path)  # 225 MP, a tiny file
    with pytest.raises(ValidationError, match="img_url"):
        image_to_video(path, model="wan2.2-i2v-flash")


def test_requests_of_one_shape_are_checked_as_if_each_were_checked_whole(
        make_image: MakeImage, tmp_path: Path) -> None:
    """With a validation cache a catalog's requests that differ only in their prompts are
    checked once per shape; every request still gets exactly the outcome and messages of its
    own whole check: the first of a shape passing says nothing about the next one's prompt."""
    from wan_dagster.core.image_verdicts import ValidationCache
    from wan_dagster.core.ledger import Ledger
    from wan_dagster.dashscope.validation import decode_verdicts

    # as a catalog names them: real paths as strings
    cutout, frame = str(make_image((640, 480), "RGBA", "PNG")), str(make_image((640, 480)))
    builds: list[Callable[[], TaskRequest]] = []
    for prompt in ("a beach", "sand " * 151, "", "一个海滩 at dawn", "a beach", "a\u2028beach"):
        builds.append(lambda p=prompt: background_generation(cutout, ref_prompt=p))
        builds.append(lambda p=prompt: image_to_video(frame, prompt=p, model="wan2.6-i2v-flash",
                                                      resolution="720P", duration=5))
        builds.append(lambda p=prompt: image_to_video(frame, prompt=p * 200,
                                                      model="wan2.6-i2v-flash"))
        builds.append(lambda p=prompt: image_edit("wanx2.1-imageedit", p, base_image=frame,
                                                  function="description_edit_with_mask"))
        builds.append(lambda p=prompt: image_to_video(frame, prompt=p, model="wan2.6-i2v-flash",
                                                      shot_type="multi", prompt_extend=False))

    def outcomes() -> list[Any]:
        found: list[Any] = []
        for build in builds:
            try:
                found.append(build().body)
            except ValidationError as exc:
                found.append(exc.problems)
        return found

    with validation_only():
        whole = outcomes()
        with decode_verdicts(ValidationCache(Ledger(f"sqlite:///{tmp_path / 'ledger.db'}"))):
            by_shape = outcomes()
    assert by_shape == whole
    assert any(isinstance(outcome, dict) for outcome in whole)
    assert any(isinstance(outcome, list) for outcome in whole)


def test_the_rules_a_shape_does_not_run_again_never_read_a_free_text() -> None:
    """A request of a shape that passed runs only ``_TEXT_RULES`` of the cross-field rules
    again: every other one must answer the same whatever a free text says. (The first half
    of the loop shows the method sees a rule that reads one: background guidance does.)"""
    from wan_dagster.dashscope import requests as built
    from wan_dagster.dashscope.registry import REGISTRY
    from wan_dagster.dashscope.validation import free_text_params

    texts = ("", "x", "multi", "description_edit_with_mask", "a" * 3000)
    contexts = [({}, {}), ({"function": "description_edit_with_mask", "audio_url": "https://a"},
                           {"shot_type": "multi", "prompt_extend": False, "audio": False})]
    text_readers: set[str] = set()
    checked = 0
    for spec in REGISTRY:
        for param in free_text_params(spec):
            for inputs, parameters in contexts:
                for rule in built._RULES:
                    answers = set()
                    for text in texts:
                        body = {"model": spec.name, "input": dict(inputs),
                                "parameters": dict(parameters)}
                        body[param.where][param.name] = text
                        answers.add(tuple(rule(spec, body)))
                    checked += 1
                    if len(answers) > 1:
                        text_readers.add(rule.__name__)
    assert checked > 100
    assert text_readers == {rule.__name__ for rule in built._TEXT_RULES}
