"""Load-time validation of a recipe against the registry: every problem names the output, the
field and the rule, so a bad recipe fails when definitions load, before any row is read."""

from __future__ import annotations

import re
from collections.abc import Mapping

from ...dashscope.errors import ValidationError
from ...dashscope.registry import REGISTRY, ImageRule, ModelSpec, Output
from ..product import Product
from .calls import blank_png
from .dag import CycleError, topological_order
from .kinds import OutputKind, kind_of, target_problem
from .model import Recipe, RecipeOutput
from .templates import COLUMNS, Template
from .video import DEFAULT_VIDEO

#: Catalog columns that hold images an output can start from.
IMAGE_COLUMNS = ("cutout_image", "model_image", "model_mask", "shoe_template")
#: Asset keys the project's other assets use.
RESERVED = ("product_catalog", "generation_costs", "review_gallery", "media_handoff")
_ASSET_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
#: Fields every kind sets itself.
_SET_BY_RECIPE = {"model": "use the output's 'model'", "n": "use the output's 'variants'",
                  "prompt": "use the output's 'prompt'"}


class RecipeError(ValueError):
    """A recipe that cannot run; the message lists every problem."""

    def __init__(self, problems: list[str]):
        super().__init__("invalid recipe:\n" + "\n".join(f"- {p}" for p in problems))
        self.problems = problems


def check_recipe(recipe: Recipe) -> Recipe:
    """The recipe if valid; RecipeError listing every ``output 'x', field 'y': rule``."""
    problems: list[str] = []
    names = [o.name for o in recipe.outputs]
    if not names:
        problems.append("recipe, field outputs: must list at least one output")
    for output in recipe.outputs:
        problems += [f"output {output.name!r}, field {f}: {rule}"
                     for f, rule in _output_problems(output, recipe)]
    problems += [f"output {n!r}, field name: is used by more than one output"
                 for n in sorted({n for n in names if names.count(n) > 1})]
    try:
        topological_order(source_outputs(recipe))
    except CycleError as exc:
        problems.append(f"output {str(exc).split(' ')[0]!r}, field source: outputs start from "
                        f"each other ({exc})")
    if problems:
        raise RecipeError(problems)
    return recipe


def source_outputs(recipe: Recipe) -> dict[str, list[str]]:
    """Output name -> the earlier outputs it may start from."""
    names = set(recipe.names)
    return {o.name: [ref for refs in sources_of(o).values() for ref in refs if ref in names]
            for o in recipe.outputs}


def sources_of(output: RecipeOutput) -> dict[str, tuple[str, ...]]:
    """Role -> alternatives (the first that applies to a row is used)."""
    kind = kind_of(output)
    given = output.source
    if given is None:
        return dict(kind.default_source)
    if not isinstance(given, Mapping):
        given = {kind.roles[0] if kind.roles else "image": given}
    return {role: tuple(refs) if isinstance(refs, list) else (refs,)
            for role, refs in given.items()}


def _output_problems(output: RecipeOutput, recipe: Recipe) -> list[tuple[str, str]]:
    kind = kind_of(output)
    found: list[tuple[str, str]] = []
    if not _ASSET_KEY.match(output.name):
        found.append(("name", "must be letters, digits and '_' (an asset key)"))
    elif output.name in RESERVED or output.name in IMAGE_COLUMNS:
        found.append(("name", f"{output.name!r} is taken (reserved: "
                              f"{list(RESERVED + IMAGE_COLUMNS)})"))
    model = kind.model(output)
    spec = REGISTRY.get(model) if model in REGISTRY else None
    if spec is None:
        return found + [("model", f"{model!r} is not in the registry")]
    if spec.family not in kind.families:
        usable = sorted(s.name for s in REGISTRY if s.family in kind.families
                        and not s.purchase.trial_only)
        return found + [("model", f"{model!r} cannot make a {output.kind}; use one of "
                                  f"{usable}")]
    if spec.purchase.trial_only and not output.allow_trial_models:
        found.append(("model", f"{model!r} is free-trial-only: it stops when the trial quota "
                               "is used up and cannot be bought; set allow_trial_models: true "
                               "to use it anyway"))
    if output.prompt is not None:
        found += [("prompt", rule) for rule in Template(output.prompt).problems()]
        if kind.prompt_field is None or spec.param(kind.prompt_field.split(".")[-1]) is None:
            found.append(("prompt", f"{model} takes no prompt"))
    found += [("when.where", f"unknown column {c!r}; columns are {list(COLUMNS)}")
              for c in output.when.where if c not in COLUMNS]
    found += _source_problems(output, kind, spec, recipe)
    found += _param_problems(output, kind, spec)
    if output.variants < 1:
        found.append(("variants", f"must be >= 1, got {output.variants}"))
    elif output.variants > 1:
        n = spec.param("n")
        if n is None:
            found.append(("variants", f"{model} makes one result per task; variants > 1 "
                                      "needs a model that takes n"))
        elif n.maximum is not None and output.variants > n.maximum:
            found.append(("variants", f"must be <= {n.maximum:g} for {model}"))
    if not found:
        found += _dry_build_problems(output, kind, spec)
    return found


