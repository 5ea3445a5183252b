"""Catalog loading and row validation (wan_dagster.core.catalog) and the generation plan it builds on
(wan_dagster.core.plan): on the sample catalog, and on small catalogs written into tmp_path."""

from __future__ import annotations

import ast
import importlib.util
import shutil
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image

from recipe_assets import TRIAL_SHOTS
from wan_dagster.core.product import Product
from wan_dagster.dashscope.requests import TaskRequest
from wan_dagster.core import plan
from wan_dagster.core.catalog import (DAGSTER_INVALID_SUBSTRINGS, DAGSTER_MULTI_PARTITION_CHARACTERS,
                                 Catalog, CatalogError, RowError, load_catalog)

DATA = Path(__file__).resolve().parent.parent / "data"
BROKEN = ["BRK-MISSING", "BRK-JPEG", "BRK-RES", "BRK/../unsafe:name"]

WriteCatalog = Callable[..., Path]


@pytest.fixture(scope="module")
def csv_catalog() -> Catalog:
    return load_catalog(DATA / "catalog.csv")


@pytest.fixture(scope="module")
def parquet_catalog() -> Catalog:
    return load_catalog(DATA / "catalog.parquet")


@pytest.fixture(scope="module")
def sample() -> pd.DataFrame:
    return pd.read_csv(DATA / "catalog.csv", dtype="str", keep_default_na=False, na_values=[""])


IMAGE_COLUMNS = ["cutout_image", "model_image", "model_mask", "shoe_template"]


def sample_rows(sample: pd.DataFrame, skus: list[str],
                changes: dict[str, dict[str, object]] | None = None) -> pd.DataFrame:
    """Sample rows by SKU, with column overrides per SKU."""
    rows = sample.set_index("sku").loc[skus].reset_index()
    for sku, values in (changes or {}).items():
        for column, value in values.items():
            rows.loc[rows["sku"] == sku, column] = value
    return rows


def write_rows(directory: Path, rows: pd.DataFrame) -> Path:
    """Write rows as a CSV next to copies of the sample images they use, which a test may then
    change."""
    (directory / "images").mkdir(exist_ok=True)
    for image in rows[IMAGE_COLUMNS].stack().dropna():
        if (DATA / image).is_file() and not (directory / image).exists():
            shutil.copy(DATA / image, directory / image)
    path = directory / "catalog.csv"
    rows.to_csv(path, index=False)
    return path


@pytest.fixture
def write_catalog(tmp_path: Path, sample: pd.DataFrame) -> WriteCatalog:
    def write(skus: list[str], changes: dict[str, dict[str, object]] | None = None) -> Path:
        return write_rows(tmp_path, sample_rows(sample, skus, changes))

    return write


def variants(directory: Path, sample: pd.DataFrame, base: str,
             cases: list[dict[str, object]]) -> Catalog:
    """One catalog holding a copy of row ``base`` per case, each changed as the case says
    (row 1 is the unchanged ``base``): one load serves a whole parametrized table."""
    rows = sample_rows(sample, [base] * (len(cases) + 1))
    rows["sku"] = [base] + [f"{base}-{i}" for i in range(len(cases))]
    for i, case in enumerate(cases, 1):
        for column, value in case.items():
            rows.loc[i, column] = value
    return load_catalog(write_rows(directory, rows))


def errors_of(catalog: Catalog, sku: str) -> list[tuple[str, str]]:
    return [(e.column, e.rule) for e in catalog.invalid_skus.get(sku, [])]


# --------------------------------------------------------------------------- the sample


def test_csv_and_parquet_give_the_same_catalog(csv_catalog: Catalog,
                                               parquet_catalog: Catalog) -> None:
    assert csv_catalog.products == parquet_catalog.products
    assert csv_catalog.errors == parquet_catalog.errors
    assert csv_catalog.columns == parquet_catalog.columns
    pd.testing.assert_frame_equal(csv_catalog.frame, parquet_catalog.frame)


