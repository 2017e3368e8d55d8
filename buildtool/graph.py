"""The build graph: which manifest packages depend on which, in what order they can build."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from .errors import UserError
from .manifest import Manifest, internal_dependencies


@dataclass(frozen=True)
class Graph:
    """Internal dependencies (BuildRequires and Requires) between the packages of one run."""

    deps: dict[str, frozenset[str]]  # package -> packages it needs built first

    @property
    def packages(self) -> list[str]:
        return list(self.deps)

    def dependents(self, name: str) -> set[str]:
        """Everything that transitively depends on `name`."""
        result: set[str] = set()
        frontier = [name]
        while frontier:
            for other in self.needed_by[frontier.pop()]:
                if other not in result:
                    result.add(other)
                    frontier.append(other)
        return result

    @functools.cached_property
    def needed_by(self) -> dict[str, list[str]]:
        """package -> the packages that need it directly (the edges reversed), sorted."""
        reverse: dict[str, list[str]] = {name: [] for name in self.deps}
        for name in sorted(self.deps):
            for needed in self.deps[name]:
                reverse.setdefault(needed, []).append(name)
        return reverse

    def closure(self, names: list[str]) -> set[str]:
        """`names` plus everything they transitively depend on."""
        result: set[str] = set()
        frontier = list(names)
        while frontier:
            current = frontier.pop()
            if current not in result:
                result.add(current)
                frontier.extend(self.deps[current])
        return result

    def order(self) -> list[str]:
        """A topological order, stable by name (dependencies first)."""
        return list(self._order)

    @functools.cached_property
    def _order(self) -> tuple[str, ...]:
        # level = longest path to a package without dependencies; by level, then by name
        level: dict[str, int] = {}
        waiting = {name: len(needs & self.deps.keys()) for name, needs in self.deps.items()}
        ready = [name for name, count in waiting.items() if count == 0]
        for name in ready:  # grows while it is walked: Kahn's algorithm
            level[name] = 1 + max((level[d] for d in self.deps[name] if d in level), default=-1)
            for other in self.needed_by[name]:
                waiting[other] -= 1
                if waiting[other] == 0:
                    ready.append(other)
        return tuple(sorted(level, key=lambda name: (level[name], name)))

    def restricted(self, names: set[str]) -> "Graph":
        return Graph({name: needs & names for name, needs in self.deps.items() if name in names})


def unavailable_on(graph: Graph, unavailable: dict[str, str]) -> dict[str, str]:
    """The packages a target cannot carry, with the reason: those its profile lists as
    unavailable, and every package that needs one of them."""
    dropped = {name: unavailable[name] for name in graph.deps if name in unavailable}
    for name in graph.order():  # dependencies first: each package's are decided before it
        missing = sorted(graph.deps[name] & dropped.keys())
        if name not in dropped and missing:
            dropped[name] = f"needs {missing[0]}, which this target cannot carry"
    return dropped


def for_target(graph: Graph, unavailable: dict[str, str]) -> Graph:
    """`graph` without the packages the target cannot carry."""
    return graph.restricted(set(graph.deps) - set(unavailable_on(graph, unavailable)))


def plan(manifest: Manifest, only: list[str] | None = None) -> Graph:
    graph = Graph(internal_dependencies(manifest))
    if not only:
        return graph
    for name in only:
        if name not in graph.deps:
            raise UserError(f"--only {name}: no such package in the active profiles",
                            "run 'buildtool list' to see the package names")
    return graph.restricted(graph.closure(only))
