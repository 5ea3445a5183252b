"""Draw and save every row's images, in parallel worker processes."""
from __future__ import annotations

import multiprocessing as mp
import os
import shutil
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path

from PIL import Image

from .catalog_rows import ROWS
from .products import IMAGES


def save(img: Image.Image, path: Path) -> None:
    if path.suffix == ".png":
        # zlib level 6: ~4 % larger than optimize=True but 3x faster to write
        img.save(path, format="PNG", compress_level=6)
    else:
        img.save(path, format="JPEG", quality=90, optimize=True)


def render_row(data_dir: Path, i: int) -> None:
    for rel, img in ROWS[i].images().items():
        save(img, data_dir / rel)


def render_all(data_dir: Path) -> None:
    """Delete and redraw ``data_dir``/images."""
    img_dir = data_dir / IMAGES
    if img_dir.exists():
        shutil.rmtree(img_dir)
    img_dir.mkdir(parents=True)
    render = partial(render_row, data_dir)
    rows = range(len(ROWS))
    workers = min(8, os.cpu_count() or 1)
    if workers > 1 and "fork" in mp.get_all_start_methods():  # fork: the workers inherit ROWS, lambdas and all
        with ProcessPoolExecutor(workers, mp_context=mp.get_context("fork")) as ex:
            list(ex.map(render, rows))
    else:
        for i in rows:
            render(i)
