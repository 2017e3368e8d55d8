"""YAML loading that remembers where every value came from (file, line, column).

Validation errors must point at `fuel.yaml:42:7`, so we compose the YAML node graph ourselves and
keep a map from key paths (tuples of keys and list indexes) to source positions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import UserError

KeyPath = tuple  # e.g. ("packages", "nailgun", "services", 0, "user")


@dataclass
class Positions:
    """Where each key path of a loaded document sits in its file."""

    filename: str
    marks: dict[KeyPath, tuple[int, int]] = field(default_factory=dict)

    def at(self, path: KeyPath) -> str:
        """`file:line:col` of the nearest known ancestor of `path`."""
        path = tuple(path)
        while path not in self.marks and path:
            path = path[:-1]
        line, col = self.marks.get(path, (1, 1))
        return f"{self.filename}:{line}:{col}"


def format_path(path: KeyPath) -> str:
    """("packages", "x", "services", 0, "user") -> "packages.x.services[0].user"."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def load_yaml(path: Path, display_name: str | None = None) -> tuple[Any, Positions]:
    """Load one YAML file into plain Python data plus the positions of every key."""
    name = display_name or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{name}: no such file", "pass --manifest PATH or create it") from None
    except UnicodeDecodeError as exc:
        raise UserError(f"{name}: not UTF-8 text ({exc.reason})") from None
    positions = Positions(name)
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{name}:{mark.line + 1}:{mark.column + 1}" if mark else name
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise UserError(f"YAML syntax error: {problem}", "check indentation and quoting",
                        location=where) from None
    if node is None:
        return {}, positions
    return _convert(node, (), positions), positions


def _convert(node: yaml.Node, path: KeyPath, positions: Positions) -> Any:
    positions.marks[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise UserError("YAML merge keys (<<) are not supported", "write the keys out",
                                location=positions.at(path))
            key = yaml.SafeLoader().construct_object(key_node) if not isinstance(
                key_node, yaml.ScalarNode) else _scalar(key_node)
            child = path + (key,)
            if key in result:
                mark = key_node.start_mark
                raise UserError(f"{format_path(child)}: duplicate key",
                                "each key may appear once in a mapping",
                                location=f"{positions.filename}:{mark.line + 1}:{mark.column + 1}")
            positions.marks[child] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            result[key] = _convert(value_node, child, positions)
            # the value's own position is more precise for type errors; keep the key's for the path
            positions.marks[child] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_convert(item, path + (index,), positions) for index, item in enumerate(node.value)]
    return _scalar(node)


def _scalar(node: yaml.ScalarNode) -> Any:
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_object(node, deep=True)
    finally:
        loader.dispose()
