"""A large catalog for load and fault tests, cloned from the sample catalog (not a test module).

Each clone is a valid sample row under a new SKU, with its images copied next to the new
catalog and its prompts made unique (a real catalog has no two products with the same scene;
the client matches a lost create to its task by prompt). Video settings are overridden with
the cheapest to encode: wanx2.1-i2v-turbo at 480P for 3 s is 90 frames, about half the
encoding time of the pipeline default (wan2.2-i2v-flash, 480P, 5 s), which matters with 100
videos rendered by the emulator on a 2-core machine.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd

DATA = Path(__file__).resolve().parent.parent / "data"
IMAGE_COLUMNS = ("cutout_image", "model_image", "model_mask", "shoe_template")
#: Categories whose SKUs get a background and a video only (no model shot).
STILL_ONLY = ("bags", "accessories", "home", "electronics")
FAST_VIDEO = {"video_model": "wanx2.1-i2v-turbo", "video_resolution": "480P",
              "video_duration": "3", "video_audio": ""}


def build_catalog(root: Path, count: int, model_shots: int = 6) -> tuple[Path, list[str]]:
    """Write ``root/catalog.csv`` with ``count`` valid SKUs, ``model_shots`` of them apparel or
    shoes (which also get a model shot, their video's source), and return the catalog path and
    the SKUs in catalog order. The model-shot SKUs are spread evenly through the batch."""
    if not 0 <= model_shots <= count:
        raise ValueError(f"model_shots must be in 0..{count}, got {model_shots}")
    sample = pd.read_csv(DATA / "catalog.csv", dtype=str, keep_default_na=False)
    valid = sample[~sample["sku"].str.startswith("BRK")]
    plain = valid[valid["category"].isin(STILL_ONLY)].to_dict("records")
    shots = valid[~valid["category"].isin(STILL_ONLY)].to_dict("records")
    (root / "images").mkdir(parents=True, exist_ok=True)
    # k-th model-shot SKU at position (k + 1) * count // (model_shots + 1), templates spread
    # over apparel and shoes alike
    at = {(k + 1) * count // (model_shots + 1): shots[k * len(shots) // model_shots]
          for k in range(model_shots)}
    rows: list[dict[str, str]] = []
    for n in range(count):
        template = at.get(n) or plain[n % len(plain)]
        rows.append(_clone(template, f"{template['sku']}-C{n:03d}", n, root))
    path = root / "catalog.csv"
    pd.DataFrame(rows, columns=list(sample.columns)).to_csv(path, index=False)
    return path, [row["sku"] for row in rows]


def _clone(template: dict[str, str], sku: str, n: int, root: Path) -> dict[str, str]:
    """``template`` as product ``sku``: own image files, unique prompts, fast video."""
    row = dict(template, sku=sku, title=f"{template['title']} #{n}", **FAST_VIDEO)
    for column in IMAGE_COLUMNS:
        if row[column]:
            source = DATA / row[column]
            target = Path("images") / f"{sku}{source.name.removeprefix(template['sku'])}"
            shutil.copyfile(source, root / target)
            row[column] = target.as_posix()
    row["background_prompt"] = f"{row['background_prompt']}, set {n}"
    row["video_prompt"] = f"{row['video_prompt']}, take {n}"
    if row["model_prompt"]:
        row["model_prompt"] = f"{row['model_prompt']}, look {n}"
    return row
