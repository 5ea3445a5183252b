"""One media store per ledger.

The ledger records where each result was stored (``output_uri``), and a SKU stored by one run
is reused by the next from there. A run whose media store is another one (a different root or
bucket and prefix) would find none of those files and fail every reused SKU. So the ledger
records its store's identity at first use, beside its attempts, and a batch with another store
refuses before it starts, naming both.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from .ledger import Ledger, LedgerError
from .store import LocalMediaStore, MediaStore, S3MediaStore

__all__ = ["StoreMismatch", "bind_store", "store_identity"]

_metadata = sa.MetaData()
_binding = sa.Table(
    "wan_ledger_store", _metadata,
    sa.Column("name", sa.String(32), primary_key=True),  # one row: "media"
    sa.Column("identity", sa.Text, nullable=False),
    sa.Column("recorded_at", sa.String(40), nullable=False),
)
_ROW = "media"


class StoreMismatch(LedgerError):
    """The ledger's results live in another media store than the one this batch was given."""


def store_identity(store: MediaStore) -> str:
    """``file:///<root>`` for a local directory, ``s3://<bucket>/<prefix>`` on S3."""
    if isinstance(store, LocalMediaStore):
        return store.root.as_uri()
    if isinstance(store, S3MediaStore):
        return f"s3://{store.bucket}/{store.prefix}".rstrip("/")
    raise TypeError(f"no identity for a media store of type {type(store).__name__}")


def bind_store(ledger: Ledger, store: MediaStore) -> None:
    """Record ``store`` as the ledger's media store if it has none yet; raise StoreMismatch if
    it has another. Of several processes binding a fresh ledger at once, one wins and the
    others are checked against it."""
    identity = store_identity(store)
    ledger.create_tables(_metadata)
    with ledger.transaction() as conn:
        recorded = conn.execute(sa.select(_binding.c.identity, _binding.c.recorded_at)
                                .where(_binding.c.name == _ROW)).first()
    if recorded is None:
        try:
            with ledger.transaction(write=True) as conn:
                conn.execute(_binding.insert().values(
                    name=_ROW, identity=identity, recorded_at=datetime.now(UTC).isoformat()))
            return
        except IntegrityError:  # another process bound it first
            return bind_store(ledger, store)
    if recorded.identity != identity:
        raise StoreMismatch(
            f"the ledger {ledger!r} keeps its results in the media store {recorded.identity} "
            f"(recorded {recorded.recorded_at}), but this run was given {identity}: its stored "
            "SKUs would not be found there. Use that media store (the media store resource's "
            "root, or bucket and prefix; the main command's --out), or give this store a "
            "ledger of its own (--ledger, WAN_DAGSTER_LEDGER_URL). Nothing was generated.")
