"""The build graph: which manifest packages depend on which, in what order they can build."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import UserError
from .manifest import DEP_RE, Manifest
from .schema import SchemaError


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
            current = frontier.pop()
            for other, needs in self.deps.items():
                if current in needs and other not in result:
                    result.add(other)
                    frontier.append(other)
        return result

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
        done: list[str] = []
        placed: set[str] = set()
        remaining = dict(self.deps)
        while remaining:
            ready = sorted(name for name, needs in remaining.items() if needs <= placed)
            for name in ready:
                done.append(name)
                placed.add(name)
                del remaining[name]
        return done

    def restricted(self, names: set[str]) -> "Graph":
        return Graph({name: needs & names for name, needs in self.deps.items() if name in names})


def unavailable_on(graph: Graph, unavailable: dict[str, str]) -> dict[str, str]:
    """The packages a target cannot carry, with the reason: those its profile lists as
    unavailable, and every package that needs one of them."""
    dropped = {name: unavailable[name] for name in graph.deps if name in unavailable}
    changed = True
    while changed:
        changed = False
        for name, needs in sorted(graph.deps.items()):
            missing = sorted(needs & dropped.keys())
            if name not in dropped and missing:
                dropped[name] = f"needs {missing[0]}, which this target cannot carry"
                changed = True
    return dropped


def for_target(graph: Graph, unavailable: dict[str, str]) -> Graph:
    """`graph` without the packages the target cannot carry."""
    return graph.restricted(set(graph.deps) - set(unavailable_on(graph, unavailable)))


def internal_dependencies(manifest: Manifest) -> dict[str, frozenset[str]]:
    deps = {}
    for name, package in manifest.packages.items():
        needed = set()
        for dep in [*package.build_requires, *package.requires]:
            match = DEP_RE.match(dep)
            assert match is not None, "load_manifest validated it"
            owner = manifest.owner_of(match.group(1))
            if owner and owner != name:
                needed.add(owner)
        deps[name] = frozenset(needed)
    return deps


def plan(manifest: Manifest, only: list[str] | None = None) -> Graph:
    graph = Graph(internal_dependencies(manifest))
    if not only:
        return graph
    for name in only:
        if name not in graph.deps:
            raise UserError(f"--only {name}: no such package in the active profiles",
                            "run 'buildtool list' to see the package names")
    return graph.restricted(graph.closure(only))


def check_acyclic(manifest: Manifest) -> None:
    deps = internal_dependencies(manifest)
    state: dict[str, int] = {}  # 1 = on the current path, 2 = finished

    def visit(name: str, trail: list[str]) -> None:
        state[name] = 1
        for needed in sorted(deps[name]):
            if state.get(needed) == 1:
                cycle = trail[trail.index(needed):] + [name, needed] if needed in trail else [name, needed]
                raise SchemaError(manifest.positions, ("packages", name),
                                  f"dependency cycle: {' -> '.join(cycle)}",
                                  "break the cycle; RPM builds need an order")
            if state.get(needed) is None:
                visit(needed, trail + [name])
        state[name] = 2

    for name in sorted(deps):
        if state.get(name) is None:
            visit(name, [])
