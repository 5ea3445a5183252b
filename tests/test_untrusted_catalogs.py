"""Untrusted catalogs: a row reads only regular files inside the catalog's folder (or listed
roots) and S3 objects inside its bucket (or listed prefixes); every bad cell fails only its own
row, naming the row, the column and the rule; SKUs that are one product spelled differently are
duplicates; remote URLs are checked before a SKU's first create. Judged by the emulator's bill:
nothing is created for a refused SKU, and the good rows of the same catalog complete.

The corpus is in ``untrusted_corpus``; S3 and Parquet cases, which need their own catalogs or
clients, are here."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import botocore.session
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from botocore.client import BaseClient
from botocore.config import Config

import dagster as dg

from corpus import DATA, Case, Corpus, failure_rows, outside_of, run_pipeline
from untrusted_corpus import GENERATIONS, GOOD, LOAD_CASES, OUT, url_cases
from url_server import url_server
from wan_dagster.core.catalog import Catalog, CatalogError, RowError, load_catalog
from wan_dagster.emulator import Emulator

pytest_plugins = ["s3_server"]


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with url_server() as running:
        yield running.base_url


@pytest.fixture(scope="module")
def corpus(server: str) -> Corpus:
    return Corpus(GOOD, LOAD_CASES + url_cases(server))


@pytest.fixture(scope="module")
def written(corpus: Corpus, tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("untrusted") / "catalog"
    directory.mkdir()
    return corpus.write(directory)


@pytest.fixture(scope="module")
def catalog(written: Path) -> Catalog:
    return load_catalog(written)


def test_the_corpus_is_large_and_only_good_or_url_rows_load(corpus: Corpus,
                                                            catalog: Catalog) -> None:
    assert len(corpus.cases) >= 60
    url_skus = [case.sku for case in corpus.cases if case.sku.startswith("URL-")]
    assert [p.sku for p in catalog.products] == GOOD + url_skus
    assert {e.row for e in catalog.errors} == {row for row, case in corpus.rows.items()
                                               if case in LOAD_CASES}


def load_case_rows() -> list[tuple[int, Case]]:
    return list(enumerate(LOAD_CASES, len(GOOD) + 1))


@pytest.mark.parametrize("row, case", load_case_rows(),
                         ids=[case.description for case in LOAD_CASES])
def test_each_refused_row_names_its_row_column_and_rule(corpus: Corpus, catalog: Catalog,
                                                        written: Path, row: int,
                                                        case: Case) -> None:
    errors = [e for e in catalog.errors if e.row == row]
    assert {e.column for e in errors} == {case.column}, errors  # the one cell to fix
    rule = corpus.expected_rule(row, written.parent)
    assert any(rule in e.rule and str(e).startswith(f"row {row} ")
               and f", column {case.column}: " in str(e) for e in errors), (rule, errors)
    assert all(len(str(e)) < 1000 for e in errors)  # a huge cell is not echoed whole


def test_nothing_outside_was_read(written: Path, catalog: Catalog) -> None:
    """The leak targets exist and are valid images: only confinement kept them out."""
    outside = outside_of(written.parent)
    assert {p.name for p in outside.iterdir()} >= {"BAG-3002_cutout.png"}
    for product in catalog.products:
        for value in (product.cutout_image, product.model_image, product.model_mask,
                      product.shoe_template):
            assert value is None or value.startswith("http") or \
                Path(value).is_relative_to(written.parent.resolve()), value


@pytest.mark.emulator(time_scale=0.01)  # results live 14 min: no slow machine outlasts them
def test_the_pipeline_pays_only_for_the_good_rows(corpus: Corpus, catalog: Catalog,
                                                  written: Path, emulator: Emulator,
                                                  tmp_path: Path) -> None:
    keys = list(catalog.skus)
    run = run_pipeline(written, keys, emulator.base_url, tmp_path)

    # the judge: only the good SKUs were created and billed
    attempts = run.ledger.attempts()
    assert {a.sku for a in attempts} == set(GOOD)
    assert emulator.counters["creates"] == sum(GENERATIONS.values()) == len(emulator.bill.lines)
    assert {line.task_id for line in emulator.bill.lines} == {a.task_id for a in attempts}
    videos = run.status["product_video"]
    assert {k for k, state in videos.items() if state.value == "MATERIALIZED"} == set(GOOD)

    _, rows = failure_rows(run.result)
    reasons: dict[str, set[str]] = {}
    for sku, _asset, reason in rows:
        reasons.setdefault(sku, set()).add(reason)
    for row, case in corpus.rows.items():
        if case.sku not in keys:  # no partition: the catalog asset lists it (test_bad_inputs)
            continue
        [reason] = reasons[case.sku]  # every asset of the SKU, for the one reason
        rule = corpus.expected_rule(row, written.parent)
        assert f"row {row} " in reason and f", column {case.column}: " in reason, reason
        assert rule in reason, (rule, reason)


# --------------------------------------------------------------------------- S3


def no_credentials_client(endpoint: str) -> BaseClient:
    """A client whose credential chain finds nothing."""
    session = botocore.session.Session()
    session.get_component("credential_provider").providers = []
    return session.create_client("s3", endpoint_url=endpoint, region_name="us-east-1")


def unreachable_client() -> BaseClient:
    """A client aimed at a closed port, failing at once."""
    return botocore.session.Session().create_client(
        "s3", endpoint_url="http://127.0.0.1:9", region_name="us-east-1",
        aws_access_key_id="test", aws_secret_access_key="test",
        config=Config(connect_timeout=1, retries={"max_attempts": 0}))


def s3_catalog(directory: Path, cells: list[str]) -> Path:
    """A local catalog of copies of BAG-3002, one per cutout cell."""
    sample = pd.read_csv(DATA / "catalog.csv", dtype="str", keep_default_na=False,
                         na_values=[""]).set_index("sku", drop=False)
    rows = []
    for i, cell in enumerate(cells):
        row = sample.loc["BAG-3002"].copy()
        row["sku"], row["cutout_image"] = f"S3-{i}", cell
        rows.append(row)
    path = directory / "catalog.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_s3_images_only_in_listed_prefixes_and_errors_stay_on_their_row(
        tmp_path: Path, s3_client: BaseClient, s3_bucket: str, s3_endpoint_url: str) -> None:
    cutout = (DATA / "images" / "BAG-3002_cutout.png").read_bytes()
    s3_client.put_object(Bucket=s3_bucket, Key="shop/ok.png", Body=cutout)
    s3_client.put_object(Bucket=s3_bucket, Key="private/secret.png", Body=cutout)
    s3_client.put_object(Bucket=s3_bucket, Key="shop/huge.png", Body=b"\0" * 16_000_000)
    cells = [f"s3://{s3_bucket}/shop/ok.png", f"s3://{s3_bucket}/private/secret.png",
             f"s3://{s3_bucket}/shop/../private/secret.png", f"s3://{s3_bucket}/shop/none.png",
             f"s3://{s3_bucket}/shop/huge.png", f"s3://{s3_bucket}"]
    path = s3_catalog(tmp_path, cells)
    catalog = load_catalog(path, s3_client=s3_client, cache_dir=tmp_path / "cache",
                           s3_prefixes=[f"s3://{s3_bucket}/shop/"])
    assert [p.sku for p in catalog.products] == ["S3-0"]
    expected = {2: "is outside the catalog's bucket and the listed S3 prefixes",
                3: "an object key must not contain '.' or '..' segments",
                4: "cannot download", 5: "is 16.0 MB; an image may be at most 15.7 MB",
                6: "is not an s3://bucket/key URI"}
    assert {e.row: e.column for e in catalog.errors} == dict.fromkeys(expected, "cutout_image")
    for error in catalog.errors:
        assert expected[error.row] in error.rule, error
    assert not list((tmp_path / "cache").glob("*secret*"))  # never downloaded

    # no credentials, or no endpoint: each row fails alone, the load goes on
    allowed = [f"s3://{s3_bucket}/shop/"]
    for client, why in ((no_credentials_client(s3_endpoint_url), "Unable to locate credentials"),
                        (unreachable_client(), "Could not connect to the endpoint URL")):
        lost = load_catalog(path, s3_client=client, cache_dir=tmp_path / "cache2",
                            s3_prefixes=allowed)
        assert lost.products == ()
        assert {e.row for e in lost.errors if why in e.rule} == {1, 4, 5}


def test_a_local_root_the_user_lists_is_readable(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shutil.copy(DATA / "images" / "BAG-3002_cutout.png", shared / "c.png")
    (tmp_path / "catalog").mkdir()
    path = s3_catalog(tmp_path / "catalog", [str(shared / "c.png")])
    assert OUT in load_catalog(path).errors[0].rule
    assert [p.sku for p in load_catalog(path, local_roots=[str(shared)]).products] == ["S3-0"]


# --------------------------------------------------------------------------- Parquet and files


def test_parquet_numbers_read_as_users_mean_them(tmp_path: Path) -> None:
    """A SKU column stored as float reads 3001, not 3001.0; audio stored as 0.0/1.0 is a
    boolean."""
    shutil.copytree(DATA / "images", tmp_path / "images")
    table = pq.read_table(DATA / "catalog.parquet")
    bags = table.filter(pa.compute.field("category") == "bags").slice(0, 2)
    bags = bags.set_column(bags.schema.get_field_index("sku"), "sku",
                           pa.array([3001.0, 3002.0]))
    bags = bags.set_column(bags.schema.get_field_index("video_audio"), "video_audio",
                           pa.array([0.0, 1.0]))
    pq.write_table(bags.replace_schema_metadata(None), tmp_path / "numbers.parquet")
    catalog = load_catalog(tmp_path / "numbers.parquet")
    assert catalog.skus == ("3001", "3002")
    assert catalog.frame["video_audio"].tolist() == [False, True]
    assert not [e for e in catalog.errors if e.column in ("sku", "video_audio")
                and "true or false" in e.rule]


@pytest.mark.parametrize("make, message", [
    (lambda p: p.write_bytes(bytes(range(256)) * 40), "not a readable CSV file ("),
    (lambda p: p.mkdir(), "the catalog is not a regular file"),
    (lambda p: os.mkfifo(p), "the catalog is not a regular file"),
], ids=["binary bytes named .csv", "a directory", "a named pipe"])
def test_a_file_that_is_not_a_table_is_one_clear_error(tmp_path: Path, make, message) -> None:
    path = tmp_path / "catalog.csv"
    make(path)
    with pytest.raises(CatalogError) as info:
        load_catalog(path)
    assert str(info.value).startswith(f"{path}: {message}")
    assert "Traceback" not in str(info.value)


def test_a_long_cell_is_read_and_refused_by_its_own_rule(tmp_path: Path) -> None:
    """Over the csv module's 131,072-character field limit, no "unbalanced quote"."""
    shutil.copytree(DATA / "images", tmp_path / "images")
    frame = pd.read_csv(DATA / "catalog.csv", dtype="str", keep_default_na=False)
    frame = frame[frame["sku"].isin(["BAG-3001", "HOM-5001"])].copy()
    frame.loc[frame["sku"] == "HOM-5001", "title"] = "t" * 300_000
    frame.loc[frame["sku"] == "BAG-3001", "background_prompt"] = " ".join(["bb"] * 100_000)
    frame.to_csv(tmp_path / "long.csv", index=False)
    catalog = load_catalog(tmp_path / "long.csv")
    assert [p.sku for p in catalog.products] == ["HOM-5001"]  # a title has no length rule
    assert catalog.products[0].title == "t" * 300_000
    assert [(e.sku, e.column) for e in catalog.errors] == [("BAG-3001", "background_prompt")]
    assert "must be at most 150 words (a Chinese character counts as one), got 100000" \
        in catalog.errors[0].rule


def test_row_errors_cut_a_huge_sku_short() -> None:
    error = RowError(7, "S" * 200_000, "sku", "must be at most 128 characters, got 200000")
    assert str(error).startswith("row 7 (sku 'SSSS") and len(str(error)) < 300

