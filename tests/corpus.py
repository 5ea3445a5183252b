"""Corpora of bad catalog rows next to good sample products, shared by the bad-input and
untrusted-catalog tests (not a test module): how a case is described, written into a catalog,
and how its message and the pipeline's failure table are read back."""

from __future__ import annotations

import shutil
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

import dagster as dg

from wan_dagster.core.ledger import Ledger
from wan_dagster.core.recipes import DEFAULT_RECIPE, Recipe
from wan_dagster.orchestration.defs import build_defs
from wan_dagster.orchestration.resources import (CatalogResource, DashScopeResource,
                                                 LedgerResource, MediaStoreResource)

DATA = Path(__file__).resolve().parent.parent / "data"
#: Stands for the folder next to the catalog's (outside it) in a case's cells and setup.
OUTSIDE = "{outside}"
#: Stands for the catalog's own folder.
CATALOG = "{catalog}"


@dataclass(frozen=True)
class Case:
    """One bad row: sample row ``base`` copied under ``sku`` with ``changes``, next to ``files``
    (name under ``images/`` → its bytes); ``raw`` cells are written into the CSV line verbatim,
    unquoted; ``setup`` prepares the catalog's folder (links, pipes), given it. The row must fail
    on ``column`` with a rule containing ``rule``, where ``{partner}`` stands for the row
    numbers of the other rows with the same SKU, and cells and rules may name ``{outside}`` and
    ``{catalog}``."""

    description: str
    sku: str
    base: str
    column: str
    rule: str
    changes: Mapping[str, object] = field(default_factory=dict)
    files: Mapping[str, Callable[[], bytes]] = field(default_factory=dict)
    raw: Mapping[str, str] = field(default_factory=dict)
    setup: Callable[[Path], None] | None = None


@dataclass(frozen=True)
class Corpus:
    """Good sample rows first, then one row per case; rows count from 1 as the catalog does."""

    good: list[str]
    cases: list[Case]

    @property
    def rows(self) -> dict[int, Case]:
        return dict(enumerate(self.cases, len(self.good) + 1))

    def expected_rule(self, row: int, directory: Path | None = None) -> str:
        """The row's rule text, with ``{partner}`` and the folders of the corpus written in
        ``directory`` filled in."""
        case = self.rows[row]
        partners = [str(other) for other, twin in self.rows.items()
                    if same_product(twin.sku, case.sku) and other != row]
        rule = case.rule.replace("{partner}", ", ".join(partners))
        return _placed(rule, directory) if directory else rule

    def prefix(self, row: int) -> str:
        """How a RowError of the row starts: ``row N (sku 'X'), column C: ``."""
        case = self.rows[row]
        who = f" (sku {case.sku!r})" if case.sku else ""
        return f"row {row}{who}, column {case.column}: "

    def write(self, directory: Path, name: str = "corpus.csv") -> Path:
        """The sample's images, the cases' files and set-ups, and a CSV of the good rows then
        the cases, in ``directory`` (its sibling ``outside`` may hold what rows must not
        reach)."""
        shutil.copytree(DATA / "images", directory / "images")
        sample = pd.read_csv(DATA / "catalog.csv", dtype="str", keep_default_na=False,
                             na_values=[""]).set_index("sku", drop=False)
        rows = [sample.loc[sku] for sku in self.good]
        raw: dict[str, str] = {}  # placeholder → the cells to write in its place
        for case in self.cases:
            row = sample.loc[case.base].copy()
            row["sku"] = case.sku
            for column, value in case.changes.items():
                row[column] = None if value is None else _placed(str(value), directory)
            for column, cells in case.raw.items():
                token = row[column] = f"@RAW{len(raw)}@"
                raw[token] = cells
            for file_name, make in case.files.items():
                (directory / "images" / file_name).write_bytes(make())
            if case.setup is not None:
                case.setup(directory)
            rows.append(row)
        text = pd.DataFrame(rows).to_csv(index=False)
        for token, cells in raw.items():
            text = text.replace(token, cells)
        path = directory / name
        path.write_text(text)
        return path


def same_product(sku: str, other: str) -> bool:
    """The catalog's rule for duplicates: equal up to case and Unicode normalisation."""
    def identity(text: str) -> str:
        return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    return identity(sku) == identity(other)


def outside_of(directory: Path) -> Path:
    """The folder next to a corpus's, which its rows must not reach."""
    return directory.parent / "outside"


def _placed(text: str, directory: Path) -> str:
    return text.replace(OUTSIDE, str(outside_of(directory))).replace(CATALOG, str(directory))


def failure_rows(result: dg.ExecuteInProcessResult) -> tuple[str, list[tuple[str, str, str]]]:
    """The step failure's description and its ``failures`` metadata as (SKU, asset, reason)
    rows."""
    [failure] = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    data = failure.event_specific_data.user_failure_data
    lines = data.metadata["failures"].value.splitlines()[2:]  # after the header and its rule
    rows = [line.removeprefix("| ").removesuffix(" |").split(" | ", 2) for line in lines]
    return data.description, [(sku, asset, reason) for sku, asset, reason in rows]


@dataclass(frozen=True)
class PipelineRun:
    """A media_job over a corpus: its result, each asset's partition statuses, its ledger."""

    result: dg.ExecuteInProcessResult
    status: dict[str, dict[str, dg.AssetPartitionStatus]]
    ledger: Ledger


def run_pipeline(catalog: Path, keys: list[str], emulator_url: str, root: Path,
                 recipe: Recipe = DEFAULT_RECIPE) -> PipelineRun:
    """The media job of ``recipe`` over partitions ``keys`` (what the sensor registers) of
    ``catalog``, on the emulator at ``emulator_url``, with the ledger and media under ``root``."""
    ledger_url = f"sqlite:///{root / 'ledger.db'}"
    defs = build_defs(dashscope=DashScopeResource(base_url=emulator_url, poll_scale=0.01),
                      catalog=CatalogResource(path=str(catalog)),
                      ledger=LedgerResource(url=ledger_url),
                      media_store=MediaStoreResource(root=str(root / "media")), recipe=recipe)
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("sku", keys)
        result = defs.get_job_def("media_job").execute_in_process(
            instance=instance, raise_on_error=False,
            tags={"dagster/asset_partition_range_start": keys[0],
                  "dagster/asset_partition_range_end": keys[-1]})
        status = {asset: instance.get_status_by_partition(
            dg.AssetKey(asset), keys, dg.DynamicPartitionsDefinition(name="sku"))
            for asset in recipe.names}
    return PipelineRun(result, status, Ledger(ledger_url))
