"""Write the catalog as CSV and Parquet, then read both back and check them and every image."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from PIL import Image

from .canvas import touches_border
from .catalog_rows import ROWS
from .schema import ARROW_SCHEMA, BROKEN_SKUS, CATEGORIES, COLUMNS, DTYPES, VIDEO_RULES

CSV = "catalog.csv"
PARQUET = "catalog.parquet"


def catalog_frame() -> pd.DataFrame:
    df = pd.DataFrame([dict.fromkeys(COLUMNS) | p.cells() for p in ROWS], columns=COLUMNS)
    for c, dt in DTYPES.items():
        df[c] = df[c].astype(dt)
    return df


def write(df: pd.DataFrame, data_dir: Path) -> None:
    df.to_csv(data_dir / CSV, index=False, lineterminator="\n")
    table = pa.Table.from_pandas(df, schema=ARROW_SCHEMA, preserve_index=False)
    pq.write_table(table, data_dir / PARQUET, compression="zstd")


def read_csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=DTYPES, keep_default_na=False, na_values=[""])


def _check_cutout(path: Path, errs: list[str]) -> None:
    with Image.open(path) as im:
        if im.format != "PNG" or im.mode != "RGBA":
            errs.append(f"{path.name}: cutout must be RGBA PNG, got {im.format} {im.mode}")
            return
        w, h = im.size
        if not (360 <= w <= 2000 and 360 <= h <= 2000):
            errs.append(f"{path.name}: cutout size {im.size} outside 360..2000")
        a = np.asarray(im.getchannel("A"))
    if path.stat().st_size >= 10 * 1024 * 1024:
        errs.append(f"{path.name}: cutout >= 10 MB")
    opaque, clear = (a == 255).mean(), (a == 0).mean()
    partial = 1 - opaque - clear
    if touches_border(a):
        errs.append(f"{path.name}: transparent border expected")
    if not (0.08 <= opaque <= 0.85) or partial > 0.05:
        errs.append(f"{path.name}: alpha looks wrong (opaque {opaque:.2f}, partial {partial:.3f})")


def _check_portrait(path: Path, errs: list[str], what: str) -> tuple[int, int]:
    with Image.open(path) as im:
        fmt, mode, (w, h) = im.format, im.mode, im.size
    if fmt not in ("JPEG", "PNG") or mode != "RGB":
        errs.append(f"{path.name}: {what} must be RGB JPEG/PNG, got {fmt} {mode}")
    if not (w > 256 and h > 256 and max(w, h) < 4096 and 0.5 <= w / h <= 2.0):
        errs.append(f"{path.name}: {what} size {w}x{h} violates the rules")
    if abs(w / h - 0.75) > 0.01:
        errs.append(f"{path.name}: {what} should be 3:4 portrait, got {w}x{h}")
    if path.stat().st_size > 5 * 1024 * 1024:
        errs.append(f"{path.name}: {what} larger than 5 MB")
    return (w, h)


def _sides_clear(path: Path) -> bool:
    """True when the left/right margins are plain backdrop (no limb edges there)."""
    with Image.open(path) as im:
        g = np.asarray(im.convert("L"), np.float32)
    m = max(2, int(g.shape[1] * 0.06))
    strips = (g[:, :m], g[:, -m:])
    return all(np.abs(np.diff(s, axis=1)).max() < 8 for s in strips)


def _check_model_shot(r: pd.Series, data_dir: Path, errs: list[str]) -> None:
    sku = r["sku"]
    if not (pd.notna(r["model_image"]) and pd.notna(r["model_mask"]) and pd.notna(r["model_prompt"])):
        errs.append(f"{sku}: apparel needs model_image/model_mask/model_prompt")
        return
    size = _check_portrait(data_dir / r["model_image"], errs, "model_image")
    with Image.open(data_dir / r["model_mask"]) as m:
        if m.format != "PNG" or m.size != size:
            errs.append(f"{sku}: mask must be PNG of the model image size")
        arr = np.asarray(m.convert("L"))
    vals = set(np.unique(arr).tolist())
    cover = (arr == 255).mean()
    if not vals <= {0, 255} or not (0.03 <= cover <= 0.5):
        errs.append(f"{sku}: mask values {sorted(vals)[:4]} coverage {cover:.3f}")


def _check_shoe_template(r: pd.Series, data_dir: Path, errs: list[str]) -> None:
    sku = r["sku"]
    if pd.isna(r["shoe_template"]):
        errs.append(f"{sku}: shoes need a shoe_template")
        return
    _check_portrait(data_dir / r["shoe_template"], errs, "shoe_template")
    if not _sides_clear(data_dir / r["shoe_template"]):
        errs.append(f"{sku}: legs/feet touch the left/right edge of the shoe template")


def _check_video(r: pd.Series, errs: list[str]) -> None:
    sku, vm = r["sku"], r["video_model"]
    if pd.notna(vm) and sku not in BROKEN_SKUS:
        res_ok, dur_ok, audio_ok = VIDEO_RULES[vm]
        if pd.notna(r["video_resolution"]) and r["video_resolution"] not in res_ok:
            errs.append(f"{sku}: resolution {r['video_resolution']} invalid for {vm}")
        if pd.notna(r["video_duration"]) and int(r["video_duration"]) not in dur_ok:
            errs.append(f"{sku}: duration {r['video_duration']} invalid for {vm}")
        if pd.notna(r["video_audio"]) and not audio_ok:
            errs.append(f"{sku}: audio set for {vm}")
    elif pd.isna(vm) and not (pd.isna(r["video_resolution"]) and pd.isna(r["video_duration"])):
        errs.append(f"{sku}: default model rows leave resolution/duration empty")


def _check_row(r: pd.Series, data_dir: Path, errs: list[str]) -> None:
    sku = r["sku"]
    cut = data_dir / r["cutout_image"]
    if sku == "BRK-MISSING":
        if cut.exists():
            errs.append("BRK-MISSING cutout unexpectedly exists")
        return
    if sku == "BRK-JPEG":
        with Image.open(cut) as im:
            if im.format != "JPEG" or "A" in im.getbands():
                errs.append("BRK-JPEG cutout is not an alpha-less JPEG")
        return
    _check_cutout(cut, errs)
    cat = r["category"]
    if cat == "apparel":
        _check_model_shot(r, data_dir, errs)
    elif pd.notna(r["model_image"]) or pd.notna(r["model_mask"]):
        errs.append(f"{sku}: model_image/model_mask only for apparel")
    if cat == "shoes":
        _check_shoe_template(r, data_dir, errs)
    elif pd.notna(r["shoe_template"]):
        errs.append(f"{sku}: shoe_template only for shoes")
    _check_video(r, errs)


def verify(data_dir: Path) -> list[str]:
    """Problems found in the written catalog and its images; empty when all is well."""
    errs: list[str] = []
    df_csv = read_csv(data_dir / CSV)
    df_pq = pd.read_parquet(data_dir / PARQUET)
    try:
        pd.testing.assert_frame_equal(df_csv, df_pq)
    except AssertionError as e:
        errs.append(f"CSV and Parquet differ: {e}")
    if list(df_pq.columns) != COLUMNS:
        errs.append("column order differs")
    if not df_pq["sku"].is_unique:
        errs.append("duplicate skus")
    if not set(df_pq["category"]) <= set(CATEGORIES):
        errs.append("unknown category")
    if tuple(df_pq["sku"].iloc[-4:]) != BROKEN_SKUS:
        errs.append("broken rows must be the last four, in order")
    for _, r in df_pq.iterrows():
        _check_row(r, data_dir, errs)
    return errs
