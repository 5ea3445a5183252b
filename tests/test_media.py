"""Emulator media synthesis and real-decoder probing, exercised through the public functions."""

from __future__ import annotations

import io

import av
import numpy as np
import pytest
from PIL import Image, ImageDraw

from wan_dagster.emulator import media
from wan_dagster.dashscope.mediainfo import MediaError, probe_image, probe_video

FPS = 30


def _cutout(size: tuple[int, int] = (240, 320)) -> Image.Image:
    """RGBA product cutout with margins: opaque body, half-transparent rim, transparent
    surroundings."""
    img = Image.new("RGBA", size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    w, h = size
    body = (w * 0.25, h * 0.2, w * 0.75, h * 0.85)
    draw.rounded_rectangle((body[0] - 4, body[1] - 4, body[2] + 4, body[3] + 4), 20, fill=(30, 60, 200, 128))
    draw.rounded_rectangle(body, 16, fill=(200, 30, 40, 255))
    draw.ellipse((w * 0.4, h * 0.12, w * 0.6, h * 0.3), fill=(240, 200, 40, 255))
    return img


def _photo(size: tuple[int, int], colour: tuple[int, int, int]) -> Image.Image:
    """RGB picture with a gradient and a shape, dominated by `colour`."""
    ramp = np.linspace(0.6, 1.0, size[0], dtype=np.float32)[None, :, None]
    arr = np.broadcast_to(np.array(colour, dtype=np.float32) * ramp, (size[1], size[0], 3)).astype(np.uint8)
    img = Image.fromarray(arr, "RGB")
    w, h = size
    ImageDraw.Draw(img).ellipse((w // 3, h // 3, w // 2, h // 2), fill=(255, 255, 255))
    return img


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def _pixels(data: bytes) -> np.ndarray:
    return np.asarray(media.decode_image(data))


def _clip(
    first: Image.Image | None = None, last: Image.Image | None = None, *,
    width: int = 320, height: int = 192, audio: bool = False, seed: int = 1,
) -> bytes:
    """A 5 s clip at FPS; small by default to keep the suite fast."""
    return media.video(
        first=first, last=last, width=width, height=height, duration_s=5.0, fps=FPS, audio=audio, seed=seed
    )


def _first_and_last_frames(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    with av.open(io.BytesIO(data)) as container:
        frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
    return frames[0], frames[-1]


# --- images -------------------------------------------------------------------------------


def test_background_generation_keeps_size_and_opaque_product_pixels() -> None:
    base = _cutout()
    data = media.background_generation(base, prompt="marble countertop, morning light", ref=None, seed=7)

    info = probe_image(data)
    assert (info.format, info.mode, info.has_alpha) == ("PNG", "RGB", False)
    assert (info.width, info.height) == base.size
    out = _pixels(data)
    base_arr = np.asarray(base)
    opaque = base_arr[..., 3] == 255
    assert np.array_equal(out[opaque], base_arr[..., :3][opaque])
    assert out[~opaque].std() > 1.0, "background must be synthesised, not a flat fill"


def test_background_generation_is_deterministic_and_seed_dependent() -> None:
    base = _cutout()
    first = media.background_generation(base, prompt="beach", ref=None, seed=1)
    assert first == media.background_generation(base, prompt="beach", ref=None, seed=1)
    assert first != media.background_generation(base, prompt="beach", ref=None, seed=2)


def test_background_generation_follows_reference_colour() -> None:
    base = _cutout()
    red_ref = Image.new("RGB", (64, 64), (255, 0, 0))
    plain = _pixels(media.background_generation(base, prompt="studio", ref=None, seed=3))
    tinted = _pixels(media.background_generation(base, prompt="studio", ref=red_ref, seed=3))
    assert _redness(tinted) > _redness(plain) + 10


def _redness(arr: np.ndarray) -> float:
    """Red minus green over the top-left corner, which is pure background."""
    corner = arr[:40, :40].astype(np.float32)
    return float((corner[..., 0] - corner[..., 1]).mean())


def test_virtual_model_output_short_side_and_aspect() -> None:
    base = _photo((300, 450), (180, 120, 90))
    mask = Image.new("L", base.size, 0)
    kwargs = {"prompt": "city street", "background": None, "short_side": 512, "seed": 5}

    portrait = media.decode_image(media.virtual_model(base, mask, aspect_ratio=None, **kwargs))
    assert portrait.mode == "RGB"
    assert portrait.size == (512, 768)

    landscape = media.decode_image(media.virtual_model(base, mask, aspect_ratio="4:3", **kwargs))
    assert min(landscape.size) == 512
    assert landscape.size == (683, 512)


def test_virtual_model_keeps_masked_garment_pixels() -> None:
    base = _photo((300, 450), (180, 120, 90))
    mask = Image.new("L", base.size, 0)
    ImageDraw.Draw(mask).rectangle((90, 150, 210, 330), fill=255)
    backdrop = Image.new("RGB", (100, 100), (20, 160, 60))

    data = media.virtual_model(
        base, mask, prompt="park", background=backdrop, short_side=300, aspect_ratio=None, seed=1
    )

    out, src, keep = _pixels(data), np.asarray(base), np.asarray(mask) == 255
    assert np.array_equal(out[keep], src[keep])
    assert not np.array_equal(out[~keep], src[~keep])


def test_shoe_model_pastes_shoes_into_bottom_third() -> None:
    template = _photo((300, 480), (90, 90, 140))
    shoe = Image.new("RGB", (200, 120), "white")
    ImageDraw.Draw(shoe).ellipse((10, 30, 190, 110), fill=(120, 40, 10))

    out = _pixels(media.shoe_model(template, [shoe, shoe], seed=4)).astype(np.int16)

    assert out.shape[:2] == (480, 300)
    changed = np.abs(out - np.asarray(template, np.int16)).sum(axis=-1) > 30
    rows = np.nonzero(changed.any(axis=1))[0]
    assert rows.size and rows.min() >= 480 * 2 // 3 - 10


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"output_ratio": "16:9"}, (356, 200)),
        ({"x_scale": 1.5, "y_scale": 2.0}, (300, 400)),
        ({"offsets": (10, 20, 30, 40)}, (230, 270)),
        ({"angle": 90}, (200, 200)),
    ],
)
def test_out_painting_canvas(kwargs: dict, expected: tuple[int, int]) -> None:
    image = _photo((200, 200), (60, 140, 200))
    out = media.decode_image(media.out_painting(image, seed=1, **kwargs))
    assert out.size == expected
    assert out.mode == "RGB"


