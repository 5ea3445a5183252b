"""The recipe's data types: plain, frozen pydantic models, so the same recipe can be written in
Python or YAML and shown back as JSON."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..product import Product

Kind = Literal["background", "model_shot", "outpaint", "super_resolution", "image_to_video",
               "keyframe_video", "text_to_video"]
KINDS: tuple[str, ...] = Kind.__args__  # type: ignore[attr-defined]

#: A source: a catalog image column or an earlier output's name; a list means the first of
#: them that applies to the row (a video from the model shot where there is one, else the
#: background).
SourceRef = str | list[str]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class When(_Frozen):
    """Which rows an output applies to; rows it does not match get "does not apply"."""

    categories: list[str] | None = Field(
        default=None, description="Categories the output is made for (None: every category).")
    where: dict[str, str | list[str]] = Field(
        default_factory=dict, description="Column -> value (or values) a row must have.")

    def applies(self, product: Product) -> bool:
        if self.categories is not None and product.category not in self.categories:
            return False
        for column, wanted in self.where.items():
            value = getattr(product, column)
            allowed = wanted if isinstance(wanted, list) else [wanted]
            if value is None or str(value) not in allowed:
                return False
        return True


class RecipeOutput(_Frozen):
    """One output of a recipe, and one asset: what it is made with and from."""

    name: str = Field(description="The asset key, e.g. 'square_image'.")
    kind: Kind = Field(description=f"One of {', '.join(KINDS)}.")
    model: str | None = Field(default=None, description="Registry model; None: the kind's "
                              "default (a purchasable one).")
    prompt: str | None = Field(default=None, description="Prompt template over catalog columns, "
                               "e.g. '{title}, {background_prompt}'; '{column?}' may be empty.")
    params: dict[str, Any] = Field(default_factory=dict, description="Passed to the request "
                                   "builder; checked against the model's parameters.")
    variants: int = Field(default=1, description="Results per SKU (one task where the "
                          "model takes n); downstream outputs start from the first.")
    source: SourceRef | dict[str, SourceRef] | None = Field(
        default=None, description="What it starts from: a catalog image column or an earlier "
        "output (a list: the first that applies), or a mapping of the kind's inputs "
        "(keyframe_video: first/last).")
    when: When = Field(default_factory=When, description="Which rows get this output.")
    allow_trial_models: bool = Field(default=False, description="Allow a free-trial-only model "
                                     "(its quota ends and cannot be bought).")
    description: str | None = Field(default=None, description="Shown on the asset.")


class Recipe(_Frozen):
    """What media each catalog row gets: outputs in any order (dependencies decide the order)."""

    outputs: list[RecipeOutput]

    def output(self, name: str) -> RecipeOutput:
        return next(o for o in self.outputs if o.name == name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(o.name for o in self.outputs)
