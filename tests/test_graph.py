"""The build graph: order, --only closure, dependents."""

from __future__ import annotations

import pytest

from buildtool.errors import UserError
from buildtool.graph import Graph, plan
from buildtool.manifest import load_manifest
from conftest import FIXTURES


def diamond() -> Graph:
    return Graph({"app": frozenset({"lib", "data"}), "lib": frozenset({"base"}),
                  "data": frozenset({"base"}), "base": frozenset(), "doc": frozenset()})


def test_order_puts_dependencies_first_and_is_stable():
    order = diamond().order()
    assert order == ["base", "doc", "data", "lib", "app"]


def test_closure_and_dependents():
    graph = diamond()
    assert graph.closure(["lib"]) == {"lib", "base"}
    assert graph.dependents("base") == {"lib", "data", "app"}
    assert graph.dependents("app") == set()


def test_restricted_graph_drops_outside_edges():
    assert diamond().restricted({"lib", "base"}).deps == {"lib": frozenset({"base"}),
                                                        "base": frozenset()}


def test_plan_from_manifest_with_only():
    manifest = load_manifest(FIXTURES / "chain" / "manifest.yaml")
    assert plan(manifest).deps["chain-b"] == frozenset({"chain-a"})
    assert set(plan(manifest, ["chain-b"]).deps) == {"chain-a", "chain-b"}
    with pytest.raises(UserError, match="--only nope"):
        plan(manifest, ["nope"])
