"""The untrusted-catalog corpus (not a test module): rows that try to read what they must not
(outside the catalog's folder, through symlinks, pipes, devices, ``/proc``, ``file:`` URIs),
cells no rule foresaw (huge numbers and strings, NUL and control characters), SKUs that are the
same product spelled differently, and remote URLs that cannot be fetched.

``LOAD_CASES`` are refused when the catalog is loaded; ``url_cases`` load (the catalog never
touches the network) and are refused before their SKU's first create.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from pathlib import Path

from corpus import CATALOG, DATA, OUTSIDE, Case, outside_of

#: The good products, and the generations (paid calls) each needs.
GENERATIONS = {"APP-1001": 3, "SHO-2001": 3, "BAG-3001": 2, "HOM-5001": 2}
GOOD = list(GENERATIONS)

OUT = "is outside the catalog's folder and the listed local roots"
NOT_REGULAR = "is not a regular file"
CONTROL = "must not contain control characters (found"
PATH_CONTROL = "a path or URL must not contain control or invisible characters (found"
SECONDS = "must be a whole number of seconds"
Setup = Callable[[Path], None]


def leak_target(directory: Path) -> None:
    """A valid cutout outside the catalog's folder: what a confined row must never read."""
    outside = outside_of(directory)
    outside.mkdir(exist_ok=True)
    for name in ("BAG-3002_cutout.png", "APP-1003_model.jpg", "SHO-2002_shoe_template.jpg"):
        if not (outside / name).exists():
            (outside / name).write_bytes((DATA / "images" / name).read_bytes())


def link(name: str, target: str) -> Setup:
    """``images/<name>`` as a symlink to ``target`` (``{outside}``/``{catalog}`` filled in)."""
    def make(directory: Path) -> None:
        leak_target(directory)
        path = directory / "images" / name
        path.symlink_to(target.replace(OUTSIDE, str(outside_of(directory)))
                        .replace(CATALOG, str(directory)))
    return make


def fifo(name: str) -> Setup:
    return lambda directory: os.mkfifo(directory / "images" / name)


def unix_socket(name: str) -> Setup:
    def make(directory: Path) -> None:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.bind(str(directory / "images" / name))
    return make


def folder(name: str) -> Setup:
    return lambda directory: (directory / "images" / name).mkdir()


def sparse(name: str, size: int) -> Setup:
    """A file of ``size`` bytes that costs no disk: only its size may refuse it."""
    def make(directory: Path) -> None:
        with open(directory / "images" / name, "wb") as file:
            file.truncate(size)
    return make


def cutout(description: str, sku: str, cell: str, rule: str, **extra: object) -> Case:
    """A bags row (background and video) whose cutout cell is ``cell``."""
    return Case(description, sku, "BAG-3002", "cutout_image", rule, {"cutout_image": cell},
                **extra)


