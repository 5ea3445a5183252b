"""One instance of a ledger-backed service per database URL and process.

Opening a ``Ledger`` creates an engine and its connection pool; the catalog's row workers, the
sensor and the run share one per database. Keyed by process too: a forked child must not use
its parent's pooled connections.
"""

from __future__ import annotations

import os
import threading
from typing import ClassVar, Self

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from .ledger import Ledger

#: Keys per ``IN (...)`` query: under SQLite's and Postgres' bound-parameter limits.
KEYS_PER_QUERY = 900


class PerDatabase:
    """Mixin: ``for_url(url)`` returns this process's instance for ``url``, built once with
    ``cls(Ledger(url))``."""

    _instances: ClassVar[dict[tuple[type, str, int], PerDatabase]] = {}
    _instances_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, ledger: Ledger):
        self._ledger = ledger

    @property
    def url(self) -> str:
        """The database's URL: another process opens its own instance with ``for_url``."""
        return self._ledger.url

    @classmethod
    def for_url(cls, url: str) -> Self:
        key = (cls, url, os.getpid())
        with PerDatabase._instances_lock:
            found = PerDatabase._instances.get(key)
            if found is None:
                found = PerDatabase._instances[key] = cls(Ledger(url))
            return found  # type: ignore[return-value]


def insert_into(conn: Connection, table: sa.Table) -> sqlite.Insert | postgresql.Insert:
    """``INSERT`` into ``table`` in the connection's dialect: SQLite's and Postgres' both have
    ``on_conflict_do_nothing`` and ``on_conflict_do_update``, the plain one has neither."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)
