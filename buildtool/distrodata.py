"""What a target distribution's repositories really contain: repo-config/distro-data/<target>.tsv.

One row per binary package of the distribution (or of a third-party repository a Fuel host uses):
its name, EVR, the capabilities it provides, the repository, how strong the evidence is and the
evidence itself. The rows come from real repository data (scripts/extract-distro-data reads the
datasets of ../shared/distro-data; scripts/refresh-distro-data asks live mirrors with dnf) and,
for repositories no dataset covers, from citations (repo-config/distro-data/citations.yaml).

The verify stage resolves every requirement of the Fuel repository against these rows, so a name
that no repository has can fail the check (nothing here provides whatever is asked for).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from . import runner
from .errors import UserError
from .targets import TargetProfile

VERIFIED = "verified"  # the name (and version) appear in real repository metadata or package lists
DERIVED = "derived"  # inferred from real data by a stated rule (source -> binary name, ELN -> EL10)
CITED = "cited"  # rests only on a citation: reported as unverified
STATUSES = (VERIFIED, DERIVED, CITED)
COLUMNS = ("name", "evr", "provides", "repository", "status", "evidence")

# Capability names inside a (possibly rich) requirement: "python3.9dist(six) >= 1.9",
# "((python3.9dist(x) < 2 or python3.9dist(x) > 2) with python3.9dist(x) >= 1)", "/bin/sh".
_CAPABILITY_RE = re.compile(r"[A-Za-z0-9_/][^\s()]*(?:\([^()\s]*\))?")
_RICH_WORDS = {"and", "or", "if", "else", "with", "without", "unless"}
# What rpm itself makes packages require (scriptlets, shebangs, Python's ABI): always looked up.
BASE_CAPABILITIES = ("/bin/sh", "/usr/bin/sh", "/usr/bin/python3", "python(abi)")
_PYTHON_DIST_RE = re.compile(r"^python(?P<abi>\d(?:\.\d+)?)dist\((?P<dist>[^)]+)\)$")


@dataclass(frozen=True)
class DistroPackage:
    name: str
    evr: str | None  # epoch:version-release as the repository has it; None: not known
    provides: tuple[str, ...]  # capabilities, each optionally "= version"
    repository: str  # e.g. "BaseOS", "RDO Epoxy", "OpenVox 8"
    status: str  # verified | derived | cited
    evidence: str  # dataset and row, or the citation

    @property
    def version(self) -> str | None:
        """The upstream version (no epoch, no release), as python dist provides carry it."""
        if not self.evr:
            return None
        return self.evr.split(":", 1)[-1].rsplit("-", 1)[0] if "-" in self.evr else \
            self.evr.split(":", 1)[-1]


def capability_names(requirement: str) -> list[str]:
    """The capability names a requirement string mentions (operators and versions dropped)."""
    names = [token for token in _CAPABILITY_RE.findall(requirement)
             if token not in _RICH_WORDS and not token[0].isdigit()]  # versions start with a digit
    return list(dict.fromkeys(n for n in names if not n.startswith("rpmlib(")))


def python_dist(capability: str) -> tuple[str, str] | None:
    """`python3.9dist(oslo-utils)` -> ("3.9", "oslo-utils"); None for other capabilities."""
    match = _PYTHON_DIST_RE.match(capability)
    return (match["abi"], match["dist"]) if match else None


def pep503(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def load(path: Path) -> list[DistroPackage]:
    if not path.is_file():
        raise UserError(f"no distribution data at {path}",
                        "run scripts/extract-distro-data (or scripts/refresh-distro-data) for "
                        "this target")
    rows = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        cells = line.split("\t")
        if len(cells) != len(COLUMNS) or cells[4] not in STATUSES:
            raise UserError(f"{path}:{number}: expected {len(COLUMNS)} tab-separated columns "
                            f"({', '.join(COLUMNS)}) with status one of {', '.join(STATUSES)}",
                            "regenerate it with scripts/extract-distro-data")
        name, evr, provides, repository, status, evidence = cells
        rows.append(DistroPackage(name, None if evr == "-" else evr,
                                  tuple(p for p in provides.split(";") if p), repository, status,
                                  evidence))
    return rows


def dump(packages: list[DistroPackage], header: list[str]) -> str:
    lines = [f"# {line}" for line in header]
    lines.append("# " + "\t".join(COLUMNS))
    for package in sorted(packages, key=lambda p: (p.name, p.repository)):
        lines.append("\t".join([package.name, package.evr or "-", ";".join(sorted(package.provides)),
                                package.repository, package.status, package.evidence]))
    return "\n".join(lines) + "\n"


def wanted_capabilities(root: Path, target: TargetProfile, repos: list[Path],
                        extra: list[str]) -> list[str]:
    """What a data file must answer: the target's package names, what the RPMs in `repos` need
    from outside themselves, what the current data file already covers, and `extra`."""
    wanted = [*BASE_CAPABILITIES, *(name for names in target.deps.values() for name in names)]
    wanted += [c for repo in repos for c in _external_requirements(repo)]
    data_file = target.distro_data_file(root)
    if data_file.is_file():
        wanted += [p.split(" = ")[0] for pkg in load(data_file) for p in pkg.provides]
    wanted += [p for repo in target.repositories for p in repo.provides]
    return list(dict.fromkeys([*wanted, *extra]))


def _external_requirements(repo: Path) -> list[str]:
    rpms = sorted(str(p) for p in repo.rglob("*.rpm") if not p.name.endswith(".src.rpm"))
    if not rpms:
        return []

    def query(flag: str) -> set[str]:
        out = runner.run(["rpm", "-qp", flag, *rpms], capture_output=True, text=True).stdout
        return {name for line in out.splitlines() for name in capability_names(line)}

    names = runner.run(["rpm", "-qp", "--qf", "%{NAME}\n", *rpms], capture_output=True,
                           text=True).stdout.split()
    return sorted(query("--requires") - query("--provides") - set(names))


def header(target: TargetProfile, how: str) -> list[str]:
    return [f"Distribution data for target {target.name}: {target.description}.", how,
            "Status: verified = in real repository data; derived = from real data by the rule "
            "the evidence states;", "cited = only a citation (verify lists it as unverified)."]
