"""Automatic releases: content that changes under the same version gets the next Release, with a
%changelog entry saying what changed (the idea of rpmautospec).

The history is kept next to the published repository (dist/repos/<target>/history.json): per
package, every release published so far with its content digests. A release is decided from it,
never edited by hand; the manifest's `release:` stays a floor. Nothing else reaches back: the
rendered spec's Release: line and %changelog are rewritten here, after the sources are fetched
(a source's checksum is part of the content), before the build.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # types only: recording a publish needs neither stage
    from .render import RenderedPackage
    from .sources import FetchedSource

# the Release: line of a rendered spec, whose value this module decides
RELEASE_LINE_RE = re.compile(r"^Release:(\s+)(\S+?)%\{\?dist\}$", re.MULTILINE)


@dataclass(frozen=True)
class Release:
    """One published (or about to be) release of a package and what its content was."""

    version: str
    release: str
    date: str  # the %changelog date, e.g. "Wed Dec 02 2026"
    source: str  # the source tarball's sha256 ("-" without one)
    parts: dict[str, str] = field(default_factory=dict)  # packaging part -> digest
    changes: list[str] = field(default_factory=list)

    @property
    def content(self) -> str:
        text = json.dumps([self.version, self.source, sorted(self.parts.items())])
        return hashlib.sha256(text.encode()).hexdigest()


def content_parts(rendered: RenderedPackage) -> dict[str, str]:
    """Digests of what a package is made of: the spec (without its Release: line and changelog,
    which are derived from this) and every generated source (units, configs, patches, ...)."""
    spec = rendered.spec.read_text()
    spec = RELEASE_LINE_RE.sub("Release: -", spec.split("\n%changelog\n", 1)[0])
    parts = {"spec": _sha256(spec.encode())}
    for name in sorted(rendered.generated):
        parts[name] = _sha256((rendered.sources_dir / name).read_bytes())
    return parts


def next_release(history: list[Release], version: str, floor: str, source: str,
                 parts: dict[str, str], today: str) -> tuple[Release, bool]:
    """The release for this content, and whether it is new. Same content: the release it had.
    New content under a published version: one more than the highest, at least the floor."""
    candidate = Release(version, floor, today, source, parts)
    for old in history:
        if old.content == candidate.content and _compare(old.release, floor) >= 0:
            return old, False
    same_version = [old.release for old in history if old.version == version]
    release = floor
    if same_version:
        highest = max(same_version, key=_release_key)
        release = max(_bumped(highest), floor, key=_release_key)
    previous = history[-1] if history else None
    return Release(version, release, today, source, parts, describe(previous, candidate)), True


def describe(previous: Release | None, new: Release) -> list[str]:
    """What changed since the previous release, one changelog line each."""
    if previous is None:
        return ["First build by buildtool from the service manifest"]
    changes = []
    if previous.version != new.version:
        changes.append(f"Update to {new.version}")
    if previous.source != new.source:
        changes.append(f"Source changed: sha256 {previous.source[:12]} -> {new.source[:12]}")
    for name in sorted(set(previous.parts) | set(new.parts)):
        before, after = previous.parts.get(name), new.parts.get(name)
        if before == after:
            continue
        what = "packaging (manifest fields or templates)" if name == "spec" else name
        verb = "added" if before is None else "removed" if after is None else "changed"
        changes.append(f"{what[0].upper()}{what[1:]} {verb}")
    return changes or ["Rebuilt"]


def apply_release(rendered: RenderedPackage, release: Release, history: list[Release],
                  packager: str) -> None:
    """Write the decided Release: and the changelog (newest first) into the rendered spec."""
    rendered_text = rendered.spec.read_text()
    text = RELEASE_LINE_RE.sub(lambda m: f"Release:{m.group(1)}{release.release}%{{?dist}}",
                                rendered_text, count=1)
    body = text.split("\n%changelog\n", 1)[0]
    entries = [release, *reversed([h for h in history if h != release])]
    changelog = "\n\n".join(
        f"* {entry.date} {packager} - {entry.version}-{entry.release}\n"
        + "\n".join(f"- {_escaped(line)}" for line in entry.changes or ["Rebuilt"])
        for entry in entries)
    new_text = f"{body}\n%changelog\n{changelog}\n"
    if new_text != rendered_text:
        rendered.spec.write_text(new_text)


def assign_releases(rendered: dict[str, RenderedPackage],
                    fetched: dict[str, FetchedSource | None],
                    floors: dict[str, tuple[str, str | None]],
                    history_file: Path, packager: str) -> dict[str, Release]:
    """Decide and apply every package's release; returns the releases (new ones to record)."""
    history = load_history(history_file)
    today = datetime.datetime.now(datetime.timezone.utc).strftime("%a %b %d %Y")
    decided = {}
    for name, item in rendered.items():
        version, floor = floors[name]
        assert floor is not None, "load_manifest fills in the default release"
        fetched_source = fetched.get(name)
        source = fetched_source.sha256 if fetched_source else "-"
        past = history.get(name, [])
        release, _ = next_release(past, version, floor, source, content_parts(item), today)
        apply_release(item, release, past, packager)
        decided[name] = release
    return decided


RELEASE_FIELDS = tuple(item.name for item in fields(Release))


def load_history(path: Path) -> dict[str, list[Release]]:
    return {name: [Release(**entry) for entry in entries]
            for name, entries in _read_history(path).items()}


def _read_history(path: Path) -> dict[str, list[dict[str, Any]]]:
    try:
        data: dict[str, list[dict[str, Any]]] = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    return data


def record(path: Path, releases: dict[str, Release]) -> None:
    """Add the published releases to the history (atomically). Compared as the JSON it is
    kept as: a republish of 1,000 recorded packages then costs one read."""
    history = _read_history(path)
    new = False
    for name, release in releases.items():
        entries = history.setdefault(name, [])
        entry = {key: getattr(release, key) for key in RELEASE_FIELDS}  # asdict, shallow
        if entry not in entries:
            entries.append(entry)
            new = True
    if not new:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(dict(sorted(history.items())), indent=1) + "\n")
    os.replace(tmp, path)


def _bumped(release: str) -> str:
    """1 -> 2, 1.1 -> 1.2, 3a -> 3a.1"""
    head, sep, last = release.rpartition(".")
    if last.isdigit():
        return f"{head}{sep}{int(last) + 1}"
    return f"{release}.1"


def _release_key(release: str) -> tuple[tuple[int, int, str], ...]:
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in release.split("."))


def _compare(a: str, b: str) -> int:
    ka, kb = _release_key(a), _release_key(b)
    return (ka > kb) - (ka < kb)


def _escaped(line: str) -> str:
    return line.replace("%", "%%")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