def test_out_painting_keeps_original_centred() -> None:
    image = _photo((200, 200), (60, 140, 200))
    out = _pixels(media.out_painting(image, x_scale=2.0, y_scale=1.5, seed=1))
    assert np.array_equal(out[50:250, 100:300], np.asarray(image))


def test_image_edit_restyles_last_image_at_requested_size() -> None:
    first, last = _photo((120, 90), (10, 200, 10)), _photo((160, 120), (200, 60, 60))
    prompt = "vintage film look"
    out = media.decode_image(media.image_edit([first, last], prompt=prompt, size=(320, 240), seed=2))
    assert out.size == (320, 240)
    same_size = media.decode_image(media.image_edit([last], prompt=prompt, size=None, seed=2))
    assert same_size.size == last.size
    assert not np.array_equal(np.asarray(same_size), np.asarray(last))


def test_text_to_image_size() -> None:
    info = probe_image(media.text_to_image(prompt="a red sneaker", size=(256, 192), seed=9))
    assert (info.format, info.width, info.height, info.mode) == ("PNG", 256, 192, "RGB")


# --- probing images -------------------------------------------------------------------------


def test_probe_image_reports_transparency_of_cutout() -> None:
    info = probe_image(_png(_cutout()))
    assert (info.format, info.mode, info.has_alpha, info.has_transparency) == ("PNG", "RGBA", True, True)


def test_probe_image_opaque_rgba_has_alpha_but_no_transparency() -> None:
    info = probe_image(_png(_photo((64, 64), (1, 2, 3)).convert("RGBA")))
    assert (info.has_alpha, info.has_transparency) == (True, False)


