"""The catalog's columns and dtypes, and what each video model accepts."""
from __future__ import annotations

from typing import NamedTuple

import pyarrow as pa

COLUMNS = [
    "sku", "title", "brand", "category",
    "cutout_image", "model_image", "model_mask", "shoe_template",
    "background_prompt", "model_prompt", "face_prompt", "video_prompt",
    "video_model", "video_resolution", "video_duration", "video_audio",
]
# pandas dtypes of the catalog; read the CSV with
#   pd.read_csv(path, dtype=DTYPES, keep_default_na=False, na_values=[""])
DTYPES = {c: "str" for c in COLUMNS}
DTYPES["video_duration"] = "Int64"
DTYPES["video_audio"] = "boolean"
ARROW_SCHEMA = pa.schema(
    [pa.field(c, pa.string()) for c in COLUMNS[:-2]]
    + [pa.field("video_duration", pa.int64()), pa.field("video_audio", pa.bool_())]
)
CATEGORIES = ("apparel", "shoes", "bags", "accessories", "home", "electronics")
# always the last four rows, in this order; each has one deliberate fault (see README.md)
BROKEN_SKUS = ("BRK-MISSING", "BRK-JPEG", "BRK-RES", "BRK/../unsafe:name")

# What each video model accepts: (resolutions, durations, audio allowed); used to sanity-check the rows.
VIDEO_RULES = {
    "wan2.2-i2v-flash": ({"480P", "720P", "1080P"}, {5}, False),
    "wan2.2-i2v-plus": ({"480P", "1080P"}, {5}, False),
    "wanx2.1-i2v-turbo": ({"480P", "720P"}, {3, 4, 5}, False),
    "wan2.5-i2v-preview": ({"480P", "720P", "1080P"}, {5, 10}, False),
    "wan2.6-i2v-flash": ({"720P", "1080P"}, set(range(2, 16)), True),
}


class Video(NamedTuple):
    """A row's video settings; None leaves the cell empty, so the pipeline default applies."""
    model: str | None = None
    resolution: str | None = None
    duration: int | None = None
    audio: bool | None = None
