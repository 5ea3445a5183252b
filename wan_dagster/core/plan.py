"""What each recipe output generates for a product, and what that generation depends on.

Every request is described once, as a ``Call`` (a builder and its arguments, made by the
output's kind). The same call is built into the request that is sent, fingerprinted to decide
whether it must be sent at all, and built at catalog load to refuse a bad row before anything
is paid. Model facts come from the registry; the recipe decides which outputs a product gets,
from what, with which model and settings.

No Dagster imports: the catalog, the sensor and the assets all share this plan.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from ..dashscope.errors import ValidationError
from ..dashscope.registry import REGISTRY, ImageRule
from ..dashscope.requests import TaskRequest
from .product import Product
from .recipes import DEFAULT_RECIPE, Recipe, RecipeOutput
from .recipes.calls import Generated, Media, Size, blank_png, image_size
from .recipes.kinds import ImageToVideo, OutputKind, kind_of
from .recipes.templates import EmptyCell, Template
from .recipes.dag import topological_order
from .recipes.validate import IMAGE_COLUMNS, source_outputs, sources_of
from .recipes.video import DEFAULT_VIDEO, VideoDefaults, first_frame_settings

__all__ = ["DEFAULT_VIDEO", "Planned", "VideoDefaults", "background_request",
           "input_fingerprints", "output_request", "planned_outputs", "priced_outputs",
           "request_problems", "row_verdict", "video_settings"]


@dataclass(frozen=True)
class Planned:
    """One output a product gets, and what each of its inputs is on this row: a catalog image
    column or an earlier output (the first alternative that applies)."""

    output: RecipeOutput
    sources: Mapping[str, str]

    @property
    def name(self) -> str:
        return self.output.name

    @property
    def kind(self) -> OutputKind:
        return kind_of(self.output)


def planned_outputs(product: Product, recipe: Recipe = DEFAULT_RECIPE) -> dict[str, Planned]:
    """The outputs ``product`` gets, in dependency order. An output applies when its ``when``
    matches the row and each input has an alternative that exists for it."""
    planned: dict[str, Planned] = {}
    for name, output, roles in _outline(recipe):
        if not output.when.applies(product):
            continue
        sources: dict[str, str] = {}
        for role, refs in roles.items():
            found = next((ref for ref in refs if ref in planned
                          or (ref in IMAGE_COLUMNS and getattr(product, ref) is not None)),
                         None)
            if found is None and refs[-1] in IMAGE_COLUMNS:
                found = refs[-1]  # an empty cell: the request reports it against its column
            if found is not None:
                sources[role] = found
        if len(sources) == len(roles):
            planned[name] = Planned(output, sources)
    return planned


_Outline = list[tuple[str, RecipeOutput, dict[str, tuple[str, ...]]]]
#: id(recipe) -> (the recipe, weakly; its outputs in dependency order with their roles'
#: alternatives). Recipes are unhashable, so not a WeakKeyDictionary.
_OUTLINES: dict[int, tuple[weakref.ref[Recipe], _Outline]] = {}


def _outline(recipe: Recipe) -> _Outline:
    """Worked out once per recipe (recipes are frozen): every row of a catalog is planned on
    it."""
    known = _OUTLINES.get(id(recipe))
    if known is not None and known[0]() is recipe:
        return known[1]
    outline = [(name, recipe.output(name), sources_of(recipe.output(name)))
               for name in topological_order(source_outputs(recipe))]
    _OUTLINES[id(recipe)] = (weakref.ref(recipe), outline)
    weakref.finalize(recipe, _OUTLINES.pop, id(recipe), None)
    return outline


def input_fingerprints(product: Product, recipe: Recipe = DEFAULT_RECIPE,
                       defaults: VideoDefaults = DEFAULT_VIDEO) -> dict[str, str]:
    """Per output, a sha256 of everything its generation depends on: model, parameters, prompt,
    the content of each catalog image, and the fingerprints of the outputs it starts from. A
    changed cutout regenerates everything downstream; an unchanged product is never paid for
    twice."""
    return _fingerprints(product, planned_outputs(product, recipe), defaults)


def _fingerprints(product: Product, plan: Mapping[str, Planned], defaults: VideoDefaults
                  ) -> dict[str, str]:
    prints: dict[str, str] = {}
    for name, planned in plan.items():
        inputs = {role: Generated(ref, prints[ref]) if ref in prints else getattr(product, ref)
                  for role, ref in planned.sources.items()}
        prints[name] = planned.kind.call(planned.output, product, inputs,  # type: ignore[arg-type]
                                         defaults).fingerprint()
    return prints


def output_request(product: Product, planned: Planned, stills: Mapping[str, Media],
                   defaults: VideoDefaults = DEFAULT_VIDEO) -> TaskRequest:
    """The request for one planned output; ``stills`` are the generated outputs it starts
    from, by output name."""
    inputs = {role: stills[ref] if ref in stills else getattr(product, ref)
              for role, ref in planned.sources.items()}
    return planned.kind.call(planned.output, product, inputs, defaults).build()


def priced_outputs(product: Product, recipe: Recipe = DEFAULT_RECIPE,
                   defaults: VideoDefaults = DEFAULT_VIDEO) -> dict[str, tuple[str, dict[str, Any]]]:
    """Per output, the model and the options it would be sent with, to price a batch without
    building (or reading the stills of) any request."""
    priced = {}
    for name, planned in planned_outputs(product, recipe).items():
        call = planned.kind.call(planned.output, product, dict.fromkeys(planned.sources),
                                 defaults)
        model = call.options.get("model") or planned.kind.model(planned.output)
        priced[name] = (model, {k: v for k, v in call.options.items()
                                if k != "model" and v is not None})
    return priced


def background_request(product: Product) -> TaskRequest:
    """The default recipe's background for ``product`` (it starts from catalog images only)."""
    return output_request(product, planned_outputs(product)["background_image"], {})


