"""The task ledger: what we asked DashScope to do, and what became of it, in a real database.

DashScope has no idempotency key, bills every task that succeeds, and forgets tasks and their
results after 24 h. So before a create is sent the pipeline records an INTENT here, and the task
id as soon as it is known; a retry, a re-run, a crashed run or the task sensor looks here first
and resumes polling or collecting instead of paying again.

Many runs on many machines use the ledger at once (SQLite by default, Postgres in production),
so nothing here is held in memory between calls: every decision is one database transaction,
the unique key ``(asset, sku, input_fingerprint, attempt_no)`` lets exactly one of several
racing writers start an attempt, and every state change is a single ``UPDATE`` guarded by the
states it may leave, so a stale writer can never move a row backwards. No Dagster imports.
"""

from __future__ import annotations

import base64
import contextlib
import binascii
import functools
import hashlib
import os
import re
import time
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

__all__ = [
    "BILLED_USAGE_KEYS", "IN_FLIGHT", "Attempt", "AttemptNotFound", "Ledger", "LedgerConflict",
    "LedgerError", "Status", "compact_body",
]

#: How long a SQLite writer waits for another process's write to finish before giving up.
SQLITE_BUSY_TIMEOUT_S = 30.0


class Status(StrEnum):
    """Where an attempt stands. Only RETRYABLE and CANCELED let ``begin`` start a new attempt:
    every other state either has (or may have) a billed task to resume, or is final."""

    #: Recorded before the create is sent; not confirmed, so its task may or may not exist.
    INTENT = "INTENT"
    #: The create was answered: ``task_id`` is known; poll it.
    SUBMITTED = "SUBMITTED"
    #: The task succeeded (and was billed); its output is not stored yet.
    SUCCEEDED = "SUCCEEDED"
    #: The output is in the media store: done.
    STORED = "STORED"
    #: Final: content or parameter failure, or retries exhausted; ``code`` and ``message`` say why.
    FAILED = "FAILED"
    #: The task failed transiently (e.g. InternalError): a new attempt may be started.
    RETRYABLE = "RETRYABLE"
    #: The task or its result vanished (24 h) before it was collected.
    EXPIRED = "EXPIRED"
    #: The create's outcome is unknown and unresolved: reconcile, never resend blindly.
    AMBIGUOUS = "AMBIGUOUS"
    #: Withdrawn before it finished (never sent, or canceled at the service).
    CANCELED = "CANCELED"


#: States whose attempt still needs work (a task to find, poll or collect): the task sensor's view.
IN_FLIGHT: frozenset[Status] = frozenset(
    {Status.INTENT, Status.SUBMITTED, Status.SUCCEEDED, Status.AMBIGUOUS})
#: States after which ``begin`` may start the next attempt on its own (within ``max_attempts``).
_RENEWABLE: frozenset[Status] = frozenset({Status.RETRYABLE, Status.CANCELED})
#: States after which a user may explicitly ``restart``: nothing is in flight, nothing billed
#: is waiting to be collected.
_RESTARTABLE: frozenset[Status] = frozenset(
    {Status.EXPIRED, Status.FAILED, Status.RETRYABLE, Status.CANCELED})

#: ``usage`` keys that are billed quantities, in both DashScope vocabularies (images; legacy and
#: wan2.6 videos). ``cost_rows`` gives each of them a column (None when the answer lacked it).
#: Selectors such as ``SR``, ``size``, ``video_ratio`` or ``audio`` are not quantities.
BILLED_USAGE_KEYS: tuple[str, ...] = (
    "image_count", "duration", "video_duration", "video_count", "input_video_duration",
    "output_video_duration",
)


class LedgerError(Exception):
    """Base of the ledger's own errors."""


class AttemptNotFound(LedgerError, LookupError):
    """No attempt has this id."""


class LedgerConflict(LedgerError):
    """A guarded write found the row in a state it may not leave that way (a stale or racing
    writer), or the write would break a uniqueness rule. ``current`` is the row as it is now."""

    def __init__(self, message: str, *, attempt_id: int | None = None,
                 expected: Iterable[Status] = (), current: Attempt | None = None):
        super().__init__(message)
        self.attempt_id = attempt_id
        self.expected = frozenset(expected)
        self.current = current


@dataclass(frozen=True)
class Attempt:
    """One attempt to produce (asset, sku) from one input: at most one DashScope task.

    ``request_body`` is the compact body (data URIs replaced by their sha256);
    ``request_fingerprint`` is the sha256 of the full body that was (or will be) sent. All
    datetimes are aware UTC.
    """

    id: int
    asset: str
    sku: str
    input_fingerprint: str
    attempt_no: int
    model: str
    request_fingerprint: str
    request_body: dict[str, Any]
    status: Status
    task_id: str | None
    code: str | None
    message: str | None
    usage: dict[str, Any] | None
    cost: Decimal | None
    currency: str | None
    output_uri: str | None
    output_sha256: str | None
    output_size: int | None
    run_id: str | None
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None
    finished_at: datetime | None
    #: The live run (a ``leases.new_owner`` token) that alone may send, reconcile or collect
    #: this attempt while ``lease_until`` is in the future.
    owner: str | None = None
    lease_until: datetime | None = None
    #: When the create was last handed to the network: None proves it was never sent.
    sent_at: datetime | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        """(asset, sku, input_fingerprint): what the attempts of one piece of work share."""
        return (self.asset, self.sku, self.input_fingerprint)

    @property
    def in_flight(self) -> bool:
        return self.status in IN_FLIGHT


