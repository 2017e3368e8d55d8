"""rpmlint on every RPM of the repository with the project's rpmlint.toml: zero errors allowed."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import UserError
from .findings import Finding
from .tools import require_tool, run

LINE_RE = re.compile(r"^(?P<package>\S+?)\.(?:noarch|x86_64|aarch64|i686|src): "
                     r"(?P<level>[EW]): (?P<check>\S+)(?P<detail>.*)$")


@dataclass
class LintResult:
    errors: list[Finding] = field(default_factory=list)
    warnings: list[Finding] = field(default_factory=list)


def lint(rpms: list[Path], config: Path) -> LintResult:
    if not config.is_file():
        raise UserError(f"rpmlint configuration {config} is missing", "restore rpmlint.toml")
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
