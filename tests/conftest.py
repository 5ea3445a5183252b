"""Shared fixtures."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

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


#: A PostgreSQL server the tests may create databases on (``.ci/run`` starts one on loopback).
POSTGRES_ENV = "WAN_DAGSTER_TEST_POSTGRES_URL"


def postgres_server() -> str:
    """The PostgreSQL server's URL; skips the test without one, but fails it in CI
    (``CI=true``), where ``.ci/run`` must have started it."""
    server = os.environ.get(POSTGRES_ENV)
    if not server:
        message = f"no PostgreSQL server: set {POSTGRES_ENV} to run this case (.ci/run does)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return server


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A new, empty database on the PostgreSQL server, dropped afterwards."""
    server = postgres_server()
    name = f"wan_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield sa.make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty ledger database: a SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ledger.db'}"
    return request.getfixturevalue("postgres_url")
