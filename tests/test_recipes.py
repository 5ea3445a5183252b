"""Recipes end to end against the emulator: one output of every kind for one apparel SKU, each
stored file decoded for real; fingerprints over the recipe's DAG; the asset factory; and bad
recipes refused when definitions load, naming output, field and rule."""

from __future__ import annotations

import io
import shutil
from dataclasses import replace
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image, ImageOps

import dagster as dg
from dagster._core.storage.event_log.base import AssetRecordsFilter

from wan_dagster.core import plan
from wan_dagster.core.catalog import load_catalog
from wan_dagster.core.recipes import DEFAULT_RECIPE, Recipe, RecipeError, RecipeOutput, When
from wan_dagster.dashscope.mediainfo import probe_image, probe_video
from wan_dagster.emulator import Emulator
from wan_dagster.orchestration.assets import MEDIA_DECODES, build_recipe_assets
from wan_dagster.orchestration.defs import build_defs
from wan_dagster.orchestration.resources import (CatalogResource, DashScopeResource,
                                                 LedgerResource, MediaStoreResource)

from conftest import EMULATOR_TIME_SCALE

DATA = Path(__file__).resolve().parent.parent / "data"
SKU = "APP-1001"

#: One output of every kind, chained the way a marketplace seller would.
EVERY_KIND = Recipe(outputs=[
    RecipeOutput(name="studio", kind="background", variants=2,
                 prompt="{title}, seamless white studio backdrop, soft shadow"),
    RecipeOutput(name="worn", kind="model_shot", source="studio"),
    RecipeOutput(name="square", kind="outpaint", source="studio",
                 params={"target": "1024x1024"}),
    RecipeOutput(name="vertical", kind="outpaint", source="worn", params={"target": "9:16"}),
    RecipeOutput(name="sharp", kind="super_resolution", source="studio",
                 params={"upscale_factor": 2}),
    RecipeOutput(name="vertical_video", kind="image_to_video", source="vertical",
                 prompt="{video_prompt}", params={"negative_prompt": "blur", "seed": 7}),
    RecipeOutput(name="reveal", kind="keyframe_video",
                 source={"first": "model_image", "last": "studio"},
                 when=When(categories=["apparel"])),
    RecipeOutput(name="teaser", kind="text_to_video", prompt="{brand}: {title}",
                 when=When(categories=["apparel"])),
])


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory):
    """EVERY_KIND materialized for one SKU in one run: (run result, media root, instance)."""
    root = tmp_path_factory.mktemp("recipes")
    shutil.copytree(DATA, root / "data", ignore=shutil.ignore_patterns("*.py", "sample"))
    catalog = root / "data" / "catalog.csv"
    with Emulator(time_scale=EMULATOR_TIME_SCALE, seed=1) as emulator, \
            dg.instance_for_test() as instance:
        defs = build_defs(
            dashscope=DashScopeResource(base_url=emulator.base_url, poll_scale=0.01),
            catalog=CatalogResource(path=str(catalog)),
            ledger=LedgerResource(url=f"sqlite:///{root / 'ledger.db'}"),
            media_store=MediaStoreResource(root=str(root / "media")), recipe=EVERY_KIND)
        instance.add_dynamic_partitions("sku", [SKU])
        result = defs.get_job_def("media_job").execute_in_process(
            instance=instance, partition_key=SKU, raise_on_error=False)
        yield result, root / "media", instance


def stored(made, asset: str) -> tuple[bytes, dict]:
    """The SKU's stored file of ``asset`` and its materialization metadata."""
    _, media, instance = made
    [record] = instance.fetch_materializations(
        AssetRecordsFilter(asset_key=dg.AssetKey(asset), asset_partitions=[SKU]), limit=1).records
    metadata = {k: v.value for k, v in
                record.event_log_entry.asset_materialization.metadata.items()}
    return (media / metadata["media/uri"]).read_bytes(), metadata


def test_every_output_is_stored_and_decodes(made) -> None:
    result, _, _ = made
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    checks = {e.asset_key.to_user_string(): e.passed
              for e in result.get_asset_check_evaluations() if e.check_name == MEDIA_DECODES}
    assert checks == dict.fromkeys(EVERY_KIND.names, True)


def test_background_stores_every_variant(made) -> None:
    data, metadata = stored(made, "studio")
    keys = metadata["media/variants"]
    assert len(keys) == 2 and len({(made[1] / k).read_bytes() for k in keys}) == 2
    assert probe_image(data).width == 640 and metadata["dashscope/parameters"]["n"] == 2


def test_model_shot_is_purchasable_image_editing(made) -> None:
    data, metadata = stored(made, "worn")
    assert metadata["dashscope/model"] == "wanx2.1-imageedit"
    assert metadata["dashscope/cost_cny"] > 0
    assert (probe_image(data).width, probe_image(data).height) == (640, 640)


