"""Load a product catalog (CSV or Parquet, local or on S3) and validate every row before anything
is paid for.

A file that cannot be used at all raises ``CatalogError``. A bad row never does: it becomes
``RowError``s naming the row, the column and the rule, so it fails its own SKU while every other
product goes ahead. Image, prompt and video rules are not restated here: each row's real requests
are built through ``plan`` and the registry's refusals are mapped back to catalog columns.

No Dagster imports: the Dagster layer builds its partitions, checks and sensor on this.
"""

from __future__ import annotations

import csv
import gc
import hashlib
import io
import math
import numbers
import os
import re
import stat
import threading
import time
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from functools import cached_property
from pathlib import Path, PurePosixPath
from types import MappingProxyType
from typing import Any, TypeGuard

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
from botocore.exceptions import BotoCoreError, ClientError

from ..dashscope.inputs import REMOTE_PREFIXES, validation_only
from ..dashscope.validation import decode_verdicts
from . import plan
from .image_verdicts import RULES_VERSION, ValidationCache
from .plan import DEFAULT_VIDEO, VideoDefaults
from .product import Product
from .recipes import DEFAULT_RECIPE, Recipe
from .row_checks import checked_in_chunks, expect
from .sources import DEFAULT_CACHE_DIR, Confinement, ImageSources, split_s3

__all__ = ["CATEGORIES", "COLUMN_DTYPES", "Catalog", "CatalogError", "Product", "RowError",
           "load_catalog"]

CATEGORIES = ("apparel", "shoes", "bags", "accessories", "home", "electronics")

#: The documented columns and their dtypes (data/README.md); other columns are kept as read.
COLUMN_DTYPES: dict[str, str] = {
    **dict.fromkeys(("sku", "title", "brand", "category", "cutout_image", "model_image",
                     "model_mask", "shoe_template", "background_prompt", "model_prompt",
                     "face_prompt", "video_prompt", "video_model", "video_resolution"), "str"),
    "video_duration": "Int64",
    "video_audio": "boolean",
}
TEXT_COLUMNS = tuple(c for c, dtype in COLUMN_DTYPES.items() if dtype == "str")
#: Without these the file is not a catalog; the other columns may be left out (all empty).
#: Which other cells a row needs, the recipe's outputs for that row decide.
REQUIRED_COLUMNS = ("sku", "title", "brand", "category", "cutout_image", "background_prompt")
IMAGE_COLUMNS = ("cutout_image", "model_image", "model_mask", "shoe_template")
#: Text that is shown or sent as it is (the SKU and image cells have rules of their own).
FREE_TEXT_COLUMNS = tuple(c for c in TEXT_COLUMNS if c != "sku" and c not in IMAGE_COLUMNS)
#: The column named by the error of a CSV line with more cells than the header: which of its
#: cells holds the stray comma cannot be told.
WHOLE_ROW = "(whole row)"

MAX_SKU_LENGTH = 128
#: Longer SKUs are not even registered as partitions (their rows are listed by number).
MAX_KEY_LENGTH = 1024
#: A day: longer than any video, far below what the column's 64-bit integers hold.
MAX_SECONDS = 86_400
#: Dagster 1.13's ``INVALID_PARTITION_SUBSTRINGS`` (dagster/_core/definitions/partitions/utils/
#: base.py): "..." separates a partition range in the UI, the rest do not display.
DAGSTER_INVALID_SUBSTRINGS = ("...", "\a", "\b", "\f", "\n", "\r", "\t", "\v", "\0")
#: Dagster 1.13's ``INVALID_STATIC_PARTITIONS_KEY_CHARACTERS`` (…/partitions/utils/multi.py):
#: refused in the keys of a multi-partitions dimension, so a SKU could never be one.
DAGSTER_MULTI_PARTITION_CHARACTERS = ("|", ",", "[", "]")

#: Rows checked between two writes of the validation cache: a load cut short (a crash, a
#: sensor tick's timeout) loses at most this many rows' work.
FLUSH_ROWS = 500
#: Rows whose keys are computed and looked up at once: a load bounded by ``max_checks`` stops
#: after the block where it found enough unknown rows, so that a new catalog's first sensor
#: tick does not hash every image of the catalog.
LOOKUP_ROWS = 10_000


class CatalogError(Exception):
    """The catalog file as a whole cannot be used: unreadable, unparsable or missing columns."""


class _ColumnTypeError(ValueError):
    """A documented column whose type no cell could be converted from (the file is readable)."""


@dataclass(frozen=True)
class RowError:
    """One rule one cell breaks; ``row`` counts data rows from 1."""

    row: int
    sku: str | None
    column: str
    rule: str

    def __str__(self) -> str:
        who = f" (sku {_shown(self.sku)})" if self.sku is not None else ""
        return f"row {self.row}{who}, column {self.column}: {self.rule}"

    @property
    def partition_key(self) -> str:
        """The SKU whose partition this error fails, or ``<row N>`` when the row has no usable
        SKU (empty, or one Dagster cannot take as a partition key)."""
        return self.sku if _usable_key(self.sku) else f"<row {self.row}>"


