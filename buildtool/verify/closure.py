"""Closure: every requirement of every package is met by the repository or the distribution.

The distribution is the target's data (stand-in repositories generated from it, see standin.py):
`dnf repoclosure --check fuel` resolves with libsolv against the repository plus every stand-in,
and what stays unresolved is an error; a second pass without the stand-ins that rest only on a
citation lists what is satisfied but unverified.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import StageFailed
from .dnfroot import DnfRoot, error_lines
from .findings import Finding
from .standin import CITED_ONLY

PACKAGE_RE = re.compile(r"^package: (?P<nevra>\S+) from (?P<repo>\S+)$")
UNRESOLVED_HEADER = "unresolved deps"


def closure_findings(repo: Path, distro: dict[str, Path], work: Path, target: str
                     ) -> tuple[list[Finding], list[Finding]]:
    """(unresolved, unverified): what nothing provides, and what only a citation provides."""
    everything = unresolved_requirements(repo, distro, work / "closure-all")
    evidenced = {key: path for key, path in distro.items() if key != CITED_ONLY}
    without_citations = unresolved_requirements(repo, evidenced, work / "closure-evidenced")
    unresolved = [Finding("closure", f.package, f"{f.message} on {target} (not in its "
                          f"distribution data: repo-config/distro-data/{target}.tsv)",
                          requirement=f.requirement) for f in everything]
    unverified = [Finding("unverified", f.package, f"'{f.requirement}' on {target} rests only on "
                          "a citation (status cited in the distribution data)",
                          requirement=f.requirement)
                  for f in without_citations if f not in everything]
    return unresolved, unverified


def unresolved_requirements(repo: Path, distro: dict[str, Path], work: Path) -> list[Finding]:
    """What `dnf repoclosure` leaves unresolved in `repo` against the `distro` stand-ins."""
    query = DnfRoot(root=work / "root", work=work, repos={"fuel": repo, **distro})
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
            findings.append(Finding("closure", package, f"nothing provides '{line}'",
                                    requirement=line))
    return findings


def _name_of(nevra: str) -> str:
    """chain-b-2.0-1.el9.noarch -> chain-b"""
    return nevra.rsplit(".", 1)[0].rsplit("-", 2)[0]