def test_sample_has_29_valid_products_and_4_broken_rows(csv_catalog: Catalog) -> None:
    assert csv_catalog.row_count == 33
    assert len(csv_catalog.products) == 29
    assert all(e.row > 29 for e in csv_catalog.errors)
    assert list(csv_catalog.invalid_skus) == BROKEN
    assert list(csv_catalog.skus) == [p.sku for p in csv_catalog.products] + BROKEN
    assert [p.row for p in csv_catalog.products] == list(range(1, 30))
    assert csv_catalog.columns["video_duration"] == "Int64"
    assert csv_catalog.columns["video_audio"] == "boolean"


def test_missing_cutout_names_the_path(csv_catalog: Catalog) -> None:
    [(column, rule)] = errors_of(csv_catalog, "BRK-MISSING")
    assert column == "cutout_image"
    assert str(DATA / "images" / "BRK-MISSING_cutout.png") in rule and "does not exist" in rule


def test_jpeg_cutout_fails_the_rgba_rule(csv_catalog: Catalog) -> None:
    assert ("row 31 (sku 'BRK-JPEG'), column cutout_image: must be an RGBA image with a "
            "transparent background (got JPEG mode RGB)") in map(str, csv_catalog.errors)
    assert {column for column, _ in errors_of(csv_catalog, "BRK-JPEG")} == {"cutout_image"}


def test_resolution_the_model_lacks_fails_video_resolution(csv_catalog: Catalog) -> None:
    [(column, rule)] = errors_of(csv_catalog, "BRK-RES")
    assert column == "video_resolution"
    assert "'720P'" in rule and "wan2.2-i2v-plus" in rule


def test_unsafe_sku_fails_on_column_sku(csv_catalog: Catalog) -> None:
    errors = csv_catalog.invalid_skus["BRK/../unsafe:name"]
    assert {e.column for e in errors} == {"sku"}
    assert any("path separators" in e.rule for e in errors)
    assert any("'..'" in e.rule for e in errors)
    assert all(e.row == 33 for e in errors)


def test_image_paths_resolve_relative_to_the_catalog(csv_catalog: Catalog) -> None:
    apparel = csv_catalog.by_sku["APP-1001"]
    assert apparel.cutout_image == str(DATA / "images" / "APP-1001_cutout.png")
    assert Path(apparel.model_mask or "").is_file()
    assert csv_catalog.by_sku["SHO-2003"].shoe_template == str(
        DATA / "images" / "SHO-2003_shoe_template.png")


def test_preview_markdown(csv_catalog: Catalog) -> None:
    lines = csv_catalog.preview_markdown(n=3, width=20).splitlines()
    assert len(lines) == 5
    assert lines[0].startswith("| row | sku | title |")
    assert "| APP-1001 |" in lines[2] and "…" in lines[2]
    assert all(len(cell.strip()) <= 20 for cell in lines[2].split("|"))


# --------------------------------------------------------------------------- files


def test_unclosed_quote_is_a_catalog_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.csv"
    text = (DATA / "catalog.csv").read_text()
    path.write_text(text.replace(",Ridgeway,", ',"Ridgeway,', 1))
    with pytest.raises(CatalogError, match=r"broken\.csv: .*CSV"):
        load_catalog(path)


def test_truncated_parquet_is_a_catalog_error(tmp_path: Path) -> None:
    path = tmp_path / "truncated.parquet"
    data = (DATA / "catalog.parquet").read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CatalogError, match=r"truncated\.parquet: .*Parquet"):
        load_catalog(path)


def test_missing_columns_are_named(tmp_path: Path, sample: pd.DataFrame) -> None:
    path = tmp_path / "catalog.csv"
    sample.drop(columns=["brand", "background_prompt"]).to_csv(path, index=False)
    with pytest.raises(CatalogError) as info:
        load_catalog(path)
    assert str(info.value).endswith("catalog.csv: missing required column(s): brand, "
                                    "background_prompt")


