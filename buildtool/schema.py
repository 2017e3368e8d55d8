"""Turn loaded YAML into typed dataclasses, strictly.

The dataclasses *are* the schema: field names are the allowed keys, annotations the allowed types,
fields without a default are required. Every problem is reported as one located line.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

from .errors import UserError
from .yamlpos import KeyPath, Positions, format_path


class SchemaError(UserError):
    """A located manifest error: `file:line:col: key.path: message (hint: ...)`."""

    def __init__(self, positions: Positions, path: KeyPath, message: str, hint: str | None = None):
        super().__init__(f"{format_path(path)}: {message}" if path else message, hint,
                         location=positions.at(path))
        self.path = path


def build(cls: type, data: Any, path: KeyPath, positions: Positions) -> Any:
    """Build an instance of dataclass `cls` from `data`, checking keys and types recursively."""
    if not isinstance(data, dict):
        raise SchemaError(positions, path, f"expected a mapping, got {_describe(data)}")
    hints = get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    for key in data:
        if key not in fields:
            close = difflib.get_close_matches(str(key), list(fields), n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"allowed keys: {', '.join(fields)}"
            raise SchemaError(positions, path + (key,), "unknown key", hint)
    values = {}
    for name, field in fields.items():
        if name in data:
            values[name] = convert(hints[name], data[name], path + (name,), positions)
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            raise SchemaError(positions, path + (name,), "required key is missing",
                              f"add '{name}:' to {format_path(path) or 'the top level'}")
    return cls(**values)


def convert(annotation: Any, value: Any, path: KeyPath, positions: Positions) -> Any:
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        options = get_args(annotation)
        if value is None and type(None) in options:
            return None
        real = [option for option in options if option is not type(None)]
        if len(real) == 1:
            return convert(real[0], value, path, positions)
        errors = []
        for option in real:
            try:
                return convert(option, value, path, positions)
            except SchemaError as exc:
                errors.append(exc)
        raise errors[-1]
    if origin is Literal:
        allowed = get_args(annotation)
        if value not in allowed:
            raise SchemaError(positions, path, f"'{value}' is not allowed",
                              f"use one of: {', '.join(map(str, allowed))}")
        return value
    if origin is list:
        if not isinstance(value, list):
            raise SchemaError(positions, path, f"expected a list, got {_describe(value)}")
        (item_type,) = get_args(annotation)
        return [convert(item_type, item, path + (i,), positions) for i, item in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise SchemaError(positions, path, f"expected a mapping, got {_describe(value)}")
        key_type, value_type = get_args(annotation)
        return {convert(key_type, k, path + (k,), positions):
                convert(value_type, v, path + (k,), positions) for k, v in value.items()}
    if dataclasses.is_dataclass(annotation):
        return build(annotation, value, path, positions)
    if annotation is str:
        # YAML turns 1.0 or 2024 into numbers; versions and modes are text, so accept scalars.
        if isinstance(value, bool) or value is None or isinstance(value, (dict, list)):
            raise SchemaError(positions, path, f"expected text, got {_describe(value)}",
                              "quote the value")
        return str(value)
    if annotation is bool:
        if not isinstance(value, bool):
            raise SchemaError(positions, path, f"expected true or false, got {_describe(value)}")
        return value
    if annotation is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise SchemaError(positions, path, f"expected a whole number, got {_describe(value)}")
        return value
    if annotation is Any or annotation is typing.Any:
        return value
    raise TypeError(f"schema cannot convert {annotation!r}")  # a bug in the schema, not user input


def _describe(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, (int, float)):
        return f"a number ({value})"
    return f"text ('{value}')"
