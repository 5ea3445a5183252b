"""The hand-off: each SKU's current media copied under readable, stable names, with a manifest
(CSV and Parquet) that e-commerce systems can ingest. Written into the media store, so it lands
on local disk or S3 like the media. No Dagster imports."""

from __future__ import annotations

import io
from dataclasses import dataclass

import pandas as pd

from ..dashscope.mediainfo import probe_video
from .review import SkuReview
from .store import MediaStore, StoredMedia, portable_uri, safe_name

HANDOFF = "handoff"
MANIFEST_COLUMNS = ["sku", "asset", "uri", "size_bytes", "duration_s", "cost_cny", "currency",
                    "task_id", "model", "prompt"]
_CONTENT_TYPES = {"png": "image/png", "mp4": "video/mp4"}


@dataclass(frozen=True)
class Handoff:
    manifest: pd.DataFrame
    csv: StoredMedia
    parquet: StoredMedia


def export_current(reviews: list[SkuReview], store: MediaStore,
                   prefix: str = HANDOFF) -> Handoff:
    """Copy every SKU's current media to ``{prefix}/{sku name}/{asset}.{ext}`` (replacing the
    previous export's file, so only current media are there) and write
    ``{prefix}/manifest.csv`` and ``manifest.parquet``; returns what it wrote."""
    rows = []
    for sku in reviews:
        for asset, media in sku.media.items():
            if media.key is None:
                continue
            data = store.get_bytes(media.key)
            stored = store.put_named(f"{prefix}/{safe_name(sku.sku)}/{asset}.{media.ext}", data,
                                     content_type=_CONTENT_TYPES[media.ext])
            attempt = media.attempt
            rows.append({
                "sku": sku.sku, "asset": asset, "uri": portable_uri(stored),
                "size_bytes": stored.size,
                "duration_s": probe_video(data).duration_s if media.ext == "mp4" else None,
                "cost_cny": float(attempt.cost) if attempt.cost is not None else None,
                "currency": attempt.currency, "task_id": attempt.task_id,
                "model": attempt.model, "prompt": media.prompt})
    manifest = pd.DataFrame(rows, columns=MANIFEST_COLUMNS)
    csv = store.put_named(f"{prefix}/manifest.csv", manifest.to_csv(index=False).encode(),
                          content_type="text/csv")
    parquet = io.BytesIO()
    manifest.to_parquet(parquet, index=False)
    return Handoff(manifest, csv, store.put_named(
        f"{prefix}/manifest.parquet", parquet.getvalue(),
        content_type="application/vnd.apache.parquet"))