@pytest.mark.parametrize("name", ["catalog.xlsx", "catalog"])
def test_unknown_extension_is_a_catalog_error(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_bytes(b"sku\nA\n")
    with pytest.raises(CatalogError, match="unknown catalog format"):
        load_catalog(tmp_path / name)


def test_optional_columns_may_be_left_out(tmp_path: Path, sample: pd.DataFrame) -> None:
    bags = ["BAG-3001", "BAG-3002", "BAG-3003"]
    rows = sample_rows(sample, bags)
    write_rows(tmp_path, rows)
    rows[["sku", "title", "brand", "category", "cutout_image",
          "background_prompt"]].to_parquet(tmp_path / "catalog.pq")
    catalog = load_catalog(tmp_path / "catalog.pq")
    assert [p.sku for p in catalog.products] == bags
    assert catalog.columns["video_duration"] == "Int64"
    assert plan.video_settings(catalog.products[0]) == {
        "model": "wan2.2-i2v-flash", "resolution": "480P", "duration": 5, "audio": False}


# --------------------------------------------------------------------------- rows


def test_every_row_of_a_duplicated_sku_is_flagged(write_catalog: WriteCatalog) -> None:
    path = write_catalog(["BAG-3001", "BAG-3002", "HOM-5001"],
                         {"HOM-5001": {"sku": "BAG-3001"}})
    catalog = load_catalog(path)
    assert [str(e) for e in catalog.errors] == [
        "row 1 (sku 'BAG-3001'), column sku: duplicate: also on row(s) 3",
        "row 3 (sku 'BAG-3001'), column sku: duplicate: also on row(s) 1",
    ]
    assert [p.sku for p in catalog.products] == ["BAG-3002"]
    assert catalog.skus == ("BAG-3001", "BAG-3002")


#: (sku, a rule it breaks, whether it can still be a partition key)
SKU_CASES: list[tuple[str, str, bool]] = [
    ("BAG/1", "path separators (found '/')", True),
    ("BAG\\1", "path separators (found '\\\\')", True),
    ("BAG..1", "'..'", True),
    (" BAG-1", "whitespace", True),
    ("B" * 129, "at most 128 characters, got 129", True),
    ("BAG\x1b1", "control or invisible characters (found U+001B)", False),
    ("BAG\u200b1", "control or invisible characters (found U+200B)", False),
    ("BAG\t1", "'\\t': Dagster refuses them in partition keys", False),
    ("BAG...1", "'...': Dagster refuses them in partition keys", False),
    ("BAG|1", "'|': Dagster refuses them in multi-partition keys", True),
    ("BAG,1", "',': Dagster refuses them in multi-partition keys", True),
]


@pytest.fixture(scope="module")
def sku_variants(tmp_path_factory: pytest.TempPathFactory, sample: pd.DataFrame) -> Catalog:
    return variants(tmp_path_factory.mktemp("skus"), sample, "BAG-3001",
                    [{"sku": sku} for sku, _, _ in SKU_CASES])


@pytest.mark.parametrize("row, sku, rule, usable",
                         [(i, *case) for i, case in enumerate(SKU_CASES, 2)])
def test_unsafe_skus_are_refused(sku_variants: Catalog, row: int, sku: str, rule: str,
                                 usable: bool) -> None:
    errors = [e for e in sku_variants.errors if e.row == row]
    assert errors and all(e.column == "sku" and e.sku == sku for e in errors)
    assert any(rule in e.rule for e in errors), errors
    assert (sku in sku_variants.skus) is usable
    assert errors[0].partition_key == (sku if usable else f"<row {row}>")
    assert sku_variants.invalid_skus[errors[0].partition_key] == errors


def test_empty_sku_is_required(write_catalog: WriteCatalog) -> None:
    catalog = load_catalog(write_catalog(["BAG-3001"], {"BAG-3001": {"sku": None}}))
    assert [str(e) for e in catalog.errors] == ["row 1, column sku: required"]
    assert list(catalog.invalid_skus) == ["<row 1>"] and catalog.skus == ()


def dagster_constant(module: str, name: str) -> object:
    """A constant of the installed Dagster, read from its source (importing Dagster takes
    seconds)."""
    spec = importlib.util.find_spec("dagster")
    assert spec is not None and spec.origin is not None
    source = Path(spec.origin).parent.joinpath(*module.split(".")).with_suffix(".py")
    for node in ast.parse(source.read_text()).body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == name:
            value = node.value
            if isinstance(value, ast.Call):  # set([...])
                value = value.args[0]
            return ast.literal_eval(value)
    raise AssertionError(f"{name} not found in {source}")


def test_refused_substrings_match_the_installed_dagster() -> None:
    base = dagster_constant("_core.definitions.partitions.utils.base",
                            "INVALID_PARTITION_SUBSTRINGS")
    multi = dagster_constant("_core.definitions.partitions.utils.multi",
                             "INVALID_STATIC_PARTITIONS_KEY_CHARACTERS")
    assert set(DAGSTER_INVALID_SUBSTRINGS) == set(base)  # type: ignore[call-overload]
    assert set(DAGSTER_MULTI_PARTITION_CHARACTERS) == set(multi)  # type: ignore[call-overload]


#: (change to an ELE-6004 row (wan2.2-i2v-plus, 480P, 5 s), column, part of the rule)
ROW_CASES: list[tuple[dict[str, object], str, str]] = [
    ({"category": "toys"}, "category", "must be one of"),
    ({"title": "  "}, "title", "required"),
    ({"brand": None}, "brand", "required"),
    ({"background_prompt": None}, "background_prompt", "required"),
    ({"background_prompt": " ".join(["x"] * 151)}, "background_prompt", "at most 150 words"),
    ({"cutout_image": None}, "cutout_image", "required"),
    ({"cutout_image": "images/nope.png"}, "cutout_image", "does not exist"),
    ({"video_model": "wan2.6-t2v"}, "video_model", "not a first-frame image-to-video model"),
    ({"video_model": "wan9-i2v"}, "video_model", "not a first-frame image-to-video model"),
    ({"video_resolution": "4K"}, "video_resolution", "must be one of ['480P', '1080P']"),
    ({"video_duration": "10"}, "video_duration", "must be one of [5]"),
    ({"video_duration": "five"}, "video_duration", "whole number of seconds"),
    ({"video_audio": "True"}, "video_audio", "not supported by model wan2.2-i2v-plus"),
    ({"video_audio": "maybe"}, "video_audio", "must be true or false"),
    ({"video_prompt": "y" * 801}, "video_prompt", "at most 800 characters"),
]


@pytest.fixture(scope="module")
def row_variants(tmp_path_factory: pytest.TempPathFactory, sample: pd.DataFrame) -> Catalog:
    return variants(tmp_path_factory.mktemp("rows"), sample, "ELE-6004",
                    [changes for changes, _, _ in ROW_CASES])


@pytest.mark.parametrize("row, changes, column, rule",
                         [(i, *case) for i, case in enumerate(ROW_CASES, 2)])
def test_row_rules_name_the_column(row_variants: Catalog, row: int, changes: dict[str, object],
                                   column: str, rule: str) -> None:
    assert [p.sku for p in row_variants.products] == ["ELE-6004"]
    [error] = [e for e in row_variants.errors if e.row == row]
    assert error.column == column and rule in error.rule, error


@pytest.mark.parametrize("sku, changes, column", [
    ("APP-1001", {"model_mask": None}, "model_mask"),
    ("APP-1001", {"model_prompt": None}, "model_prompt"),
    ("APP-1001", {"model_image": "images/nope.jpg"}, "model_image"),
    ("SHO-2001", {"shoe_template": None}, "shoe_template"),
    ("SHO-2001", {"shoe_template": "images/nope.jpg"}, "shoe_template"),
])
def test_model_shot_inputs_are_checked(write_catalog: WriteCatalog, sku: str,
                                       changes: dict[str, object], column: str) -> None:
    path = write_catalog([sku], {sku: changes})
    catalog = load_catalog(path, recipe=TRIAL_SHOTS)
    assert catalog.products == ()
    assert column in {c for c, _ in errors_of(catalog, sku)}
    if None in changes.values():  # the default recipe's model shot edits the background
        assert [p.sku for p in load_catalog(path).products] == [sku]


def test_oversized_cutout_is_refused_before_its_background_is_paid(
        write_catalog: WriteCatalog, tmp_path: Path) -> None:
    path = write_catalog(["BAG-3001"], {"BAG-3001": {"cutout_image": "big.png"}})
    Image.new("RGBA", (2400, 2400), (0, 0, 0, 0)).save(tmp_path / "big.png")
    catalog = load_catalog(path)
    [(column, rule)] = errors_of(catalog, "BAG-3001")
    assert column == "cutout_image" and "first frame" in rule and "<= 2000 px" in rule


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_decompression_bomb_fails_its_row_not_the_load(write_catalog: WriteCatalog,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_catalog(["BAG-3001"])
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100_000)  # the 640x640 cutout is now a bomb
    [error] = load_catalog(path).errors
    assert error.column == "cutout_image" and "decompression bomb" in error.rule


def test_remote_images_pass_through_unread(write_catalog: WriteCatalog) -> None:
    url = "https://example.com/cutouts/BAG-3001.png"
    catalog = load_catalog(write_catalog(["BAG-3001"], {"BAG-3001": {"cutout_image": url}}))
    [product] = catalog.products
    assert product.cutout_image == url
    assert plan.background_request(product).body["input"]["base_image_url"] == url


# --------------------------------------------------------------------------- plan


def video_request(product: Product, still: Path) -> TaskRequest:
    """The default recipe's video request from ``still`` as its first frame."""
    planned = plan.planned_outputs(product)["product_video"]
    return plan.output_request(product, planned, dict.fromkeys(planned.sources.values(), still))


def test_requests_follow_the_recipe(csv_catalog: Catalog) -> None:
    apparel, shoes, bag = (csv_catalog.by_sku[s] for s in ("APP-1001", "SHO-2001", "BAG-3001"))
    background = plan.background_request(bag).body
    assert background["model"] == "wanx-background-generation-v2"
    assert background["parameters"] == {"model_version": "v3", "n": 1}
    assert background["input"]["ref_prompt"] == bag.background_prompt
    still = DATA / "images" / "APP-1001_model.jpg"
    for product in (apparel, shoes):
        planned = plan.planned_outputs(product)["model_shot"]
        assert planned.sources == {"image": "background_image"}
        shot = plan.output_request(product, planned, {"background_image": still}).body
        assert (shot["model"], shot["input"]["function"]) == ("wanx2.1-imageedit",
                                                              "description_edit")
        assert product.title in shot["input"]["prompt"]
    assert "model_shot" not in plan.planned_outputs(bag)
    assert [plan.planned_outputs(p)["product_video"].sources for p in (apparel, shoes, bag)] \
        == [{"first_frame": "model_shot"}, {"first_frame": "model_shot"},
            {"first_frame": "background_image"}]
    assert plan.priced_outputs(apparel)["model_shot"][0] == "wanx2.1-imageedit"


def test_video_defaults_are_cheap_and_silent(csv_catalog: Catalog) -> None:
    defaulted = csv_catalog.by_sku["APP-1003"]  # every video column empty
    assert plan.video_settings(defaulted) == {
        "model": "wan2.2-i2v-flash", "resolution": "480P", "duration": 5, "audio": False}
    still = DATA / "images" / "APP-1003_model.jpg"
    assert video_request(defaulted, still).body["parameters"] == {
        "resolution": "480P", "duration": 5}


def test_a_default_the_model_lacks_falls_back_to_its_cheapest_option(
        write_catalog: WriteCatalog) -> None:
    catalog = load_catalog(write_catalog(["BAG-3001"], {"BAG-3001": {
        "video_model": "wan2.6-i2v-flash", "video_resolution": None, "video_duration": None,
        "video_audio": None}}))
    [product] = catalog.products
    assert plan.video_settings(product) == {
        "model": "wan2.6-i2v-flash", "resolution": "720P", "duration": 5, "audio": False}
    body = video_request(product, DATA / "images" / "APP-1001_model.jpg").body
    assert body["parameters"] == {"resolution": "720P", "duration": 5, "audio": False}


def test_audio_is_sent_only_to_models_that_take_it(csv_catalog: Catalog) -> None:
    still = DATA / "images" / "APP-1001_model.jpg"
    with_audio = next(p for p in csv_catalog.products if p.video_audio)
    assert video_request(with_audio, still).body["parameters"]["audio"] is True
    assert plan.video_settings(with_audio)["audio"] is True
    preview = next(p for p in csv_catalog.products if p.video_model == "wan2.5-i2v-preview")
    # seed 002 L493-494: wan2.5-i2v-preview takes audio=false too, so the silent default is sent
    assert video_request(preview, still).body["parameters"]["audio"] is False
    assert plan.video_settings(preview)["audio"] is False


# --------------------------------------------------------------------------- fingerprints


def test_fingerprints_are_stable_across_loads_and_formats(csv_catalog: Catalog,
                                                          parquet_catalog: Catalog) -> None:
    assert [p.input_fingerprints for p in parquet_catalog.products] == [
        p.input_fingerprints for p in csv_catalog.products]
    assert len({p.fingerprint for p in csv_catalog.products}) == 29
    assert set(csv_catalog.by_sku["APP-1001"].input_fingerprints) == {
        "background_image", "model_shot", "product_video"}
    assert set(csv_catalog.by_sku["BAG-3001"].input_fingerprints) == {
        "background_image", "product_video"}


SKUS = ["APP-1001", "SHO-2001", "BAG-3001", "HOM-5001"]


def changed_assets(before: Catalog, after: Catalog) -> dict[str, set[str]]:
    """SKU → the assets whose input fingerprint differs between two loads."""
    changed = {}
    for old in before.products:
        new = after.by_sku[old.sku]
        assets = {a for a in old.input_fingerprints
                  if old.input_fingerprints[a] != new.input_fingerprints.get(a)}
        assert bool(assets) == (old.fingerprint != new.fingerprint)
        if assets:
            changed[old.sku] = assets
    return changed


def test_changed_cutout_bytes_regenerate_background_and_video(write_catalog: WriteCatalog,
                                                              tmp_path: Path) -> None:
    path = write_catalog(SKUS)
    before = load_catalog(path)
    cutout = tmp_path / "images" / "BAG-3001_cutout.png"
    with Image.open(cutout) as image:
        image.rotate(90).save(cutout)
    assert changed_assets(before, load_catalog(path)) == {
        "BAG-3001": {"background_image", "product_video"}}


def test_apparel_video_follows_the_model_shot_not_the_cutout(write_catalog: WriteCatalog,
                                                             tmp_path: Path) -> None:
    path = write_catalog(SKUS)
    before = load_catalog(path)
    for name in ("APP-1001_cutout.png", "APP-1001_model.jpg"):
        with Image.open(tmp_path / "images" / name) as image:
            image.transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(tmp_path / "images" / name)
    assert changed_assets(before, load_catalog(path)) == {
        "APP-1001": {"background_image", "model_shot", "product_video"}}


def test_shoe_cutout_is_an_input_of_the_shoe_shot(write_catalog: WriteCatalog,
                                                   tmp_path: Path) -> None:
    path = write_catalog(SKUS)
    before = load_catalog(path)
    cutout = tmp_path / "images" / "SHO-2001_cutout.png"
    with Image.open(cutout) as image:
        image.rotate(90).save(cutout)
    assert changed_assets(before, load_catalog(path)) == {
        "SHO-2001": {"background_image", "model_shot", "product_video"}}


@pytest.mark.parametrize("column, value, assets", [
    ("background_prompt", "a sandy beach at noon", {"background_image", "product_video"}),
    ("video_prompt", "fast zoom out", {"product_video"}),
    ("video_resolution", "720P", {"product_video"}),
])
def test_changed_prompt_or_setting_changes_only_what_depends_on_it(
        write_catalog: WriteCatalog, column: str, value: str, assets: set[str]) -> None:
    before = load_catalog(write_catalog(SKUS))
    after = load_catalog(write_catalog(SKUS, {"HOM-5001": {column: value}}))
    assert changed_assets(before, after) == {"HOM-5001": assets}


def test_fingerprint_follows_content_not_path(write_catalog: WriteCatalog,
                                              tmp_path: Path) -> None:
    before = load_catalog(write_catalog(SKUS))
    shutil.copy(tmp_path / "images" / "HOM-5001_cutout.png", tmp_path / "renamed.png")
    after = load_catalog(write_catalog(SKUS, {"HOM-5001": {"cutout_image": "renamed.png"}}))
    assert after.by_sku["HOM-5001"].cutout_image == str(tmp_path / "renamed.png")
    assert changed_assets(before, after) == {}


def test_video_defaults_are_part_of_the_video_fingerprint(write_catalog: WriteCatalog) -> None:
    path = write_catalog(["APP-1003", "BAG-3001"])  # APP-1003 leaves its video to the defaults
    before = load_catalog(path)
    after = load_catalog(path, video_defaults=plan.VideoDefaults(resolution="720P"))
    assert changed_assets(before, after) == {"APP-1003": {"product_video"}}


def test_row_error_reads_like_a_sentence() -> None:
    assert str(RowError(7, None, "sku", "required")) == "row 7, column sku: required"
