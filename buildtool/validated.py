"""Parsed and validated inputs kept between runs, so that a no-op run neither parses nor
validates them again (nor imports PyYAML): the manifest, the target profiles, the repository
configuration.

Validating 1,000 packages takes about 0.3 s; loading the kept result about 20 ms. An entry is
keyed by everything its result depends on: the bytes of the files read, what the caller adds
(paths, profiles, the dependency names each target maps) and buildtool's own modules (size and
mtime of each, so an edited checkout never reuses an older verdict). Files and directories the
result points at are checked again on every use: a deleted patch sends the run through full
validation and its located error.

Entries are written atomically under the build directory, which the run trusts like the
checkout (builds are confined and cannot write there); at most MAX_ENTRIES are kept.
"""

from __future__ import annotations

import functools
import hashlib
import os
import pickle
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast

PACKAGE_DIR = Path(__file__).parent
MAX_ENTRIES = 32  # the least recently written go first

References = tuple[tuple[str, bool], ...]  # (path, is a directory) that must still exist
T = TypeVar("T")


@dataclass(frozen=True)
class Entry:
    value: Any
    references: References = ()


def kept(cache_dir: Path | None, kind: str, identity: str, files: Iterable[Path], extra: str,
         make: Callable[[], tuple[T, References]]) -> T:
    """The value make() returns, kept under `cache_dir` (None: made every time) and keyed by
    the bytes of `files` and `extra`; make() also names the paths the value references."""
    if cache_dir is None:
        return make()[0]
    cache_file = entry_file(cache_dir, kind, identity)
    key = inputs_key(files, extra)
    value = lookup(cache_file, key)
    if value is not None:
        return cast(T, value)
    value, references = make()
    store(cache_file, key, value, references)
    return value


def entry_file(cache_dir: Path, kind: str, identity: str = "") -> Path:
    """Where the entry of `kind` ("manifest", "targets", ...) for `identity` (a path) lives."""
    suffix = hashlib.sha256(identity.encode()).hexdigest()[:16] if identity else "all"
    return cache_dir / f"{kind}-{suffix}.pickle"


def inputs_key(files: Iterable[Path], extra: str) -> str | None:
    """What a parsed result depends on; None when a file cannot be read (parsing reports it)."""
    digest = hashlib.sha256(extra.encode())
    try:
        for path in files:
            digest.update(f"\0{path}\0".encode())
            digest.update(path.read_bytes())
    except OSError:
        return None
    digest.update(_code_stamp().encode())
    return digest.hexdigest()


@functools.cache
def _code_stamp() -> str:
    """buildtool's own modules (name, size, mtime), read once per run: every entry depends on
    the code that made it."""
    parts = []
    with os.scandir(PACKAGE_DIR) as modules:
        for module in sorted(modules, key=lambda item: item.name):
            if module.name.endswith(".py"):
                info = module.stat()
                parts.append(f"\0{module.name}:{info.st_size}:{info.st_mtime_ns}")
    return "".join(parts)


def lookup(cache_file: Path, key: str | None) -> Any | None:
    """The kept value if its key matches and what it references still exists. The key is the
    file's first line, so that an entry of other inputs (or another buildtool) is never
    unpickled."""
    if key is None:
        return None
    try:
        with open(cache_file, "rb") as handle:
            if handle.readline() != f"{key}\n".encode():
                return None
            entry = pickle.load(handle)
    except Exception:  # noqa: BLE001 - a damaged entry is a miss, whatever unpickling raises
        return None
    if not isinstance(entry, Entry):
        return None
    if not all(os.path.isdir(path) if is_dir else os.path.isfile(path)
               for path, is_dir in entry.references):
        return None
    return entry.value


def store(cache_file: Path, key: str | None, value: Any, references: References = ()) -> None:
    """Keep the value (a temporary file renamed into place); a cache that cannot be written is
    no error, the next run parses again."""
    if key is None:
        return
    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        partial = cache_file.with_name(f".{cache_file.name}.{os.getpid()}")
        partial.write_bytes(f"{key}\n".encode() + pickle.dumps(
            Entry(value, references), protocol=pickle.HIGHEST_PROTOCOL))
        os.replace(partial, cache_file)
        kept = sorted(cache_file.parent.glob("*.pickle"), key=lambda path: path.stat().st_mtime)
        for old in kept[:-MAX_ENTRIES]:
            old.unlink(missing_ok=True)
    except OSError:
        pass
