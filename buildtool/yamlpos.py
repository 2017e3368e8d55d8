"""YAML loading that remembers where every value came from (file, line, column), with hard bounds.

Validation errors must point at `fuel.yaml:42:7`, so we compose the YAML node graph ourselves and
keep a map from key paths (tuples of keys and list indexes) to source positions.

A manifest is untrusted input, so loading is bounded: file size, nesting depth and the number of
nodes after alias expansion (counted while composing, so a billion-laughs file is refused before
anything is expanded). Tags are refused (no `!!python/...`, no custom types), mapping keys are
always text, and plain scalars that YAML would not read back as the text written (`1.10`, `0644`,
`yes`, `1e3`) are remembered so that a field expecting text can say "quote it".
"""

from __future__ import annotations

import gc
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import Resolver
from yaml.scanner import Scanner

from .errors import UserError
from .positions import KeyPath, Positions, format_path

MAX_BYTES = 4 * 1024 * 1024  # fuel.yaml is 16 KiB; a 1000-package manifest about 0.6 MiB
MAX_DEPTH = 32  # nesting levels, after alias expansion; the manifest schema needs 6
MAX_NODES = 200_000  # values after alias expansion; a 1000-package manifest has about 30 000
MAX_ALIASES = 1_000

STR_TAG = "tag:yaml.org,2002:str"
MERGE_TAG = "tag:yaml.org,2002:merge"
# YAML 1.1 timestamps and the `=` value key are read as the text written: no field is a date.
TEXT_TAGS = {STR_TAG, "tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:value"}
# What a YAML 1.2 reader (yq, ruamel, most other tools) takes for a number where PyYAML sees text.
YAML12_NUMBER_RE = re.compile(r"^([-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?"
                              r"|0o[0-7]+|0x[0-9a-fA-F]+|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN))$")


def load_yaml(path: Path, display_name: str | None = None) -> tuple[Any, Positions]:
    """Load one YAML file into plain Python data plus the positions of every key."""
    name = display_name or str(path)
    text = _read_text(path, name)
    positions = Positions(name)
    with paused_cycle_collection():
        try:
            loader = _BoundedLoader(text, name)  # the reader checks every character here
            node = loader.get_single_node()
        except yaml.YAMLError as exc:
            raise _syntax_error(exc, text, name) from None
        if node is None:
            return {}, positions
        return _Converter(loader, positions).convert(node, ()), positions


@contextmanager
def paused_cycle_collection() -> Iterator[None]:
    """Python's cycle collector walks every live object each time enough new ones pile up, so
    loading N nodes costs O(N^2) with it on (2.4x the time at 6,000 packages); nothing built
    here is a cycle to collect. It is switched back on afterwards, as it was."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _read_text(path: Path, name: str) -> str:
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise UserError(f"file is {size} bytes, more than a manifest may be ({MAX_BYTES})",
                            "split it or remove what is not a package", location=f"{name}:1:1")
        data = path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"{name}: no such file", "pass --manifest PATH or create it") from None
    except IsADirectoryError:
        raise UserError(f"{name}: is a directory", "pass --manifest PATH of a file") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise UserError(f"not UTF-8 text (byte 0x{data[exc.start]:02x}: {exc.reason})",
                        "save the file as UTF-8", location=f"{name}:{line}:{column}") from None


def _syntax_error(exc: yaml.YAMLError, text: str, name: str) -> UserError:
    if isinstance(exc, yaml.reader.ReaderError):
        before = text[:exc.position]
        where = f"{name}:{before.count(chr(10)) + 1}:{exc.position - (before.rfind(chr(10)) + 1) + 1}"
        return UserError(f"YAML syntax error: character #x{exc.character:04x} is not allowed",
                         "remove control characters; write them as escapes in double quotes",
                         location=where)
    mark = getattr(exc, "problem_mark", None)
    where = f"{name}:{mark.line + 1}:{mark.column + 1}" if mark else f"{name}:1:1"
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    if "maximum nesting depth" in problem:  # libyaml's own bound (1000), hit while scanning ahead
        return UserError(f"nested more than {MAX_DEPTH} levels deep",
                         "a manifest is a few levels deep; check the brackets", location=where)
    context = getattr(exc, "context", None)
    if context:
        problem = f"{context}, {problem}"
    return UserError(f"YAML syntax error: {problem}", "check indentation and quoting", location=where)


class _BoundedComposer(Composer):
    """PyYAML's composer plus the bounds: depth, expanded node count, aliases, tags."""

    peek_event: Callable[[], Any]  # the parser's (a sibling base class), untyped in the stubs

    def __init__(self, name: str):
        super().__init__()
        self._name = name
        self._depth = 0
        self._nodes = 0  # nodes composed so far, each alias counting as the nodes it stands for
        self._aliases = 0
        self._anchor_sizes: dict[str | None, int] = {}  # the stubs allow an alias without anchor

    def _refuse(self, message: str, hint: str, mark: Any) -> UserError:  # Python or C Mark
        return UserError(message, hint, location=f"{self._name}:{mark.line + 1}:{mark.column + 1}")

    def _count(self, nodes: int, mark: Any) -> None:
        self._nodes += nodes
        if self._nodes > MAX_NODES:
            raise self._refuse(f"more than {MAX_NODES} values (after expanding aliases)",
                               "a manifest does not need this many; is it a YAML bomb?", mark)

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise self._refuse(f"more than {MAX_ALIASES} aliases", "write the values out",
                                   event.start_mark)
            if event.anchor in self.anchors and event.anchor not in self._anchor_sizes:
                raise self._refuse(f"alias *{event.anchor} refers to a value that contains it",
                                   "a value cannot include itself", event.start_mark)
            node = super().compose_node(parent, index)  # reports undefined aliases
            self._count(self._anchor_sizes[event.anchor], event.start_mark)
            return node
        if event.tag not in (None, "!") and not (event.tag == STR_TAG
                                                 and isinstance(event, yaml.ScalarEvent)):
            shown = event.tag.replace("tag:yaml.org,2002:", "!!")
            raise self._refuse(f"YAML tag '{shown}' is not allowed",
                               "remove the tag; quote the value if you mean text", event.start_mark)
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise self._refuse(f"nested more than {MAX_DEPTH} levels deep",
                               "a manifest is a few levels deep; check the brackets", event.start_mark)
        before = self._nodes
        self._count(1, event.start_mark)
        node = super().compose_node(parent, index)
        self._depth -= 1
        if event.anchor is not None:
            self._anchor_sizes[event.anchor] = self._nodes - before
        return node


