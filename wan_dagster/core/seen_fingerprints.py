"""What a change-detecting sensor has already asked for (SKU -> fingerprint), kept in the
ledger's database rather than in its cursor: at 100k SKUs a JSON cursor is megabytes, stored
again with every tick.

The cursor is a small token, ``<state id>:<generation>``. A tick reads the state as of its
cursor's generation, writes what it asks for as the next generation and returns that token;
Dagster stores the token only if the tick's runs are submitted. A tick that is never committed
leaves rows past the stored generation, which the next tick ignores and removes, so the
database never gets ahead of the cursor. A cursor of another form (none, or the JSON mapping
of older releases) starts a new state id (importing the mapping).

A reset cursor leaves its old state id's rows behind (a row per SKU): each state id records
the UTC day a tick last used it (at most one write a day, in the tick's own transaction, even
when nothing changed), and the day's first tick in a database deletes the states no tick used
for ``keep_days`` (``pruning.KEEP_DAYS``). Age alone decides, so the live state of a sensor
that ticks, in this deployment or another sharing the database, is never deleted. No Dagster
imports.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Mapping

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .ledger import Ledger
from .per_database import KEYS_PER_QUERY, PerDatabase, insert_into
from .pruning import KEEP_DAYS, create_pruned_table, prune_due, utc_day

__all__ = ["SeenFingerprints"]

_metadata = sa.MetaData()
seen_table = sa.Table(
    "wan_sensor_seen", _metadata,
    sa.Column("scope", sa.String(200), primary_key=True),  # sensor name : state id
    sa.Column("sku", sa.String(1024), primary_key=True),
    sa.Column("generation", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("fingerprint", sa.String(64), nullable=False),
)
_s = seen_table
#: Apart from ``_metadata``: created (and filled from an older release's rows) by
#: ``_add_scopes_table``, which must find it missing to know that it has to fill it.
scopes_table = sa.Table(
    "wan_sensor_scopes", sa.MetaData(),
    sa.Column("scope", sa.String(200), primary_key=True),
    sa.Column("used", sa.Integer, nullable=False, index=True),  # ``utc_day`` a tick last used it
)
_scopes = scopes_table
_TOKEN = re.compile(r"(?P<state>[0-9a-f]{32}):(?P<generation>\d+)")


class SeenFingerprints(PerDatabase):
    """The state of every change-detecting sensor in one ledger database (``for_url``: one
    per URL and process). ``keep_days``: how long a state no tick uses is kept; ``today``: the
    day it is now (``pruning.utc_day``)."""

    def __init__(self, ledger: Ledger, *, keep_days: int = KEEP_DAYS,
                 today: Callable[[], int] = utc_day):
        super().__init__(ledger)
        self._keep_days = keep_days
        self._today = today
        self._pruned_on: int | None = None  # the day this process found pruning done
        ledger.create_tables(_metadata, then=lambda conn: _add_scopes_table(conn, today()))

    def changes(self, sensor: str, cursor: str | None, current: Mapping[str, str]
                ) -> tuple[set[str], str]:
        """The SKUs of ``current`` whose fingerprint differs from what was asked for as of
        ``cursor``, and the cursor to store once they are asked for (``cursor`` itself when
        nothing changed). Linear in the catalog."""
        scope, generation, imported = self._open(sensor, cursor)
        with self._ledger.transaction(write=True) as conn:
            self._record_use(conn, scope)
            seen = {**imported, **self._read(conn, scope, generation)}
            wanted = {sku for sku, fingerprint in current.items() if seen.get(sku) != fingerprint}
            if not wanted and not imported:
                return wanted, cursor or _token(scope, generation)
            rows = {**imported, **{sku: current[sku] for sku in wanted}}
            _insert(conn, scope, generation + 1, rows)
        return wanted, _token(scope, generation + 1)

    def pending(self, sensor: str, cursor: str) -> dict[str, str]:
        """What the tick that returned ``cursor`` asked for (SKU -> fingerprint)."""
        scope, generation, _ = self._open(sensor, cursor)
        with self._ledger.transaction() as conn:
            return {r.sku: r.fingerprint for r in conn.execute(sa.select(_s.c.sku, _s.c.fingerprint)
                    .where(_s.c.scope == scope, _s.c.generation == generation))}

    def commit(self, sensor: str, cursor: str | None, done: Mapping[str, str]) -> str:
        """Record ``done`` as asked for on top of ``cursor`` (a part of a tick's runs that
        finished; the tick's own uncommitted generation is dropped). Returns the new cursor."""
        scope, generation, imported = self._open(sensor, cursor)
        with self._ledger.transaction(write=True) as conn:
            self._record_use(conn, scope)
            self._read(conn, scope, generation)
            _insert(conn, scope, generation + 1, {**imported, **done})
        return _token(scope, generation + 1)

    def _record_use(self, conn: Connection, scope: str) -> None:
        """Record that ``scope`` is used today (a write only on its first use of the day), then
        prune if this is the day's first tick in the database."""
        today = self._today()
        statement = insert_into(conn, _scopes).values(scope=scope, used=today)
        conn.execute(statement.on_conflict_do_update(
            index_elements=["scope"], set_={"used": today}, where=_scopes.c.used < today))
        if self._pruned_on != today and prune_due(conn, "sensor states", today):
            self._prune(conn, today - self._keep_days)
        self._pruned_on = today

    @staticmethod
    def _prune(conn: Connection, cutoff: int) -> None:
        """Delete the states no tick used since the day ``cutoff``."""
        old = [scope for (scope,) in conn.execute(
            sa.select(_scopes.c.scope).where(_scopes.c.used < cutoff).with_for_update())]
        for start in range(0, len(old), KEYS_PER_QUERY):
            chunk = old[start:start + KEYS_PER_QUERY]
            conn.execute(_s.delete().where(_s.c.scope.in_(chunk)))
            conn.execute(_scopes.delete().where(_scopes.c.scope.in_(chunk)))

    def _open(self, sensor: str, cursor: str | None) -> tuple[str, int, dict[str, str]]:
        """(scope, generation, SKUs imported from an older JSON cursor)."""
        match = _TOKEN.fullmatch(cursor or "")
        if match:
            return f"{sensor}:{match['state']}", int(match["generation"]), {}
        imported = json.loads(cursor) if cursor else {}
        return f"{sensor}:{uuid.uuid4().hex}", 0, dict(imported)

    @staticmethod
    def _read(conn: Connection, scope: str, generation: int) -> dict[str, str]:
        """SKU -> fingerprint as of ``generation``; drops what later, uncommitted ticks wrote
        and the rows that a later committed one superseded."""
        conn.execute(_s.delete().where(_s.c.scope == scope, _s.c.generation > generation))
        latest: dict[str, tuple[int, str]] = {}
        stale: list[dict[str, object]] = []
        for sku, number, fingerprint in conn.execute(
                sa.select(_s.c.sku, _s.c.generation, _s.c.fingerprint).where(_s.c.scope == scope)):
            known = latest.get(sku)
            if known is None or known[0] < number:
                if known is not None:
                    stale.append({"b_sku": sku, "b_generation": known[0]})
                latest[sku] = (number, fingerprint)
            else:
                stale.append({"b_sku": sku, "b_generation": number})
        if stale:
            conn.execute(_s.delete().where(_s.c.scope == scope,
                                           _s.c.sku == sa.bindparam("b_sku"),
                                           _s.c.generation == sa.bindparam("b_generation")), stale)
        return {sku: fingerprint for sku, (_, fingerprint) in latest.items()}


def _add_scopes_table(conn: Connection, today: int) -> None:
    """Create the table of each state's last day of use; the states an older release left
    count as used ``today``."""
    create_pruned_table(conn)
    if sa.inspect(conn).has_table(_scopes.name):
        return
    _scopes.create(conn)
    conn.execute(_scopes.insert().from_select(
        ["scope", "used"], sa.select(_s.c.scope, sa.literal(today, sa.Integer)).distinct()))


def _insert(conn: Connection, scope: str, generation: int, rows: Mapping[str, str]) -> None:
    if rows:
        conn.execute(_s.insert(), [{"scope": scope, "sku": sku, "generation": generation,
                                    "fingerprint": fingerprint} for sku, fingerprint in rows.items()])


def _token(scope: str, generation: int) -> str:
    return f"{scope.rpartition(':')[2]}:{generation}"
