#!/usr/bin/env python3
"""(Re)create the wan-dagster sample catalog and its product images.

    python data/make_sample_data.py

Everything is drawn procedurally with Pillow + numpy (no downloads, no randomness
that is not seeded), so running the script twice produces identical files.
The drawing and the catalog's content live in the ``sample`` package next to this file.

Outputs (all relative to this file's directory):
    images/                 product cutouts (RGBA PNG), model shots (+ masks), shoe templates
    catalog.csv             the catalog (UTF-8, header row)
    catalog.parquet         the same catalog written with pyarrow

After writing, the script reads both catalog files back, checks that they are equal
and validates every image of every valid row; it exits non-zero on any problem.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from sample.products import IMAGES
from sample.render import render_all
from sample.schema import CATEGORIES
from sample.write import PARQUET, catalog_frame, verify, write

HERE = Path(__file__).resolve().parent


def dir_size(p: Path) -> int:
    return sum(f.stat().st_size for f in p.rglob("*") if f.is_file() and "__pycache__" not in f.parts)


def main() -> int:
    render_all(HERE)
    write(catalog_frame(), HERE)
    errs = verify(HERE)
    df = pd.read_parquet(HERE / PARQUET)
    valid = df[~df["sku"].str.startswith("BRK")]
    print(f"catalog: {len(df)} rows ({len(valid)} valid + {len(df) - len(valid)} deliberately broken)")
    print("valid rows per category: " + ", ".join(f"{c}={int((valid['category'] == c).sum())}" for c in CATEGORIES))
    print("dtypes: " + ", ".join(f"{c}:{df[c].dtype}" for c in df.columns))
    n_img = len(list((HERE / IMAGES).iterdir()))
    print(f"images: {n_img} files; data/ total {dir_size(HERE) / 1e6:.2f} MB")
    print("csv == parquet (assert_frame_equal): " + ("FAILED" if any("differ" in e for e in errs) else "ok"))
    if errs:
        print(f"{len(errs)} problem(s):")
        for e in errs:
            print("  - " + e)
        return 1
    print("all image checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
