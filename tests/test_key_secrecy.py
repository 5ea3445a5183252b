"""The API key is a secret everywhere: a literal key is refused before Dagster can store it in a
job snapshot, the resource never shows it (``repr``, ``str``, model dumps, also the instance an
asset receives after EnvVar resolution), and after a run through Dagster the key and every 8
characters of it are absent from the decompressed run and event storage, the logs, the ledger,
the media and the temporary files. The search is shown to find a key Dagster stores compressed.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
import zlib
from pathlib import Path

import pytest

import dagster as dg

from big_catalog import build_catalog
from conftest import EMULATOR_TIME_SCALE
from leak_scan import captured, needles, scan
from wan_dagster.emulator import Emulator
from wan_dagster.orchestration.defs import build_defs
from wan_dagster.orchestration.resources import (CatalogResource, DashScopeResource,
                                                 LedgerResource, MediaStoreResource)

KEY = "sk-SECRET-4b1d9e7a20c35f86"


class Unguarded(dg.ConfigurableResource):
    """A resource that keeps a plain-string secret, as DashScopeResource once did."""

    token: str


def defs_for(dashscope: DashScopeResource, root: Path, catalog: Path) -> dg.Definitions:
    return build_defs(dashscope=dashscope, catalog=CatalogResource(path=str(catalog)),
                      ledger=LedgerResource(url=f"sqlite:///{root / 'ledger.db'}"),
                      media_store=MediaStoreResource(root=str(root / "media")))


def test_a_literal_key_is_refused_with_a_message_that_says_to_use_envvar(
        tmp_path: Path) -> None:
    literal = DashScopeResource(api_key=KEY, base_url="http://127.0.0.1:9")
    with pytest.raises(dg.DagsterInvalidDefinitionError) as refused:
        defs_for(literal, tmp_path, tmp_path / "catalog.csv").get_job_def("media_job")
    assert 'EnvVar("DASHSCOPE_API_KEY")' in str(refused.value)
    assert not [n for n in needles(KEY) if n.decode() in str(refused.value)]


def test_the_embedded_emulator_default_needs_no_key() -> None:
    @dg.asset
    def uses(dashscope: DashScopeResource) -> None:
        assert dashscope.uses_emulator

    assert dg.materialize([uses], resources={"dashscope": DashScopeResource()}).success


def test_repr_str_and_dumps_never_show_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """On the instance given to the definitions and the one an asset receives (Dagster builds
    it anew from the resolved EnvVar, as a plain string)."""
    monkeypatch.setenv("DASHSCOPE_API_KEY", KEY)
    shown: list[str] = []

    @dg.asset
    def looks(dashscope: DashScopeResource) -> None:
        assert dashscope.api_key == KEY  # resolved, and usable
        shown.extend(views(dashscope))

    def views(resource: DashScopeResource) -> list[str]:
        return [repr(resource), str(resource), f"{resource}", str(resource.model_dump()),
                resource.model_dump_json(), str(resource.model_dump(mode="json"))]

    given = DashScopeResource(api_key=dg.EnvVar("DASHSCOPE_API_KEY"), region="singapore")
    assert dg.materialize([looks], resources={"dashscope": given}).success
    shown += views(given)
    assert len(shown) == 12 and all("singapore" in view for view in shown)  # they do show config
    assert not [view for view in shown if any(n.decode() in view for n in needles(KEY))]


def test_the_search_finds_a_key_dagster_stored_compressed(tmp_path: Path) -> None:
    """What the issue found: a resource holding the key as a plain string puts it into the job
    snapshot in runs.db, compressed, where a byte search of the file does not see it."""

    @dg.asset
    def uses(unguarded: Unguarded) -> None:
        pass

    (tmp_path / "dagster").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "dagster")) as instance:
        assert dg.materialize([uses], resources={"unguarded": Unguarded(token=KEY)},
                              instance=instance).success
    found = scan([tmp_path], needles(KEY))
    runs_db = next(p for p in found.files if p.name == "runs.db")
    assert runs_db in found.hits
    assert KEY.encode() not in runs_db.read_bytes()  # only the decompressed layers show it
    # and a key in a blob that spans SQLite overflow pages, compressed, is found too
    planted = tmp_path / "planted.db"
    with sqlite3.connect(planted) as db:
        db.execute("CREATE TABLE t (body BLOB)")
        db.execute("INSERT INTO t VALUES (?)",
                   (zlib.compress(os.urandom(20_000).hex().encode() + KEY[3:11].encode()),))
    db.close()
    assert scan([planted.parent], needles(KEY)).hits[planted] == [KEY[3:11].encode()]


def test_after_a_run_the_key_is_nowhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A batch of four SKUs (one with a model shot) on an emulator that requires the key, with
    Dagster's storage, the ledger, the media and every temporary file under one root."""
    monkeypatch.setenv("DASHSCOPE_API_KEY", KEY)
    (tmp_path / "tmp").mkdir()
    (tmp_path / "dagster").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    catalog, skus = build_catalog(tmp_path / "catalog", 4, model_shots=1)
    with Emulator(api_key=KEY, time_scale=EMULATOR_TIME_SCALE, seed=3) as emulator, \
            captured(tmp_path / "output.txt") as records, \
            dg.instance_for_test(temp_dir=str(tmp_path / "dagster")) as instance:
        dashscope = DashScopeResource(api_key=dg.EnvVar("DASHSCOPE_API_KEY"),
                                      base_url=emulator.base_url, poll_scale=0.01)
        defs = defs_for(dashscope, tmp_path, catalog)
        instance.add_dynamic_partitions("sku", skus)
        result = defs.get_job_def("media_job").execute_in_process(
            instance=instance, tags={"dagster/asset_partition_range_start": skus[0],
                                     "dagster/asset_partition_range_end": skus[-1]})
        creates = emulator.counters["creates"]
    (tmp_path / "logs.txt").write_text("\n".join(records.lines))
    assert result.success and creates == 2 * len(skus) + 1  # the key did work
    assert {"httpx", "httpcore.http11"} <= records.names  # DEBUG logs were captured

    found = scan([tmp_path], needles(KEY))
    assert found.hits == {}
    names = {p.relative_to(tmp_path).parts[0] for p in found.files}
    assert {"dagster", "ledger.db", "media", "output.txt", "logs.txt"} <= names
    assert any(p.name == "runs.db" for p in found.files)
    assert found.inflated > 0  # compressed snapshots and SQLite cells were searched
    # the snapshot the key would be in was read: it names the variable, not the value
    default = b'{\\"api_key\\": {\\"env\\": \\"DASHSCOPE_API_KEY\\"}'
    assert [p.name for p in scan([tmp_path / "dagster"], (default,)).hits] == ["runs.db"]