LOAD_CASES: list[Case] = [
    # confinement: paths that leave the catalog's folder
    cutout("absolute path outside", "OUT-ABS", f"{OUTSIDE}/BAG-3002_cutout.png", OUT,
           setup=leak_target),
    cutout("../ path", "OUT-DOTDOT", "../outside/BAG-3002_cutout.png", OUT, setup=leak_target),
    cutout("../ inside a longer path", "OUT-DEEP", "images/../../outside/BAG-3002_cutout.png",
           OUT, setup=leak_target),
    cutout("symlink to a file outside", "OUT-LINK", "images/link.png", OUT,
           setup=link("link.png", f"{OUTSIDE}/BAG-3002_cutout.png")),
    cutout("symlink to a folder outside", "OUT-DIRLINK", "images/away/BAG-3002_cutout.png", OUT,
           setup=link("away", OUTSIDE)),
    cutout("relative symlink out", "OUT-RELLINK", "images/rel.png", OUT,
           setup=link("rel.png", "../../outside/BAG-3002_cutout.png")),
    cutout("file:// URI outside", "OUT-FILEURI", f"file://{OUTSIDE}/BAG-3002_cutout.png", OUT,
           setup=leak_target),
    cutout("file://localhost URI outside", "OUT-FILEHOST",
           f"file://localhost{OUTSIDE}/BAG-3002_cutout.png", OUT, setup=leak_target),
    cutout("file:// URI with percent-encoded ../", "OUT-FILEENC",
           f"file://{CATALOG}/images/..%2F..%2Foutside/BAG-3002_cutout.png", OUT,
           setup=leak_target),
    cutout("file: URI naming another host", "OUT-FILEREMOTE", "file://evil.example/x.png",
           "a file: URI must be file:///absolute/path on this machine"),
    cutout("/etc/passwd", "OUT-PASSWD", "/etc/passwd", OUT),
    cutout("/proc/self/mem", "OUT-PROCMEM", "/proc/self/mem", OUT),
    cutout("/proc/self/environ", "OUT-ENVIRON", "/proc/self/environ", OUT),
    cutout("/dev/zero", "OUT-DEVZERO", "/dev/zero", OUT),
    cutout("symlink to /proc/self/mem", "OUT-MEMLINK", "images/mem.png", OUT,
           setup=link("mem.png", "/proc/self/mem")),
    cutout("symlink to /dev/urandom", "OUT-RANDLINK", "images/random.png", OUT,
           setup=link("random.png", "/dev/urandom")),
    Case("model image outside", "OUT-MODEL", "APP-1003", "model_image", OUT,
         {"model_image": f"{OUTSIDE}/APP-1003_model.jpg"}, setup=leak_target),
    Case("mask through ../", "OUT-MASK", "APP-1003", "model_mask", OUT,
         {"model_mask": "../outside/APP-1003_model.jpg"}, setup=leak_target),
    Case("shoe template /etc/hostname", "OUT-TEMPLATE", "SHO-2002", "shoe_template", OUT,
         {"shoe_template": "/etc/hostname"}),
    cutout("s3:// object in a bucket nobody listed", "OUT-S3", "s3://other-bucket/cutout.png",
           "is outside the catalog's bucket and the listed S3 prefixes (none)"),
    # only regular files are opened
    cutout("named pipe", "FILE-FIFO", "images/pipe.png",
           f"{NOT_REGULAR} (a named pipe (FIFO))", setup=fifo("pipe.png")),
    cutout("symlink to a named pipe", "FILE-FIFOLINK", "images/pipe-link.png",
           f"{NOT_REGULAR} (a named pipe (FIFO))",
           setup=lambda d: (fifo("pipe2.png")(d), link("pipe-link.png",
                                                       f"{CATALOG}/images/pipe2.png")(d))),
    Case("mask is a named pipe", "FILE-MASKFIFO", "APP-1003", "model_mask",
         f"{NOT_REGULAR} (a named pipe (FIFO))", {"model_mask": "images/mask-pipe.png"},
         setup=fifo("mask-pipe.png")),
    cutout("directory named .png", "FILE-DIR", "images/folder.png",
           f"{NOT_REGULAR} (a directory)", setup=folder("folder.png")),
    cutout("unix socket", "FILE-SOCKET", "images/sock.png", f"{NOT_REGULAR} (a socket)",
           setup=unix_socket("sock.png")),
    cutout("broken symlink", "FILE-BROKEN", "images/broken.png", "does not exist",
           setup=link("broken.png", f"{CATALOG}/images/nowhere.png")),
    cutout("symlink loop", "FILE-LOOP", "images/loop.png", "cannot read",
           setup=link("loop.png", f"{CATALOG}/images/loop.png")),
    cutout("20 MB file", "FILE-HUGE", "images/huge.png",
           "is 20.0 MB; an image may be at most 15.7 MB", setup=sparse("huge.png", 20_000_000)),
    Case("shoe template of 1 GB", "FILE-HUGE-TPL", "SHO-2002", "shoe_template",
         "is 1000.0 MB; an image may be at most", {"shoe_template": "images/gig.jpg"},
         setup=sparse("gig.jpg", 1_000_000_000)),
    # cells no rule foresaw fail their own row
    cutout("5,000-character path", "CELL-LONGPATH", "images/" + "a" * 4992 + ".png",
           "5003 characters is too long for a path or URL (at most 4096)"),
    cutout("200,000-character path (over csv's field limit)", "CELL-HUGEPATH",
           "b" * 200_000, "200000 characters is too long for a path or URL"),
    cutout("NUL in a path", "CELL-PATHNUL", "images/BAG-3002\0_cutout.png",
           f"{PATH_CONTROL} U+0000)"),
    cutout("ESC in a path", "CELL-PATHESC", "images/\x1b[31m.png", f"{PATH_CONTROL} U+001B)"),
    cutout("newline in a path", "CELL-PATHNL", "images/a\n.png", f"{PATH_CONTROL} U+000A)"),
    cutout("NUL in a file: URI", "CELL-URINUL", f"file://{CATALOG}/images/a%00.png",
           "the path must not encode control characters"),
    Case("duration 1e23", "CELL-DUR-E23", "BAG-3002", "video_duration",
         f"{SECONDS}, got '1e23'", {"video_duration": "1e23"}),
    Case("duration of 24 digits", "CELL-DUR-BIG", "BAG-3002", "video_duration",
         f"{SECONDS} up to 86400, got '100000000000000000000000'",
         {"video_duration": "1" + "0" * 23}),
    Case("duration NaN", "CELL-DUR-NAN", "BAG-3002", "video_duration", f"{SECONDS}, got 'NaN'",
         {"video_duration": "NaN"}),
    Case("duration inf", "CELL-DUR-INF", "BAG-3002", "video_duration", f"{SECONDS}, got 'inf'",
         {"video_duration": "inf"}),
    Case("audio 'yes'", "CELL-AUDIO-YES", "BAG-3002", "video_audio",
         "must be true or false, got 'yes'", {"video_audio": "yes"}),
    Case("background prompt of 200,000 characters", "CELL-HUGEPROMPT", "BAG-3002",
         "background_prompt", "must be at most 150 words (a Chinese character counts as one), "
         "got 66667", {"background_prompt": " ".join(["ab"] * 66_667)}),
    Case("video prompt of 150,000 characters", "CELL-HUGEVIDEO", "BAG-3002", "video_prompt",
         "must be at most 1500 characters, got 150000 (model wan2.5-i2v-preview)",
         {"video_prompt": "v" * 150_000}),
    Case("SKU of 200,000 characters", "S" * 200_000, "HOM-5002", "sku",
         "must be at most 128 characters, got 200000"),
    # control characters in text that is shown or sent
    Case("NUL in the background prompt", "CTL-BG-NUL", "BAG-3002", "background_prompt",
         f"{CONTROL} U+0000)", {"background_prompt": "marble plinth\0, soft light"}),
    Case("ESC in the background prompt", "CTL-BG-ESC", "BAG-3002", "background_prompt",
         f"{CONTROL} U+001B)", {"background_prompt": "marble \x1b[2J plinth"}),
    Case("BEL in the model prompt", "CTL-MODEL-BEL", "APP-1003", "model_prompt",
         f"{CONTROL} U+0007)", {"model_prompt": "a model\x07 in a park"}),
    Case("DEL in the face prompt", "CTL-FACE-DEL", "APP-1003", "face_prompt",
         f"{CONTROL} U+007F)", {"face_prompt": "smiling\x7f"}),
    Case("NEL in the video prompt", "CTL-VIDEO-NEL", "BAG-3002", "video_prompt",
         f"{CONTROL} U+0085)", {"video_prompt": "slow pan\x85 left"}),
    Case("NUL in the title", "CTL-TITLE", "HOM-5002", "title", f"{CONTROL} U+0000)",
         {"title": "Mug\0"}),
    Case("SOH in the brand", "CTL-BRAND", "HOM-5002", "brand", f"{CONTROL} U+0001)",
         {"brand": "\x01Acme"}),
    Case("backspace in the category", "CTL-CATEGORY", "HOM-5002", "category",
         f"{CONTROL} U+0008)", {"category": "home\b"}),
    # one product spelled differently is a duplicate, every copy refused
    Case("SKU in upper case", "CASE-SKU-1", "HOM-5002", "sku",
         "duplicate: also on row(s) {partner} (as 'case-sku-1'"),
    Case("the same SKU in lower case", "case-sku-1", "BAG-3002", "sku",
         "duplicate: also on row(s) {partner} (as 'CASE-SKU-1'"),
    Case("SKU with a composed é (NFC)", "CAF\u00c9-1", "HOM-5002", "sku",
         "duplicate: also on row(s) {partner} (as 'CAFE\u0301-1'"),
    Case("the same SKU decomposed (NFD)", "CAFE\u0301-1", "BAG-3002", "sku",
         "SKUs that differ only in case or Unicode normalisation are the same product"),
    Case("SKU with a sharp s", "stra\u00dfe-1", "HOM-5002", "sku",
         "duplicate: also on row(s) {partner} (as 'STRASSE-1'"),
    Case("the same SKU with SS", "STRASSE-1", "BAG-3002", "sku",
         "duplicate: also on row(s) {partner}"),
    Case("full-width SKU", "\uff37\uff29\uff24\uff25-1", "HOM-5002", "sku",
         "duplicate: also on row(s) {partner} (as 'WIDE-1'"),
    Case("the same SKU in ASCII", "WIDE-1", "BAG-3002", "sku",
         "duplicate: also on row(s) {partner}"),
]