def video_settings(product: Product, defaults: VideoDefaults = DEFAULT_VIDEO,
                   output: RecipeOutput | None = None) -> dict[str, Any]:
    """Model, resolution, duration and audio of a first-frame video output (the default
    recipe's when None), for pricing and dry runs."""
    output = output or DEFAULT_RECIPE.output("product_video")
    return first_frame_settings(product, defaults, output.model, output.params)


# --------------------------------------------------------------------------- problems → columns


@dataclass(frozen=True)
class _Columns:
    """Which catalog column feeds each body field of one request, so that a refused field is
    reported against the cell the user has to fix."""

    by_field: Mapping[str, str]
    fallback: str  # for fields no column feeds (the whole message is kept)
    #: Context put before the rule, for fields whose value is derived from the column.
    notes: Mapping[str, str] = field(default_factory=dict)

    def locate(self, problem: str) -> tuple[str, str]:
        """``(column, rule)`` for one ValidationError problem ``"<field>: <rule>"``."""
        path, _, rule = problem.partition(": ")
        path = re.sub(r"\[\d+\]$", "", path)
        if path not in self.by_field:
            return self.fallback, problem
        note = self.notes.get(path)
        return self.by_field[path], f"{note}: {rule}" if note else rule


def _columns(planned: Planned, origins: Mapping[str, str]) -> _Columns:
    kind, output = planned.kind, planned.output
    by_field: dict[str, str] = {}
    notes: dict[str, str] = {}
    for body_field, role in kind.field_roles.items():
        ref = planned.sources.get(role)
        if ref is None:
            continue
        by_field[body_field] = origins[ref]
        if ref not in IMAGE_COLUMNS:
            notes[body_field] = (f"as {output.name}'s {role.replace('_', ' ')} (made from it "
                                 f"by {ref})")
    prompt = output.prompt if output.prompt is not None else kind.default_prompt
    prompt_columns = Template(prompt).columns if prompt else ()
    main = planned.sources.get(kind.roles[0]) if kind.roles else None
    # what the output is made from: its main image's column, else its prompt's (text-to-video)
    fallback = origins[main] if main else (prompt_columns or ("title",))[0]
    if kind.prompt_field and prompt_columns:
        by_field[kind.prompt_field] = prompt_columns[-1]
    by_field |= kind.row_columns
    if isinstance(kind, ImageToVideo):
        fallback = "video_model"
    by_field.setdefault("input", fallback)
    by_field["body"] = origins[main] if main else fallback
    return _Columns(by_field, fallback, notes)


def request_problems(product: Product, recipe: Recipe = DEFAULT_RECIPE,
                     defaults: VideoDefaults = DEFAULT_VIDEO) -> list[tuple[str, str]]:
    """Every reason the product's requests would be refused, as ``(column, rule)``, without
    sending anything. The requests are really built (a generated still by a blank stand-in of
    the size it will have, where that is known from the row), so the catalog applies exactly
    the registry's rules."""
    return _request_problems(product, planned_outputs(product, recipe), defaults)


def row_verdict(product: Product, recipe: Recipe = DEFAULT_RECIPE,
                defaults: VideoDefaults = DEFAULT_VIDEO
                ) -> tuple[list[tuple[str, str]], dict[str, str]]:
    """``request_problems``, and ``input_fingerprints`` when there is none, from one plan of the
    row (the catalog checks every row this way)."""
    plan = planned_outputs(product, recipe)
    problems = _request_problems(product, plan, defaults)
    return problems, {} if problems else _fingerprints(product, plan, defaults)


def _request_problems(product: Product, plan: Mapping[str, Planned], defaults: VideoDefaults
                      ) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    sizes: dict[str, Size | None] = {}
    origins: dict[str, str] = {column: column for column in IMAGE_COLUMNS}
    for name, planned in plan.items():
        kind, output = planned.kind, planned.output
        columns = _columns(planned, origins)
        main = planned.sources.get(kind.roles[0]) if kind.roles else None
        origins[name] = origins[main] if main else columns.fallback
        input_sizes = {role: sizes.get(ref) if ref in sizes else image_size(getattr(product, ref))
                       for role, ref in planned.sources.items()}
        sizes[name] = kind.size(output, input_sizes)
        try:
            inputs = {role: _stand_in(kind, output, product, defaults, role, input_sizes[role])
                      if ref in sizes else getattr(product, ref)
                      for role, ref in planned.sources.items()}
            kind.call(output, product, inputs, defaults).build()
        except EmptyCell as exc:
            found.append((exc.column, f"required: the prompt of {name} uses it"))
        except ValidationError as exc:
            found += [columns.locate(problem) for problem in exc.problems]
        except Image.DecompressionBombError as exc:  # the client lets this one through
            found.append((columns.fallback, str(exc)))
    return list(dict.fromkeys(found))


def _stand_in(kind: OutputKind, output: RecipeOutput, product: Product,
              defaults: VideoDefaults, role: str, size: Size | None) -> bytes:
    """A blank still of the size the source will have; where that is known only once it is
    generated, the smallest frame the consuming field takes (the real still is checked when
    the request is built for it)."""
    if size is None:
        model = (product.video_model or output.model or defaults.model) \
            if isinstance(kind, ImageToVideo) else kind.model(output)
        spec = REGISTRY.get(model) if model in REGISTRY else None
        rule = next((m.rule for f, r in kind.field_roles.items() if r == role and spec
                     and (m := spec.media_field(f.split(".")[-1])) is not None), None)
        side = (rule.min_side if isinstance(rule, ImageRule) else None) or 1
        size = (side, side)
    return blank_png(size)
