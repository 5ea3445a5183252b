"""Emulated media follow the prompt: scenes show its colours and surfaces, products keep
margins, shoes go on feet and the camera moves as the motion words say. Judged on the decoded
PNG and MP4 outputs."""

from __future__ import annotations

import colorsys
import io
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image, ImageDraw

from conftest import EMULATOR_TIME_SCALE
from wan_dagster.dashscope import DashScopeClient, PollPolicy
from wan_dagster.dashscope.requests import image_to_video
from wan_dagster.emulator import media
from wan_dagster.emulator.feet import find_feet

DATA = Path(__file__).resolve().parent.parent / "data" / "images"
MAGENTA = (255, 0, 255)


def full_frame_product(size: tuple[int, int] = (320, 320)) -> Image.Image:
    """A magenta product touching the edges of its cutout, as the sample cutouts nearly do."""
    img = Image.new("RGBA", size, (0, 0, 0, 0))
    ImageDraw.Draw(img).rectangle((4, 10, size[0] - 5, size[1] - 3), fill=(*MAGENTA, 255))
    return img


def background(prompt: str, seed: int = 1) -> np.ndarray:
    data = media.background_generation(full_frame_product(), prompt=prompt, ref=None, seed=seed)
    return np.asarray(media.decode_image(data).convert("RGB"), np.float32)


def wall(arr: np.ndarray) -> np.ndarray:
    """Mean colour of the top corners: scene, never product."""
    return np.concatenate([arr[:25, :25], arr[:25, -25:]]).reshape(-1, 3).mean(axis=0)


def floor(arr: np.ndarray) -> np.ndarray:
    """The bottom strip's corners, below the product's margin."""
    return np.concatenate([arr[-25:, :25], arr[-25:, -25:]])


def hue_of(rgb: np.ndarray) -> tuple[float, float, float]:
    return colorsys.rgb_to_hsv(*(rgb / 255.0))


@pytest.mark.parametrize("word, channel", [("red", 0), ("green", 1), ("blue", 2)])
def test_a_colour_word_is_the_scenes_dominant_colour(word, channel):
    colour = wall(background(f"{word} studio backdrop"))
    others = [colour[c] for c in range(3) if c != channel]
    assert colour[channel] > max(others) + 40, colour


def test_a_white_studio_is_bright_and_neutral():
    colour = wall(background("clean white studio"))
    hue, saturation, value = hue_of(colour)
    assert value > 0.85 and saturation < 0.1, colour


def test_surface_words_make_different_floors():
    marble = floor(background("polished marble floor"))
    wood = floor(background("rustic oak floorboards")).reshape(-1, 3).mean(axis=0)
    beach = background("sandy beach with dune grass")
    assert marble.mean() > 190 and marble.std() > 3  # bright stone with veins
    assert wood[0] > wood[1] > wood[2] and wood[0] - wood[2] > 50  # brown
    sky, sand = wall(beach), floor(beach).reshape(-1, 3).mean(axis=0)
    assert sky[2] > sky[0] + 40 and sand[0] > sand[2] + 30  # blue above, sand below


def test_a_product_that_fills_its_cutout_gets_margins():
    arr = background("white studio")
    product = (np.abs(arr - np.array(MAGENTA)).sum(axis=-1) < 30)
    rows, cols = np.nonzero(product.any(axis=1))[0], np.nonzero(product.any(axis=0))[0]
    h, w = product.shape
    margins = [cols.min() / w, rows.min() / h, 1 - (cols.max() + 1) / w, 1 - (rows.max() + 1) / h]
    assert min(margins) >= 0.1, margins
    assert product.sum() > 0.4 * h * w  # still the subject of the picture


