"""The order outputs are made in: every source before the outputs that start from it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


class CycleError(ValueError):
    """Outputs that start from each other: no order can make them."""


def topological_order(deps: Mapping[str, Sequence[str]]) -> list[str]:
    """Names in an order where each comes after its ``deps`` (given order kept where free).
    Raises CycleError naming the outputs of a cycle."""
    order: list[str] = []
    state: dict[str, str] = {}

    def visit(name: str, path: list[str]) -> None:
        if state.get(name) == "done":
            return
        if state.get(name) == "open":
            cycle = path[path.index(name):] + [name]
            raise CycleError(" -> ".join(cycle))
        state[name] = "open"
        for dep in deps.get(name, ()):
            if dep in deps:
                visit(dep, path + [name])
        state[name] = "done"
        order.append(name)

    for name in deps:
        visit(name, [])
    return order
