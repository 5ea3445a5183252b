"""A corpus of bad inputs in one catalog next to three good products: every bad row fails its own
SKU before anything is paid for, with a message naming the row, the column and the rule, while
the good products in the same file are generated. Problems no row can own (a corrupt Parquet
file, a column of the wrong type, an unbalanced quote) raise CatalogError naming the file."""

from __future__ import annotations

import io
import shutil
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from PIL import Image

import dagster as dg

from corpus import DATA, Case, Corpus, failure_rows, run_pipeline
from recipe_assets import WITH_TRIAL_SHOTS
from wan_dagster.orchestration.assets import product_catalog
from wan_dagster.core.catalog import WHOLE_ROW, Catalog, CatalogError, load_catalog
from wan_dagster.core.image_verdicts import ValidationCache
from wan_dagster.core.ledger import Ledger
from wan_dagster.orchestration.defs import build_defs, with_recipe
from wan_dagster.emulator import Emulator
from wan_dagster.orchestration.resources import (CatalogResource, DashScopeResource, LedgerResource,
                                   MediaStoreResource)

#: The good products, one per kind of plan, and the generations (paid calls) each needs.
GENERATIONS = {"APP-1001": 3, "SHO-2001": 3, "BAG-3001": 2}  # bags have no model shot
GOOD = list(GENERATIONS)


# --------------------------------------------------------------------------- bad files


def encode(image: Image.Image, kind: str = "PNG", **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, format=kind, **options)
    return out.getvalue()


