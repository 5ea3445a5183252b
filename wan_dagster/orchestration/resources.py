"""Dagster resources: DashScope access, the catalog source, the task ledger and the media store.

``DashScopeResource`` hands out our own clients; with no API key it starts the embedded
emulator, so a fresh checkout can run and rehearse a batch without paying.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Collection
from functools import cached_property
from pathlib import Path
from typing import Any, AsyncIterator, Iterator, Literal

import dagster as dg
from dagster_aws.s3 import S3Resource
from pydantic import Field, PrivateAttr

from ..core.account_limits import AccountLimits
from ..core.catalog import Catalog, load_catalog
from ..core.image_verdicts import ValidationCache
from ..dashscope import AsyncDashScopeClient, DashScopeClient, Limits, PollPolicy, Region
from ..core.ledger import Ledger
from ..core.plan import DEFAULT_VIDEO, VideoDefaults
from ..core.recipes import DEFAULT_RECIPE, Recipe
from ..core.store import LocalMediaStore, MediaStore, S3MediaStore

REPO_ROOT = Path(__file__).resolve().parents[2]  # wan_dagster/orchestration/ -> the repository
#: The ledger's SQLAlchemy URL for every run and sensor of a deployment (see README "Running in
#: production"); unset, each machine keeps its own SQLite ledger under DAGSTER_HOME.
LEDGER_URL_ENV = "WAN_DAGSTER_LEDGER_URL"


class DashScopeResource(dg.ConfigurableResource):
    """DashScope access for assets and sensors.

    ``api_key`` comes from ``EnvVar("DASHSCOPE_API_KEY")``; the UI shows the variable name,
    never the value. A plain string is refused: Dagster would store it in every run's job
    snapshot. ``repr``, ``str`` and model dumps leave the key out, also on the resolved instance
    an asset receives. Left empty, an in-process emulator serves the API (logged at start).
    """

    api_key: str = Field(default="", repr=False, exclude=True,
                         description="DashScope API key, as EnvVar; empty = embedded emulator")
    region: str = Field(default=Region.BEIJING.value, description="beijing, singapore or virginia")
    base_url: str | None = Field(default=None, description="Override the region's base URL")
    workspace: str | None = Field(default=None, description="X-DashScope-WorkSpace header")
    emulator_time_scale: float = Field(
        default=0.02, description="Latency multiplier of the embedded emulator (no key only)")
    poll_scale: float = Field(
        default=1.0, description="Multiplier of the polling intervals (an external emulator "
                                 "run with a time scale wants the same factor here)")
    limit_overrides: dict[str, list[float]] = Field(
        default_factory=dict,
        description="Per-model [submits per second, concurrent tasks], e.g. after a quota raise")

    _emulator: object | None = PrivateAttr(default=None)

    @property
    def uses_emulator(self) -> bool:
        return not self.api_key and not self.base_url

    def get_resource_definition(self):  # type: ignore[no-untyped-def]
        """Refuse a literal key before Dagster turns this resource's values into the config
        schema defaults that it stores, uncompressed or not, with every run. Only the instance
        built from definitions passes here, not the one Dagster builds from the resolved EnvVar
        at run time."""
        key = self.__dict__.get("api_key")
        if key and not isinstance(key, dg.EnvVar):
            raise dg.DagsterInvalidDefinitionError(
                "DashScopeResource.api_key was given as a plain string, which Dagster would store "
                "in every run's snapshot; pass api_key=dg.EnvVar(\"DASHSCOPE_API_KEY\") instead "
                "(or leave it empty for the embedded emulator)")
        return super().get_resource_definition()

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        if self.uses_emulator:
            from ..emulator import Emulator

            self._emulator = Emulator(time_scale=self.emulator_time_scale).start()
            context.log.info(f"No DASHSCOPE_API_KEY set: using the embedded DashScope emulator at "
                             f"{self._emulator.base_url} (nothing is billed)")

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._emulator is not None:
            self._emulator.stop()
            self._emulator = None

    def _options(self, ledger: Ledger | None) -> dict:
        limits = {m: Limits(float(r), int(c)) for m, (r, c) in self.limit_overrides.items()}
        if self._emulator is not None:  # an account of this run's own: nothing to share
            return dict(api_key="emulator", base_url=self._emulator.base_url, limits=limits,
                        poll=PollPolicy().scaled(self.emulator_time_scale))
        shared = AccountLimits.for_ledger(ledger) if ledger is not None else None
        return dict(api_key=self.api_key or "emulator", region=self.region,
                    base_url=self.base_url, workspace=self.workspace, limits=limits,
                    poll=PollPolicy().scaled(self.poll_scale), shared_limits=shared)

    @contextlib.contextmanager
    def get_client(self, ledger: Ledger | None = None, **options: Any) -> Iterator[DashScopeClient]:
        """A client; with ``ledger``, the account's limits are shared through its database
        with every other process using it (see ``core.account_limits``). ``options`` are
        ``ClientConfig`` fields for this use (e.g. ``reconcile_attempts``)."""
        with DashScopeClient(**self._options(ledger), **options) as client:
            yield client

    @contextlib.asynccontextmanager
    async def get_async_client(self, ledger: Ledger | None = None
                               ) -> AsyncIterator[AsyncDashScopeClient]:
        async with AsyncDashScopeClient(**self._options(ledger)) as client:
            yield client


class CatalogResource(dg.ConfigurableResource):
    """Where the product catalog lives: a CSV or Parquet file, local or ``s3://``."""

    path: str = Field(default=str(REPO_ROOT / "data" / "catalog.csv"),
                      description="CSV or Parquet, a local path or s3://bucket/key")
    s3: S3Resource = Field(default_factory=S3Resource,
                           description="S3 access for s3:// catalogs and images")
    local_roots: list[str] = Field(
        default_factory=list, description="Directories rows may read images from, besides the "
                                          "catalog's own folder")
    s3_prefixes: list[str] = Field(
        default_factory=list, description="s3://bucket or s3://bucket/prefix rows may read "
                                          "images from, besides the catalog's own bucket")

    cache_url: str = Field(
        default="", description="SQLAlchemy URL of the database that keeps what validation "
                                "learnt (file hashes, image and row verdicts) and what the "
                                "catalog sensor asked for; empty = the "
                                f"ledger's: ${LEDGER_URL_ENV}, else SQLite under DAGSTER_HOME")
    recipe_json: str = Field(default="", description="The recipe (JSON) the rows are checked "
                             "and fingerprinted for; empty = the default recipe. build_defs "
                             "sets it from its recipe, so sensors and assets agree.")

    @property
    def recipe(self) -> Recipe:
        return Recipe.model_validate_json(self.recipe_json) if self.recipe_json \
            else DEFAULT_RECIPE

    def load(self, video_defaults: VideoDefaults = DEFAULT_VIDEO, recipe: Recipe | None = None,
             skus: Collection[str] | None = None, max_checks: int | None = None,
             check_seconds: float | None = None) -> Catalog:
        """The validated catalog; ``video_defaults`` fill empty video cells (and so take part
        in the video fingerprints); ``recipe`` (default: this resource's) decides what each row
        gets and so which cells it needs. ``skus``: validate only these SKUs' rows (a run's
        own). ``max_checks``, ``check_seconds``: check at most this many rows the cache does
        not know yet, for about this long (see ``load_catalog``)."""
        return load_catalog(self.path, s3_client=_LazyS3Client(self.s3),
                            video_defaults=video_defaults, local_roots=self.local_roots,
                            s3_prefixes=self.s3_prefixes, recipe=recipe or self.recipe,
                            skus=skus, cache=self.cache, max_checks=max_checks,
                            check_seconds=check_seconds)

    @property
    def database_url(self) -> str:
        """Where the validation cache and the catalog sensor's state live."""
        return self.cache_url or os.environ.get(LEDGER_URL_ENV) or Ledger.default_url()

    @property
    def cache(self) -> ValidationCache:
        """The validation cache, shared with every process that uses the same database."""
        return ValidationCache.for_url(self.database_url)