def test_a_shoe_goes_on_each_foot_of_the_template():
    template = Image.open(DATA / "SHO-2001_shoe_template.jpg")
    feet = find_feet(template)
    assert len(feet) == 2 and feet[0][2] <= feet[1][0]  # left then right, apart
    shoe = Image.new("RGBA", (300, 140), (0, 0, 0, 0))
    ImageDraw.Draw(shoe).rounded_rectangle((10, 20, 290, 130), 30, fill=(0, 200, 0, 255))
    out = np.asarray(media.decode_image(media.shoe_model(template, [shoe], seed=1)), np.int16)
    green = (out[..., 1] > 150) & (out[..., 0] < 80) & (out[..., 2] < 80)
    for left, top, right, bottom in feet:
        sole = green[(top + bottom) // 2:bottom, left:right]
        assert sole.mean() > 0.6, "the foot is covered by the shoe"
    assert not green[: out.shape[0] // 2].any(), "shoes stay at the feet"


# --- video -------------------------------------------------------------------------------


def textured(size: tuple[int, int] = (320, 192)) -> Image.Image:
    """A picture with detail everywhere, so that motion between frames can be measured."""
    rng = np.random.default_rng(3)
    small = rng.integers(0, 255, (size[1] // 8, size[0] // 8, 3), dtype=np.uint8)
    return Image.fromarray(small, "RGB").resize(size, Image.Resampling.BICUBIC)


def frames(data: bytes) -> list[np.ndarray]:
    with av.open(io.BytesIO(data)) as container:
        return [f.to_ndarray(format="gray").astype(np.float32) for f in container.decode(video=0)]


def clip(prompt: str) -> list[np.ndarray]:
    return frames(media.video(first=textured(), last=None, width=320, height=192, duration_s=2.0,
                              fps=15, audio=False, seed=1, prompt=prompt))


def horizontal_motion(a: np.ndarray, b: np.ndarray, reach: int = 12) -> int:
    """The shift s (pixels) for which b[x] best matches a[x - s]: content moving right is > 0."""
    errors = {s: np.abs(b[:, reach + s:-reach + s or None] - a[:, reach:-reach]).mean()
              for s in range(-reach, reach + 1)}
    return min(errors, key=errors.get)


def zoom_error(a: np.ndarray, b: np.ndarray, factor: float) -> float:
    """How far b is from a's centre enlarged by ``factor``."""
    h, w = a.shape
    cw, ch = round(w / factor), round(h / factor)
    x0, y0 = (w - cw) // 2, (h - ch) // 2
    crop = Image.fromarray(a[y0:y0 + ch, x0:x0 + cw].astype(np.uint8)).resize((w, h))
    return float(np.abs(np.asarray(crop, np.float32) - b).mean())


@pytest.mark.parametrize("prompt, sign", [("slow pan right across the lenses", -1),
                                          ("camera pans left over the table", 1)])
def test_a_pan_moves_the_picture_the_way_the_prompt_says(prompt, sign):
    shots = clip(prompt)
    middle = len(shots) // 2
    assert np.sign(horizontal_motion(shots[middle - 2], shots[middle + 2])) == sign


@pytest.mark.parametrize("prompt, inward", [("slow push-in on the silhouette", True),
                                            ("zoom out to reveal the room", False)])
def test_a_zoom_goes_in_or_out_as_the_prompt_says(prompt, inward):
    shots = clip(prompt)
    first, last = shots[0], shots[-1]
    if inward:  # the last frame is the first one's centre, enlarged
        assert zoom_error(first, last, 1.25) < 0.5 * zoom_error(first, last, 1.0)
    else:
        assert zoom_error(last, first, 1.25) < 0.5 * zoom_error(last, first, 1.0)


def test_a_360_turn_shows_the_back_half_way():
    shots = clip("slow 360-degree turntable rotation of the sneaker")
    first, half = shots[0], shots[len(shots) // 2]
    mirrored = first[:, ::-1]
    assert np.abs(half - mirrored).mean() < 0.5 * np.abs(half - first).mean()


def test_the_emulator_films_what_the_prompt_asks(emulator, tmp_path):
    """Through the HTTP API: the prompt of an image-to-video task reaches the camera."""
    with DashScopeClient("sk-test", base_url=emulator.base_url,
                         poll=PollPolicy(time_scale=EMULATOR_TIME_SCALE)) as client:
        task = client.run(image_to_video(textured((640, 384)), model="wan2.2-i2v-flash",
                                         prompt="pan left across the product", duration=5))
        task.raise_for_status()
        got = client.download(task.result_urls[0], tmp_path / "v.mp4")
    shots = frames(got.path.read_bytes())
    middle = len(shots) // 2
    assert horizontal_motion(shots[middle - 3], shots[middle + 3]) > 0
