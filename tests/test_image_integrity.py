"""An image is judged whole without decoding every pixel where no rule needs them (PNG chunk
CRCs, JPEG at 1/8 scale), and a cutout's transparency is looked for in its first rows before
the whole image is decoded: damaged, cut-short and opaque images are still refused, and a cutout
whose only transparent pixels are at its very bottom is still accepted."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image

from wan_dagster.core.catalog import load_catalog
from wan_dagster.core.image_verdicts import ValidationCache
from wan_dagster.core.ledger import Ledger
from wan_dagster.dashscope.registry import FRAME_RULE, RGBA_CUTOUT_RULE
from wan_dagster.dashscope.validation import check_image

DATA = Path(__file__).resolve().parent.parent / "data"
FIELD = "input.base_image_url"


def png(image: Image.Image, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", **options)
    return out.getvalue()


def cutout(transparent_rows: range, size: tuple[int, int] = (640, 640)) -> Image.Image:
    """An RGBA product shot, opaque but for ``transparent_rows`` (fully transparent)."""
    image = Image.new("RGBA", size, (200, 60, 40, 255))
    for y in transparent_rows:
        image.paste((0, 0, 0, 0), (0, y, size[0], y + 1))
    return image


def chunks(data: bytes) -> list[tuple[int, bytes]]:
    """``(offset, type)`` of every chunk of a PNG."""
    found, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack_from(">I", data, pos)
        found.append((pos, data[pos + 4:pos + 8]))
        pos += 12 + length
    return found


def damaged(data: bytes, kind: bytes, which: int = 0) -> bytes:
    """``data`` with one byte flipped in the payload of its ``which``-th ``kind`` chunk."""
    offset = [pos for pos, k in chunks(data) if k == kind][which] + 8 + 5
    return data[:offset] + bytes([data[offset] ^ 0x40]) + data[offset + 1:]


def test_a_png_with_a_damaged_byte_in_its_pixel_data_is_refused() -> None:
    data = damaged(png(cutout(range(0, 100))), b"IDAT")
    assert check_image(data, RGBA_CUTOUT_RULE, FIELD) == [
        f"{FIELD}: not a readable image (broken PNG file (bad CRC-32 in its IDAT chunk at "
        f"byte {[p for p, k in chunks(data) if k == b'IDAT'][0]}))"]


def test_damage_after_the_first_rows_is_refused_although_they_are_transparent() -> None:
    # small IDAT chunks: the damage is far from the first rows, which alone would pass
    data = png(cutout(range(0, 640)), compress_level=0)
    assert len([k for _, k in chunks(data) if k == b"IDAT"]) > 2
    problems = check_image(damaged(data, b"IDAT", -1), RGBA_CUTOUT_RULE, FIELD)
    assert len(problems) == 1 and "bad CRC-32 in its IDAT chunk" in problems[0]


@pytest.mark.parametrize("cut", [0.5, 0.999], ids=["half", "all but the end"])
def test_a_png_cut_short_is_refused(cut: float) -> None:
    data = png(cutout(range(0, 100)))
    problems = check_image(data[:int(len(data) * cut)], RGBA_CUTOUT_RULE, FIELD)
    assert len(problems) == 1 and "not a readable image (image file is truncated" in problems[0]


def test_a_png_without_its_iend_is_refused() -> None:
    data = png(cutout(range(0, 100)))
    assert data.endswith(b"IEND\xaeB`\x82")
    problems = check_image(data[:-12], RGBA_CUTOUT_RULE, FIELD)
    assert problems == [f"{FIELD}: not a readable image (image file is truncated (the PNG ends "
                        f"before its IEND chunk))"]


def test_a_jpeg_cut_short_is_refused() -> None:
    data = (DATA / "images" / "APP-1003_model.jpg").read_bytes()
    problems = check_image(data[:len(data) * 3 // 4], FRAME_RULE, "input.img_url")
    assert len(problems) == 1 and "not a readable image (image file is truncated" in problems[0]
    assert check_image(data, FRAME_RULE, "input.img_url") == []


def test_a_cutout_transparent_only_in_its_last_row_is_accepted() -> None:
    assert check_image(png(cutout(range(639, 640))), RGBA_CUTOUT_RULE, FIELD) == []


def test_a_fully_opaque_rgba_cutout_is_refused() -> None:
    assert check_image(png(cutout(range(0))), RGBA_CUTOUT_RULE, FIELD) == [
        f"{FIELD}: must be an RGBA image with a transparent background (got PNG mode RGBA with "
        f"no transparent pixel)"]


@pytest.mark.parametrize("mode", ["LA", "P"])
def test_other_modes_with_transparency_are_read_from_their_first_rows_too(mode: str) -> None:
    if mode == "LA":
        top = Image.new("LA", (640, 640), (90, 255))
        top.paste((0, 0), (0, 0, 640, 1))
        data = png(top)
    else:
        top = Image.new("P", (640, 640), 7)
        top.paste(0, (0, 0, 640, 1))
        data = png(top, transparency=0)
    rule = RGBA_CUTOUT_RULE
    assert check_image(data, rule, FIELD) == []
    opaque = png(Image.new(mode, (640, 640), (90, 255) if mode == "LA" else 7),
                 **({} if mode == "LA" else {"transparency": 0}))
    assert "with no transparent pixel" in check_image(opaque, rule, FIELD)[0]


def test_an_animated_png_is_judged_by_its_default_image() -> None:
    frames = [cutout(range(0)) for _ in range(3)]
    first = cutout(range(0, 1))
    data = png(first, save_all=True, append_images=frames)
    assert b"acTL" in data and b"fdAT" in data
    assert check_image(data, RGBA_CUTOUT_RULE, FIELD) == []
    opaque = png(cutout(range(0)), save_all=True, append_images=[first])
    assert "with no transparent pixel" in check_image(opaque, RGBA_CUTOUT_RULE, FIELD)[0]


def test_a_cached_catalog_load_judges_these_images_as_the_client_does(tmp_path: Path) -> None:
    """Through load_catalog with the validation cache (each content judged once, the verdict
    kept): the bottom-transparent cutout passes; damaged and opaque ones fail their own rows."""
    sample = pd.read_csv(DATA / "catalog.csv", dtype=str, keep_default_na=False)
    template = sample[sample["sku"] == "BAG-3002"].iloc[0].to_dict()
    (tmp_path / "images").mkdir()
    files = {"BOTTOM": png(cutout(range(639, 640))),
             "OPAQUE": png(cutout(range(0))),
             "DAMAGED": damaged(png(cutout(range(0, 100))), b"IDAT"),
             "NOEND": png(cutout(range(0, 100)))[:-12]}
    rows = []
    for sku, data in files.items():
        (tmp_path / "images" / f"{sku}.png").write_bytes(data)
        for copy in range(2):  # two rows per image: the second is answered from what was kept
            rows.append({**template, "sku": f"{sku}-{copy}", "cutout_image": f"images/{sku}.png"})
    pd.DataFrame(rows).to_csv(tmp_path / "catalog.csv", index=False)
    cache = ValidationCache(Ledger(f"sqlite:///{tmp_path / 'ledger.db'}"))
    catalog = load_catalog(tmp_path / "catalog.csv", cache=cache)
    assert [p.sku for p in catalog.products] == ["BOTTOM-0", "BOTTOM-1"]
    assert {(e.sku, e.column) for e in catalog.errors} == {
        (f"{sku}-{copy}", "cutout_image") for sku in ("OPAQUE", "DAMAGED", "NOEND")
        for copy in range(2)}
    errors = {e.sku: e.rule for e in catalog.errors}
    assert "with no transparent pixel" in errors["OPAQUE-1"]
    assert "bad CRC-32 in its IDAT chunk" in errors["DAMAGED-1"]
    assert "image file is truncated" in errors["NOEND-1"]
    assert cache.stats["file_reads"] == len(files)
    # each file's content once, and the blank stand-in for the video's first frame
    assert cache.stats["decodes"] == len(files) + 1