class _PurePythonLoader(_BoundedComposer, Reader, Scanner, Parser, SafeConstructor, Resolver):
    def __init__(self, text: str, name: str):
        Reader.__init__(self, text)
        Scanner.__init__(self)
        Parser.__init__(self)
        _BoundedComposer.__init__(self, name)
        SafeConstructor.__init__(self)
        Resolver.__init__(self)


LIBYAML = getattr(yaml, "__with_libyaml__", False)
if LIBYAML:
    from yaml._yaml import CParser

    class _LibyamlLoader(_BoundedComposer, CParser, SafeConstructor, Resolver):
        """libyaml parses (about 5x faster); our composer still builds and bounds the nodes."""

        def __init__(self, text: str, name: str):
            CParser.__init__(self, text)
            _BoundedComposer.__init__(self, name)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)

    _BoundedLoader: type = _LibyamlLoader
else:
    _BoundedLoader = _PurePythonLoader


class _Converter:
    """Node graph -> plain data, recording positions; one loader's constructors for all scalars."""

    def __init__(self, loader: SafeConstructor, positions: Positions):
        self.loader = loader
        self.positions = positions

    def _fail(self, message: str, hint: str, node: yaml.Node) -> UserError:
        mark = node.start_mark
        return UserError(message, hint,
                         location=f"{self.positions.filename}:{mark.line + 1}:{mark.column + 1}")

    def convert(self, node: yaml.Node, path: KeyPath) -> Any:
        self.positions.marks[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if len(path) > MAX_DEPTH:  # aliases can nest deeper than the text shows
            raise self._fail(f"nested more than {MAX_DEPTH} levels deep (after expanding aliases)",
                             "write the values out", node)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.convert(item, path + (index,)) for index, item in enumerate(node.value)]
        assert isinstance(node, yaml.ScalarNode)  # the third and last kind of node
        return self._scalar(node, path)

    def _mapping(self, node: yaml.MappingNode, path: KeyPath) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == MERGE_TAG:
                raise self._fail("YAML merge keys (<<) are not supported", "write the keys out",
                                 key_node)
            if not isinstance(key_node, yaml.ScalarNode):
                raise self._fail("a mapping key must be text, not a list or mapping",
                                 "write a plain name before the colon", key_node)
            key = key_node.value  # always the text written: `1.10:` is the key "1.10"
            child = path + (key,)
            if key in result:
                raise self._fail(f"{format_path(child)}: duplicate key",
                                 "each key may appear once in a mapping", key_node)
            result[key] = self.convert(value_node, child)
            # the key's position, not the value's: errors name the key
            self.positions.marks[child] = (key_node.start_mark.line + 1,
                                           key_node.start_mark.column + 1)
        return result

    def _scalar(self, node: yaml.ScalarNode, path: KeyPath) -> Any:
        if node.tag in TEXT_TAGS:
            value: Any = node.value
        else:
            try:
                value = self.loader.yaml_constructors[node.tag](self.loader, node)
            except (ValueError, OverflowError):  # `0x_`, a 5000-digit number
                where = f"{format_path(path)}: " if path else ""
                raise self._fail(f"{where}'{node.value[:40]}' looks like a number but YAML cannot "
                                 "read it",
                                 "quote it if it is text", node) from None
        if not node.style and not _reads_as_written(node.value, value):  # plain: None or ""
            self.positions.not_text[path] = (node.value, _meaning(node.value, value))
        return value


def _reads_as_written(text: str, value: Any) -> bool:
    """Whether every YAML reader (1.1 and 1.2) gives back exactly `text` for this plain scalar."""
    if isinstance(value, str):
        return not YAML12_NUMBER_RE.match(text)
    if isinstance(value, bool) or value is None:
        return False
    return str(value) == text


def _meaning(text: str, value: Any) -> str:
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if value is None:
        return "null (nothing)"
    if isinstance(value, str):
        return "a number (in YAML 1.2)"
    return f"the number {value}"
