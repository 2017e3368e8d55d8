"""The backup set: what fuel-backup saves and fuel-restore puts back, derived from the manifest.

The manifest already says what is state: directories of kind `state`, config files (%config),
files an operator may edit (`install: config: true`), logrotate files and the PostgreSQL databases
the services use. This module turns that into one JSON document that fuel-setup ships
(`install: {generated: backup-set}`), so that adding a state directory to the manifest adds it to
backups with no other edit. Paths are absolute on the target.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import asdict, dataclass

from .manifest import Manifest, Package

FORMAT = "fuel-backup-set"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class SavedPath:
    path: str
    type: str  # "directory" (saved whole, recursively) or "file"
    package: str
    owner: str
    group: str
    mode: str
    secret: bool = False  # not world-readable: credentials live here


@dataclass(frozen=True)
class SavedDatabase:
    name: str
    owner: str
    package: str


@dataclass(frozen=True)
class BackupSet:
    packages: list[str]  # RPM names whose installed versions a backup records
    services: list[str]  # units stopped while saving or restoring
    paths: list[SavedPath]
    databases: list[SavedDatabase]

    def to_json(self) -> str:
        document = {"format": FORMAT, "version": FORMAT_VERSION, **asdict(self)}
        return json.dumps(document, indent=2, sort_keys=True) + "\n"


def backup_set(manifest: Manifest, target: str | None = None) -> BackupSet:
    """The backup set of `manifest`; config files limited to other targets are left out."""
    packages = sorted((_for_target(p, target) for p in manifest.packages.values()),
                      key=lambda p: p.name)
    paths: dict[str, SavedPath] = {}
    for package in packages:
        for saved in _saved_paths(package):
            paths.setdefault(saved.path, saved)
    return BackupSet(
        packages=sorted(rpm for p in packages for rpm in [p.name, *(s.name for s in p.subpackages)]),
        services=sorted(f"{s.name}.service" for p in packages for s in p.services
                        if not s.name.endswith("@")),
        paths=sorted(paths.values(), key=lambda s: s.path),
        databases=sorted((SavedDatabase(d.name, d.owner, p.name) for p in packages
                          for d in p.databases), key=lambda d: d.name))


def _saved_paths(package: Package) -> list[SavedPath]:
    saved = [SavedPath(d.path, "directory", package.name, d.owner, d.group, _mode(d.mode))
             for d in package.directories if d.kind == "state"]
    saved += [SavedPath(c.dest, "file", package.name, c.owner, c.group, _mode(c.mode),
                        secret=not int(c.mode, 8) & 0o004)
              for c in package.config_files]
    saved += [SavedPath(i.dest, "file", package.name, "root", "root", _mode(i.mode),
                        secret=not int(i.mode, 8) & 0o004)
              for i in package.install if i.config]
    if package.logrotate:
        saved.append(SavedPath(f"/etc/logrotate.d/{package.name}", "file", package.name,
                               "root", "root", "0644"))
    return saved


def _for_target(package: Package, target: str | None) -> Package:
    configs = [c for c in package.config_files if not c.targets or target in (None, *c.targets)]
    return dataclasses.replace(package, config_files=configs)


def _mode(mode: str) -> str:
    return f"{int(mode, 8):04o}"
