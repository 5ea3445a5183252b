"""What a reviewer or a downstream system needs to know about each SKU's current media: which
file is current for every asset, with its prompt, model, cost and task, or why there is none.
The export and the review gallery are both built from these rows. No Dagster imports."""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import av
from PIL import Image

from .catalog import Catalog, RowError
from .ledger import Attempt, Ledger, Status
from .store import media_key

DONE, FAILED, PENDING, INVALID = "done", "failed", "pending", "invalid"
#: A create whose outcome is unknown: money may be spent, and a person may have to decide.
AMBIGUOUS = "ambiguous"
_THUMBNAIL_PX = 200


def prompt_of(request_body: Mapping[str, Any]) -> str | None:
    """The text prompt a request carried (``ref_prompt`` for background generation)."""
    given = request_body.get("input", {})
    return given.get("prompt") or given.get("ref_prompt")


def first_frame(video: bytes, fit: int) -> Image.Image:
    """A video's first frame (the poster a player shows before it starts), scaled to fit a
    ``fit`` pixel square by the decoder's scaler: half the CPU of converting the whole frame
    to RGB and shrinking it afterwards. One decoding thread: a pool of them for one frame
    costs more to start than it saves."""
    with av.open(io.BytesIO(video)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "NONE"
        frame = next(container.decode(stream))
        scale = min(1.0, fit / max(frame.width, frame.height))
        return frame.reformat(width=max(1, round(frame.width * scale)),
                              height=max(1, round(frame.height * scale)),
                              format="rgb24").to_image()


def thumbnail_jpeg(data: bytes, *, video: bool = False, size: int = _THUMBNAIL_PX) -> bytes:
    """A small JPEG of an image, or of a video's first frame."""
    img = first_frame(data, size) if video else Image.open(io.BytesIO(data))
    # a box filter: a third of the default Lanczos CPU, and enough for a 200-pixel preview
    img.thumbnail((size, size), Image.Resampling.BOX)
    if img.mode in ("RGBA", "LA", "P"):  # flatten transparency onto white, as a page shows it
        img = img.convert("RGBA")
        background = Image.new("RGB", img.size, "white")
        background.paste(img, mask=img.getchannel("A"))
        img = background
    buf = io.BytesIO()
    img.convert("RGB").save(buf, "JPEG", quality=80)
    return buf.getvalue()


@dataclass(frozen=True)
class CurrentMedia:
    """The current attempt of one asset of one SKU (the newest for the SKU's current inputs)."""

    asset: str
    attempt: Attempt

    @property
    def stored(self) -> bool:
        return self.attempt.status == Status.STORED

    @property
    def key(self) -> str | None:
        """The media store key of the stored file, or None."""
        if not self.stored:
            return None
        return media_key(self.asset, self.attempt.sku, self.attempt.output_sha256, self.ext)

    @property
    def ext(self) -> str:
        return "mp4" if (self.attempt.output_uri or "").endswith(".mp4") else "png"

    @property
    def prompt(self) -> str | None:
        return prompt_of(self.attempt.request_body)

    @property
    def cost(self) -> Decimal | None:
        return self.attempt.cost

    @property
    def problem(self) -> str | None:
        if self.stored:
            return None
        if self.attempt.status == Status.AMBIGUOUS:
            return (f"AMBIGUOUS (attempt {self.attempt.id}): {self.attempt.message or ''}; "
                    "the task sensor settles it where the task list allows, else "
                    "python -m wan_dagster.command.resolve")
        return f"{self.attempt.status.value}: {self.attempt.code or ''} " \
               f"{self.attempt.message or ''}".strip()


@dataclass(frozen=True)
class SkuReview:
    """One SKU as a reviewer sees it."""

    sku: str
    row: int
    category: str | None
    title: str | None
    cutout: str | None  # the catalog's cutout image (a local path or URL)
    media: dict[str, CurrentMedia] = field(default_factory=dict)
    applies: tuple[str, ...] = ()  # the recipe outputs its row gets
    errors: tuple[RowError, ...] = ()  # an invalid row's errors

    @property
    def status(self) -> str:
        if self.errors:
            return INVALID
        if any(m.attempt.status == Status.AMBIGUOUS for m in self.media.values()):
            return AMBIGUOUS
        if any(m.attempt.status in (Status.FAILED, Status.EXPIRED, Status.CANCELED)
               for m in self.media.values()):
            return FAILED
        if all(a in self.media and self.media[a].stored for a in self.applies):
            return DONE
        return PENDING

    @property
    def problems(self) -> list[str]:
        """Why the SKU is not done: its row's errors, or each asset's failure."""
        if self.errors:
            return [str(e) for e in self.errors]
        return [f"{asset}: {m.problem}" for asset, m in self.media.items() if m.problem]

    @property
    def cost(self) -> Decimal:
        return sum((m.cost for m in self.media.values() if m.stored and m.cost is not None),
                   Decimal(0))


def review(catalog: Catalog, ledger: Ledger) -> list[SkuReview]:
    """Every catalog row in file order: valid SKUs with their current media, invalid rows with
    their errors."""
    rows: list[SkuReview] = []
    for product in catalog.products:
        media = {}
        for asset, fingerprint in product.input_fingerprints.items():  # the recipe's order
            attempt = ledger.latest(asset, product.sku, fingerprint)
            if attempt is not None:
                media[asset] = CurrentMedia(asset, attempt)
        rows.append(SkuReview(product.sku, product.row, product.category, product.title,
                              product.cutout_image, media,
                              tuple(product.input_fingerprints)))
    frame = catalog.frame
    for key, errors in catalog.invalid_skus.items():
        row = errors[0].row
        record = frame.iloc[row - 1] if 0 < row <= len(frame) else {}
        rows.append(SkuReview(errors[0].sku or key, row, _cell(record, "category"),
                              _cell(record, "title"), None, errors=tuple(errors)))
    return sorted(rows, key=lambda r: r.row)


def _cell(record: Any, column: str) -> str | None:
    value = record.get(column) if hasattr(record, "get") else None
    return None if value is None or value != value else str(value)  # NaN is not a value