def cutout(mode: str, size: tuple[int, int] = (640, 640), kind: str = "PNG") -> bytes:
    """A product square on a background, in ``mode``; transparent around it where the mode has
    alpha, so that only the mode (or size) is wrong."""
    background = {"RGBA": (0, 0, 0, 0), "RGB": (255, 255, 255), "L": 255, "P": 0}[mode]
    image = Image.new(mode, size, background)
    image.paste({"RGBA": (200, 60, 40, 255), "RGB": (200, 60, 40), "L": 90, "P": 7}[mode],
                (size[0] // 4, size[1] // 4, size[0] * 3 // 4, size[1] * 3 // 4))
    return encode(image, kind)


def half_of(sample_image: str) -> Callable[[], bytes]:
    """The first half of a sample image: a download or copy cut short."""
    def make() -> bytes:
        data = (DATA / "images" / sample_image).read_bytes()
        return data[: len(data) // 2]
    return make


def damaged_idat(sample_image: str) -> Callable[[], bytes]:
    """A sample PNG with one byte of its first IDAT chunk's data flipped: a bad disk or copy."""
    def make() -> bytes:
        data = (DATA / "images" / sample_image).read_bytes()
        at = data.index(b"IDAT") + 100
        return data[:at] + bytes([data[at] ^ 0x40]) + data[at + 1:]
    return make


def declared_png(width: int, height: int) -> bytes:
    """A PNG whose header declares ``width`` x ``height`` pixels over a stub of data: a
    decompression bomb that costs nothing to write."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\0")) + chunk(b"IEND", b""))


def heavy(mode: str, side: int) -> bytes:
    """An uncompressed PNG: ``side``² pixels of ``mode`` on disk, byte for byte."""
    return encode(Image.new(mode, (side, side)), compress_level=0)


def gif_cutout() -> bytes:
    """A cutout with a transparent background, in a format the background model refuses."""
    image = Image.new("P", (640, 640), 0)
    image.paste(7, (160, 160, 480, 480))
    return encode(image, "GIF", transparency=0)


# --------------------------------------------------------------------------- the corpus


def image_case(description: str, sku: str, base: str, column: str, rule: str,
               make: Callable[[], bytes], name: str) -> Case:
    """A row whose ``column`` is a new file ``images/<name>`` holding ``make()``."""
    return Case(description, sku, base, column, rule, {column: f"images/{name}"}, {name: make})


def video_case(description: str, sku: str, column: str, rule: str, model: str,
               resolution: str, duration: object, **changes: object) -> Case:
    """A bags row with every video setting given, so that only the one under test is wrong."""
    return Case(description, sku, "BAG-3002", column, rule,
                {"video_model": model, "video_resolution": resolution,
                 "video_duration": duration, "video_audio": None, **changes})


ONE_OF = "must be one of"
NOT_I2V = "not a first-frame image-to-video model"
SECONDS = "must be a whole number of seconds"

CASES: list[Case] = [
    # CSV lines with more fields than the header: the row fails alone, later rows keep their
    # numbers (every case after these asserts
    # its own)
    Case("unquoted comma in the title", "BAD-CSV-COMMA", "HOM-5002", WHOLE_ROW,
         "the line has 17 fields but the header has 16 columns",
         raw={"title": "Ceramic Mug, Sage"}),
    Case("two stray fields after the last column", "BAD-CSV-TRAILING", "HOM-5002", WHOLE_ROW,
         "the line has 18 fields but the header has 16 columns", raw={"video_audio": ",,"}),
    # missing and unreadable images
    Case("cutout file missing", "BAD-CUT-MISSING", "BAG-3002", "cutout_image",
         "images/nope.png' does not exist", {"cutout_image": "images/nope.png"}),
    Case("model image missing", "BAD-MODEL-MISSING", "APP-1003", "model_image",
         "does not exist", {"model_image": "images/nope.jpg"}),
    Case("mask missing", "BAD-MASK-MISSING", "APP-1003", "model_mask", "does not exist",
         {"model_mask": "images/nope_mask.png"}),
    Case("shoe template missing", "BAD-TPL-MISSING", "SHO-2002", "shoe_template",
         "does not exist", {"shoe_template": "images/nope.jpg"}),
    Case("cutout is a directory", "BAD-CUT-DIR", "BAG-3002", "cutout_image",
         "is not a regular file", {"cutout_image": "images"}),
    image_case("garbage bytes named .png", "BAD-CUT-GARBAGE", "BAG-3002", "cutout_image",
               "not a readable image (not in any image format",
               lambda: b"<html>404 not found</html>\n" * 20, "garbage.png"),
    image_case("truncated PNG cutout", "BAD-CUT-TRUNC", "BAG-3002", "cutout_image",
               "not a readable image (image file is truncated", half_of("BAG-3002_cutout.png"),
               "trunc_cutout.png"),
    image_case("PNG cutout with a damaged byte in its pixel data", "BAD-CUT-DAMAGED", "BAG-3002",
               "cutout_image", "not a readable image (broken PNG file (bad CRC-32 in its IDAT",
               damaged_idat("BAG-3002_cutout.png"), "damaged_cutout.png"),
    image_case("zero-byte cutout", "BAD-CUT-EMPTY", "BAG-3002", "cutout_image",
               "not a readable image (0 bytes)", lambda: b"", "empty.png"),
    image_case("truncated JPEG model image", "BAD-MODEL-TRUNC", "APP-1003", "model_image",
               "not a readable image (image file is truncated", half_of("APP-1003_model.jpg"),
               "trunc_model.jpg"),
    image_case("garbage bytes named .jpg model image", "BAD-MODEL-GARBAGE", "APP-1003",
               "model_image", "not a readable image", lambda: b"\xff\xd8\xff" + b"\0" * 999,
               "garbage_model.jpg"),
    image_case("truncated JPEG shoe template", "BAD-TPL-TRUNC", "SHO-2002", "shoe_template",
               "not a readable image (image file is truncated",
               half_of("SHO-2002_shoe_template.jpg"), "trunc_template.jpg"),
    image_case("zero-byte mask", "BAD-MASK-EMPTY", "APP-1003", "model_mask",
               "not a readable image (0 bytes)", lambda: b"", "empty_mask.png"),
    # image modes and formats: a cutout must be an RGBA PNG/WebP with a transparent background.
    # No rule asks a mask to be L or 1 (the service documents no encoding), so none is tested.
    image_case("RGB JPEG cutout", "BAD-CUT-JPEG", "BAG-3002", "cutout_image",
               "must be an RGBA image with a transparent background (got JPEG mode RGB)",
               lambda: cutout("RGB", kind="JPEG"), "cutout.jpg"),
    image_case("RGB PNG cutout", "BAD-CUT-RGB", "BAG-3002", "cutout_image",
               "(got PNG mode RGB)", lambda: cutout("RGB"), "rgb.png"),
    image_case("palette PNG cutout without transparency", "BAD-CUT-PALETTE", "BAG-3002",
               "cutout_image", "(got PNG mode P)", lambda: cutout("P"), "palette.png"),
    image_case("grayscale PNG cutout", "BAD-CUT-GRAY", "BAG-3002", "cutout_image",
               "(got PNG mode L)", lambda: cutout("L"), "gray.png"),
    image_case("opaque RGBA cutout", "BAD-CUT-OPAQUE", "BAG-3002", "cutout_image",
               "(got PNG mode RGBA with no transparent pixel)",
               lambda: encode(Image.new("RGBA", (640, 640), (9, 9, 9, 255))), "opaque.png"),
    image_case("GIF cutout", "BAD-CUT-GIF", "BAG-3002", "cutout_image",
               "format GIF not accepted; use one of ['PNG', 'WEBP']", gif_cutout, "cutout.gif"),
    # sizes: pixels and bytes over the registry's ImageRules
    image_case("cutout over 2000 px (the video's first frame)", "BAD-CUT-HUGE", "BAG-3002",
               "cutout_image", "2400x2400 px; each side must be <= 2000 px",
               lambda: cutout("RGBA", (2400, 2400)), "huge.png"),
    image_case("cutout declaring 20000x20000 px", "BAD-CUT-BOMB", "BAG-3002", "cutout_image",
               "could be decompression bomb", lambda: declared_png(20_000, 20_000), "bomb.png"),
    image_case("cutout too big for a request body", "BAD-CUT-HEAVY", "BAG-3002", "cutout_image",
               "DashScope refuses a create body over 16 MiB", lambda: heavy("RGBA", 1900),
               "heavy_cutout.png"),
    image_case("model image over 4095 px", "BAD-MODEL-HUGE", "APP-1003", "model_image",
               "4200x3000 px; each side must be <= 4095 px",
               lambda: encode(Image.new("RGB", (4200, 3000)), "JPEG"), "huge_model.jpg"),
    image_case("model image wider than 2:1", "BAD-MODEL-WIDE", "APP-1003", "model_image",
               "aspect ratio 3.00:1 exceeds 2:1",
               lambda: encode(Image.new("RGB", (1200, 400)), "JPEG"), "wide_model.jpg"),
    image_case("model image over 5 MB", "BAD-MODEL-HEAVY", "APP-1003", "model_image",
               "5.9 MB; the limit is 5 MB", lambda: heavy("RGB", 1400), "heavy_model.png"),
    image_case("mask under 257 px", "BAD-MASK-SMALL", "APP-1003", "model_mask",
               "200x200 px; each side must be >= 257 px",
               lambda: encode(Image.new("L", (200, 200))), "small_mask.png"),
    image_case("shoe template taller than 1.5:1", "BAD-TPL-TALL", "SHO-2002", "shoe_template",
               "aspect ratio 1.67:1 exceeds 1.5:1",
               lambda: encode(Image.new("RGB", (600, 1000)), "JPEG"), "tall_template.jpg"),
    image_case("shoe template over 5 MB", "BAD-TPL-HEAVY", "SHO-2002", "shoe_template",
               "5.9 MB; the limit is 5 MB", lambda: heavy("RGB", 1400), "heavy_template.png"),
    # video settings the model does not offer
    video_case("unknown video model", "BAD-VID-UNKNOWN", "video_model", NOT_I2V,
               "wan9-i2v", "480P", 5),
    video_case("text-to-video model", "BAD-VID-T2V", "video_model", NOT_I2V,
               "wan2.6-t2v", "720P", 5),
    video_case("keyframe-to-video model", "BAD-VID-KF2V", "video_model", NOT_I2V,
               "wan2.2-kf2v-flash", "480P", 5),
    video_case("image model as video model", "BAD-VID-IMAGE", "video_model", NOT_I2V,
               "wanx-background-generation-v2", "480P", 5),
    video_case("720P on wan2.2-i2v-plus", "BAD-RES-PLUS", "video_resolution",
               f"{ONE_OF} ['480P', '1080P'], got '720P' (model wan2.2-i2v-plus)",
               "wan2.2-i2v-plus", "720P", 5),
    video_case("480P on wan2.6-i2v-flash", "BAD-RES-26", "video_resolution",
               f"{ONE_OF} ['720P', '1080P'], got '480P'", "wan2.6-i2v-flash", "480P", 5),
    video_case("4K", "BAD-RES-4K", "video_resolution", "got '4K'", "wan2.2-i2v-flash", "4K", 5),
    video_case("lower-case 720p", "BAD-RES-CASE", "video_resolution", "got '720p'",
               "wan2.2-i2v-flash", "720p", 5),
    video_case("10 s on wan2.2-i2v-flash", "BAD-DUR-FLASH", "video_duration",
               f"{ONE_OF} [5], got 10", "wan2.2-i2v-flash", "480P", 10),
    video_case("2 s on wanx2.1-i2v-turbo", "BAD-DUR-TURBO", "video_duration",
               f"{ONE_OF} [3, 4, 5], got 2", "wanx2.1-i2v-turbo", "480P", 2),
    video_case("20 s on wan2.6-i2v-flash", "BAD-DUR-26", "video_duration",
               f"{ONE_OF} [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15], got 20",
               "wan2.6-i2v-flash", "720P", 20),
    video_case("0 s", "BAD-DUR-ZERO", "video_duration", f"{ONE_OF} [5], got 0",
               "wan2.2-i2v-flash", "480P", 0),
    # durations that are not whole numbers
    video_case("duration 'five'", "BAD-DUR-WORD", "video_duration", f"{SECONDS}, got 'five'",
               "wan2.2-i2v-flash", "480P", "five"),
    video_case("duration 5.5", "BAD-DUR-FRACTION", "video_duration", f"{SECONDS}, got '5.5'",
               "wan2.2-i2v-flash", "480P", "5.5"),
    video_case("duration -5", "BAD-DUR-NEGATIVE", "video_duration", f"{SECONDS}, got '-5'",
               "wan2.2-i2v-flash", "480P", "-5"),
    video_case("duration '5s'", "BAD-DUR-UNIT", "video_duration", f"{SECONDS}, got '5s'",
               "wan2.2-i2v-flash", "480P", "5s"),
    # prompts over the registry's lengths
    # seed 000 L1524: 150 English words (a 151-character, 30-word prompt is fine)
    Case("background prompt of 151 words", "BAD-BG-PROMPT", "BAG-3002",
         "background_prompt", "must be at most 150 words (a Chinese character counts as one), "
         "got 151", {"background_prompt": " ".join(["bag"] * 151)}),
    video_case("video prompt of 801 characters on a silent model", "BAD-VID-PROMPT",
               "video_prompt", "must be at most 800 characters, got 801", "wan2.2-i2v-flash",
               "480P", 5, video_prompt="v" * 801),
    video_case("video prompt of 1501 characters on wan2.6", "BAD-VID-PROMPT-26",
               "video_prompt", "must be at most 1500 characters, got 1501", "wan2.6-i2v-flash",
               "720P", 5, video_prompt="v" * 1501),
    Case("model prompt of 801 characters", "BAD-MODEL-PROMPT", "APP-1003", "model_prompt",
         "must be at most 800 characters, got 801", {"model_prompt": "m" * 801}),
    Case("face prompt of 801 characters", "BAD-FACE-PROMPT", "APP-1003", "face_prompt",
         "must be at most 800 characters, got 801", {"face_prompt": "f" * 801}),
    # categories
    Case("unknown category", "BAD-CAT-TOYS", "HOM-5002", "category",
         "must be one of ['apparel', 'shoes', 'bags', 'accessories', 'home', 'electronics'], "
         "got 'toys'", {"category": "toys"}),
    Case("category in the wrong case", "BAD-CAT-CASE", "HOM-5002", "category", "got 'Home'",
         {"category": "Home"}),
    # SKUs: duplicated, unsafe as a file or object name, not a partition key, empty
    Case("duplicate SKU, first copy", "DUP-7001", "HOM-5002", "sku",
         "duplicate: also on row(s) {partner}"),
    Case("duplicate SKU, second copy", "DUP-7001", "BAG-3002", "sku",
         "duplicate: also on row(s) {partner}"),
    Case("SKU with '/'", "BAD/SLASH", "HOM-5002", "sku", "path separators (found '/')"),
    Case("SKU with '\\'", "BAD\\BACKSLASH", "HOM-5002", "sku",
         "path separators (found '\\\\')"),
    Case("SKU with '..'", "BAD..DOTS", "HOM-5002", "sku",
         "must not contain '..' (a path traversal)"),
    Case("SKU with a tab", "BAD\tTAB", "HOM-5002", "sku",
         "must not contain '\\t': Dagster refuses them in partition keys"),
    Case("SKU with NUL", "BAD\x00NUL", "HOM-5002", "sku",
         "must not contain '\\x00': Dagster refuses them in partition keys"),
    Case("SKU with ESC", "BAD\x1bESC", "HOM-5002", "sku",
         "must not contain control or invisible characters (found U+001B)"),
    Case("SKU with a newline", "BAD\nNEWLINE", "HOM-5002", "sku",
         "must not contain '\\n': Dagster refuses them in partition keys"),
    Case("empty SKU", "", "HOM-5002", "sku", "required"),
]

CORPUS = Corpus(GOOD, CASES)
#: Row number (as the catalog counts: data rows from 1) → its case; the good rows come first.
ROWS: dict[int, Case] = CORPUS.rows


expected_rule, prefix = CORPUS.expected_rule, CORPUS.prefix


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return CORPUS.write(tmp_path_factory.mktemp("corpus"))


@pytest.fixture(scope="module")
def catalog(corpus: Path) -> Catalog:
    return load_catalog(corpus, recipe=WITH_TRIAL_SHOTS)


# --------------------------------------------------------------------------- row by row


def test_the_cached_check_refuses_the_same_rows_with_the_same_messages(
        corpus: Path, catalog: Catalog, tmp_path: Path) -> None:
    """With the validation cache each image is read and checked once per content and rule,
    cold and then from the database: nothing it refuses or accepts may differ."""
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    for _ in ("cold", "warm"):
        cached = load_catalog(corpus, recipe=WITH_TRIAL_SHOTS,
                              cache=ValidationCache(Ledger(url)))
        assert cached.errors == catalog.errors
        assert cached.products == catalog.products


@pytest.mark.parametrize("cached", [False, True], ids=["uncached", "cached"])
def test_worker_processes_refuse_the_same_rows_with_the_same_messages(
        corpus: Path, catalog: Catalog, tmp_path: Path, cached: bool) -> None:
    """Rows checked in worker processes (a large load's way) come back in file order with the
    products and errors of the in-process check."""
    cache = ValidationCache(Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")) if cached else None
    in_workers = load_catalog(corpus, recipe=WITH_TRIAL_SHOTS, cache=cache, processes=2)
    assert in_workers.errors == catalog.errors
    assert in_workers.products == catalog.products



def test_only_the_good_rows_are_products(catalog: Catalog) -> None:
    assert len(CASES) >= 30
    assert catalog.row_count == len(GOOD) + len(CASES)
    assert [p.sku for p in catalog.products] == GOOD
    assert {e.row for e in catalog.errors} == set(ROWS)


@pytest.mark.parametrize("row", list(ROWS), ids=[case.description for case in CASES])
def test_each_bad_row_names_its_row_column_and_rule(catalog: Catalog, row: int) -> None:
    case = ROWS[row]
    errors = [e for e in catalog.errors if e.row == row]
    assert {e.column for e in errors} == {case.column}, errors  # the one cell to fix
    assert any(str(e).startswith(prefix(row)) and expected_rule(row) in e.rule
               for e in errors), errors
    key = errors[0].partition_key  # the row fails its own SKU, or itself when it has none usable
    assert key == (case.sku if case.sku in catalog.skus else f"<row {row}>")
    assert set(errors) <= set(catalog.invalid_skus[key])


# --------------------------------------------------------------------------- the pipeline


def failures_table(result: dg.ExecuteInProcessResult) -> tuple[str, dict[str, str]]:
    """The step failure's description and SKU → reason (a bad row fails every selected asset
    of its SKU with the same reason)."""
    description, rows = failure_rows(result)
    table: dict[str, str] = {}
    for sku, asset, reason in rows:
        assert asset in WITH_TRIAL_SHOTS.names, (sku, asset)
        assert table.setdefault(sku, reason) == reason, (sku, asset)
    return description, table


def test_the_pipeline_pays_only_for_the_good_skus_and_reports_every_bad_row(
        corpus: Path, catalog: Catalog, emulator: Emulator, tmp_path: Path) -> None:
    keys = list(catalog.skus)  # every usable SKU, good or bad, as if each were asked for by name
    bad = [key for key in keys if key not in GENERATIONS]
    run = run_pipeline(corpus, keys, emulator.base_url, tmp_path, WITH_TRIAL_SHOTS)
    result, status = run.result, run.status

    assert emulator.counters["creates"] == sum(GENERATIONS.values())
    assert {a.sku for a in run.ledger.attempts()} == set(GOOD)  # not even an intent
    for asset, found in status.items():  # good SKUs without a model shot: "does not apply"
        done = {key for key, state in found.items() if state.value == "MATERIALIZED"}
        assert done == {p.sku for p in catalog.products}
    assert {key for key, state in status["product_video"].items()
            if state.value == "FAILED"} == set(bad)

    description, table = failures_table(result)
    assert description.startswith(f"{len(bad)} SKU(s) failed: ")
    assert set(table) == set(bad)
    for sku in bad:  # exactly the catalog's errors for the SKU, every one of its rows
        assert table[sku] == "invalid catalog row: " + "; ".join(
            str(e) for e in catalog.invalid_skus[sku])
    for row, case in ROWS.items():
        if case.sku in catalog.skus:  # a partition: its failure says which row and why
            assert prefix(row) in table[case.sku] and expected_rule(row) in table[case.sku]

    # Rows without a usable SKU are no partition: the catalog asset lists them with the rest.
    shown = product_catalog(dg.build_asset_context(),
                            catalog=with_recipe(CatalogResource(path=str(corpus)), WITH_TRIAL_SHOTS))
    listed = [r.data for r in shown.metadata["invalid_rows"].value.records]
    assert [(r["row"], r["column"], r["rule"]) for r in listed] == [
        (e.row, e.column, e.rule) for e in catalog.errors]
    unusable = [row for row, case in ROWS.items() if case.sku not in catalog.skus]
    assert len(unusable) == 5  # tab, NUL, ESC, newline, empty
    for row in unusable:
        assert any(r["row"] == row for r in listed), row


def test_a_sku_that_cannot_be_a_partition_is_reported_with_its_row_when_asked_for(
        corpus: Path, catalog: Catalog, emulator: Emulator, tmp_path: Path) -> None:
    """Launched by name (the SKU-list job), a SKU with a tab gets its row's reason, not
    "not in the catalog"."""
    defs = build_defs(
        dashscope=DashScopeResource(base_url=emulator.base_url),
        catalog=CatalogResource(path=str(corpus)),
        ledger=LedgerResource(url=f"sqlite:///{tmp_path / 'ledger.db'}"),
        media_store=MediaStoreResource(root=str(tmp_path / "media")), recipe=WITH_TRIAL_SHOTS)
    with dg.instance_for_test() as instance:
        result = defs.resolve_job_def("sku_list_job").execute_in_process(
            instance=instance, raise_on_error=False, run_config={"ops": {"generate_for_skus": {
                "config": {"skus": ["BAD\tTAB"], "register_partitions": False}}}})
    _, table = failures_table(result)
    [row] = [row for row, case in ROWS.items() if case.sku == "BAD\tTAB"]
    assert prefix(row) in table["BAD\tTAB"] and "'\\t'" in table["BAD\tTAB"]
    assert emulator.counters["creates"] == 0


# --------------------------------------------------------------------------- whole files


def sample_table() -> pa.Table:
    """The good rows as an Arrow table with the documented Parquet types."""
    return pq.read_table(DATA / "catalog.parquet").filter(pc.field("sku").isin(GOOD))


def with_column(table: pa.Table, name: str, values: pa.Array) -> pa.Table:
    """``table`` with column ``name`` replaced, as a writer other than pandas would store it
    (without pandas' metadata, which would describe the old type)."""
    return table.set_column(table.schema.get_field_index(name), name,
                            values).replace_schema_metadata(None)


def parquet_bytes(table: pa.Table) -> bytes:
    out = io.BytesIO()
    pq.write_table(table, out)
    return out.getvalue()


def text_with(old: str, new: str) -> Callable[[], bytes]:
    """The sample CSV with the first ``old`` replaced by ``new``."""
    return lambda: (DATA / "catalog.csv").read_text().replace(old, new, 1).encode()


WHOLE_FILE_CASES: list[tuple[str, str, Callable[[], bytes], str]] = [
    ("truncated parquet", "corpus.parquet",
     lambda: (DATA / "catalog.parquet").read_bytes()[:5000], "not a readable Parquet file ("),
    ("zero-byte parquet", "corpus.parquet", lambda: b"", "not a readable Parquet file ("),
    ("CSV named .parquet", "corpus.parquet", lambda: (DATA / "catalog.csv").read_bytes(),
     "not a readable Parquet file ("),
    ("list-typed prompt column", "corpus.parquet",
     lambda: parquet_bytes(with_column(sample_table(), "background_prompt",
                                       pa.array([["marble", "sun"]] * len(GOOD)))),
     "column 'background_prompt' is list<element: string>, not a string (each cell must hold "
     "one value)"),
    ("struct-typed duration column", "corpus.parquet",
     lambda: parquet_bytes(with_column(sample_table(), "video_duration",
                                       pa.array([{"seconds": 5}] * len(GOOD)))),
     "column 'video_duration' is struct<seconds: int64>, not an integer"),
    ("unbalanced quote", "corpus.csv", text_with(",Ridgeway,", ',"Ridgeway,'),
     "not a readable CSV file (line 3: ',' expected after '\"' (an unbalanced quote?))"),
    ("quote open at the end of the file", "corpus.csv",
     lambda: (DATA / "catalog.csv").read_bytes() + b'"never closed\n',
     "not a readable CSV file (line 35: unexpected end of data (an unbalanced quote?))"),
    ("a line with more than twice the header's fields", "corpus.csv",
     text_with(",Ridgeway,", "," + "x," * 30),
     "not a readable CSV file (line 3 has 45 fields; the header has 16 columns)"),
    ("empty CSV", "corpus.csv", lambda: b"", "not a readable CSV file (No columns to parse"),
]


@pytest.mark.parametrize("name, make, message", [case[1:] for case in WHOLE_FILE_CASES],
                         ids=[case[0] for case in WHOLE_FILE_CASES])
def test_a_file_no_row_can_own_is_a_catalog_error(tmp_path: Path, name: str,
                                                  make: Callable[[], bytes],
                                                  message: str) -> None:
    path = tmp_path / name
    path.write_bytes(make())
    with pytest.raises(CatalogError) as info:
        load_catalog(path)
    assert str(info.value).startswith(f"{path}: {message}")


def test_a_scalar_column_of_the_wrong_type_fails_only_the_rows_it_cannot_convert(
        tmp_path: Path) -> None:
    """Durations stored as Parquet strings: the whole numbers are used, the rest fail their
    row (the same rule as in a CSV, where every cell is text)."""
    shutil.copytree(DATA / "images", tmp_path / "images")
    table = with_column(sample_table(), "video_duration", pa.array(["5", "five", "5.0"]))
    pq.write_table(table, tmp_path / "corpus.parquet")
    catalog = load_catalog(tmp_path / "corpus.parquet")
    skus = table.column("sku").to_pylist()
    assert [p.sku for p in catalog.products] == [skus[0], skus[2]]
    assert [str(e) for e in catalog.errors] == [
        f"row 2 (sku {skus[1]!r}), column video_duration: must be a whole number of seconds, "
        f"got 'five'"]