@dataclass(frozen=True)
class Catalog:
    """A loaded catalog: valid products in file order, and every error of the invalid rows."""

    source: str
    products: tuple[Product, ...]
    errors: tuple[RowError, ...]
    row_count: int
    #: Column name → dtype, after normalisation to the documented dtypes.
    columns: Mapping[str, str]
    #: Every distinct usable SKU, valid or not, in file order: the partition keys.
    skus: tuple[str, ...]
    frame: pd.DataFrame = field(repr=False, compare=False)
    #: Rows left unchecked, in neither ``products`` nor ``errors`` (``max_checks`` ran out).
    unchecked: int = 0

    @cached_property
    def by_sku(self) -> dict[str, Product]:
        return {product.sku: product for product in self.products}

    @cached_property
    def invalid_skus(self) -> dict[str, list[RowError]]:
        """Partition key (``<row N>`` for rows without a usable SKU) → that row's errors."""
        grouped: dict[str, list[RowError]] = defaultdict(list)
        for error in self.errors:
            grouped[error.partition_key].append(error)
        return dict(grouped)

    def preview_markdown(self, n: int = 10, width: int = 40) -> str:
        """A markdown table of the first ``n`` rows, each cell cut to ``width`` characters."""
        names = list(self.frame.columns)
        lines = ["| row | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
        for number, record in enumerate(self.frame.head(n).to_dict("records"), 1):
            cells = [_preview_cell(record[name], width) for name in names]
            lines.append(f"| {number} | " + " | ".join(cells) + " |")
        return "\n".join(lines)


def load_catalog(source: str | os.PathLike[str], *, s3_client: Any = None,
                 cache_dir: Path | None = None, video_defaults: VideoDefaults = DEFAULT_VIDEO,
                 local_roots: Sequence[str] = (), s3_prefixes: Sequence[str] = (),
                 skus: Collection[str] | None = None, cache: ValidationCache | None = None,
                 recipe: Recipe = DEFAULT_RECIPE, max_checks: int | None = None,
                 check_seconds: float | None = None, processes: int | None = None) -> Catalog:
    """Read and validate a catalog: a local ``.csv``/``.parquet``/``.pq`` file or an
    ``s3://bucket/key`` read with ``s3_client``. Image cells are resolved relative to the
    catalog and confined to its folder (or bucket) and the ``local_roots`` and ``s3_prefixes``
    listed (see ``sources``); images on S3 are downloaded into ``cache_dir``. ``video_defaults``
    are the ones the pipeline will use: they decide both what is valid and the video
    fingerprints. ``recipe`` decides what each row gets, and so which cells it needs.

    ``skus``: check only the rows of these SKUs (a run's own); the whole table is still read,
    every SKU listed in ``Catalog.skus`` and duplicates found across all rows. ``cache``: what
    earlier loads learnt (file hashes, decode and row verdicts), used and added to, so a row
    or image unchanged since is not checked again; what a load learns is stored every
    ``FLUSH_ROWS`` rows, so a load cut short keeps most of its work. ``max_checks``: build the
    requests of at most this many rows the cache does not know (the first in file order); the
    others are left out of both products and errors and counted in ``Catalog.unchecked``, and
    blocks of ``LOOKUP_ROWS`` rows past them are not even looked up (their images not hashed),
    so that one pass (a sensor tick) stays short whatever the catalog's size.
    ``check_seconds``: likewise, take no further ``FLUSH_ROWS`` rows once this many seconds
    went into checking rows (how long a row takes depends on its images).

    ``processes``: how many worker processes check the rows the cache does not know (``1``:
    threads in this process); by default one per core when there are many such rows
    (``row_checks``; if a worker dies, the rows left are checked in this process)."""
    name = os.fspath(source)
    # reading and the warm path allocate millions of objects, none in a cycle
    with _no_cycle_collection():
        file_format = _reader(name)  # an unknown format is refused before anything is read
        frame, misfits = _split_overflow(_parse(name, file_format,
                                                _read_source(name, s3_client)))
        frame, cell_errors = _normalise(frame)
        images = ImageSources(name, Confinement.for_catalog(name, local_roots, s3_prefixes),
                              s3_client, cache_dir or DEFAULT_CACHE_DIR)
        all_skus = [_text(sku) for sku in frame["sku"].tolist()]
        duplicates = _duplicates(all_skus)
        wanted = set(skus) if skus is not None else None
        numbers = [n for n, sku in enumerate(all_skus, 1)
                   if wanted is None or sku in wanted or f"<row {n}>" in wanted]
        chosen = frame if wanted is None else frame.iloc[[n - 1 for n in numbers]]
        if cache is not None:
            cache.refresh()
        verdicts = _RowVerdicts(cache, video_defaults, recipe)

        def check_cells(number: int, values: tuple[Any, ...],
                        image_problems: list[tuple[str, str]], suspect: bool
                        ) -> tuple[tuple[Any, ...], list[tuple[str, str]]] | list[RowError]:
            """The row's values (images resolved) and its cells' problems, or its errors if its
            cells cannot even be read as a row."""
            sku = values[0]
            if number in misfits:  # its cells are shifted: checking them would only add noise
                return [RowError(number, sku, column, rule)
                        for column, rule in [misfits[number], *duplicates.get(number, [])]]
            known = cell_errors.get(number, []) + duplicates.get(number, [])
            if suspect:  # a vectorised screen flagged a cell: the per-cell rules say which, why
                known = _cell_problems(dict(zip(_ROW_FIELDS, values)), known)
            return values, known + image_problems

        def outcome(number: int, values: tuple[Any, ...], problems: list[tuple[str, str]],
                    found: list[tuple[str, str]], prints: Mapping[str, str]
                    ) -> Product | list[RowError]:
            """The row's product, or its errors: its cells' problems, then its requests' problems
            on the columns whose cells passed (the others' are consequences)."""
            failed = {column for column, _ in problems}
            problems = problems + [(column, rule) for column, rule in found
                                   if column not in failed]
            if problems:
                return [RowError(number, values[0], column, rule) for column, rule in problems]
            return Product(number, *values, input_fingerprints=MappingProxyType(prints))

        rows, image_problems, suspects = _rows(chosen, images)
        cells = [_guarded(n, values, lambda: check_cells(n, values, image_problems.get(i, []),
                                                         suspect))
                 for i, (n, values, suspect) in enumerate(zip(numbers, rows, suspects))]
        outcomes: list[Any] = []
        misses = 0  # rows to check the long way
        opener = _WorkerVerdicts.of(cache, video_defaults, recipe)
        for start in range(0, len(cells), LOOKUP_ROWS):
            if start == LOOKUP_ROWS:  # after the first block: the workers' forkserver, if
                # its unknown rows already call for them, starts while the others are looked up
                expect(misses if max_checks is None else min(misses, max_checks), opener,
                       processes)
            block = list(zip(numbers[start:start + LOOKUP_ROWS], cells[start:start + LOOKUP_ROWS]))
            if max_checks is None or misses < max_checks:  # else not even their images hashed
                verdicts.look_up({n: cell[0] for n, cell in block if isinstance(cell, tuple)})
            for n, cell in block:
                stored = verdicts.stored(n) if isinstance(cell, tuple) else None
                if stored is None:
                    outcomes.append(cell)
                    misses += isinstance(cell, tuple)
                elif not cell[1] and not stored[0]:  # most rows: a product, as the cache says
                    outcomes.append(Product(n, *cell[0],
                                            input_fingerprints=MappingProxyType(stored[1])))
                else:
                    outcomes.append(outcome(n, *cell, *stored))
    todo = [i for i, done in enumerate(outcomes) if isinstance(done, tuple)]
    todo = todo[:max_checks]
    if cache is not None:  # the files look_up hashed: worker processes need not hash them again
        cache.flush()
    unknown = [_Unknown(numbers[i], cells[i][0], verdicts.key(numbers[i])) for i in todo]
    deadline = None if check_seconds is None else time.monotonic() + check_seconds
    parts = checked_in_chunks(unknown, verdicts, opener, chunk=FLUSH_ROWS, processes=processes)
    taken = 0
    for part in parts:  # in order; a part's size is the checker's choice
        for i, verdict in zip(todo[taken:taken + len(part)], part):
            outcomes[i] = verdict if isinstance(verdict, list) else outcome(
                numbers[i], *cells[i], *verdict)
        taken += len(part)
        if deadline is not None and time.monotonic() > deadline:
            break  # at least one part per load: a bounded load always makes progress
    parts.close()  # a bounded load's workers check no further part
    products = [done for done in outcomes if isinstance(done, Product)]
    errors = [error for done in outcomes if isinstance(done, list) for error in done]
    usable = dict.fromkeys(sku for sku in all_skus if _usable_key(sku))
    return Catalog(name, tuple(products), tuple(errors), len(all_skus),
                   MappingProxyType({c: str(t) for c, t in frame.dtypes.items()}),
                   tuple(usable), frame, sum(isinstance(done, tuple) for done in outcomes))


_collection_lock = threading.Lock()
_collection_paused = 0  # loads inside _no_cycle_collection, across threads
_collection_was_enabled = True  # as the first of them found it


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Pause Python's cycle collector while a load builds its rows: it allocates a few million
    objects, none in a cycle, and the collector would traverse all of them again and again
    (a third of a warm load's CPU). Reference counting still frees everything; collection
    resumes when the last load in the process leaves."""
    global _collection_paused, _collection_was_enabled
    with _collection_lock:
        if _collection_paused == 0:
            _collection_was_enabled = gc.isenabled()
        _collection_paused += 1
        gc.disable()
    try:
        yield
    finally:
        with _collection_lock:
            _collection_paused -= 1
            if _collection_paused == 0 and _collection_was_enabled:
                gc.enable()


#: What a row's verdict depends on, of its Product: all but its place and its result; the
#: order of ``Product``'s fields, so that ``Product(row, *values)`` builds it.
_ROW_FIELDS = tuple(f.name for f in fields(Product) if f.name not in ("row", "input_fingerprints"))
_IMAGE_FIELDS = tuple(_ROW_FIELDS.index(column) for column in IMAGE_COLUMNS)


#: A row's request problems and, for a row without any, its fingerprints.
_Verdict = tuple[list[tuple[str, str]], dict[str, str]]


def _guarded(number: int, values: Sequence[Any], check: Callable[[], Any]) -> Any:
    try:
        return check()
    except Exception as exc:  # a cell no rule foresaw must fail only its own row
        return [RowError(number, values[0], WHOLE_ROW,
                         f"could not be checked ({type(exc).__name__}: {exc})")]


@dataclass(frozen=True)
class _Unknown:
    """A row the cache does not know, to check the long way (picklable, for worker
    processes): its number, its values (images resolved) and its cache key."""

    number: int
    values: tuple[Any, ...]
    key: str | None


@dataclass(frozen=True)
class _WorkerVerdicts:
    """Opens a worker process's ``_RowVerdicts``: its own cache for the same database (the
    entries are content-addressed, so concurrent writers agree), or none."""

    cache_url: str | None
    defaults: VideoDefaults
    recipe: Recipe

    @classmethod
    def of(cls, cache: ValidationCache | None, defaults: VideoDefaults, recipe: Recipe
           ) -> _WorkerVerdicts:
        """A ledger's database is never in memory (``Ledger`` refuses it): workers share it."""
        return cls(None if cache is None else cache.url, defaults, recipe)

    def __call__(self) -> _RowVerdicts:
        cache = None
        if self.cache_url is not None:
            cache = ValidationCache.for_url(self.cache_url)
            cache.refresh()
        return _RowVerdicts(cache, self.defaults, self.recipe)


class _RowVerdicts:
    """Each row's request problems and fingerprints, from the cache when a row with the same
    values, image contents, video defaults and rules was checked before; else by building its
    requests (each image decoded once per content, through the cache)."""

    def __init__(self, cache: ValidationCache | None, defaults: VideoDefaults, recipe: Recipe):
        self._cache = cache
        self._defaults = defaults
        self._recipe = recipe
        # repr'd, joined and hashed once: the recipe's JSON alone is longer than most rows,
        # and each row's key continues this hash (``_key``)
        self._context = hashlib.sha256(("\x1e".join(map(repr, [
            RULES_VERSION, sorted(asdict(defaults).items()), recipe.model_dump_json()])) + "\x1e"
        ).encode())
        self._keys: dict[int, str | None] = {}  # row number -> key
        self._hashes: dict[str, str | None] = {}  # path -> content hash (None: unreadable)
        self._known: dict[str, tuple[list[tuple[str, str]], dict[str, str]]] = {}

    def look_up(self, rows: Mapping[int, tuple[Any, ...]]) -> None:
        """Fetch the stored verdicts of these rows (number -> values, images resolved) in one
        query pass, before they are checked; only these rows' verdicts are stored once
        checked."""
        if self._cache is None:
            return
        values = list(rows.values())
        digests = zip(*[map(self._file_sha256, [row[index] for row in values])
                        for index in _IMAGE_FIELDS])
        keys = dict(zip(rows, map(self._key, values, digests)))
        self._keys.update(keys)
        self._known.update(self._cache.rows(key for key in keys.values() if key is not None))

    def stored(self, number: int) -> tuple[list[tuple[str, str]], dict[str, str]] | None:
        """``(problems, fingerprints)`` of the row if the cache knows its verdict."""
        key = self._keys.get(number)
        return None if key is None else self._known.get(key)

    def key(self, number: int) -> str | None:
        """The row's cache key, once ``look_up`` has seen it (None: uncached)."""
        return self._keys.get(number)

    def check(self, row: _Unknown) -> _Verdict | list[RowError]:
        """``(problems, fingerprints)``, the fingerprints only for a row with no problem; or
        the row's error if building its requests raised."""
        return _guarded(row.number, row.values, lambda: self._verdict(row))

    def flush(self) -> None:
        """Store what the checks learnt (every ``FLUSH_ROWS`` rows)."""
        if self._cache is not None:
            self._cache.flush()

    def _verdict(self, row: _Unknown) -> _Verdict:
        if row.key is not None and row.key in self._known:
            return self._known[row.key]
        with decode_verdicts(self._cache), validation_only():  # checked here, built in the run
            problems, prints = plan.row_verdict(Product(row.number, *row.values), self._recipe,
                                                self._defaults)
        if row.key is not None and self._cache is not None:
            self._cache.put_row(row.key, problems, prints)
        return problems, prints

    def _key(self, values: tuple[Any, ...], digests: tuple[str | None, ...]) -> str | None:
        """A hash of everything a row's verdict depends on, but its number: its values and the
        content hashes of its images (``_file_sha256``); None when a local image cannot be
        read (its row is checked, and fails, the long way). ``repr`` of the tuple ends where
        it ends and escapes every control character, and the digests that follow are 64
        characters each, one per local image the values name: no two rows share the
        material."""
        if None in digests:
            return None
        key = self._context.copy()  # the same hash as of the context and the row joined
        key.update((repr(values) + "".join(digests)).encode())  # type: ignore[arg-type]
        return key.hexdigest()

    def _file_sha256(self, path: str | None) -> str | None:
        """The content hash of a local image, once per file and load (rows share images); ""
        for no image or a remote one, None for a file that cannot be read."""
        if path is None or path.startswith(REMOTE_PREFIXES):
            return ""
        if path not in self._hashes:
            assert self._cache is not None
            try:
                self._hashes[path] = self._cache.file_sha256(path)
            except OSError:
                self._hashes[path] = None
        return self._hashes[path]


# --------------------------------------------------------------------------- reading the file


def _read_source(name: str, s3_client: Any) -> Path | bytes:
    """The catalog's local path, or the bytes of its S3 object."""
    if name.startswith("s3://"):
        if s3_client is None:
            raise CatalogError(f"{name}: reading a catalog from S3 needs an s3_client")
        try:
            bucket, key = split_s3(name)
            return s3_client.get_object(Bucket=bucket, Key=key)["Body"].read()
        except (ValueError, ClientError, BotoCoreError) as exc:
            raise CatalogError(f"{name}: cannot read the catalog from S3 ({exc})") from exc
    path = Path(name)
    try:
        info = path.stat()
    except FileNotFoundError:
        raise CatalogError(f"{name}: catalog file not found") from None
    except (OSError, ValueError) as exc:  # a name too long, a NUL in it
        raise CatalogError(f"{name[:200]}: cannot read the catalog ({exc})") from None
    if not stat.S_ISREG(info.st_mode):  # a FIFO would block the load forever
        raise CatalogError(f"{name}: the catalog is not a regular file")
    return path


#: Prefix of the columns that catch the cells of a CSV line past the header's last column.
_OVERFLOW = "\0overflow "


def _read_csv(source: Path | io.BytesIO) -> pd.DataFrame:
    """Every cell as text (typed columns are converted cell by cell afterwards, so one bad value
    fails its row, not the whole file); only an empty cell is missing. The Python engine, because
    the C one silently accepts a stray quote and shifts the rest of the row into wrong columns.

    A line with more cells than the header (an unquoted comma) keeps its place, its extra cells
    in overflow columns, so that it fails alone (``_split_overflow``); up to as many extra cells
    as the header has columns. In those, an empty cell is "" (it is there: the line's cells are
    shifted) and a missing one NaN. pandas' ``on_bad_lines`` callable cannot do this: with it,
    pandas silently drops a line with a stray quote. A stray quote leaves the row boundaries
    after it unknowable, so it fails the file, naming the line."""
    text = (source.read_bytes() if isinstance(source, Path) else source.getvalue()
            ).decode("utf-8-sig")
    # The csv module under pandas' Python engine stops at a cell over 131,072 characters as if
    # a quote were unbalanced. No cell is longer than the file; each column's rule refuses a
    # cell too long for it, on its own row.
    csv.field_size_limit(max(csv.field_size_limit(), len(text)))
    options: dict[str, Any] = dict(dtype="str", keep_default_na=False, engine="python")
    header: list[str] = []
    try:
        header = list(pd.read_csv(io.StringIO(text), nrows=0, **options).columns)
        if (fast := _read_regular_csv(text, header)) is not None:
            return fast
        overflow = [f"{_OVERFLOW}{i}" for i in range(len(header))]
        # header=None: the header line is row 0 (after any blank lines), dropped below.
        frame = pd.read_csv(io.StringIO(text), header=None, names=header + overflow, **options)
    except pd.errors.ParserError as exc:
        raise ValueError(_csv_problem(text, len(header), exc)) from exc
    frame = frame.iloc[1:].reset_index(drop=True)
    frame[header] = frame[header].mask(frame[header] == "")
    return frame


def _read_regular_csv(text: str, header: list[str]) -> pd.DataFrame | None:
    """The file through Arrow's parser (seconds faster at 100k rows) when it is regular: every
    line as wide as the header, every quote balanced, no column name repeated (pandas would
    rename the copies). None otherwise: the careful reader then says where and why."""
    if len(set(header)) != len(header):
        return None
    try:
        table = pa_csv.read_csv(
            io.BytesIO(text.encode()),
            parse_options=pa_csv.ParseOptions(newlines_in_values=True),
            convert_options=pa_csv.ConvertOptions(
                column_types=dict.fromkeys(header, pa.string()), strings_can_be_null=False,
                quoted_strings_can_be_null=False))
    except pa.ArrowInvalid:
        return None
    if table.column_names != header:
        return None
    frame = table.to_pandas()
    return frame.mask(frame == "")


def _csv_problem(text: str, width: int, exc: Exception) -> str:
    """Where and why pandas could not split the CSV into rows (``width``: the header's columns,
    0 if unknown), found again with the csv module and dialect its Python engine uses: pandas
    does not say which line a quote error is on."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    start = 1  # the line the current record starts on
    try:
        for record in reader:
            if width and len(record) > 2 * width:  # past the overflow columns
                return f"line {start} has {len(record)} fields; the header has {width} columns"
            start = reader.line_num + 1
    except csv.Error as error:
        return f"line {start}: {error} (an unbalanced quote?)"
    return str(exc)


def _read_parquet(source: Path | io.BytesIO) -> pd.DataFrame:
    """pandas' reader, after refusing any documented column of a nested type (list, struct,
    map): none of its cells can be the one value the column holds, and their text form
    (``"['a' 'b']"``) would otherwise be sent as a prompt."""
    expected = {"str": "a string", "Int64": "an integer", "boolean": "a boolean"}
    nested = [f"column {f.name!r} is {f.type}, not {expected[COLUMN_DTYPES[f.name]]}"
              for f in pq.read_schema(source)
              if f.name in COLUMN_DTYPES and pa.types.is_nested(f.type)]
    if nested:
        raise _ColumnTypeError("; ".join(nested) + " (each cell must hold one value)")
    if isinstance(source, io.BytesIO):
        source.seek(0)
    return pd.read_parquet(source)


_READERS: dict[str, tuple[str, Callable[[Any], pd.DataFrame]]] = {
    ".csv": ("CSV", _read_csv),
    ".parquet": ("Parquet", _read_parquet),
    ".pq": ("Parquet", _read_parquet),
}


def _reader(name: str) -> tuple[str, Callable[[Any], pd.DataFrame]]:
    """The format's name and reader, from the file's extension."""
    suffix = PurePosixPath(name).suffix.lower()
    if suffix not in _READERS:
        raise CatalogError(f"{name}: unknown catalog format {suffix or '(no extension)'!r}; "
                           f"use one of {', '.join(_READERS)}")
    return _READERS[suffix]


def _parse(name: str, file_format: tuple[str, Callable[[Any], pd.DataFrame]], data: Path | bytes
           ) -> pd.DataFrame:
    """The file as a DataFrame, or CatalogError naming the file and what is wrong."""
    kind, reader = file_format
    try:
        frame = reader(io.BytesIO(data) if isinstance(data, bytes) else data)
    except _ColumnTypeError as exc:
        raise CatalogError(f"{name}: {exc}") from exc
    except (ValueError, OSError, pa.ArrowException) as exc:
        raise CatalogError(f"{name}: not a readable {kind} file ({exc})") from exc
    missing = [column for column in REQUIRED_COLUMNS if column not in frame.columns]
    if missing:
        raise CatalogError(f"{name}: missing required column(s): {', '.join(missing)}")
    return frame


def _split_overflow(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[int, tuple[str, str]]]:
    """The frame without ``_read_csv``'s overflow columns, and the problem of each row that
    filled one (by row number: ``(column, rule)``)."""
    overflow = [column for column in frame.columns if str(column).startswith(_OVERFLOW)]
    if not overflow:
        return frame, {}
    width = len(frame.columns) - len(overflow)
    misfits: dict[int, tuple[str, str]] = {}
    for number, cells in enumerate(frame[overflow].notna().itertuples(index=False), 1):
        if any(cells):
            extra = max(i for i, cell in enumerate(cells, 1) if cell)
            misfits[number] = (WHOLE_ROW, f"the line has {width + extra} fields but the header "
                                          f"has {width} columns; quote cells that contain a comma")
    return frame.drop(columns=overflow), misfits


def _normalise(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[int, list[tuple[str, str]]]]:
    """The frame with every documented column present in its documented dtype, and the cells
    that could not be converted (by row number: ``(column, rule)``), which become empty."""
    frame = frame.reset_index(drop=True)
    errors: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for column, dtype in COLUMN_DTYPES.items():
        if column not in frame.columns:
            frame[column] = pd.Series(pd.NA, index=frame.index, dtype=dtype)
        elif dtype == "str":
            frame[column] = _as_text(frame[column])
        else:
            convert = _CONVERTERS[column]
            values = []
            # a column holds few distinct values (durations, flags): each converted once
            seen: dict[tuple[type, Any], tuple[Any, str | None]] = {}
            cells = frame[column]
            for number, (value, missing) in enumerate(zip(cells.tolist(),
                                                          cells.isna().tolist()), 1):
                if missing:
                    values.append(None)
                    continue
                key = (type(value), value)
                if key not in seen:
                    try:
                        seen[key] = (convert(value), None)
                    except ValueError as exc:
                        seen[key] = (None, str(exc))
                converted, error = seen[key]
                values.append(converted)
                if error is not None:
                    errors[number].append((column, error))
            frame[column] = pd.array(values, dtype=dtype)
    return frame, errors


def _as_text(column: pd.Series) -> pd.Series:
    """A text column as users mean it: in Parquet, a column of numbers with a null is float, and
    its SKU 3001 must read "3001", not "3001.0"."""
    if pd.api.types.is_float_dtype(column):
        column = column.map(_number_text, na_action="ignore")
    return column.astype("str")


def _number_text(value: float) -> str:
    exact = math.isfinite(value) and value.is_integer() and abs(value) < 2 ** 53
    return str(int(value)) if exact else str(value)


def _seconds(value: Any) -> int:
    """Whole seconds. The registry decides which durations a model takes; the bound only keeps
    a huge number from overflowing the column."""
    text = str(value).strip()
    if isinstance(value, bool) or not re.fullmatch(r"\d+(\.0*)?", text):
        raise ValueError(f"must be a whole number of seconds, got {_shown(value)}")
    seconds = int(text.split(".")[0])
    if seconds > MAX_SECONDS:
        raise ValueError(f"must be a whole number of seconds up to {MAX_SECONDS}, got "
                         f"{_shown(value)}")
    return seconds


def _flag(value: Any) -> bool:
    """true/false, 1/0, or (Parquet) the numbers 1.0/0.0."""
    if isinstance(value, numbers.Number) and not isinstance(value, bool) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    if text not in ("true", "false", "1", "0"):
        raise ValueError(f"must be true or false, got {_shown(value)}")
    return text in ("true", "1")


_CONVERTERS: dict[str, Callable[[Any], Any]] = {"video_duration": _seconds, "video_audio": _flag}


# --------------------------------------------------------------------------- rows


def _rows(frame: pd.DataFrame, images: ImageSources
          ) -> tuple[list[tuple[Any, ...]], dict[int, list[tuple[str, str]]], list[bool]]:
    """Each row's values in ``Product``'s field order (missing and blank text cells as None,
    image cells resolved); the problems of the image cells of the rows that have any, by
    position; and whether a vectorised screen flags any other cell of each row. Column by
    column: a cell-by-cell pass through the Arrow strings costs seconds at 100k rows, and rows
    share their images, each resolved once."""
    columns: list[list[Any]] = []
    problems: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for name in _ROW_FIELDS:
        column = frame[name]
        missing = column.isna()
        if name in TEXT_COLUMNS:
            missing |= column.str.strip().fillna("") == ""
        cells = column.astype(object).where(~missing, None).tolist()
        if name in IMAGE_COLUMNS:
            answers = {cell: images.resolve(cell) for cell in dict.fromkeys(cells)
                       if cell is not None}
            if refused := {cell: problem for cell, (_, problem) in answers.items() if problem}:
                for index, cell in enumerate(cells):
                    if cell in refused:
                        problems[index].append((name, refused[cell]))
            cells = list(map({cell: path for cell, (path, _) in answers.items()}.get, cells))
        columns.append(cells)
    return list(zip(*columns)), problems, _suspects(frame)


def _suspects(frame: pd.DataFrame) -> list[bool]:
    """Rows whose SKU, free text, required or category cells a rule of ``_cell_problems`` may
    refuse, by vectorised screens that flag every such row (and may flag a few more): the
    per-cell rules then run on those rows only, and say exactly what is wrong."""
    sku = frame["sku"]  # a missing cell matches no pattern
    suspect = ~sku.str.fullmatch(_PLAIN_SKU.pattern).astype(bool) | (sku.str.len() > MAX_SKU_LENGTH)
    for column in FREE_TEXT_COLUMNS:
        suspect |= frame[column].str.contains(_CONTROL_PATTERN, regex=True).astype(bool)
    for column in REQUIRED_COLUMNS:
        suspect |= frame[column].isna() | (frame[column].str.strip() == "")
    category = frame["category"]
    suspect |= category.notna() & ~category.isin(CATEGORIES)
    return suspect.tolist()


def _cell_problems(values: Mapping[str, Any], known: list[tuple[str, str]]
                   ) -> list[tuple[str, str]]:
    """The problems of a row's SKU, free text, required and category cells as ``(column,
    rule)``, the ``known`` ones (unconvertible cells, duplicates) after the SKU's: what the
    cells say without building any request. The requests' problems on a column that failed
    here (empty, unconvertible, not downloadable) are consequences, and left out by the
    caller."""
    problems = [("sku", rule) for rule in _sku_problems(values["sku"])] + known
    problems += [(column, rule) for column in FREE_TEXT_COLUMNS
                 if values[column] is not None and (rule := _control_problem(values[column]))]
    category = values["category"]
    required = [c for c in REQUIRED_COLUMNS if c != "sku"]
    problems += [(column, "required") for column in required if values[column] is None]
    if category is not None and category not in CATEGORIES:
        problems.append(("category", f"must be one of {list(CATEGORIES)}, got {category!r}"))
    return problems


#: Unicode's control characters (category Cc: U+0000-U+001F, U+007F-U+009F) but tab and line
#: breaks, which a spreadsheet cell may hold.
_CONTROL_PATTERN = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]"
_CONTROL = re.compile(_CONTROL_PATTERN)


def _control_problem(text: str) -> str | None:
    """Why ``text`` may not be sent: control characters (NUL among them) other than tab and line
    breaks."""
    if _CONTROL.search(text) is None:  # the common case, in one C-level scan
        return None
    found = sorted({f"U+{ord(c):04X}" for c in _CONTROL.findall(text)})
    return f"must not contain control characters (found {', '.join(found)})"


def _shown(value: Any, width: int = 60) -> str:
    """A cell in a message: quoted, and cut short (a cell may be megabytes)."""
    text = repr(value)
    return text if len(text) <= width else f"{text[:width]}... ({len(str(value))} characters)"


def _text(value: Any) -> str | None:
    """A text cell, None when empty or blank."""
    if isinstance(value, str):  # every cell of a CSV, most of a Parquet file's
        return value if value.strip() else None
    return None if pd.isna(value) or not str(value).strip() else str(value)


#: SKUs no rule below can refuse: letters, digits, '-', '_', and single dots between them.
_PLAIN_SKU = re.compile(r"[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*")


def _sku_problems(sku: str | None) -> list[str]:
    """Why ``sku`` cannot name a partition, a file or an object key safely."""
    if sku is None:
        return ["required"]
    if len(sku) <= MAX_SKU_LENGTH and _PLAIN_SKU.fullmatch(sku):  # most SKUs, in one C scan
        return []
    problems = []
    if len(sku) > MAX_SKU_LENGTH:
        problems.append(f"must be at most {MAX_SKU_LENGTH} characters, got {len(sku)}")
    if sku != sku.strip():
        problems.append("must not start or end with whitespace")
    if separators := [c for c in ("/", "\\") if c in sku]:
        problems.append(f"must not contain path separators (found {_names(separators)})")
    if ".." in sku:
        problems.append("must not contain '..' (a path traversal)")
    dagster = [s for s in DAGSTER_INVALID_SUBSTRINGS if s in sku]
    if dagster:
        problems.append(f"must not contain {_names(dagster)}: Dagster refuses them in partition "
                        f"keys")
    if hidden := sorted({f"U+{ord(c):04X}" for c in sku if not c.isprintable()
                         and c not in dagster}):
        problems.append(f"must not contain control or invisible characters (found "
                        f"{', '.join(hidden)})")
    if multi := [c for c in DAGSTER_MULTI_PARTITION_CHARACTERS if c in sku]:
        problems.append(f"must not contain {_names(multi)}: Dagster refuses them in "
                        f"multi-partition keys")
    return problems


def _names(found: list[str]) -> str:
    return ", ".join(repr(s) for s in found)


def _usable_key(sku: str | None) -> TypeGuard[str]:
    """Whether ``sku`` can be a partition key at all (otherwise its row is listed by number)."""
    if sku is not None and len(sku) <= MAX_KEY_LENGTH and _PLAIN_SKU.fullmatch(sku):
        return True
    return (sku is not None and 0 < len(sku) <= MAX_KEY_LENGTH and sku.isprintable()
            and not any(s in sku for s in DAGSTER_INVALID_SUBSTRINGS))


def _duplicates(skus: list[str | None]) -> dict[int, list[tuple[str, str]]]:
    """Row number → its duplicate-SKU problem, for EVERY row of a duplicated SKU, each naming
    the other rows (so no copy is silently preferred). SKUs that differ only in case or Unicode
    normalisation are the same product: they would also collide in case-insensitive file
    systems and object stores."""
    rows: dict[str, list[int]] = defaultdict(list)
    for number, sku in enumerate(skus, 1):
        if sku is not None:
            rows[_identity(sku)].append(number)
    found: dict[int, list[tuple[str, str]]] = {}
    for same in (found_on for found_on in rows.values() if len(found_on) > 1):
        for number in same:
            others = [other for other in same if other != number]
            rule = "duplicate: also on row(s) " + ", ".join(map(str, others))
            if lookalikes := list(dict.fromkeys(skus[other - 1] for other in others
                                                if skus[other - 1] != skus[number - 1])):
                rule += (f" (as {', '.join(map(repr, lookalikes))}: SKUs that differ only in "
                         f"case or Unicode normalisation are the same product)")
            found[number] = [("sku", rule)]
    return found


def _identity(sku: str) -> str:
    """What makes two SKUs the same product: Unicode's caseless matching (NFKC, casefolded)."""
    if sku.isascii():  # NFKC leaves ASCII as it is, and casefolds it to lower case
        return sku.lower()
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", sku).casefold())


def _preview_cell(value: Any, width: int) -> str:
    text = "" if pd.isna(value) else " ".join(str(value).split()).replace("|", "\\|")
    return text if len(text) <= width else text[:width - 1] + "…"