class _LazyS3Client:
    """An S3 client made on first use: building one (boto3 session, endpoint data) takes about
    half a second, and most catalogs and rows never read S3."""

    def __init__(self, s3: S3Resource):
        self._s3 = s3

    @cached_property
    def _client(self) -> Any:
        return self._s3.get_client()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


class LedgerResource(dg.ConfigurableResource):
    """The task ledger, which also keeps the account's limits: SQLite under DAGSTER_HOME by
    default, any SQLAlchemy URL otherwise. Every code location, run and sensor that uses one
    DashScope account must use the same URL (``WAN_DAGSTER_LEDGER_URL`` in ``build_defs``)."""

    url: str = Field(default="", description="SQLAlchemy URL; empty = SQLite under DAGSTER_HOME")

    @cached_property
    def ledger(self) -> Ledger:
        return Ledger(self.url or Ledger.default_url())

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        warning = local_ledger_warning(context.instance, self.ledger)
        if warning and context.log is not None:
            context.log.warning(warning)


def local_ledger_warning(instance: dg.DagsterInstance | None, ledger: Ledger) -> str | None:
    """A warning when the Dagster instance's storage is shared (Postgres, MySQL: runs may
    execute on other machines) but the ledger is a SQLite file on this machine: the other
    machines would keep ledgers of their own and pay again for every generation."""
    if instance is None or not ledger.is_local_file:
        return None
    storage = type(instance.run_storage).__module__
    if not any(shared in storage for shared in ("postgres", "mysql")):
        return None
    return (f"The Dagster instance's storage is shared ({type(instance.run_storage).__name__}) "
            f"but the task ledger is a local SQLite file ({ledger!r}): runs on other machines "
            "would not see its attempts and would pay again for every generation, and the "
            "account's limits would not be shared. Set WAN_DAGSTER_LEDGER_URL (or the ledger "
            "resource's url) to one Postgres URL for every code location.")


class MediaStoreResource(dg.ConfigurableResource):
    """Where generated media go: a local directory (default) or S3 through dagster-aws."""

    kind: Literal["local", "s3"] = "local"
    root: str = Field(default=str(REPO_ROOT / "out" / "media"), description="local directory")
    bucket: str | None = Field(default=None, description="S3 bucket (kind s3)")
    prefix: str = Field(default="wan-dagster", description="S3 key prefix (kind s3)")
    s3: S3Resource = Field(default_factory=S3Resource)

    def get_store(self) -> MediaStore:
        if self.kind == "s3":
            if not self.bucket:
                raise dg.DagsterInvalidConfigError("media store kind 's3' needs a bucket", [], None)
            return S3MediaStore(self.s3.get_client(), self.bucket, self.prefix)
        return LocalMediaStore(Path(self.root))
