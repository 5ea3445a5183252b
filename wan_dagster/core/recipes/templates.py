"""Prompt templates over catalog columns: ``"{title}, {background_prompt}"``. A ``{column?}``
may be empty; any other empty cell is the row's error, naming the column."""

from __future__ import annotations

import dataclasses
import re
from functools import lru_cache

from ..product import Product

_FIELD = re.compile(r"\{([^{}?]*)(\??)\}")
#: The catalog columns a template may name: the documented ones a Product carries.
COLUMNS = tuple(f.name for f in dataclasses.fields(Product)
                if f.name not in ("row", "input_fingerprints"))


class EmptyCell(ValueError):
    """A template names a column that is empty on this row."""

    def __init__(self, column: str):
        super().__init__(column)
        self.column = column


@dataclasses.dataclass(frozen=True)
class Template:
    text: str

    @property
    def fields(self) -> tuple[tuple[str, bool], ...]:
        """``(column, optional)`` in order of appearance."""
        return _fields(self.text)

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.fields)

    def problems(self) -> list[str]:
        """Why the template cannot be rendered on any row (unknown columns, stray braces)."""
        found = [f"unknown column {name!r}; columns are {list(COLUMNS)}"
                 for name in self.columns if name not in COLUMNS]
        rest = _FIELD.sub("", self.text)
        if "{" in rest or "}" in rest:
            found.append("unbalanced '{' or '}'")
        return found

    def render(self, product: Product) -> str | None:
        """The prompt for ``product``; None when everything rendered is empty. Raises
        EmptyCell for a required column that is empty on this row."""
        def cell(match: re.Match[str]) -> str:
            name, optional = match.group(1).strip(), bool(match.group(2))
            value = getattr(product, name)
            if value is None or str(value) == "":
                if optional:
                    return ""
                raise EmptyCell(name)
            return str(value)

        text = _FIELD.sub(cell, self.text).strip().strip(",").strip()
        return text or None


@lru_cache(maxsize=1024)
def _fields(text: str) -> tuple[tuple[str, bool], ...]:
    """Parsed once per text: a catalog's every row renders the recipe's few templates."""
    return tuple((name.strip(), bool(mark)) for name, mark in _FIELD.findall(text))
