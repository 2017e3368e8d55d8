"""rpmlint on every RPM of the repository with the target distribution's own rpmlint
configuration plus Fuel's filters: zero errors allowed."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import UserError
from ..targets import TargetProfile
from .findings import Finding
from .tools import require_tool, run

LINE_RE = re.compile(r"^(?P<package>\S+?)\.(?:noarch|x86_64|aarch64|i686|src): "
                     r"(?P<level>[EW]): (?P<check>\S+)(?P<detail>.*)$")


@dataclass
class LintResult:
    errors: list[Finding] = field(default_factory=list)
    warnings: list[Finding] = field(default_factory=list)


def rpmlint_dir(config_root: Path) -> Path:
    return config_root / "repo-config" / "rpmlint"


def distribution_config(config_root: Path, target: TargetProfile) -> Path:
    """The directory of the rpmlint configuration the target's distribution lints with."""
    family = "openSUSE" if target.scriptlets == "suse" else "Fedora"
    return rpmlint_dir(config_root) / family


def assemble_config(distribution: Path, project: Path, out: Path) -> Path:
    """One directory rpmlint reads whole (-c DIR): the distribution's files, then ours."""
    for path in (distribution, project):
        if not path.exists():
            raise UserError(f"rpmlint configuration {path} is missing",
                            "restore repo-config/rpmlint/ from the repository")
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob("*.toml"):
        stale.unlink()
    for path in sorted(distribution.glob("*.toml")):
        shutil.copyfile(path, out / path.name)
    shutil.copyfile(project, out / "zz-fuel.toml")
    return out


def lint(rpms: list[Path], config: Path) -> LintResult:
    if not config.exists():
        raise UserError(f"rpmlint configuration {config} is missing",
                        "restore repo-config/rpmlint/ from the repository")
    rpmlint = require_tool("rpmlint", "rpmlint")
    result = run([rpmlint, "-c", str(config), *map(str, rpms)])
    return parse_output(result.stdout + "\n" + result.stderr)


def parse_output(text: str) -> LintResult:
    found = LintResult()
    for line in text.splitlines():
        match = LINE_RE.match(line.strip())
        if not match:
            continue
        finding = Finding("lint", match["package"],
                          f"{match['check']}{match['detail']}".strip())
        (found.errors if match["level"] == "E" else found.warnings).append(finding)
    return found
