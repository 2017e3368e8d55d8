"""Turn loaded YAML into typed dataclasses, strictly.

The dataclasses *are* the schema: field names are the allowed keys, annotations the allowed types,
fields without a default are required, `Annotated[int, Range(lo, hi)]` bounds a number. Every
problem is reported as one located line.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import types
import typing
from typing import Annotated, Any, Literal, Union, get_args, get_origin, get_type_hints

from .errors import UserError
from .positions import KeyPath, Positions, format_path


@dataclasses.dataclass(frozen=True)
class Range:
    """Bounds of a whole number field: `Annotated[int, Range(0, 2**32 - 1, "why")]`."""

    low: int
    high: int
    why: str = ""


class SchemaError(UserError):
    """A located manifest error: `file:line:col: key.path: message (hint: ...)`."""

    def __init__(self, positions: Positions, path: KeyPath, message: str, hint: str | None = None):
        from .reference import reference_hint  # here: the reference is built from this schema

        hint = reference_hint(path, hint)
        super().__init__(f"{format_path(path)}: {message}" if path else message, hint,
                         location=positions.at(path))
        self.path = path


T = typing.TypeVar("T")


def build(cls: type[T], data: Any, path: KeyPath, positions: Positions) -> T:
    """Build an instance of dataclass `cls` from `data`, checking keys and types recursively."""
    if not isinstance(data, dict):
        raise SchemaError(positions, path, f"expected a mapping, got {_describe(data)}")
    hints, fields = _schema_of(cls)  # type: ignore[arg-type]  # mypy#20409: type[T] is hashable
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


@functools.cache
def _schema_of(cls: type) -> tuple[dict[str, Any], dict[str, dataclasses.Field[Any]]]:
    hints = get_type_hints(cls, include_extras=True)
    return hints, {f.name: f for f in dataclasses.fields(cls) if f.init}


def convert(annotation: Any, value: Any, path: KeyPath, positions: Positions) -> Any:
    origin = get_origin(annotation)
    if origin is Annotated:
        base, *extras = get_args(annotation)
        result = convert(base, value, path, positions)
        for extra in extras:
            if isinstance(extra, Range) and not extra.low <= result <= extra.high:
                raise SchemaError(positions, path, f"{result} is out of range",
                                  f"use {extra.low} to {extra.high}"
                                  + (f" ({extra.why})" if extra.why else ""))
        return result
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
        if not any(type(value) is type(option) and value == option for option in allowed):
            written = positions.not_text.get(path, (None,))[0]
            if written in allowed:
                raise _quote_it(positions, path)
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
        if key_type is not str:
            raise TypeError(f"schema keys must be str, not {key_type!r}")  # a bug in the schema
        # keys are always the text written (yamlpos); the path's YAML flags belong to the value
        return {str(k): convert(value_type, v, path + (k,), positions) for k, v in value.items()}
    if isinstance(annotation, type) and dataclasses.is_dataclass(annotation):
        return build(annotation, value, path, positions)
    if annotation is str:
        if path in positions.not_text:  # 1.10, 0644, yes, 1e3: YAML does not read the text written
            raise _quote_it(positions, path)
        if isinstance(value, bool) or value is None or isinstance(value, (dict, list)):
            raise SchemaError(positions, path, f"expected text, got {_describe(value)}",
                              "quote it")
        return str(value)  # a plain 2024 or 1.0 reads back as written: the text it was
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


def _quote_it(positions: Positions, path: KeyPath) -> SchemaError:
    written, meaning = positions.not_text[path]
    return SchemaError(positions, path, f"YAML reads {written} as {meaning}, not as text",
                       f'quote it: "{written}"')


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
