"""Dagster resources. ``DashScopeResource`` hands out our own clients; with no API key it starts
the embedded emulator, so a fresh checkout can run and rehearse without paying."""

from __future__ import annotations

import contextlib
from typing import Iterator

import dagster as dg
from pydantic import Field, PrivateAttr

from .dashscope import AsyncDashScopeClient, DashScopeClient, Limits, PollPolicy, Region


class DashScopeResource(dg.ConfigurableResource):
    """DashScope access for assets and sensors.

    ``api_key`` comes from ``EnvVar("DASHSCOPE_API_KEY")``; the UI shows the variable name,
    never the value. Left empty, an in-process emulator serves the API (logged at start).
    """

    api_key: str = Field(default="", description="DashScope API key; empty = embedded emulator")
    region: str = Field(default=Region.BEIJING.value, description="beijing, singapore or virginia")
    base_url: str | None = Field(default=None, description="Override the region's base URL")
    workspace: str | None = Field(default=None, description="X-DashScope-WorkSpace header")
    emulator_time_scale: float = Field(
        default=0.02, description="Latency multiplier of the embedded emulator (no key only)")
    limit_overrides: dict[str, list[float]] = Field(
        default_factory=dict,
        description="Per-model [submits per second, concurrent tasks], e.g. after a quota raise")

    _emulator: object | None = PrivateAttr(default=None)

    @property
    def uses_emulator(self) -> bool:
        return not self.api_key

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        if self.uses_emulator:
            from .emulator import Emulator

            self._emulator = Emulator(time_scale=self.emulator_time_scale).start()
            context.log.info(f"No DASHSCOPE_API_KEY set: using the embedded DashScope emulator at "
                             f"{self._emulator.base_url} (nothing is billed)")

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._emulator is not None:
            self._emulator.stop()
            self._emulator = None

    def _options(self) -> dict:
        limits = {m: Limits(float(r), int(c)) for m, (r, c) in self.limit_overrides.items()}
        if self._emulator is not None:
            return dict(api_key="emulator", base_url=self._emulator.base_url, limits=limits,
                        poll=PollPolicy().scaled(self.emulator_time_scale))
        return dict(api_key=self.api_key, region=self.region, base_url=self.base_url,
                    workspace=self.workspace, limits=limits)

    @contextlib.contextmanager
    def get_client(self) -> Iterator[DashScopeClient]:
        with DashScopeClient(**self._options()) as client:
            yield client

    @contextlib.asynccontextmanager
    async def get_async_client(self):
        async with AsyncDashScopeClient(**self._options()) as client:
            yield client
