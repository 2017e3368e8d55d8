"""Closure: every requirement of every package is met by the repository or the target's base.

The base is the generated stand-in repository (see standin.py); `dnf repoclosure --check <repo>`
resolves with libsolv against both and lists what stays unresolved, package by package.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import StageFailed
from .dnfroot import DnfRoot, error_lines
from .findings import Finding

PACKAGE_RE = re.compile(r"^package: (?P<nevra>\S+) from (?P<repo>\S+)$")
UNRESOLVED_HEADER = "unresolved deps"


def unresolved_requirements(repo: Path, base_repo: Path, work: Path) -> list[Finding]:
    query = DnfRoot(root=work / "closure-root", work=work, repos={"fuel": repo, "base": base_repo})
    query.root.mkdir(parents=True, exist_ok=True)
    result = query.dnf("repoclosure", "--check", "fuel")
    findings = parse_repoclosure(result.stdout)
    if result.returncode != 0 and not findings:
        raise StageFailed("dnf repoclosure failed: " + " | ".join(error_lines(result)[-3:]),
                          "is dnf-plugins-core installed? run 'make tools'")
    return findings


def parse_repoclosure(text: str) -> list[Finding]:
    findings, package, in_deps = [], None, False
    for raw in text.splitlines():
        line = raw.strip()
        match = PACKAGE_RE.match(line)
        if match:
            package, in_deps = _name_of(match["nevra"]), False
        elif line.startswith(UNRESOLVED_HEADER):
            in_deps = True
        elif in_deps and package and line:
            findings.append(Finding("closure", package, f"nothing provides '{line}'"))
    return findings


def _name_of(nevra: str) -> str:
    """chain-b-2.0-1.el9.noarch -> chain-b"""
    return nevra.rsplit(".", 1)[0].rsplit("-", 2)[0]
