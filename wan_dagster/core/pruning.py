"""Forgetting what the ledger's database keeps beside the ledger (the validation cache, the
catalog sensor's state) once nothing has used it for a while, so that the database of a
deployment that upgrades, edits its recipe or resets a sensor does not grow forever.

Entries carry a UTC day (``utc_day``) no later than the one they were last used on; a day is
an integer, cheap to store, index and compare. Pruning runs at most once a day per database
and kind (``prune_due``), inside a write transaction the caller already holds. No Dagster
imports.
"""

from __future__ import annotations

import time

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .per_database import insert_into

__all__ = ["KEEP_DAYS", "REFRESH_DAYS", "add_day_column", "create_pruned_table", "day_to_store",
           "last_day_due", "prune_before", "prune_due", "utc_day"]

#: Entries not used for this many days are deleted (at the latest ``REFRESH_DAYS`` + 1 later).
KEEP_DAYS = 30
#: How many days an entry in use keeps its stored day before a load rewrites it. Rewriting the
#: day of 100k row verdicts costs a load ~2 s, so a daily load does it for about a seventh of
#: them (``day_to_store``) rather than for all of them on one day.
REFRESH_DAYS = 7

_metadata = sa.MetaData()
pruned_table = sa.Table(
    "wan_pruned", _metadata,
    sa.Column("kind", sa.String(64), primary_key=True),
    sa.Column("day", sa.Integer, nullable=False),  # the last day this kind was pruned
)


def utc_day() -> int:
    """Today as days since 1970-01-01, UTC."""
    return int(time.time() // 86_400)


def day_to_store(key: str, today: int) -> int:
    """The day to store for a new entry of ``key`` (hex digits, a hash): up to ``REFRESH_DAYS``
    - 1 days before ``today``, by its key, so that the entries one load wrote come due for
    their refresh on different days (a refresh then stores the day it is made, keeping each
    entry's turn ``REFRESH_DAYS`` apart)."""
    return today - int(key[:8], 16) % REFRESH_DAYS


def last_day_due(today: int) -> int:
    """An entry used ``today`` whose stored day is this one or earlier has its day stored
    again: at most once in ``REFRESH_DAYS`` days, however often it is used."""
    return today - REFRESH_DAYS


def prune_before(today: int, keep_days: int) -> int:
    """Entries with a stored day before this one were last used more than ``keep_days`` ago
    (the stored day may be ``REFRESH_DAYS`` earlier than the last use)."""
    return today - keep_days - REFRESH_DAYS


def create_pruned_table(conn: Connection) -> None:
    """Create the table that remembers each kind's last pruning day, if missing."""
    pruned_table.create(conn, checkfirst=True)


def prune_due(conn: Connection, kind: str, today: int) -> bool:
    """Whether ``kind`` is still to be pruned today; True at most once a day per database,
    however many processes ask at once (the row's update is the claim), and the caller then
    prunes in the same transaction (``create_pruned_table`` first)."""
    claimed = conn.execute(pruned_table.update().where(
        pruned_table.c.kind == kind, pruned_table.c.day < today).values(day=today))
    if claimed.rowcount:
        return True
    first = conn.execute(insert_into(conn, pruned_table).values(kind=kind, day=today)
                         .on_conflict_do_nothing(index_elements=["kind"]))
    return bool(first.rowcount)


def add_day_column(conn: Connection, table: sa.Table, column: str, today: int) -> None:
    """Give ``table``, created by an older release without ``column`` (a day), the column,
    with ``today`` on every existing row (so nothing is deleted at once), and its indexes."""
    present = {c["name"] for c in sa.inspect(conn).get_columns(table.name)}
    if column not in present:
        conn.exec_driver_sql(f"ALTER TABLE {table.name} ADD COLUMN {column} INTEGER NOT NULL "
                             f"DEFAULT {int(today)}")
    for index in table.indexes:  # create_all indexes only the tables it creates
        index.create(conn, checkfirst=True)