def _source_problems(output: RecipeOutput, kind: OutputKind, spec: ModelSpec,
                     recipe: Recipe) -> list[tuple[str, str]]:
    found = []
    sources = sources_of(output)
    outputs = {o.name: o for o in recipe.outputs}
    for role, refs in sources.items():
        if role not in kind.roles:
            found.append(("source", f"{output.kind} takes no {role!r} input; inputs are "
                                    f"{list(kind.roles)}"))
        for ref in refs:
            if ref == output.name:
                found.append(("source", "an output cannot start from itself"))
            elif ref in outputs:
                source_spec = REGISTRY.get(kind_of(outputs[ref]).model(outputs[ref])) \
                    if kind_of(outputs[ref]).model(outputs[ref]) in REGISTRY else None
                if source_spec is not None and source_spec.output is not Output.IMAGE:
                    found.append(("source", f"{ref!r} is a video; only stills and catalog "
                                            "images can be started from"))
            elif ref not in IMAGE_COLUMNS:
                found.append(("source", f"{ref!r} is neither an image column "
                                        f"{list(IMAGE_COLUMNS)} nor an output of the recipe"))
    found += [("source", f"{output.kind} with {spec.name} needs a {role!r} input")
              for role in kind.required_roles(spec) if role not in sources]
    return found


def _param_problems(output: RecipeOutput, kind: OutputKind,
                    spec: ModelSpec) -> list[tuple[str, str]]:
    found = []
    for key, value in output.params.items():
        where = f"params.{key}"
        if key in _SET_BY_RECIPE:
            found.append((where, f"set by the recipe: {_SET_BY_RECIPE[key]}"))
        elif key == "target" and "target" in kind.own_params:
            if problem := target_problem(value):
                found.append((where, problem))
        elif (param := spec.param(key)) is not None:
            if problem := param.check(value):
                found.append((where, problem))
        elif spec.media_field(key) is None or spec.media_field(key).kind == "image":
            documented = sorted(p.name for p in spec.params if p.name not in _SET_BY_RECIPE)
            documented += [m.name for m in spec.media if m.kind != "image"]
            found.append((where, f"{spec.name} takes no parameter {key!r}; it takes "
                                 f"{documented}"))
    if "target" in kind.own_params and "target" not in output.params:
        found.append(("params.target", "required: an aspect ratio like '9:16' or a pixel "
                                       "size like '1080x1920'"))
    return found


def _dry_build_problems(output: RecipeOutput, kind: OutputKind,
                        spec: ModelSpec) -> list[tuple[str, str]]:
    """Build the request on a made-up row with stand-in images, so rules across fields
    (multi-shot without prompt rewriting, audio off with an audio_url) fail at load too.
    Problems of the stand-in images themselves are not the recipe's and are left out."""
    product = Product(0, **{c: "sample" for c in COLUMNS if c not in _ROW_VIDEO},
                      **dict.fromkeys(_ROW_VIDEO))
    inputs = {role: _stand_in(spec, kind, role) for role in sources_of(output)}
    try:
        kind.call(output, product, inputs, DEFAULT_VIDEO).build()
    except ValidationError as exc:
        media = {m.name for m in spec.media}
        return [(_recipe_field(path, kind), rule) for path, _, rule in
                (p.partition(": ") for p in exc.problems)
                if path.split(".")[-1].split("[")[0] not in media]
    return []


_ROW_VIDEO = ("video_model", "video_resolution", "video_duration", "video_audio")


def _stand_in(spec: ModelSpec, kind: OutputKind, role: str) -> bytes:
    field = next((spec.media_field(f.split(".")[-1]) for f, r in kind.field_roles.items()
                  if r == role and spec.media_field(f.split(".")[-1])), None)
    rule = field.rule if field is not None and isinstance(field.rule, ImageRule) else ImageRule()
    side = max(rule.min_side or 0, 512)
    return blank_png((side, side), alpha=rule.alpha == "required")


def _recipe_field(path: str, kind: OutputKind) -> str:
    """The recipe field a body field comes from."""
    name = path.split(".")[-1].split("[")[0]
    if path == kind.prompt_field:
        return "prompt"
    return "model" if path == "model" else f"params.{name}"
