"""Catalog work that stays small at 100k rows: each image decoded once per content and each row
checked once per content (the validation cache in the ledger's database), a run that validates
only its own rows, and the catalog sensor's state kept in the database behind a small cursor.
Small catalogs: the figures at scale come from benchmarks/catalog_scale.py."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from wan_dagster.core.catalog import load_catalog
from wan_dagster.core.image_verdicts import ValidationCache
from wan_dagster.core.ledger import Ledger
from wan_dagster.core.seen_fingerprints import SeenFingerprints
from wan_dagster.orchestration.defs import build_defs
from wan_dagster.orchestration.resources import CatalogResource

DATA = Path(__file__).resolve().parent.parent / "data"


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    """A copy of the sample catalog and its images, free to edit."""
    shutil.copytree(DATA, tmp_path / "data", ignore=shutil.ignore_patterns("*.py"))
    return tmp_path / "data" / "catalog.csv"


@pytest.fixture
def url(ledger_url: str) -> str:
    """The ledger's database, where the cache and the sensor's state live: SQLite or Postgres."""
    return ledger_url


def cache_of(url: str) -> ValidationCache:
    """A cache that knows only what its database holds, as a new process would."""
    return ValidationCache(Ledger(url))


def rows(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def write(frame: pd.DataFrame, path: Path) -> Path:
    frame.to_csv(path, index=False)
    return path


def test_cached_load_finds_what_an_uncached_one_finds(sample, url):
    plain = load_catalog(sample)
    cold = load_catalog(sample, cache=cache_of(url))
    warm_cache = cache_of(url)
    warm = load_catalog(sample, cache=warm_cache)
    assert plain.errors and cold.errors == plain.errors == warm.errors
    assert [dict(p.input_fingerprints) for p in warm.products] == \
        [dict(p.input_fingerprints) for p in plain.products]
    assert warm.products == plain.products
    # the second load built no request: every row's verdict came from the database
    assert warm_cache.stats["row_misses"] == 0 and warm_cache.stats["decodes"] == 0
    assert warm_cache.stats["file_reads"] == 0  # unchanged files are not even read


def test_an_image_is_decoded_once_per_content(sample, tmp_path):
    """Two rows whose cutouts are copies of one file cost one decode, and a later load whose
    rows changed (new prompts) decodes nothing: the verdicts are kept by content hash."""
    frame = rows(sample).head(1)
    one = cache_of(f"sqlite:///{tmp_path / 'one.db'}")
    load_catalog(write(frame, sample.parent / "one.csv"), cache=one)
    copy = sample.parent / "images" / "copy_of_cutout.png"
    shutil.copyfile(sample.parent / frame.loc[0, "cutout_image"], copy)
    twin = frame.iloc[0].to_dict() | {"sku": "TWIN-1", "cutout_image": "images/copy_of_cutout.png"}
    two_url = f"sqlite:///{tmp_path / 'two.db'}"
    two = cache_of(two_url)
    both = load_catalog(write(pd.concat([frame, pd.DataFrame([twin])]),
                              sample.parent / "two.csv"), cache=two)
    assert not both.errors and len(both.products) == 2
    assert two.stats["decodes"] == one.stats["decodes"] > 0

    frame["background_prompt"] += ", at dusk"
    again = cache_of(two_url)
    changed = load_catalog(write(pd.concat([frame, pd.DataFrame([twin])]),
                                 sample.parent / "two.csv"), cache=again)
    assert not changed.errors
    assert again.stats["row_misses"] == 1 and again.stats["decodes"] == 0


def test_a_changed_image_is_validated_again(sample, url):
    load_catalog(sample, cache=cache_of(url))
    frame = rows(sample)
    victim = frame[frame["category"] == "bags"].iloc[0]
    image = sample.parent / victim["cutout_image"]
    image.write_bytes(image.read_bytes()[: image.stat().st_size // 2])  # truncated
    cache = cache_of(url)
    catalog = load_catalog(sample, cache=cache)
    assert [(e.sku, e.column) for e in catalog.invalid_skus[victim["sku"]]] == \
        [(victim["sku"], "cutout_image")]
    assert "not a readable image" in catalog.invalid_skus[victim["sku"]][0].rule
    assert cache.stats["file_reads"] == 1 and cache.stats["decodes"] >= 1
    assert cache.stats["row_misses"] == 1  # every other row answered from the database


def test_a_run_checks_only_its_own_rows_but_still_refuses_duplicates(sample, tmp_path):
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    frame = rows(sample)
    good = frame[~frame["sku"].str.startswith("BRK")]["sku"].tolist()
    duplicate = frame[frame["sku"] == good[1]].assign(title="a second listing")
    path = write(pd.concat([frame, duplicate]), sample)
    whole = load_catalog(path, cache=cache_of(url))
    assert {e.sku for e in whole.errors} >= {"BRK-MISSING", "BRK-JPEG", good[1]}

    mine = load_catalog(path, skus=[good[0]], cache=cache_of(url))
    assert [p.sku for p in mine.products] == [good[0]] and mine.errors == ()
    assert mine.skus == whole.skus and mine.row_count == whole.row_count
    assert mine.by_sku[good[0]].input_fingerprints == whole.by_sku[good[0]].input_fingerprints

    twice = load_catalog(path, skus=[good[1]], cache=cache_of(url))
    assert twice.products == ()
    assert {(e.row, e.column) for e in twice.errors} == {(2, "sku"), (len(frame) + 1, "sku")}
    assert all("duplicate" in e.rule for e in twice.errors)

    broken = load_catalog(path, skus=["BRK-JPEG"], cache=cache_of(url))
    assert {e.sku for e in broken.errors} == {"BRK-JPEG"}


# --------------------------------------------------------------------------- the sensor


def tick(defs: dg.Definitions, instance: dg.DagsterInstance, cursor: str | None,
         sensor: dg.SensorDefinition | None = None):
    """One tick of ``sensor`` (default: the definitions' catalog sensor), its partitions
    added as Dagster would."""
    sensor = sensor or defs.get_sensor_def("catalog_sensor")
    with dg.partition_loading_context(dynamic_partitions_store=instance), \
            dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs,
                                    resources={"catalog": defs.resources["catalog"]}) as context:
        result = sensor.evaluate_tick(context)
    for request in result.dynamic_partitions_requests:
        instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
    return result


def test_sensor_state_lives_in_the_database_behind_a_small_cursor(sample, url):
    defs = build_defs(catalog=CatalogResource(path=str(sample), cache_url=url))
    state = SeenFingerprints.for_url(url)
    with dg.instance_for_test() as instance:
        first = tick(defs, instance, None)
        valid = {p.sku: p.fingerprint for p in load_catalog(sample).products}
        assert len(first.cursor) < 100
        assert state.pending("catalog_sensor", first.cursor) == valid
        assert len(first.run_requests) == 1  # 29 contiguous new SKUs: one batched run

        unchanged = tick(defs, instance, first.cursor)
        assert unchanged.run_requests == [] and "unchanged" in unchanged.skip_message
        assert unchanged.cursor == first.cursor

        frame = rows(sample)
        changed_sku = frame.loc[3, "sku"]
        frame.loc[3, "video_prompt"] += ", slower"
        write(frame, sample)
        changed = tick(defs, instance, first.cursor)
        assert [r.partition_key for r in changed.run_requests] == [changed_sku]
        assert changed.run_requests[0].run_key.startswith(f"{changed_sku}@")
        # Dagster did not store that tick's cursor (its runs were never submitted): the next
        # tick from the stored one asks for the same run again, nothing is lost
        retried = tick(defs, instance, first.cursor)
        assert [r.run_key for r in retried.run_requests] == \
            [r.run_key for r in changed.run_requests]
        assert tick(defs, instance, retried.cursor).run_requests == []


def test_sensor_takes_over_a_cursor_of_the_json_kind(sample, url):
    """A deployment upgraded with the old cursor (SKU -> fingerprint as JSON) asks only for
    what changed since, and from then on keeps a token."""
    import json

    defs = build_defs(catalog=CatalogResource(path=str(sample), cache_url=url))
    valid = {p.sku: p.fingerprint for p in load_catalog(sample).products}
    stale = dict(valid, **{next(iter(valid)): "0" * 64})
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("sku", list(valid))
        result = tick(defs, instance, json.dumps(stale))
        assert [r.partition_key for r in result.run_requests] == [next(iter(valid))]
        assert len(result.cursor) < 100
        assert tick(defs, instance, result.cursor).run_requests == []


def test_an_image_rewritten_in_place_is_caught_on_a_warm_load(sample, url):
    """Same path, same size, new content: the file's stat changed, so it is hashed again and
    its rows are checked again, whatever their cells say."""
    load_catalog(sample, cache=cache_of(url))
    victim = rows(sample).iloc[0]
    image = sample.parent / victim["cutout_image"]
    image.write_bytes(b"\0" * image.stat().st_size)
    cache = cache_of(url)
    catalog = load_catalog(sample, cache=cache)
    [error] = catalog.invalid_skus[victim["sku"]]
    assert error.column == "cutout_image" and "not a readable image" in error.rule
    assert cache.stats["file_reads"] == 1


def test_a_file_touched_but_unchanged_is_hashed_once(sample, url):
    """A new mtime makes a load hash the file again; its rows are still answered from the
    cache (same content), and the new stat is stored, so the next load reads nothing."""
    load_catalog(sample, cache=cache_of(url))
    (sample.parent / rows(sample).iloc[0]["cutout_image"]).touch()
    for reads in (1, 0):
        cache = cache_of(url)
        load_catalog(sample, cache=cache)
        assert cache.stats["file_reads"] == reads and cache.stats["row_misses"] == 0


def test_a_bounded_load_keeps_its_verdicts_and_the_next_one_goes_on(sample, url):
    """``max_checks`` rows the cache does not know are checked, their verdicts stored; the other
    rows are neither products nor errors, and the next load checks the next ones."""
    whole = load_catalog(sample)
    seen: set[int] = set()
    loads = 0
    while True:
        cache = cache_of(url)
        part = load_catalog(sample, cache=cache, max_checks=10)
        loads += 1
        done = {p.row for p in part.products} | {e.row for e in part.errors}
        assert len(done) + part.unchecked == whole.row_count
        assert cache.stats["row_hits"] >= len(seen)  # what earlier loads checked is kept
        assert done >= seen
        seen = done
        if not part.unchecked:
            break
        assert cache.stats["row_misses"] > 10
    assert loads == 4  # 33 rows, 10 at a time
    assert part.products == whole.products and part.errors == whole.errors


def test_a_bounded_load_does_not_hash_the_images_of_rows_far_past_its_bound(sample, url,
                                                                             tmp_path,
                                                                             monkeypatch):
    """A new catalog's first bounded load hashes the images of its first blocks of rows only
    (the rest could be gigabytes), and later loads go on."""
    import wan_dagster.core.catalog as catalog

    whole = cache_of(f"sqlite:///{tmp_path / 'whole.db'}")
    everything = load_catalog(sample, cache=whole)
    monkeypatch.setattr(catalog, "LOOKUP_ROWS", 10)
    first = cache_of(url)
    part = load_catalog(sample, cache=first, max_checks=5)
    assert part.unchecked == 33 - 5
    assert 0 < first.stats["file_reads"] < whole.stats["file_reads"]
    while part.unchecked:
        part = load_catalog(sample, cache=cache_of(url), max_checks=5)
    assert part.products == everything.products and part.errors == everything.errors


def test_a_load_bounded_in_time_checks_one_part_at_least(sample, url, monkeypatch):
    """Past ``check_seconds`` no further part of ``FLUSH_ROWS`` rows is started, but the first
    always is, so every bounded load makes progress."""
    import wan_dagster.core.catalog as catalog

    monkeypatch.setattr(catalog, "FLUSH_ROWS", 4)
    part = load_catalog(sample, cache=cache_of(url), check_seconds=0)
    assert part.unchecked == 33 - 4
    assert len(part.products) + len({e.row for e in part.errors}) == 4


def test_a_new_catalogs_first_ticks_are_bounded_and_ask_for_each_run_once(sample, url, capsys):
    """A tick validates at most ``rows_per_tick`` new rows, registers and asks runs for those,
    says how far it got, and the next tick goes on from the database: every valid SKU is
    registered and asked for exactly once."""
    from wan_dagster.orchestration.sensors import build_catalog_sensor

    defs = build_defs(catalog=CatalogResource(path=str(sample), cache_url=url))
    sensor = build_catalog_sensor(defs.get_sensor_def("catalog_sensor").job, rows_per_tick=10)
    valid = [p.sku for p in load_catalog(sample).products]
    asked: list[str] = []
    cursor = None
    with dg.instance_for_test() as instance:
        for _ in range(4):
            result = tick(defs, instance, cursor, sensor)
            order = instance.get_dynamic_partitions("sku")
            for run in result.run_requests:
                first = run.partition_key or run.tags["dagster/asset_partition_range_start"]
                last = run.partition_key or run.tags["dagster/asset_partition_range_end"]
                asked += order[order.index(first):order.index(last) + 1]
            cursor = result.cursor
        logged = capsys.readouterr().err  # the tick's log
        assert "validated 30 of 33 rows; continuing next tick" in logged
        assert sorted(asked) == sorted(valid)  # each SKU asked for once
        assert instance.get_dynamic_partitions("sku") == valid
        last = tick(defs, instance, cursor, sensor)
        assert last.run_requests == [] and "unchanged" in last.skip_message


def test_a_load_leaves_the_cycle_collector_as_it_found_it(sample, tmp_path):
    """The load pauses Python's cycle collector while it builds its rows; afterwards, and
    after a load that fails, it runs again (and stays off where the process had it off)."""
    import gc

    from wan_dagster.core.catalog import CatalogError

    load_catalog(sample)
    assert gc.isenabled()
    (tmp_path / "bad.csv").write_text("not,a,catalog\n")
    with pytest.raises(CatalogError):
        load_catalog(tmp_path / "bad.csv")
    assert gc.isenabled()
    gc.disable()
    try:
        load_catalog(sample)
        assert not gc.isenabled()
    finally:
        gc.enable()
