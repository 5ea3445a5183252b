"""One media store per ledger: a run given another store than the one its ledger recorded
refuses at start, naming both, and pays for nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import pytest

from recipe_assets import recipe_asset
from wan_dagster import __main__ as command
from wan_dagster.core.ledger import Ledger
from wan_dagster.core.store import LocalMediaStore
from wan_dagster.core.store_binding import StoreMismatch, bind_store
from wan_dagster.orchestration.resources import (CatalogResource, DashScopeResource,
                                                 LedgerResource, MediaStoreResource)

DATA = Path(__file__).resolve().parent.parent / "data"
SKU = "HOM-5001"


def materialize(emulator, tmp_path, media: str, instance) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [recipe_asset("generate_media")], selection=["background_image"], partition_key=SKU, instance=instance,
        raise_on_error=False, resources={
            "dashscope": DashScopeResource(base_url=emulator.base_url, poll_scale=0.01),
            "catalog": CatalogResource(path=str(tmp_path / "data" / "catalog.csv")),
            "ledger": LedgerResource(url=f"sqlite:///{tmp_path / 'ledger.db'}"),
            "media_store": MediaStoreResource(root=str(tmp_path / media))})


def test_a_run_with_another_media_store_than_its_ledgers_refuses_naming_both(tmp_path,
                                                                             emulator):
    shutil.copytree(DATA, tmp_path / "data", ignore=shutil.ignore_patterns("*.py"))
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("sku", [SKU])
        assert materialize(emulator, tmp_path, "media-a", instance).success
        creates = emulator.counters["creates"]

        other = materialize(emulator, tmp_path, "media-b", instance)
    assert not other.success
    [failure] = [e for e in other.all_events if e.event_type_value == "STEP_FAILURE"]
    message = failure.event_specific_data.error.message
    assert (tmp_path / "media-a").as_uri() in message
    assert (tmp_path / "media-b").as_uri() in message
    assert "not a file under" not in message
    assert emulator.counters["creates"] == creates  # nothing paid for


def test_the_first_store_is_recorded_and_the_same_store_passes(tmp_path, ledger_url):
    with Ledger(ledger_url) as ledger:
        bind_store(ledger, LocalMediaStore(tmp_path / "a"))
        bind_store(ledger, LocalMediaStore(tmp_path / "x" / ".." / "a"))  # the same directory
        with pytest.raises(StoreMismatch, match="Nothing was generated"):
            bind_store(ledger, LocalMediaStore(tmp_path / "b"))


def test_the_main_command_refuses_another_output_directory(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    ledger = f"sqlite:///{tmp_path / 'ledger.db'}"
    with Ledger(ledger) as opened:
        bind_store(opened, LocalMediaStore(tmp_path / "first" / "media"))
    code = command.main(["--ledger", ledger, "--out", str(tmp_path / "second"), "--dry-run"])
    assert code == command.EXIT_BAD_INPUT
    error = capsys.readouterr().err
    assert str(tmp_path / "first" / "media") in error and str(tmp_path / "second") in error