def test_outpaint_reaches_its_target_aspect_and_size(made) -> None:
    square, _ = stored(made, "square")
    assert (probe_image(square).width, probe_image(square).height) == (1024, 1024)
    vertical, _ = stored(made, "vertical")
    info = probe_image(vertical)
    assert info.width == 640 and abs(info.height / info.width - 16 / 9) < 1 / info.width


def test_super_resolution_scales_the_image(made) -> None:
    data, _ = stored(made, "sharp")
    assert (probe_image(data).width, probe_image(data).height) == (1280, 1280)


def test_vertical_video_from_the_vertical_still(made) -> None:
    data, metadata = stored(made, "vertical_video")
    info = probe_video(data)
    assert (info.width, info.height) == (480, 832)  # 9:16 at the cheap 480P default
    assert (round(info.duration_s), info.has_audio) == (5, False)
    assert metadata["dashscope/parameters"]["seed"] == 7


def test_keyframe_video_starts_and_ends_near_its_stills(made) -> None:
    data, _ = stored(made, "reveal")
    first_still = Image.open(DATA / "images" / f"{SKU}_model.jpg").convert("RGB")
    last_still = Image.open(io.BytesIO(stored(made, "studio")[0])).convert("RGB")
    opening, closing = first_and_last_frames(data)

    def distance(frame: np.ndarray, still: Image.Image) -> float:
        fitted = ImageOps.fit(still, (frame.shape[1], frame.shape[0]))
        return float(np.abs(frame.astype(int) - np.asarray(fitted, dtype=int)).mean())

    assert distance(opening, first_still) < distance(opening, last_still)
    assert distance(closing, last_still) < distance(closing, first_still)
    assert distance(closing, last_still) < 20


def test_text_to_video_decodes(made) -> None:
    data, metadata = stored(made, "teaser")
    info = probe_video(data)
    assert (info.codec, info.width, info.height) == ("h264", 832, 480)
    assert metadata["dashscope/prompt"].startswith("Northbound Basics: ")