# --------------------------------------------------------------------------- request bodies

_DATA_URI = re.compile(r"data:(?P<mime>[^;,]*)(?P<params>[^,]*),(?P<data>.*)",
                       re.DOTALL | re.IGNORECASE)


def compact_body(body: Any) -> Any:
    """A copy of ``body`` with every ``data:`` URI replaced by ``data:<mime>;sha256=<hex>``.

    The ledger keeps the request for audit and reconciliation, not for resending: embedded
    images are megabytes of base64 that would bloat every row. The hash is of the decoded bytes
    (the same ``sha256`` the client's prepared media carry), so the input stays identifiable.
    """
    if isinstance(body, Mapping):
        return {str(k): compact_body(v) for k, v in body.items()}
    if isinstance(body, (list, tuple)):
        return [compact_body(v) for v in body]
    if isinstance(body, str) and body[:5].lower() == "data:":
        return _compact_data_uri(body)
    return body


def _compact_data_uri(uri: str) -> str:
    match = _DATA_URI.fullmatch(uri)
    if match is None:  # not even "data:...,...": hash the whole string
        return f"data:;sha256={hashlib.sha256(uri.encode()).hexdigest()}"
    payload = match["data"]
    raw: bytes | None = None
    if match["params"].lower().endswith(";base64"):
        try:
            raw = base64.b64decode(payload, validate=False)
        except (binascii.Error, ValueError):
            raw = None
    if raw is None:
        raw = urllib.parse.unquote_to_bytes(payload)
    return f"data:{match['mime']};sha256={hashlib.sha256(raw).hexdigest()}"


# --------------------------------------------------------------------------- column types

