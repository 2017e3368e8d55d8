"""What the RPMs of a repository declare: names, versions and files with their attributes."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..errors import StageFailed, UserError
from ..tooloutput import clean_lines
from .tools import require_tool, run

FIELD_SEP = "\x1f"
FILE_QUERY = FIELD_SEP.join(["%{FILENAMES}", "%{FILEMODES:octal}", "%{FILEUSERNAME}",
                             "%{FILEGROUPNAME}", "%{FILEFLAGS:fflags}", "%{FILEDIGESTS}"])


@dataclass(frozen=True)
class PackagedFile:
    path: str
    mode: int
    owner: str
    group: str
    flags: str  # rpm's fflags: c = %config, n = noreplace, g = %ghost, d = %doc, ...
    digest: str

    @property
    def is_dir(self) -> bool:
        return (self.mode & 0o170000) == 0o040000

    @property
    def is_regular(self) -> bool:
        return (self.mode & 0o170000) == 0o100000

    @property
    def is_config(self) -> bool:
        return "c" in self.flags

    @property
    def is_ghost(self) -> bool:
        return "g" in self.flags


@dataclass(frozen=True)
class PackageInfo:
    name: str
    evr: str  # version-release (no epoch: the manifest has none)
    path: Path
    files: tuple[PackagedFile, ...] = field(default=())

    def configs(self) -> list[PackagedFile]:
        return [f for f in self.files if f.is_config and f.is_regular and not f.is_ghost]


def repository_packages(repo: Path) -> list[PackageInfo]:
    """Every binary RPM of a published repository (`repo` holds Packages/ and repodata/)."""
    if not (repo / "repodata" / "repomd.xml").is_file():
        raise UserError(f"{repo} is not a published repository (no repodata/repomd.xml)",
                        "run 'make repo' (or 'buildtool repo') first")
    rpms = sorted(p for p in repo.rglob("*.rpm") if not p.name.endswith(".src.rpm"))
    if not rpms:
        raise UserError(f"{repo} has no RPMs", "publish some packages first")
    return [read_package(rpm) for rpm in rpms]


def read_package(rpm: Path) -> PackageInfo:
    rpm_tool = require_tool("rpm", "rpm")
    head = run([rpm_tool, "-qp", "--qf", "%{NAME} %{VERSION}-%{RELEASE}\\n", str(rpm)])
    lines = clean_lines(head.stdout)
    if head.returncode != 0 or not lines:
        raise StageFailed(f"cannot read {rpm}: {' '.join(clean_lines(head.stderr))}")
    name, evr = lines[0].split()
    listing = run([rpm_tool, "-qp", "--qf", f"[{FILE_QUERY}\\n]", str(rpm)])
    files = tuple(_parse_file(line) for line in listing.stdout.splitlines() if FIELD_SEP in line)
    return PackageInfo(name, evr, rpm, files)


def _parse_file(line: str) -> PackagedFile:
    path, mode, owner, group, flags, digest = line.split(FIELD_SEP)
    return PackagedFile(path, int(mode, 8), owner, group, flags, digest)
