"""Whether an image's bytes are whole, and whether any pixel is transparent, without decoding
every pixel where no rule needs them.

A 100k-row catalog names thousands of distinct images; decoding every pixel of each was most
of what validating one cost. What a full decode found is found here more cheaply:

- PNG: every chunk's CRC-32 is checked up to IEND, so a file cut short or damaged anywhere is
  refused (a damaged byte passes a CRC-32 with odds of 1 in 4 billion). The compressed pixel
  stream is not inflated (that alone cost 40 % of a full decode): only a file written with a
  broken deflate stream under correct CRCs (made so, never damaged so) passes here.
- JPEG: decoded at 1/8 scale (``Image.draft``): the whole entropy-coded stream is still read,
  so truncation is found, at a fraction of the cost.
- Other formats: every pixel is decoded, as before.

Transparency needs pixels. A cutout's transparent background nearly always shows in its first
rows, so for a non-interlaced PNG the first rows are decoded alone (as a small PNG of their
own, so that no pixel is left undecoded: Pillow fills undecoded pixels with 0, which reads as
"transparent"); only when none of them is transparent is the whole image decoded.
"""

from __future__ import annotations

import io
import itertools
import struct
import zlib
from dataclasses import dataclass

from PIL import Image

__all__ = ["DecodeVerdict", "decode_verdict"]

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: Filtered bytes of the first rows decoded on their own to look for a transparent pixel.
_FIRST_ROWS_BYTES = 64 * 1024
_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # PNG colour type -> samples per pixel
#: The chunks besides IHDR and IDAT that decide a pixel's alpha (an animated PNG's frame
#: chunks are left out: the first rows are those of its default image).
_TRANSPARENCY_CHUNKS = (b"PLTE", b"tRNS")


@dataclass(frozen=True)
class DecodeVerdict:
    """What reading an image's pixel data found: whether it is whole (``error`` says why
    not) and whether any pixel is transparent. It depends on the bytes alone, never on a rule,
    so it can be kept per content and reused under every field's rule."""

    error: str | None
    transparent: bool


def decode_verdict(img: Image.Image, data: bytes, has_alpha: bool) -> DecodeVerdict:
    """The verdict on ``img``, opened (header read) from ``data``; ``has_alpha``: whether its
    mode can hold a transparent pixel (only then is one looked for)."""
    try:
        if img.format == "PNG":
            chunks = _png_chunks(data)
            if not has_alpha:
                return DecodeVerdict(None, False)
            if _first_rows_transparent(chunks):
                return DecodeVerdict(None, True)
        elif img.format == "JPEG":
            img.draft(img.mode, (max(1, img.width // 8), max(1, img.height // 8)))
        img.load()
        return DecodeVerdict(None, has_alpha and _has_transparent_pixel(img))
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        return DecodeVerdict(str(exc), False)


def _png_chunks(data: bytes) -> list[tuple[bytes, memoryview]]:
    """Every chunk up to IEND as ``(type, payload)``, each one's CRC-32 checked. OSError
    names the first chunk cut short or damaged."""
    view = memoryview(data)
    chunks: list[tuple[bytes, memoryview]] = []
    pos = len(_PNG_SIGNATURE)
    while True:
        if pos + 8 > len(data):
            raise OSError("image file is truncated (the PNG ends before its IEND chunk)")
        length, kind = struct.unpack_from(">I4s", data, pos)
        end = pos + 8 + length
        if end + 4 > len(data):
            raise OSError(f"image file is truncated (the PNG ends inside its {_name(kind)} "
                          f"chunk)")
        (crc,) = struct.unpack_from(">I", data, end)
        if zlib.crc32(view[pos + 4:end]) != crc:
            raise OSError(f"broken PNG file (bad CRC-32 in its {_name(kind)} chunk at byte "
                          f"{pos})")
        chunks.append((kind, view[pos + 8:end]))
        if kind == b"IEND":
            return chunks
        pos = end + 4


def _name(kind: bytes) -> str:
    return kind.decode("latin-1") if kind.isalpha() else repr(kind)


def _first_rows_transparent(chunks: list[tuple[bytes, memoryview]]) -> bool:
    """Whether a pixel of the image's first rows is transparent, decoded as a PNG of those
    rows alone; False when that cannot be told (interlaced, or a stream Pillow must judge)."""
    header = bytes(chunks[0][1]) if chunks[0][0] == b"IHDR" else b""
    if len(header) != 13:
        return False
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    if interlace or colour not in _CHANNELS or width == 0:
        return False
    row_bytes = 1 + (width * _CHANNELS[colour] * depth + 7) // 8
    rows = min(height, max(1, _FIRST_ROWS_BYTES // row_bytes))
    wanted = rows * row_bytes
    filtered = _inflate_start([payload for kind, payload in chunks if kind == b"IDAT"], wanted)
    if filtered is None:
        return False
    ahead = itertools.takewhile(lambda chunk: chunk[0] != b"IDAT", chunks[1:])
    palette = b"".join(_chunk(kind, bytes(payload)) for kind, payload in ahead
                       if kind in _TRANSPARENCY_CHUNKS)
    first_rows = (_PNG_SIGNATURE + _chunk(b"IHDR", struct.pack(">II", width, rows) + header[8:])
                  + palette + _chunk(b"IDAT", zlib.compress(filtered, 1))
                  + _chunk(b"IEND", b""))
    try:
        with Image.open(io.BytesIO(first_rows)) as top:
            top.load()
            return _has_transparent_pixel(top)
    except (OSError, ValueError, SyntaxError):
        return False  # e.g. a row filter Pillow refuses: the full decode says so


def _inflate_start(payloads: list[memoryview], wanted: int) -> bytes | None:
    """The first ``wanted`` bytes the IDAT stream inflates to; None if it holds fewer or
    does not inflate (the full decode then says what is wrong)."""
    stream, out = zlib.decompressobj(), bytearray()
    try:
        for payload in payloads:
            pending = bytes(payload)
            while pending and len(out) < wanted:
                out += stream.decompress(pending, wanted - len(out))
                pending = stream.unconsumed_tail
            if len(out) >= wanted:
                return bytes(out)
    except zlib.error:
        pass
    return None


def _chunk(kind: bytes, payload: bytes) -> bytes:
    return (struct.pack(">I", len(payload)) + kind + payload
            + struct.pack(">I", zlib.crc32(kind + payload)))


def _has_transparent_pixel(img: Image.Image) -> bool:
    if img.mode in ("RGBA", "LA"):  # the alpha band's extrema, without copying the image
        low, _ = img.getextrema()[-1]
    else:
        low, _ = img.convert("RGBA").getchannel("A").getextrema()
    return low < 255
