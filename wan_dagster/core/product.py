"""A valid catalog row: what the plan builds requests from and the batch generates for.

Its own module so that the plan (which reads products) and the catalog (which makes them) do
not import each other.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Product:
    """A valid catalog row, image cells resolved (local paths as str, or URLs); None means empty
    (the plan's defaults apply)."""

    row: int
    sku: str
    title: str
    brand: str
    category: str
    cutout_image: str
    model_image: str | None
    model_mask: str | None
    shoe_template: str | None
    background_prompt: str
    model_prompt: str | None
    face_prompt: str | None
    video_prompt: str | None
    video_model: str | None
    video_resolution: str | None
    video_duration: int | None
    video_audio: bool | None
    #: Per asset, what its generation depends on (``plan.input_fingerprints``).
    input_fingerprints: Mapping[str, str] = field(default_factory=dict, hash=False)

    @property
    def fingerprint(self) -> str:
        """One hash of every asset's inputs: what the catalog sensor compares to see a change."""
        return hashlib.sha256(json.dumps(dict(self.input_fingerprints), sort_keys=True)
                              .encode()).hexdigest()