def test_probe_image_rgb_jpeg(tmp_path) -> None:
    path = tmp_path / "photo.jpg"
    _photo((160, 100), (200, 100, 50)).save(path, format="JPEG")
    info = probe_image(path)
    assert (info.format, info.width, info.height, info.mode) == ("JPEG", 160, 100, "RGB")
    assert (info.has_alpha, info.has_transparency) == (False, False)
    assert info.size_bytes == path.stat().st_size


@pytest.mark.parametrize("probe", [probe_image, media.decode_image])
def test_garbage_image_raises_media_error(probe) -> None:
    with pytest.raises(MediaError):
        probe(b"definitely not an image" * 10)


@pytest.mark.parametrize("decode", [True, False])
def test_truncated_png_raises_media_error(decode: bool) -> None:
    data = _png(_photo((200, 200), (10, 20, 30)))
    with pytest.raises(MediaError):
        probe_image(data[: len(data) // 2], decode=decode)


def test_png_walk_refuses_a_flipped_byte_and_reads_the_header() -> None:
    """Without decoding, a PNG is still checked chunk by chunk against its CRCs."""
    data = _png(_photo((200, 200), (10, 20, 30)))
    info = probe_image(data, decode=False)
    assert (info.format, info.width, info.height, info.mode) == ("PNG", 200, 200, "RGB")
    assert info.has_transparency is None  # not decoded: not known
    middle = len(data) // 2
    with pytest.raises(MediaError, match="checksum|broken"):
        probe_image(data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1:],
                    decode=False)


# --- video ----------------------------------------------------------------------------------


def _assert_video(info, width: int, height: int, audio: bool) -> None:
    assert (info.codec, info.container) == ("h264", "mp4")
    assert (info.width, info.height) == (width, height)
    assert info.fps == pytest.approx(FPS)
    assert info.duration_s == pytest.approx(5.0, abs=1 / FPS)
    assert info.frame_count == 5 * FPS
    assert info.has_audio is audio
    assert info.audio_codec == ("aac" if audio else None)


@pytest.mark.parametrize("audio", [False, True])
def test_image_to_video_probe(audio: bool) -> None:
    data = _clip(_photo((400, 300), (200, 60, 60)), audio=audio)
    _assert_video(probe_video(data), 320, 192, audio)


def test_first_last_frame_video_starts_and_ends_on_inputs() -> None:
    red, blue = (200, 40, 40), (40, 60, 200)
    data = _clip(_photo((320, 192), red), _photo((320, 192), blue), seed=3)
    _assert_video(probe_video(data), 320, 192, audio=False)
    opening, closing = _first_and_last_frames(data)
    assert opening[..., 0].mean() > opening[..., 2].mean() + 60
    assert closing[..., 2].mean() > closing[..., 0].mean() + 60


def test_text_to_video_probe() -> None:
    data = _clip(audio=True, seed=8)
    _assert_video(probe_video(data), 320, 192, audio=True)
    opening, closing = _first_and_last_frames(data)
    assert not np.array_equal(opening, closing), "text-to-video must move"


def test_720p_video_probe(tmp_path) -> None:
    path = tmp_path / "clip.mp4"
    first, last = _photo((1024, 768), (90, 160, 90)), _photo((1024, 768), (160, 90, 160))
    path.write_bytes(_clip(first, last, width=1280, height=720, audio=True, seed=2))
    info = probe_video(path)
    _assert_video(info, 1280, 720, audio=True)
    assert info.size_bytes == path.stat().st_size


def test_video_rejects_odd_dimensions() -> None:
    with pytest.raises(ValueError):
        _clip(width=321)


@pytest.mark.parametrize("decode", [True, False])
def test_truncated_video_raises_media_error(decode: bool) -> None:
    data = _clip(audio=True, seed=4)
    with pytest.raises(MediaError):
        probe_video(data[: len(data) // 2], decode=decode)


def test_video_walk_reads_what_the_decode_reads() -> None:
    data = _clip(audio=True, seed=5)
    assert probe_video(data, decode=False) == probe_video(data)


def test_garbage_video_raises_media_error() -> None:
    with pytest.raises(MediaError):
        probe_video(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 200)
