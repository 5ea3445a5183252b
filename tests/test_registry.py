"""Registry spot checks against shared/reference (line references are to the seeds)."""

import pytest

from wan_dagster.dashscope.registry import (
    REGISTRY, Endpoint, Family, Limits, Output, Region, keep_aspect_size, tier_of_size)


def test_i2v_tiers_durations_and_defaults_per_model():
    # seed 000 L4991-5049
    plus = REGISTRY.get("wan2.2-i2v-plus")
    assert plus.video.tiers == ("480P", "1080P") and plus.default("resolution") == "1080P"
    assert plus.video.durations == (5,)
    flash = REGISTRY.get("wan2.2-i2v-flash")
    assert flash.default("resolution") == "720P"
    turbo = REGISTRY.get("wanx2.1-i2v-turbo")
    assert turbo.video.durations == (3, 4, 5) and turbo.default("resolution") == "720P"
    w26 = REGISTRY.get("wan2.6-i2v-flash")
    assert w26.video.durations == tuple(range(2, 16)) and w26.default("duration") == 5
    assert w26.default("audio") is True and w26.default("resolution") == "1080P"
    assert REGISTRY.get("wan2.5-i2v-preview").video.durations == (5, 10)
    assert REGISTRY.get("wan2.6-i2v-us").video.durations == (5, 10, 15)


def test_audio_parameter_where_a_page_documents_it():
    # seed 000 L5074-5087 lists parameters.audio for wan2.6-i2v-flash; seed 002 L493-499
    # documents audio=false (a silent video) for wan2.5-i2v-preview, which the newer page does
    # not contradict, with audio_url taking precedence there (the reverse of wan2.6, L5079)
    with_audio = {s.name for s in REGISTRY if s.family == Family.IMAGE_TO_VIDEO and s.param("audio")}
    assert with_audio == {"wan2.6-i2v-flash", "wan2.5-i2v-preview"}
    assert REGISTRY.get("wan2.5-i2v-preview").video.audio_url_wins
    assert not REGISTRY.get("wan2.6-i2v-flash").video.audio_url_wins
    audio_url = {s.name for s in REGISTRY if s.family == Family.IMAGE_TO_VIDEO
                 and s.media_field("audio_url")}
    assert audio_url == {"wan2.6-i2v-flash", "wan2.6-i2v", "wan2.6-i2v-us", "wan2.5-i2v-preview"}


def test_rate_limits_from_the_protocol_table():
    assert REGISTRY.get("wan2.6-i2v-flash").limits == Limits(5, 5)
    assert REGISTRY.get("wan2.2-i2v-plus").limits == Limits(2, 2)
    assert REGISTRY.get("wanx-background-generation-v2").limits == Limits(2, 1)
    assert REGISTRY.get("image-out-painting").limits == Limits(2, 5)
    assert REGISTRY.get("shoemodel-v1").limits == Limits(2, 1)
    assert not REGISTRY.get("wan2.6-t2v").limits.documented


def test_endpoints_and_shared_paths():
    assert REGISTRY.get("wanx-background-generation-v2").endpoint.endswith("/generation/")
    shared = {s.name for s in REGISTRY if s.endpoint == Endpoint.VIRTUAL_MODEL}
    assert shared == {"virtualmodel-v2", "wanx-virtualmodel", "shoemodel-v1"}
    assert REGISTRY.get("wan2.2-kf2v-flash").endpoint == Endpoint.IMAGE2VIDEO
    assert REGISTRY.get("wan2.6-r2v").endpoint == Endpoint.VIDEO_GENERATION
    assert REGISTRY.get("image-out-painting").result_path == "output_image_url"
    assert not REGISTRY.get("emo-detect-v1").asynchronous


def test_background_base_must_be_rgba_and_i2v_frames_must_not_have_alpha():
    assert REGISTRY.get("wanx-background-generation-v2").media_field("base_image_url").rule.alpha \
        == "required"
    frame = REGISTRY.get("wan2.2-i2v-flash").media_field("img_url").rule
    assert (frame.alpha, frame.min_side, frame.max_side, frame.max_bytes) == \
        ("forbidden", 360, 2000, 10_000_000)


def test_usage_vocabularies():
    assert "duration" in REGISTRY.get("wan2.6-t2v").usage_fields
    assert "size" in REGISTRY.get("wan2.6-t2v").usage_fields
    assert "video_duration" in REGISTRY.get("wan2.5-t2v-preview").usage_fields
    assert "audio" in REGISTRY.get("wan2.6-i2v-flash").usage_fields
    assert "audio" not in REGISTRY.get("wan2.6-i2v").usage_fields
    assert REGISTRY.get("wan2.2-kf2v-flash").usage_fields == ("video_duration", "video_count", "SR")
    assert REGISTRY.get("wanx-background-generation-v2").usage_fields == ("image_count",)


def test_prompt_limits():
    assert REGISTRY.get("wan2.2-i2v-flash").param("prompt").max_length == 800
    assert REGISTRY.get("wan2.6-i2v-flash").param("prompt").max_length == 1500
    assert REGISTRY.get("wan2.6-i2v").param("negative_prompt").max_length == 500


def test_output_geometry_matches_the_documented_example():
    assert keep_aspect_size("720P", 750, 1000) == (816, 1104)  # seed 000 L4678-4681
    assert tier_of_size("1632*1248") == "1080P"
    with pytest.raises(ValueError):
        tier_of_size("1000*1000")


def test_regions_and_singapore_aliases():
    alias = REGISTRY.get("wan2.1-i2v-turbo")
    assert alias.regions == frozenset({Region.SINGAPORE}) and alias.family == Family.IMAGE_TO_VIDEO
    assert Region.SINGAPORE not in REGISTRY.get("wan2.2-i2v-flash").regions
    assert REGISTRY.get("shoemodel-v1").regions == frozenset({Region.BEIJING})


def test_every_family_in_the_reference_is_covered():
    assert {s.family for s in REGISTRY} == set(Family)
    for spec in REGISTRY:
        assert (spec.video is not None) == (spec.family in {
            Family.TEXT_TO_VIDEO, Family.IMAGE_TO_VIDEO, Family.KEYFRAME_TO_VIDEO,
            Family.REFERENCE_TO_VIDEO}), spec.name
        if spec.output == Output.VIDEO and spec.video:
            assert spec.video.fps == 30


def test_unknown_model_and_limit_overrides():
    with pytest.raises(KeyError, match="unknown model 'wan9-i2v'"):
        REGISTRY.get("wan9-i2v")
    raised = REGISTRY.with_limits({"wan2.2-i2v-flash": Limits(10, 8)})
    assert raised.get("wan2.2-i2v-flash").limits == Limits(10, 8)
    assert REGISTRY.get("wan2.2-i2v-flash").limits == Limits(2, 2)
