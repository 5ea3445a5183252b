"""An image whose header declares huge dimensions is refused from its header: a 13000x13000
PNG of a few hundred kilobytes must not be decoded (issue 10 measured 1.58 GB doing so)."""

from __future__ import annotations

import struct
import subprocess
import sys
import zlib
from pathlib import Path

from wan_dagster.dashscope.registry import RGBA_CUTOUT_RULE
from wan_dagster.dashscope.validation import check_image

SIDE = 13000


def _huge_png(path: Path) -> Path:
    """A valid 13000x13000 RGBA PNG (676 MB of pixels) streamed row by row, so making it takes
    no memory."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))

    # After a full flush the compressor starts afresh, so every row compresses to the same
    # bytes: compress two rows, repeat the second, and end with the checksum of all rows.
    row = b"\x00" + b"\x00" * (4 * SIDE)  # filter byte + transparent pixels
    packer = zlib.compressobj(9)
    first = packer.compress(row) + packer.flush(zlib.Z_FULL_FLUSH)
    again = packer.compress(row) + packer.flush(zlib.Z_FULL_FLUSH)
    end = packer.flush()[:-4]  # the final block, without the two-row checksum
    checksum = 1
    for _ in range(SIDE):
        checksum = zlib.adler32(row, checksum)
    compressed = first + again * (SIDE - 1) + end + struct.pack(">I", checksum)
    header = struct.pack(">IIBBBBB", SIDE, SIDE, 8, 6, 0, 0, 0)  # 8-bit RGBA
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", compressed)
                     + chunk(b"IEND", b""))
    return path


def test_a_huge_declared_image_is_refused_by_its_header(tmp_path):
    problems = check_image(_huge_png(tmp_path / "huge.png").read_bytes(), RGBA_CUTOUT_RULE,
                           "cutout_image")
    assert any("13000x13000 px is more than any model accepts" in p for p in problems)


def test_refusing_it_keeps_memory_below_100_mb(tmp_path):
    """Peak resident memory of a fresh process that refuses the image, above the same process
    having merely imported the validator and read the file."""
    png = _huge_png(tmp_path / "huge.png")
    probe = (
        "import resource, sys\n"
        "from wan_dagster.dashscope.registry import RGBA_CUTOUT_RULE\n"
        "from wan_dagster.dashscope.validation import check_image\n"
        f"data = open({str(png)!r}, 'rb').read()\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "problems = check_image(data, RGBA_CUTOUT_RULE, 'cutout_image')\n"
        "after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "print((after - before) // 1024, len(problems))\n")
    grown_mb, problems = map(int, subprocess.check_output([sys.executable, "-c", probe]).split())
    assert problems >= 1
    assert grown_mb < 100, f"refusing the image grew peak memory by {grown_mb} MB"
