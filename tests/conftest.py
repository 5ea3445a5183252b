"""Shared fixtures."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from wan_dagster.core.leases import LEASE_ENV
from wan_dagster.emulator import Emulator

#: Image tasks finish in tens of milliseconds, videos as fast as they can be encoded.
EMULATOR_TIME_SCALE = 0.002
#: Leases of killed test processes lapse within seconds (processes started by tests inherit it).
os.environ.setdefault(LEASE_ENV, "3")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "emulator(**kwargs): Emulator arguments for the `emulator` fixture, e.g. "
                   "@pytest.mark.emulator(time_scale=0.05, api_key='sk-x')")


@pytest.fixture
def emulator(request: pytest.FixtureRequest) -> Iterator[Emulator]:
    """A started in-process DashScope emulator, stopped afterwards. Any API key is accepted
    and time runs 500x faster unless an ``emulator`` marker says otherwise."""
    marker = request.node.get_closest_marker("emulator")
    options = {"time_scale": EMULATOR_TIME_SCALE, "seed": 1, **(marker.kwargs if marker else {})}
    with Emulator(**options) as emu:
        yield emu
