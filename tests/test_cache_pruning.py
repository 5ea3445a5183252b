"""The validation cache and the catalog sensor's state forget what nothing used for
``KEEP_DAYS``: row verdicts and file hashes no load used, decode verdicts of another decoder
version, sensor states no tick used; what is in use stays, and what was forgotten is simply
worked out again. Days are injected (``today``): no clock, no sleeping."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from wan_dagster.core.catalog import Catalog, load_catalog
from wan_dagster.core.image_verdicts import DECODE_VERSION, ValidationCache
from wan_dagster.core.ledger import Ledger
from wan_dagster.core.pruning import KEEP_DAYS, REFRESH_DAYS
from wan_dagster.core.seen_fingerprints import SeenFingerprints

DATA = Path(__file__).resolve().parent.parent / "data"
DAY = 20_000  # "today", as days since 1970
LONG_AGO = DAY - KEEP_DAYS - 10


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    """A copy of the sample catalog and its images, free to edit."""
    shutil.copytree(DATA, tmp_path / "data", ignore=shutil.ignore_patterns("*.py"))
    return tmp_path / "data" / "catalog.csv"


def cache_at(url: str, day: int, **options: int) -> ValidationCache:
    """A cache of a new process on ``day``."""
    return ValidationCache(Ledger(url), today=lambda: day, **options)


def load(sample: Path, cache: ValidationCache) -> Catalog:
    return load_catalog(sample, cache=cache, processes=1)  # its rows checked with ``cache``


def query(url: str, sql: str) -> list[tuple]:
    with Ledger(url).transaction() as conn:
        return [tuple(row) for row in conn.exec_driver_sql(sql)]


def stored_files(url: str) -> set[str]:
    return {Path(path).name for (path,) in query(url, "SELECT path FROM wan_file_hashes")}


def edit(sample: Path) -> tuple[pd.DataFrame, str]:
    """Drop the second row (its images are named by no other row) and reword the first one's
    background; the original rows and the dropped row's SKU."""
    frame = pd.read_csv(sample, dtype=str, keep_default_na=False)
    edited = frame.drop(index=1)
    edited.loc[0, "background_prompt"] += ", at dusk"
    edited.to_csv(sample, index=False)
    return frame, frame.loc[1, "sku"]


@pytest.mark.parametrize("ledger_url", ["sqlite", "postgres"], indirect=True)
def test_entries_no_load_used_for_keep_days_are_pruned_and_worked_out_again(sample, ledger_url):
    url = ledger_url
    plain = load_catalog(sample)
    load(sample, cache_at(url, LONG_AGO))
    rows_then, files_then = len(query(url, "SELECT key FROM wan_row_verdicts")), \
        stored_files(url)
    original, dropped = edit(sample)
    dropped_files = {Path(original.loc[1, column]).name
                     for column in ("cutout_image", "model_image", "model_mask")}
    assert dropped_files <= files_then

    load(sample, cache_at(url, DAY))
    # what this load used is marked as used lately; the dropped row's verdict and files and
    # the reworded row's old verdict, last used long ago, are gone
    for table in ("wan_row_verdicts", "wan_file_hashes"):
        days = {day for (day,) in query(url, f"SELECT used FROM {table}")}
        assert min(days) > DAY - REFRESH_DAYS and max(days) == DAY
    assert len(query(url, "SELECT key FROM wan_row_verdicts")) == rows_then - 1
    assert stored_files(url) == files_then - dropped_files

    original.to_csv(sample, index=False)
    again = cache_at(url, DAY)
    restored = load(sample, again)
    assert restored.products == plain.products and restored.errors == plain.errors
    assert again.stats["row_misses"] == 2  # the two pruned verdicts, checked again
    assert again.stats["file_reads"] == len(dropped_files)


def test_entries_used_within_keep_days_are_kept(sample, tmp_path):
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    load(sample, cache_at(url, LONG_AGO))
    rows_then, files_then = len(query(url, "SELECT key FROM wan_row_verdicts")), \
        stored_files(url)
    edit(sample)
    load(sample, cache_at(url, DAY, keep_days=DAY - LONG_AGO))
    assert len(query(url, "SELECT key FROM wan_row_verdicts")) == rows_then + 1  # the new one
    assert stored_files(url) == files_then


def test_an_entry_in_use_has_its_day_rewritten_once_in_refresh_days(sample, tmp_path):
    """Not on every load: the warm path writes little on most days. The entries one load
    wrote come due on different days, so no later load rewrites them all at once."""
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    stored = "SELECT key, used FROM wan_row_verdicts ORDER BY key"
    load(sample, cache_at(url, DAY))
    written = query(url, stored)
    assert len({day for _, day in written}) > 1
    for day in range(DAY + 1, DAY + 3 * REFRESH_DAYS):
        load(sample, cache_at(url, day))
        now = query(url, stored)
        assert [key for key, _ in now] == [key for key, _ in written]
        rewritten = {key: used for (key, then), (_, used) in zip(written, now) if used != then}
        assert set(rewritten) == {key for key, then in written if then <= day - REFRESH_DAYS}
        assert set(rewritten.values()) <= {day}
        assert len(rewritten) < len(written)
        written = now