class _UTCDateTime(sa.TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend: ``timestamptz`` on Postgres; naive UTC text on
    SQLite, which has no time zones (SQLAlchemy would silently drop the offset)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("the ledger stores aware datetimes only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class _Money(sa.TypeDecorator[Decimal]):
    """Exact decimals: ``numeric`` where the backend has it, decimal text on SQLite (whose
    NUMERIC is a float and would turn 0.14 into 0.14000000000000001)."""

    impl = sa.String(48)
    cache_ok = True

    def load_dialect_impl(self, dialect: sa.Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.String(48))
        return dialect.type_descriptor(sa.Numeric(28, 10))

    def process_bind_param(self, value: Decimal | None, dialect: sa.Dialect) -> Any:
        if value is None:
            return None
        return str(value) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> Decimal | None:
        if value is None:
            return None
        return _tidy(Decimal(str(value)))


def _tidy(value: Decimal) -> Decimal:
    """Drop the trailing zeros a fixed-scale column adds (0.1400000000 -> 0.14)."""
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    return value.normalize()


# --------------------------------------------------------------------------- schema

_metadata = sa.MetaData()
_id_type = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite rowid needs INTEGER
_json = sa.JSON(none_as_null=True)

attempts_table = sa.Table(
    "wan_ledger_attempts", _metadata,
    sa.Column("id", _id_type, primary_key=True, autoincrement=True),
    sa.Column("asset", sa.String(255), nullable=False),
    sa.Column("sku", sa.String(255), nullable=False),
    sa.Column("input_fingerprint", sa.String(128), nullable=False),
    sa.Column("attempt_no", sa.Integer, nullable=False),
    sa.Column("model", sa.String(128), nullable=False),
    sa.Column("request_fingerprint", sa.String(128), nullable=False),
    sa.Column("request_body", _json, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("task_id", sa.String(128), nullable=True),
    sa.Column("code", sa.String(128), nullable=True),
    sa.Column("message", sa.Text, nullable=True),
    sa.Column("usage", _json, nullable=True),
    sa.Column("cost", _Money, nullable=True),
    sa.Column("currency", sa.String(8), nullable=True),
    sa.Column("output_uri", sa.Text, nullable=True),
    sa.Column("output_sha256", sa.String(64), nullable=True),
    sa.Column("output_size", sa.BigInteger, nullable=True),
    sa.Column("run_id", sa.String(64), nullable=True),
    sa.Column("created_at", _UTCDateTime, nullable=False),
    sa.Column("updated_at", _UTCDateTime, nullable=False),
    sa.Column("submitted_at", _UTCDateTime, nullable=True),
    sa.Column("finished_at", _UTCDateTime, nullable=True),
    sa.Column("owner", sa.String(128), nullable=True),
    sa.Column("lease_until", _UTCDateTime, nullable=True),
    sa.Column("sent_at", _UTCDateTime, nullable=True),
    # One attempt number per piece of work: of several racing writers exactly one inserts.
    sa.UniqueConstraint("asset", "sku", "input_fingerprint", "attempt_no",
                        name="uq_wan_ledger_attempt"),
    # A task belongs to one attempt: reconciliation can never adopt a task twice.
    sa.UniqueConstraint("task_id", name="uq_wan_ledger_task_id"),
    sa.CheckConstraint("attempt_no >= 1", name="ck_wan_ledger_attempt_no"),
    sa.CheckConstraint(sa.column("status").in_([s.value for s in Status]),
                       name="ck_wan_ledger_status"),
    sa.Index("ix_wan_ledger_status_submitted", "status", "submitted_at"),
    sa.Index("ix_wan_ledger_sku", "asset", "sku", "created_at"),
    sa.Index("ix_wan_ledger_owner", "owner"),
    # Reconciling a lost create reads the model's tasks recorded since its window's start.
    sa.Index("ix_wan_ledger_model_submitted", "model", "submitted_at"),
)
#: Columns added after the first release: ``_create_schema`` adds them to older tables.
_LATER_COLUMNS = ("owner", "lease_until", "sent_at")
_t = attempts_table
# Statements built once (a batch makes several per generation: building one costs more CPU
# than running it); parameters ``w_*`` guard the row, ``v_*`` are written.
_GET = sa.select(_t).where(_t.c.id == sa.bindparam("attempt_id"))
_LATEST = sa.select(_t).where(
    _t.c.asset == sa.bindparam("asset"), _t.c.sku == sa.bindparam("sku"),
    _t.c.input_fingerprint == sa.bindparam("fingerprint"),
).order_by(_t.c.attempt_no.desc()).limit(1)

_UNRESOLVED = sa.select(_t).where(_t.c.model == sa.bindparam("model"), sa.or_(
    _t.c.status == Status.AMBIGUOUS.value,
    sa.and_(_t.c.status == Status.INTENT.value, _t.c.sent_at.is_not(None)))).order_by(_t.c.id)


@functools.cache
def _transition_statement(columns: tuple[str, ...], statuses: tuple[str, ...], held: bool,
                          kept: tuple[str, ...]) -> sa.Update:
    """``UPDATE ... RETURNING`` the row, setting ``columns`` (those in ``kept`` only where
    empty) if the row is in one of ``statuses`` (and, ``held``, leased to ``w_owner``)."""
    guards = [_t.c.id == sa.bindparam("w_id"), _t.c.status.in_(statuses)]
    if held:
        guards += [_t.c.owner == sa.bindparam("w_owner"),
                   _t.c.lease_until > sa.bindparam("w_now", type_=_UTCDateTime())]
    values = {name: sa.bindparam(f"v_{name}", type_=_t.c[name].type) for name in columns}
    for name in kept:
        values[name] = sa.func.coalesce(_t.c[name], values[name])
    return _t.update().where(*guards).values(values).returning(*_t.c)


def _now() -> datetime:
    return datetime.now(UTC)


def _lease(owner: str | None, lease_s: float) -> dict[str, Any]:
    """The owner columns of a new attempt: leased to ``owner`` from now, or to nobody."""
    return {"owner": owner,
            "lease_until": _now() + timedelta(seconds=lease_s) if owner else None}


def _row_to_attempt(row: sa.Row[Any]) -> Attempt:
    values = dict(row._mapping)
    values["status"] = Status(values["status"])
    return Attempt(**values)


def _money(value: Decimal | int | str | None) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, (float, bool)):
        raise TypeError("cost must be a Decimal (or int/str): floats are not exact")
    result = Decimal(value)
    if not result.is_finite():
        raise ValueError(f"cost must be finite, not {value!r}")
    return result


# --------------------------------------------------------------------------- the ledger

class Ledger:
    """The task ledger in one SQL database, shared by every process that opens the same URL.

    Construction creates the table if it is missing. Safe to use from many threads (a
    connection pool) and many processes or machines (transactions and unique constraints). On
    SQLite it enables WAL (readers never block the writer), a busy timeout, and takes the write
    lock at the start of every writing transaction (``BEGIN IMMEDIATE``), so two processes
    cannot both read "no attempt yet" and then fail with "database is locked" on the upgrade.
    A SQLite file serves the processes of one machine (WAL needs shared memory, so not over a
    network file system); runs on several machines share a Postgres URL instead.
    """

    def __init__(self, url: str):
        parsed = make_url(url)
        self.url = url
        self._sqlite = parsed.get_backend_name() == "sqlite"
        options: dict[str, Any] = {"pool_pre_ping": True}
        if self._sqlite:
            database = parsed.database or ""
            if database in ("", ":memory:") or database.startswith("file::memory:") \
                    or "mode=memory" in database or parsed.query.get("mode") == "memory":
                raise ValueError("the ledger must be a database file that every process shares, "
                                 "not an in-memory SQLite database")
            if not parsed.query.get("uri"):
                Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            options = {"connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_S}}
        self._engine: Engine = sa.create_engine(parsed, **options)
        if self._sqlite:
            event.listen(self._engine, "connect", _sqlite_on_connect)
            event.listen(self._engine, "begin", _sqlite_on_begin)
        self._pid = os.getpid()
        self._create_schema()

    # ------------------------------------------------------------------ lifecycle

    @staticmethod
    def default_url() -> str:
        """``sqlite:///$DAGSTER_HOME/wan_dagster/ledger.db`` (``./.dagster_home`` without
        DAGSTER_HOME), beside Dagster's own storage so a deployment finds it in one place.
        Creates the directory."""
        home = os.environ.get("DAGSTER_HOME") or ".dagster_home"
        directory = Path(home).expanduser().resolve() / "wan_dagster"
        directory.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{directory / 'ledger.db'}"

    @property
    def dialect_name(self) -> str:
        """``sqlite`` or ``postgresql`` (or another SQLAlchemy dialect)."""
        return self._engine.dialect.name

    @property
    def is_local_file(self) -> bool:
        """A SQLite file: shared only by the processes of this machine."""
        return self._sqlite

    def transaction(self, *, write: bool = False, durable: bool = True
                    ) -> contextlib.AbstractContextManager[Connection]:
        """One transaction on the ledger's database, for the tables that live beside the
        ledger (``account_limits``); ``write`` takes SQLite's write lock up front. A write
        that need not survive a power cut (``durable`` False: the account's rate tokens and
        slots, which die with the processes that hold them) commits on SQLite without waiting
        for the disk; other processes see it all the same, and the next durable commit syncs
        it too."""
        return self._tx(write=write, durable=durable)

    def dispose(self) -> None:
        """Close the pooled connections (the ledger reconnects if used again)."""
        self._engine.dispose()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.dispose()

    def __reduce__(self) -> tuple[Callable[[str], Ledger], tuple[str]]:
        # A pickled ledger (e.g. sent to a spawned worker) reconnects from its URL.
        return (Ledger, (self.url,))

    def __repr__(self) -> str:
        return f"Ledger({make_url(self.url).render_as_string(hide_password=True)!r})"

    # ------------------------------------------------------------------ starting attempts

    def begin(self, *, asset: str, sku: str, input_fingerprint: str, model: str,
              request_fingerprint: str, request_body: Mapping[str, Any],
              run_id: str | None = None, max_attempts: int = 3, owner: str | None = None,
              lease_s: float = 30.0) -> tuple[Attempt, bool]:
        """Record the intent to create a task, or find the attempt already under way.

        Returns ``(attempt, created_new)``. When the latest attempt for (asset, sku,
        input_fingerprint) may have a task (INTENT, SUBMITTED, AMBIGUOUS), has a billed result
        (SUCCEEDED, STORED) or is final (FAILED, EXPIRED), it comes back unchanged with
        ``created_new`` False: ``claim`` it before resuming it, or report it; do not send. Only
        after RETRYABLE or CANCELED, and below ``max_attempts``, is the next INTENT inserted,
        leased to ``owner`` for ``lease_s``. Call this before every create.
        """
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        key = (asset, sku, input_fingerprint)
        body = compact_body(request_body)

        def decide(latest: Attempt | None) -> int | None:
            if latest is None:
                return 1
            if latest.status in _RENEWABLE and latest.attempt_no < max_attempts:
                return latest.attempt_no + 1
            return None

        return self._insert_next(key, decide, lambda n: {
            "model": model, "request_fingerprint": request_fingerprint, "request_body": body,
            "run_id": run_id, "message": None, **_lease(owner, lease_s)})

    def restart(self, attempt_id: int, *, run_id: str | None = None, reason: str,
                owner: str | None = None, lease_s: float = 30.0) -> Attempt:
        """Start a new attempt with the same request after EXPIRED, FAILED (or RETRYABLE,
        CANCELED) because a user asked to regenerate; not bound by ``max_attempts``.

        ``attempt_id`` must be the latest attempt of its work: restarting an older one would
        ignore what happened since, so that raises LedgerConflict, as does any state with a
        task in flight or a result to keep. ``reason`` is kept in the new attempt's message.
        If another restart won the race, its attempt is returned.
        """
        target = self._require(attempt_id)
        if target.status not in _RESTARTABLE:
            raise LedgerConflict(
                f"attempt {attempt_id} is {target.status}: only {sorted(_RESTARTABLE)} can be "
                "restarted", attempt_id=attempt_id, expected=_RESTARTABLE, current=target)

        def decide(latest: Attempt | None) -> int | None:
            if latest is None or latest.id != target.id or latest.status not in _RESTARTABLE:
                raise LedgerConflict(
                    f"attempt {attempt_id} is no longer the latest restartable attempt "
                    f"(latest: {latest and latest.id} {latest and latest.status})",
                    attempt_id=attempt_id, expected=_RESTARTABLE, current=latest)
            return latest.attempt_no + 1

        attempt, _ = self._insert_next(target.key, decide, lambda n: {
            "model": target.model, "request_fingerprint": target.request_fingerprint,
            "request_body": target.request_body, "run_id": run_id,
            "message": f"restarted after attempt {target.attempt_no} ({target.status}): {reason}",
            **_lease(owner, lease_s)})
        return attempt

    def _insert_next(self, key: tuple[str, str, str],
                     decide: Callable[[Attempt | None], int | None],
                     values: Callable[[int], dict[str, Any]]) -> tuple[Attempt, bool]:
        """Read the latest attempt of ``key`` and, if ``decide`` gives an attempt number,
        insert it, in one writing transaction. If a concurrent writer inserted the same
        number first (possible on Postgres, where reads take no lock), the unique key refuses
        ours and the winner's attempt is returned instead."""
        asset, sku, fingerprint = key
        for _ in range(5):
            number: int | None = None
            try:
                with self._tx(write=True) as conn:
                    latest = self._latest_in(conn, asset, sku, fingerprint)
                    number = decide(latest)
                    if number is None:
                        assert latest is not None
                        return latest, False
                    now = _now()
                    result = conn.execute(_t.insert().values(
                        asset=asset, sku=sku, input_fingerprint=fingerprint, attempt_no=number,
                        status=Status.INTENT.value, created_at=now, updated_at=now,
                        **values(number)))
                    primary_key = result.inserted_primary_key
                    assert primary_key is not None
                    created = self._get_in(conn, primary_key[0])
                    assert created is not None
                    return created, True
            except IntegrityError:
                winner = self.latest(asset, sku, fingerprint)
                if winner is not None and number is not None and winner.attempt_no >= number:
                    return winner, False
                # not the attempt-number race (or the winner vanished): decide again
        raise LedgerError(f"could not record an attempt for {key} after repeated conflicts")

    # ------------------------------------------------------------------ leases

    def claim(self, attempt_id: int, owner: str, lease_s: float) -> tuple[Attempt, bool]:
        """Make ``owner`` the one run that may work on an in-flight attempt: granted when
        nobody holds it, ``owner`` already does, or the holder's lease has lapsed (its run is
        gone). Returns ``(attempt as it now is, granted)``; not granted means another live run
        holds it (wait for its outcome) or it is no longer in flight (report it)."""
        now = _now()
        with self._tx(write=True) as conn:
            granted = conn.execute(_t.update().where(
                _t.c.id == attempt_id, _t.c.status.in_([s.value for s in IN_FLIGHT]),
                sa.or_(_t.c.owner.is_(None), _t.c.owner == owner, _t.c.lease_until.is_(None),
                       _t.c.lease_until < now),
            ).values(owner=owner, lease_until=now + timedelta(seconds=lease_s))).rowcount == 1
            current = self._get_in(conn, attempt_id)
        if current is None:
            raise AttemptNotFound(attempt_id)
        return current, granted

    def renew_leases(self, owner: str, lease_s: float) -> int:
        """Extend every lease ``owner`` holds on in-flight attempts (its heartbeat)."""
        with self._tx(write=True) as conn:
            return conn.execute(_t.update().where(
                _t.c.owner == owner, _t.c.lease_until.is_not(None),
                _t.c.status.in_([s.value for s in IN_FLIGHT]),
            ).values(lease_until=_now() + timedelta(seconds=lease_s))).rowcount

    def release_leases(self, owner: str, attempt_id: int | None = None) -> int:
        """``owner`` stops working on its attempts (its run ends), or on one of them: others
        may claim them at once instead of waiting for the leases to lapse. The owner stays
        as history."""
        guards = [_t.c.owner == owner, _t.c.lease_until.is_not(None)]
        if attempt_id is not None:
            guards.append(_t.c.id == attempt_id)
        with self._tx(write=True) as conn:
            return conn.execute(_t.update().where(*guards).values(lease_until=None)).rowcount

    def mark_sending(self, attempt_id: int, owner: str) -> Attempt:
        """Record, just before a create goes on the wire, that it may have been sent; only the
        lease holder may. An attempt whose ``sent_at`` is None was provably never sent, so
        whoever takes it over may send it without searching the task list first."""
        return self._transition(attempt_id, {Status.INTENT, Status.AMBIGUOUS},
                                {"sent_at": _now()}, holder=owner)

    def unresolved_creates(self, model: str) -> list[Attempt]:
        """Creates of ``model`` whose task is not known yet although they were (maybe) sent,
        by any process: AMBIGUOUS ones, and INTENTs on the wire. Reconciliation may adopt a
        task that shows nothing to tell it apart only when its own create is the one left."""
        with self._tx() as conn:
            return [_row_to_attempt(r) for r in conn.execute(_UNRESOLVED, {"model": model})]

    # ------------------------------------------------------------------ transitions

    def mark_submitted(self, attempt_id: int, task_id: str, *,
                       submitted_at: datetime | None = None) -> Attempt:
        """The create was answered with ``task_id`` (or reconciliation found the task of an
        INTENT/AMBIGUOUS attempt). Record it at once: from now on the task is resumed, never
        re-created. A task id already recorded for another attempt raises LedgerConflict. An
        earlier message (e.g. why the attempt was ambiguous) is kept as history."""
        if not task_id:
            raise ValueError("task_id must not be empty")
        return self._transition(attempt_id, {Status.INTENT, Status.AMBIGUOUS}, {
            "status": Status.SUBMITTED.value, "task_id": task_id,
            "submitted_at": submitted_at or _now()})

    def mark_succeeded(self, attempt_id: int, usage: Mapping[str, Any] | None,
                       cost: Decimal | int | str | None, currency: str | None, *,
                       finished_at: datetime | None = None) -> Attempt:
        """The task SUCCEEDED (so it is billed): keep its ``usage`` as returned and the cost
        priced from it (None where the answer had no billed quantity: never invented).
        ``finished_at`` may be the service's end time; it dates the cost."""
        return self._transition(attempt_id, {Status.SUBMITTED}, {
            "status": Status.SUCCEEDED.value, "usage": dict(usage) if usage else None,
            "cost": _money(cost), "currency": currency, "finished_at": finished_at or _now()})

    def mark_stored(self, attempt_id: int, uri: str, sha256: str, size: int) -> Attempt:
        """The output is in the media store at ``uri``: the attempt is done."""
        return self._transition(attempt_id, {Status.SUCCEEDED}, {
            "status": Status.STORED.value, "output_uri": uri, "output_sha256": sha256,
            "output_size": int(size)})

    def mark_failed(self, attempt_id: int, code: str | None, message: str | None,
                    retryable: bool, *, finished_at: datetime | None = None) -> Attempt:
        """The create was refused or the task FAILED. ``retryable`` (e.g. InternalError, or a
        create refused for throttling) makes it RETRYABLE, so ``begin`` may start another
        attempt; otherwise it is FAILED for good. From AMBIGUOUS only once reconciliation has
        shown that no task was created. A SUCCEEDED attempt cannot fail: its result is paid for,
        so it is collected or EXPIRED."""
        return self._transition(
            attempt_id, {Status.INTENT, Status.SUBMITTED, Status.AMBIGUOUS}, {
                "status": (Status.RETRYABLE if retryable else Status.FAILED).value,
                "code": code, "message": message, "finished_at": finished_at or _now()})

    def mark_not_created(self, attempt_id: int, message: str) -> Attempt:
        """The task list shows that the create never landed: an AMBIGUOUS attempt becomes
        RETRYABLE (``NotCreated``), an INTENT CANCELED, so the next run sends it afresh. Never
        from a state with a task: a racing writer that recorded one wins (LedgerConflict)."""
        try:
            return self._transition(attempt_id, {Status.AMBIGUOUS}, {
                "status": Status.RETRYABLE.value, "code": "NotCreated", "message": message,
                "finished_at": _now()})
        except LedgerConflict as conflict:
            if conflict.current is None or conflict.current.status != Status.INTENT:
                raise
        return self.mark_canceled(attempt_id)

    def mark_expired(self, attempt_id: int, message: str | None = None) -> Attempt:
        """The task or its result vanished (24 h, or lost by the service: ``message`` says
        which) before it was collected. A SUCCEEDED attempt keeps its usage and cost: it was
        billed all the same."""
        return self._transition(
            attempt_id, {Status.SUBMITTED, Status.SUCCEEDED, Status.AMBIGUOUS},
            {"status": Status.EXPIRED.value, "message": message, "finished_at": _now()},
            kept=("finished_at",))

    def mark_ambiguous(self, attempt_id: int, message: str) -> Attempt:
        """The create's answer was lost (timeout, dropped connection, 5xx): a task may exist.
        The attempt must be reconciled against the service's task list, never resent. An
        AMBIGUOUS attempt may be marked again (a later reconciliation failed too): the message
        is replaced."""
        return self._transition(attempt_id, {Status.INTENT, Status.AMBIGUOUS}, {
            "status": Status.AMBIGUOUS.value, "message": message})

    def mark_canceled(self, attempt_id: int) -> Attempt:
        """Withdrawn: from INTENT only when the create is known not to have been sent (a
        crashed create is AMBIGUOUS instead), or after the task was canceled at the service."""
        return self._transition(attempt_id, {Status.INTENT, Status.SUBMITTED}, {
            "status": Status.CANCELED.value, "finished_at": _now()})

    def _transition(self, attempt_id: int, expected: set[Status], values: dict[str, Any],
                    *, holder: str | None = None, kept: Iterable[str] = ()) -> Attempt:
        """One UPDATE guarded by the current status (and with ``holder``, by a live lease of
        that owner): of racing writers, one wins; a stale one gets LedgerConflict with the row
        as it now is. Columns in ``kept`` keep a value they already have."""
        now = _now()
        values = {**values, "updated_at": now}
        allowed = sorted(s.value for s in expected)
        statement = _transition_statement(tuple(sorted(values)), tuple(allowed),
                                          holder is not None, tuple(sorted(kept)))
        params = {f"v_{name}": value for name, value in values.items()}
        params.update(w_id=attempt_id, w_owner=holder, w_now=now)
        try:
            with self._tx(write=True) as conn:
                row = conn.execute(statement, params).first()
                if row is not None:
                    return _row_to_attempt(row)
                current = self._get_in(conn, attempt_id)
        except IntegrityError as exc:
            current = self.get(attempt_id)
            if current is None:
                raise AttemptNotFound(attempt_id) from exc
            raise LedgerConflict(
                f"attempt {attempt_id}: {values.get('status')} would break a uniqueness rule "
                f"(task id {values.get('task_id')!r} already recorded?)",
                attempt_id=attempt_id, expected=expected, current=current) from exc
        if current is None:
            raise AttemptNotFound(attempt_id)
        if holder is not None and current.status in expected:
            raise LedgerConflict(f"attempt {attempt_id} is no longer leased to {holder} (owner "
                                 f"{current.owner}, lease until {current.lease_until})",
                                 attempt_id=attempt_id, expected=expected, current=current)
        raise LedgerConflict(
            f"attempt {attempt_id} is {current.status}; {values.get('status', 'this write')} "
            f"needs {' or '.join(sorted(allowed))}", attempt_id=attempt_id, expected=expected,
            current=current)

    # ------------------------------------------------------------------ queries

    def get(self, attempt_id: int) -> Attempt | None:
        with self._tx() as conn:
            return self._get_in(conn, attempt_id)

    def latest(self, asset: str, sku: str, input_fingerprint: str) -> Attempt | None:
        """The highest-numbered attempt of this piece of work: what ``begin`` decides on."""
        with self._tx() as conn:
            return self._latest_in(conn, asset, sku, input_fingerprint)

    def latest_for_sku(self, asset: str, sku: str) -> Attempt | None:
        """The SKU's current attempt whatever its input: the newest attempt of the input
        fingerprint seen most recently. Attempt numbers decide within one input (they cannot be
        misled by clocks that differ between machines); creation time decides between inputs,
        so a changed product is not hidden by an old input's higher attempt number."""
        with self._tx() as conn:
            newest = conn.execute(
                sa.select(_t.c.input_fingerprint).where(_t.c.asset == asset, _t.c.sku == sku)
                .order_by(_t.c.created_at.desc(), _t.c.id.desc()).limit(1)).scalar()
            if newest is None:
                return None
            return self._latest_in(conn, asset, sku, newest)

    def in_flight(self, *, older_than: datetime | None = None,
                  limit: int = 1000) -> list[Attempt]:
        """Attempts that still need work (INTENT, SUBMITTED, SUCCEEDED, AMBIGUOUS), oldest
        submission first (creation time for those without a task), so the task sensor reaches
        the results nearest to expiry first. ``older_than`` keeps only those untouched since
        then (``updated_at``), leaving alone what a live run has just written."""
        query = sa.select(_t).where(_t.c.status.in_([s.value for s in IN_FLIGHT]))
        if older_than is not None:
            query = query.where(_t.c.updated_at < older_than)
        query = query.order_by(sa.func.coalesce(_t.c.submitted_at, _t.c.created_at),
                               _t.c.id).limit(limit)
        with self._tx() as conn:
            return [_row_to_attempt(r) for r in conn.execute(query)]

    def known_task_ids(self, model: str | None = None, *,
                       since: datetime | None = None) -> set[str]:
        """Every task id recorded (any state), optionally for one model and recorded at or
        after ``since``: reconciliation of a lost create must not adopt a task another attempt
        already owns, and a task listed from ``since`` on was recorded after it was created."""
        query = sa.select(_t.c.task_id).where(_t.c.task_id.is_not(None))
        if model is not None:
            query = query.where(_t.c.model == model)
        if since is not None:
            query = query.where(_t.c.submitted_at >= since)
        with self._tx() as conn:
            return set(conn.execute(query).scalars())

    def attempts(self, asset: str | None = None, sku: str | None = None,
                 status: Status | str | Iterable[Status | str] | None = None, *,
                 run_id: str | None = None, model: str | None = None) -> list[Attempt]:
        """Attempts matching every filter given, in creation order."""
        query = sa.select(_t)
        if run_id is not None:
            query = query.where(_t.c.run_id == run_id)
        if model is not None:
            query = query.where(_t.c.model == model)
        if asset is not None:
            query = query.where(_t.c.asset == asset)
        if sku is not None:
            query = query.where(_t.c.sku == sku)
        if status is not None:
            wanted = [status] if isinstance(status, str) else list(status)
            query = query.where(_t.c.status.in_([Status(s).value for s in wanted]))
        query = query.order_by(_t.c.created_at, _t.c.id)
        with self._tx() as conn:
            return [_row_to_attempt(r) for r in conn.execute(query)]

    def models_since(self, since: datetime) -> dict[str, datetime]:
        """Each model with attempts created at or after ``since``, and the earliest of them:
        where and since when the service may have billed tasks for this ledger."""
        query = sa.select(_t.c.model, sa.func.min(_t.c.created_at)).where(
            _t.c.created_at >= sa.literal(since, _UTCDateTime())).group_by(_t.c.model)
        with self._tx() as conn:
            return dict(conn.execute(query).tuples().all())

    def cost_rows(self, *, include_unstored: bool = False) -> list[dict[str, Any]]:
        """One row per STORED attempt for the cost rollup: attempt_id, task_id, asset, sku,
        model, status, day (UTC date of ``finished_at``), cost, currency, and one column per
        ``BILLED_USAGE_KEYS`` entry (None where usage lacked it; never invented).

        ``include_unstored`` adds the other billed attempts: SUCCEEDED (not collected yet) and
        EXPIRED ones that had succeeded (usage recorded, result lost) — paid all the same.
        """
        statuses = [Status.STORED.value]
        query = sa.select(_t)
        if include_unstored:
            statuses += [Status.SUCCEEDED.value, Status.EXPIRED.value]
            query = query.where(sa.or_(_t.c.status != Status.EXPIRED.value,
                                       _t.c.usage.is_not(None)))
        query = query.where(_t.c.status.in_(statuses)).order_by(_t.c.finished_at, _t.c.id)
        with self._tx() as conn:
            attempts = [_row_to_attempt(r) for r in conn.execute(query)]
        return [_cost_row(a) for a in attempts]

    # ------------------------------------------------------------------ plumbing

    def _require(self, attempt_id: int) -> Attempt:
        attempt = self.get(attempt_id)
        if attempt is None:
            raise AttemptNotFound(attempt_id)
        return attempt

    @staticmethod
    def _get_in(conn: Connection, attempt_id: int) -> Attempt | None:
        row = conn.execute(_GET, {"attempt_id": attempt_id}).first()
        return _row_to_attempt(row) if row is not None else None

    @staticmethod
    def _latest_in(conn: Connection, asset: str, sku: str, fingerprint: str) -> Attempt | None:
        row = conn.execute(_LATEST, {"asset": asset, "sku": sku, "fingerprint": fingerprint}
                           ).first()
        return _row_to_attempt(row) if row is not None else None

    @contextmanager
    def _tx(self, *, write: bool = False, durable: bool = True) -> Iterator[Connection]:
        """One transaction; ``write`` takes SQLite's write lock up front (BEGIN IMMEDIATE);
        ``durable`` False commits without a sync to disk (SQLite)."""
        if os.getpid() != self._pid:  # forked: never share the parent's sockets or file locks
            self._engine.dispose(close=False)
            self._pid = os.getpid()
        with self._engine.connect() as conn:
            if write:
                conn.execution_options(ledger_write=True, ledger_durable=durable)
            with conn.begin():
                yield conn

    def _create_schema(self) -> None:
        self.create_tables(_metadata, then=_add_later_columns)

    def create_tables(self, metadata: sa.MetaData,
                      then: Callable[[Connection], None] = lambda conn: None) -> None:
        """Create ``metadata``'s tables if missing (the ledger's, or those that live beside
        it), then run ``then`` in the same transaction. Several processes may open a fresh
        database at once: on SQLite the check and the CREATE share one locked transaction;
        elsewhere a loser of the race sees "already exists" and checks again."""
        for attempt in range(5):
            try:
                with self._tx(write=True) as conn:
                    metadata.create_all(conn, checkfirst=True)
                    then(conn)
                return
            except (OperationalError, ProgrammingError, IntegrityError):
                if attempt == 4:
                    raise
                time.sleep(0.05 * (attempt + 1))


def _add_later_columns(conn: Connection) -> None:
    """Bring a ledger table created by an older release up to date (columns and indexes only
    added). Its unanswered creates may have been sent: ``sent_at`` says so, so they are reconciled
    rather than sent again."""
    present = {c["name"] for c in sa.inspect(conn).get_columns(_t.name)}
    for name in _LATER_COLUMNS:
        if name not in present:
            column = _t.c[name]
            conn.exec_driver_sql(f"ALTER TABLE {_t.name} ADD COLUMN {name} "
                                 f"{column.type.compile(dialect=conn.dialect)}")
    if "sent_at" not in present:
        conn.execute(_t.update().where(
            _t.c.status.in_([Status.INTENT.value, Status.AMBIGUOUS.value])
        ).values(sent_at=_t.c.created_at))
    for index in _t.indexes:  # create_all indexes only the tables it creates
        index.create(conn, checkfirst=True)


def _cost_row(a: Attempt) -> dict[str, Any]:
    when = a.finished_at or a.updated_at
    usage = a.usage or {}
    row: dict[str, Any] = {
        "attempt_id": a.id, "task_id": a.task_id, "asset": a.asset, "sku": a.sku,
        "model": a.model, "status": a.status.value, "day": when.astimezone(UTC).date(),
        "cost": a.cost, "currency": a.currency,
    }
    for key in BILLED_USAGE_KEYS:
        row[key] = usage.get(key)
    return row


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's own implicit BEGIN would
    # be DEFERRED), then: wait for other writers instead of failing, and use WAL so readers
    # never block the writer. synchronous is FULL (an intent must survive a power cut) but
    # for the writes made with ``durable`` False (see ``_sqlite_on_begin``).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
        cursor.execute("PRAGMA journal_mode = WAL")
    finally:
        cursor.close()


def _sqlite_on_begin(conn: Connection) -> None:
    options = conn.get_execution_options()
    if not options.get("ledger_write"):
        conn.exec_driver_sql("BEGIN DEFERRED")
        return
    # NORMAL in WAL mode: the commit is in the log, visible to every process and never torn,
    # but not synced, so a power cut may lose it; FULL syncs it (and everything before it).
    synchronous = "FULL" if options.get("ledger_durable", True) else "NORMAL"
    if conn.info.get("synchronous") != synchronous:  # a setting of the pooled connection
        conn.exec_driver_sql(f"PRAGMA synchronous = {synchronous}")
        conn.info["synchronous"] = synchronous
    conn.exec_driver_sql("BEGIN IMMEDIATE")