def first_and_last_frames(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    with av.open(io.BytesIO(data)) as container:
        frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
    return frames[0], frames[-1]


# --------------------------------------------------------------------------- without the service


@pytest.fixture(scope="module")
def apparel():
    return load_catalog(DATA / "catalog.csv", recipe=EVERY_KIND).by_sku[SKU]


def test_a_changed_cutout_regenerates_everything_downstream(apparel) -> None:
    before = plan.input_fingerprints(apparel, EVERY_KIND)
    cutout = replace(apparel, cutout_image=str(DATA / "images" / "BAG-3001_cutout.png"))
    after = plan.input_fingerprints(cutout, EVERY_KIND)
    assert {name for name in before if before[name] == after[name]} == {"teaser"}
    prompt = replace(apparel, video_prompt="a slow turn")
    changed = plan.input_fingerprints(prompt, EVERY_KIND)
    assert {n for n in before if before[n] != changed[n]} == {"vertical_video", "reveal"}


def test_rows_a_when_does_not_match_do_not_get_the_output() -> None:
    catalog = load_catalog(DATA / "catalog.csv", recipe=EVERY_KIND)
    assert "teaser" not in catalog.by_sku["BAG-3001"].input_fingerprints
    assert "teaser" in catalog.by_sku[SKU].input_fingerprints
    only = Recipe(outputs=[RecipeOutput(name="bg", kind="background",
                                        when=When(where={"brand": "Ridgeway"}))])
    catalog = load_catalog(DATA / "catalog.csv", recipe=only)
    assert {p.sku for p in catalog.products if p.input_fingerprints} == {
        p.sku for p in catalog.products if p.brand == "Ridgeway"} != set()


def test_an_empty_cell_a_template_needs_fails_its_row_naming_the_column(tmp_path) -> None:
    shutil.copytree(DATA / "images", tmp_path / "images")
    rows = (DATA / "catalog.csv").read_text().splitlines()
    (tmp_path / "catalog.csv").write_text("\n".join(rows[:2] + rows[15:16]) + "\n")
    recipe = Recipe(outputs=[RecipeOutput(name="bg", kind="background",
                                          prompt="{title}, {face_prompt}")])
    catalog = load_catalog(tmp_path / "catalog.csv", recipe=recipe)
    assert [p.sku for p in catalog.products] == [SKU]  # APP-1001 has a face prompt
    [error] = catalog.errors
    assert (error.row, error.column) == (2, "face_prompt") and "bg" in error.rule


def test_the_factory_makes_one_asset_per_output_with_the_recipe_dependencies() -> None:
    assets = {key.to_user_string(): spec for definition in build_recipe_assets(EVERY_KIND)
              for key, spec in definition.specs_by_key.items()}
    assert set(EVERY_KIND.names) | {"product_catalog", "generation_costs", "review_gallery",
                                    "media_handoff"} == set(assets)
    deps = {name: {d.asset_key.to_user_string() for d in assets[name].deps}
            for name in EVERY_KIND.names}
    assert deps["vertical_video"] == {"product_catalog", "vertical"}
    assert deps["vertical"] == {"product_catalog", "worn"}
    assert deps["reveal"] == {"product_catalog", "studio"}
    assert {d.asset_key.to_user_string() for d in assets["media_handoff"].deps} == \
        set(EVERY_KIND.names)
    assert "video" in assets["teaser"].kinds and "image" in assets["square"].kinds


def test_the_default_recipe_uses_no_trial_model() -> None:
    models = {model for p in load_catalog(DATA / "catalog.csv").products
              for model, _ in plan.priced_outputs(p).values()}
    assert not models & {"virtualmodel-v2", "wanx-virtualmodel", "shoemodel-v1"}
    assert "wanx2.1-imageedit" in models
    assert not any(o.allow_trial_models for o in DEFAULT_RECIPE.outputs)


def bad(**fields) -> Recipe:
    return Recipe(outputs=[RecipeOutput(name="bg", kind="background"),
                           RecipeOutput(**{"name": "x", "kind": "model_shot",
                                           "source": "bg", **fields})])


@pytest.mark.parametrize("recipe, message", [
    (bad(model="wan2.9-nope"), "output 'x', field model: 'wan2.9-nope' is not in the registry"),
    (bad(model="wan2.2-i2v-flash"), "output 'x', field model: 'wan2.2-i2v-flash' cannot make "
                                    "a model_shot"),
    (bad(model="virtualmodel-v2", source={"image": "model_image", "mask": "model_mask"}),
     "output 'x', field model: 'virtualmodel-v2' is free-trial-only"),
    (bad(prompt="{title} {colour}"), "output 'x', field prompt: unknown column 'colour'"),
    (bad(params={"strength": 3}), "output 'x', field params.strength: must be <= 1"),
    (bad(params={"loudness": 3}), "output 'x', field params.loudness: wanx2.1-imageedit takes "
                                  "no parameter 'loudness'"),
    (bad(params={"n": 2}), "output 'x', field params.n: set by the recipe: use the output's "
                           "'variants'"),
    (bad(source="nowhere"), "output 'x', field source: 'nowhere' is neither an image column"),
    (bad(variants=9), "output 'x', field variants: must be <= 4"),
    (bad(kind="outpaint"), "output 'x', field params.target: required"),
    (bad(kind="outpaint", params={"target": "tall"}), "output 'x', field params.target: must "
                                                      "be an aspect ratio"),
    (bad(kind="image_to_video", model="wan2.6-i2v-flash",
         params={"shot_type": "multi", "prompt_extend": False}),
     "output 'x', field params.shot_type"),
    (bad(kind="image_to_video", source="y"), "output 'x', field source: 'y' is neither"),
    (Recipe(outputs=[RecipeOutput(name="a", kind="outpaint", source="b",
                                  params={"target": "1:1"}),
                     RecipeOutput(name="b", kind="outpaint", source="a",
                                  params={"target": "1:1"})]),
     "field source: outputs start from each other (a -> b -> a)"),
    (Recipe(outputs=[RecipeOutput(name="v", kind="image_to_video", source="cutout_image"),
                     RecipeOutput(name="w", kind="image_to_video", source="v")]),
     "output 'w', field source: 'v' is a video"),
    (Recipe(outputs=[RecipeOutput(name="media_handoff", kind="background")]),
     "output 'media_handoff', field name: 'media_handoff' is taken"),
])
def test_a_bad_recipe_fails_at_definitions_load(recipe: Recipe, message: str) -> None:
    with pytest.raises(RecipeError) as raised:
        build_defs(recipe=recipe)
    assert message in str(raised.value), str(raised.value)


def test_trial_only_models_load_with_the_opt_in() -> None:
    recipe = bad(model="shoemodel-v1", allow_trial_models=True, prompt=None,
                 source={"image": "cutout_image", "template": "shoe_template"})
    assert dg.AssetKey("x") in build_defs(recipe=recipe).resolve_asset_graph().get_all_asset_keys()


def test_the_sample_recipe_gives_every_row_formats_and_a_vertical_video() -> None:
    """definitions.py's recipe (what ``dagster dev`` and ``python -m wan_dagster`` run) on the
    sample catalog: purchasable models only, the 4 broken rows still refused."""
    from wan_dagster.__main__ import _sample_recipe

    recipe = _sample_recipe()
    catalog = load_catalog(DATA / "catalog.csv", recipe=recipe)
    assert len(catalog.invalid_skus) == 4
    for product in catalog.products:
        priced = plan.priced_outputs(product, recipe)
        shot = product.category in ("apparel", "shoes")
        assert set(priced) == {"background_image", "square_image", "vertical_image",
                               "product_video"} | ({"model_shot"} if shot else set())
        assert plan.planned_outputs(product, recipe)["vertical_image"].sources == {
            "image": "model_shot" if shot else "background_image"}
        assert not {model for model, _ in priced.values()} & {
            "virtualmodel-v2", "wanx-virtualmodel", "shoemodel-v1"}
