"""The recipe as a YAML Dagster Component, loaded from a project's defs folder the way ``dg``
and ``dagster dev`` load it (``load_from_defs_folder``), and materialized against the
emulator."""

from __future__ import annotations

import shutil
import sys
import textwrap
from pathlib import Path

import httpx
import pytest

import dagster as dg

from wan_dagster import DashScopeResource, LedgerResource, RecipeError

DATA = Path(__file__).resolve().parent.parent / "data"

MARKETPLACE = """\
type: wan_dagster.WanRecipeComponent
attributes:
  catalog_path: catalog/catalog.csv
  media_root: media
  outputs:
    - name: white_background
      kind: background
      prompt: "{title}, seamless white studio background"
    - name: vertical_still
      kind: outpaint
      source: white_background
      params: {target: "9:16"}
    - name: vertical_video
      kind: image_to_video
      source: vertical_still
"""


def project(root: Path, name: str, defs_yaml: str) -> Path:
    """A dg project ``name`` under ``root`` whose defs folder holds one component."""
    folder = root / name / "defs" / "marketplace"
    folder.mkdir(parents=True)
    (root / name / "__init__.py").write_text("")
    (root / name / "defs" / "__init__.py").write_text("")
    (root / "pyproject.toml").write_text(textwrap.dedent(f"""\
        [tool.dg]
        directory_type = "project"
        [tool.dg.project]
        root_module = "{name}"
        """))
    (folder / "defs.yaml").write_text(defs_yaml)
    return folder


@pytest.fixture
def importable(tmp_path: Path):
    sys.path.insert(0, str(tmp_path))
    yield tmp_path
    sys.path.remove(str(tmp_path))


def test_yaml_component_loads_and_materializes(importable: Path, emulator) -> None:
    folder = project(importable, "shop_yaml", MARKETPLACE)
    shutil.copytree(DATA, folder / "catalog", ignore=shutil.ignore_patterns("*.py", "sample"))
    defs = dg.load_from_defs_folder(project_root=importable)
    keys = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    assert {"white_background", "vertical_still", "vertical_video", "media_handoff"} <= keys
    catalog = defs.resources["catalog"]
    assert catalog.path == str(folder / "catalog" / "catalog.csv")
    assert catalog.recipe.names == ("white_background", "vertical_still", "vertical_video")

    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("sku", ["BAG-3001"])
        result = defs.get_job_def("media_job").execute_in_process(
            instance=instance, partition_key="BAG-3001", resources={
                "dashscope": DashScopeResource(base_url=emulator.base_url, poll_scale=0.01),
                "ledger": LedgerResource(url=f"sqlite:///{importable / 'ledger.db'}")})
    assert result.success
    billed = httpx.get(f"{emulator.admin_url}/bill").json()["lines"]
    assert {line["model"] for line in billed} == {"wanx-background-generation-v2",
                                                  "image-out-painting", "wan2.2-i2v-flash"}
    videos = list((folder / "media").rglob("*.mp4"))
    assert len(videos) == 1 and "vertical_video" in str(videos[0])


def test_a_bad_yaml_recipe_fails_at_load_naming_output_field_and_rule(importable: Path) -> None:
    project(importable, "shop_bad", MARKETPLACE.replace('target: "9:16"', 'target: "tall"'))
    with pytest.raises(Exception) as raised:
        dg.load_from_defs_folder(project_root=importable)
    found = raised.value
    while not isinstance(found, RecipeError) and found.__cause__ is not None:
        found = found.__cause__
    assert isinstance(found, RecipeError), repr(raised.value)
    assert "output 'vertical_still', field params.target: must be an aspect ratio" in str(found)