def url_cases(server: str) -> list[Case]:
    """Rows refused before their first create (``server``: the base URL of ``url_server``):
    the rule is what the URL did."""
    return [
        cutout("cutout URL answers 404", "URL-404", f"{server}/missing.png",
               f"{server}/missing.png answered HTTP 404, not the image"),
        cutout("cutout URL serves an HTML page", "URL-HTML", f"{server}/page.png",
               "serves text/html, not an image"),
        cutout("cutout URL declares 100 MB", "URL-HUGE", f"{server}/huge.png",
               "is larger than 15.7 MB"),
        cutout("cutout URL on a closed port", "URL-CLOSED", "http://127.0.0.1:9/cutout.png",
               "cannot be fetched (ConnectError"),
        Case("apparel model image URL answers 404", "URL-APP-MODEL", "APP-1003", "model_image",
             "answered HTTP 404, not the image", {"model_image": f"{server}/missing.png"}),
        Case("apparel mask URL serves HTML", "URL-APP-MASK", "APP-1003", "model_mask",
             "serves text/html, not an image", {"model_mask": f"{server}/page.png"}),
        Case("shoe template URL on a closed port", "URL-SHOE", "SHO-2002", "shoe_template",
             "cannot be fetched (ConnectError", {"shoe_template": "http://127.0.0.1:9/t.jpg"}),
    ]
