"""The package's shape: data flows one way, so no module imports (at load time) a module that
imports it back."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from conftest import ROOT

PACKAGE = ROOT / "buildtool"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, local_too: bool = False) -> set[str]:
    """The buildtool modules `path` imports at module level, and with `local_too` inside
    functions as well (the deliberate way to load an optional or heavy module on use)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree) if local_too else tree.body:
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package.split(".")[: len(package.split(".")) - node.level + 1]
            module = ".".join(base + ([node.module] if node.module else []))
            for alias in node.names:
                candidate = f"{module}.{alias.name}"
                is_module = (ROOT / candidate.replace(".", "/")).with_suffix(".py").is_file()
                found.add(candidate if is_module else module)
    return found


def import_graph() -> dict[str, set[str]]:
    return {module_name(path): imports_of(path) for path in PACKAGE.rglob("*.py")}


def cycle_through(graph: dict[str, set[str]], start: str) -> list[str] | None:
    frontier, seen = [(start, [start])], set()
    while frontier:
        current, trail = frontier.pop()
        for needed in sorted(graph.get(current, ())):
            if needed == start:
                return trail + [start]
            if needed not in seen:
                seen.add(needed)
                frontier.append((needed, trail + [needed]))
    return None


def test_the_import_graph_finds_a_cycle_when_there_is_one():
    assert cycle_through({"a": {"b"}, "b": {"c"}, "c": {"a"}}, "a") == ["a", "b", "c", "a"]
    assert cycle_through({"a": {"b"}, "b": set()}, "a") is None


def test_the_graph_knows_the_real_imports():
    graph = import_graph()
    assert "buildtool.manifest" in graph["buildtool.graph"]
    assert "buildtool.backends.base" in graph["buildtool.backends"]


def test_no_module_imports_itself_back():
    graph = import_graph()
    cycles = [" -> ".join(cycle) for name in sorted(graph) if (cycle := cycle_through(graph, name))]
    assert cycles == []


def test_the_manifest_model_does_not_know_the_graph():
    """graph plans from the manifest; the manifest checks its own dependencies for cycles."""
    assert "buildtool.graph" not in imports_of(PACKAGE / "manifest.py", local_too=True)


# A path join onto one of the names layout.py gives out, anywhere but layout.py.
LAYOUT_JOIN = re.compile(r'/ "(SPECS|SOURCES|SRPMS|localrepo|verify-next|verify|rpmlint|snapshots|'
                         r'current|repos|generated|gate|state|logs|rpms|mock|build|dist)"')
NOT_UNDER_BUILD_OR_DIST = {  # the same names elsewhere: repo-config/, a temporary rpmbuild tree
    ("repofiles.py", 'return config_root / "repo-config" / "repos"'),
    ("lint.py", 'return config_root / "repo-config" / "rpmlint"'),
    ("build.py", '(Path(tmp) / "SOURCES").symlink_to(sources)'),
    ("rpmbuild.py", 'srpms = sorted((topdir / "SRPMS").glob("*.src.rpm")) if self.makes_srpm else []'),
}


def test_paths_under_build_and_dist_come_from_layout():
    found = {(path.name, line.strip()) for path in PACKAGE.rglob("*.py")
             if path.name != "layout.py"
             for line in path.read_text().splitlines() if LAYOUT_JOIN.search(line)}
    assert found == NOT_UNDER_BUILD_OR_DIST