def test_decode_verdicts_of_another_decoder_version_are_pruned_once_a_day(sample, tmp_path):
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    load(sample, cache_at(url, DAY - REFRESH_DAYS))  # every entry comes due on DAY
    current = len(query(url, "SELECT sha256 FROM wan_image_verdicts"))
    old = "INSERT INTO wan_image_verdicts (sha256, version, error, transparent) " \
          "VALUES ('{}', '0000000000000000', NULL, false)"
    with Ledger(url).transaction(write=True) as conn:
        conn.exec_driver_sql(old.format("a" * 64))

    load(sample, cache_at(url, DAY))  # the day's first load: its flush prunes
    assert query(url, "SELECT DISTINCT version FROM wan_image_verdicts") == [(DECODE_VERSION,)]
    assert len(query(url, "SELECT sha256 FROM wan_image_verdicts")) == current

    with Ledger(url).transaction(write=True) as conn:
        conn.exec_driver_sql(old.format("b" * 64))
    edit(sample)
    load(sample, cache_at(url, DAY))  # it flushes a new verdict, but today's pruning is done
    assert len(query(url, "SELECT sha256 FROM wan_image_verdicts")) == current + 1
    load(sample, cache_at(url, DAY + REFRESH_DAYS))
    assert len(query(url, "SELECT sha256 FROM wan_image_verdicts")) == current


@pytest.mark.parametrize("ledger_url", ["sqlite", "postgres"], indirect=True)
def test_a_sensor_state_no_tick_used_for_keep_days_is_pruned_the_live_one_kept(ledger_url):
    url = ledger_url
    current = {f"SKU-{n}": f"print-{n}" for n in range(5)}
    then = SeenFingerprints(Ledger(url), today=lambda: LONG_AGO)
    _, abandoned = then.changes("catalog_sensor", None, current)  # then its cursor was reset
    _, live = then.changes("catalog_sensor", None, current)
    # another deployment's sensor of the same name, sharing the database, ticked lately
    _, elsewhere = SeenFingerprints(Ledger(url), today=lambda: DAY - KEEP_DAYS + 10).changes(
        "catalog_sensor", None, current)

    now = SeenFingerprints(Ledger(url), today=lambda: DAY)
    wanted, cursor = now.changes("catalog_sensor", live, current)  # nothing changed today
    assert wanted == set() and cursor == live
    assert now.pending("catalog_sensor", abandoned) == {}
    assert now.pending("catalog_sensor", live) == current
    assert now.pending("catalog_sensor", elsewhere) == current
    assert len(query(url, "SELECT scope FROM wan_sensor_scopes")) == 2

    changed = dict(current, **{"SKU-3": "print-3b"})
    wanted, cursor = now.changes("catalog_sensor", live, changed)
    assert wanted == {"SKU-3"} and cursor != live
    assert now.changes("catalog_sensor", cursor, changed)[0] == set()


OLD_SCHEMA = [  # the validation cache's and the sensor state's tables before pruning
    "CREATE TABLE wan_file_hashes (path_key VARCHAR(64) PRIMARY KEY, path TEXT NOT NULL, "
    "size BIGINT NOT NULL, mtime_ns BIGINT NOT NULL, inode BIGINT NOT NULL, "
    "sha256 VARCHAR(64) NOT NULL)",
    "CREATE TABLE wan_image_verdicts (sha256 VARCHAR(64), version VARCHAR(16), error TEXT, "
    "transparent BOOLEAN NOT NULL, PRIMARY KEY (sha256, version))",
    "CREATE TABLE wan_row_verdicts (key VARCHAR(64) PRIMARY KEY, verdict TEXT NOT NULL)",
    "CREATE TABLE wan_sensor_seen (scope VARCHAR(200), sku VARCHAR(1024), generation INTEGER, "
    "fingerprint VARCHAR(64) NOT NULL, PRIMARY KEY (scope, sku, generation))",
]


@pytest.mark.parametrize("ledger_url", ["sqlite", "postgres"], indirect=True)
def test_a_database_of_the_older_schema_is_upgraded_and_keeps_its_entries(sample, ledger_url):
    url = ledger_url
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        for statement in OLD_SCHEMA:
            conn.exec_driver_sql(statement)
        conn.exec_driver_sql("INSERT INTO wan_row_verdicts VALUES ('k', 'video=abc')")
        conn.exec_driver_sql("INSERT INTO wan_sensor_seen VALUES "
                             f"('catalog_sensor:{'e' * 32}', 'SKU-1', 1, 'print-1')")
    engine.dispose()
    first = load(sample, cache_at(url, DAY))
    warm = cache_at(url, DAY)
    assert load(sample, warm) == first and warm.stats["row_misses"] == 0
    # the old entry counts as used on the day of the upgrade: it is not deleted at once
    assert query(url, "SELECT used FROM wan_row_verdicts WHERE key = 'k'") == [(DAY,)]

    state = SeenFingerprints(Ledger(url), today=lambda: DAY)
    assert query(url, "SELECT used FROM wan_sensor_scopes") == [(DAY,)]
    wanted, _ = state.changes("catalog_sensor", f"{'e' * 32}:1",
                              {"SKU-1": "print-1", "SKU-2": "print-2"})
    assert wanted == {"SKU-2"}
