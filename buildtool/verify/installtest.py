"""Install, upgrade and erase in a throwaway root with scriptlets really executed.

install: dnf installs every package of the repository (the `fuel` meta package pulls the rest)
    with the distribution's stand-ins (generated from its data); then users/groups, `rpm -V` and systemd units are checked.
operator: appends a line to every packaged config file and writes a file into every packaged
    directory under /var and /srv (state, logs, data).
upgrade: dnf upgrades to the next repository (same set, bumped release, changed configs); the
    edited configs keep the edit (`.rpmnew` next to them when the packaged file changed) and the
    data is intact.
erase: dnf removes the packages; the data is still there, each edited config survives (as itself or
    as `.rpmsave`), and no other packaged file is left behind.
"""

from __future__ import annotations

import dataclasses
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from .dnfroot import DnfRoot, error_lines
from .findings import Finding
from .rootchecks import check_accounts, check_files, check_units
from .rpminfo import PackageInfo

PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"
EDIT_MARK = "# operator edit kept? (written by buildtool verify)"
DATA_NAME = "buildtool-verify-operator-data"
DATA_ROOTS = ("/var/", "/srv/")
FAILURE_KEYS = ("error", "scriptlet failed", "nothing provides", "failed")


@dataclass
class Phase:
    name: str
    status: str = PASSED
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    pulled: list[str] = field(default_factory=list)  # install: what dnf pulled in besides `names`

    def add(self, findings: list[Finding]) -> None:
        self.findings += [f for f in dict.fromkeys(findings) if f not in self.findings]
        if findings:
            self.status = FAILED


@dataclass
class OperatorWork:
    """What the simulated operator wrote, to be found again after upgrade and erase."""

    configs: dict[str, str] = field(default_factory=dict)  # path -> owning package
    data: dict[str, str] = field(default_factory=dict)  # path -> content


def lifecycle(current: list[PackageInfo], upcoming: list[PackageInfo] | None,
              repos: dict[str, Path], next_repo: Path | None, root: Path, work: Path) -> list[Phase]:
    """Run the three phases; after a failed install the others are skipped.

    The next repository is only visible from the upgrade on, so install takes the current set.
    """
    target = DnfRoot(root=root, work=work, repos=repos)
    install = install_phase(target, current)
    if install.status != PASSED:
        return [install, Phase("upgrade", SKIPPED), Phase("erase", SKIPPED)]
    operator = operator_edits(root, current)
    if upcoming is None or next_repo is None:  # both or neither: verify_target
        upgrade = Phase("upgrade", SKIPPED, notes=["no next repository to upgrade to"])
        installed_now = current
    else:
        target = dataclasses.replace(target, repos={**repos, "fuel-next": next_repo})
        upgrade = upgrade_phase(target, current, upcoming, operator)
        installed_now = upcoming if upgrade.status == PASSED else current
    erase = erase_phase(target, installed_now, operator)
    return [install, upgrade, erase]


def install_phase(target: DnfRoot, packages: list[PackageInfo]) -> Phase:
    phase = Phase("install")
    names = sorted(p.name for p in packages)
    result = target.dnf("install", *names)
    phase.add(_transaction_findings("install", result, names))
    installed = target.installed()
    phase.pulled = sorted(set(installed) - set(names))
    phase.add([Finding("install", name, "not installed after 'dnf install'")
               for name in names if name not in installed
               and not any(f.package == name for f in phase.findings)])
    if phase.status == FAILED:
        return phase
    phase.add(check_accounts(target.root, packages, "install"))
    phase.add(check_files(target, packages, "install"))
    unit_findings, notes = check_units(target.root, packages, "install")
    phase.add(unit_findings)
    phase.notes += notes
    return phase


def operator_edits(root: Path, packages: list[PackageInfo]) -> OperatorWork:
    work = OperatorWork()
    for package in packages:
        for config in package.configs():
            path = root / config.path.lstrip("/")
            with open(path, "a") as handle:
                handle.write(f"\n{EDIT_MARK}\n")
            work.configs[config.path] = package.name
        for item in package.files:
            if item.is_dir and not item.is_ghost and item.path.startswith(DATA_ROOTS):
                data_path = f"{item.path}/{DATA_NAME}"
                content = f"written by the operator into {item.path} ({package.name})\n"
                (root / data_path.lstrip("/")).write_text(content)
                work.data[data_path] = content
    return work


def upgrade_phase(target: DnfRoot, current: list[PackageInfo], upcoming: list[PackageInfo],
                  operator: OperatorWork) -> Phase:
    phase = Phase("upgrade")
    names = sorted(p.name for p in upcoming if p.name in {c.name for c in current})
    result = target.dnf("upgrade", *names)
    phase.add(_transaction_findings("upgrade", result, names))
    installed = target.installed()
    for package in upcoming:
        if package.name in names and installed.get(package.name) != package.evr:
            phase.add([Finding("upgrade", package.name, f"is {installed.get(package.name)} after "
                               f"the upgrade, expected {package.evr}")])
    old_digests = {f.path: f.digest for p in current for f in p.configs()}
    new_digests = {f.path: f.digest for p in upcoming for f in p.configs()}
    for path, owner in operator.configs.items():
        live = target.root / path.lstrip("/")
        if not _has_edit(live):
            saved = " (moved to .rpmsave: mark it %config(noreplace))" if _has_edit(
                _sibling(live, ".rpmsave")) else ""
            phase.add([Finding("upgrade", owner, f"{path}: the operator's edit is gone from the "
                               f"live file after the upgrade{saved}")])
        elif path in new_digests and new_digests[path] != old_digests.get(path):
            if _sibling(live, ".rpmnew").is_file():
                phase.notes.append(f"{path}: edit kept, new packaged version in {path}.rpmnew")
            else:
                phase.add([Finding("upgrade", owner, f"{path}: packaged file changed but no "
                                   f"{path}.rpmnew was written")])
    phase.add(_lost_data("upgrade", target.root, operator))
    upgraded = [p for p in upcoming if p.name in names]
    phase.add(check_accounts(target.root, upgraded, "upgrade"))
    phase.add(check_files(target, upgraded, "upgrade", skip_paths=set(operator.configs)))
    return phase


def erase_phase(target: DnfRoot, installed_packages: list[PackageInfo],
                operator: OperatorWork) -> Phase:
    phase = Phase("erase")
    names = sorted(p.name for p in installed_packages)
    result = target.dnf("remove", *names)
    phase.add(_transaction_findings("erase", result, names))
    still = target.installed()
    phase.add([Finding("erase", name, "still installed after 'dnf remove'")
               for name in names if name in still])
    phase.add(_lost_data("erase", target.root, operator))
    for path, owner in operator.configs.items():
        live = target.root / path.lstrip("/")
        if not (_has_edit(live) or _has_edit(_sibling(live, ".rpmsave"))):
            phase.add([Finding("erase", owner, f"{path}: the operator's edited config is gone "
                               "(neither the file nor .rpmsave is left)")])
    for package in installed_packages:
        for item in package.files:
            leftover = target.root / item.path.lstrip("/")
            if (not item.is_dir and not item.is_config and item.path not in operator.data
                    and (leftover.is_file() or leftover.is_symlink())):
                phase.add([Finding("erase", package.name, f"{item.path} is left behind")])
    return phase


def _lost_data(check: str, root: Path, operator: OperatorWork) -> list[Finding]:
    findings = []
    for path, content in operator.data.items():
        file = root / path.lstrip("/")
        if not file.is_file() or file.read_text() != content:
            owner = re.search(r"\(([^)]+)\)\n$", content)
            assert owner is not None, "operator_edits ends every file with (its owner)"
            findings.append(Finding(check, owner.group(1), f"operator data {path} was lost"))
    return findings


def _has_edit(path: Path) -> bool:
    return path.is_file() and EDIT_MARK in path.read_text(errors="replace")


def _sibling(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)


def _transaction_findings(check: str, result: subprocess.CompletedProcess[str],
                          names: list[str]) -> list[Finding]:
    """Failures dnf or rpm reported, each attributed to the package its line names."""
    findings = []
    for line in error_lines(result):
        if not any(key in line.lower() for key in FAILURE_KEYS):
            continue
        findings.append(Finding(check, _named_package(line, names), line))
    named = [f for f in findings if f.package != "-"]
    findings = named or findings  # "Error: Transaction failed" adds nothing to a named failure
    if result.returncode != 0 and not findings:
        findings.append(Finding(check, "-", f"dnf exited with status {result.returncode}"))
    return findings


def _named_package(line: str, names: list[str]) -> str:
    """The package a dnf/rpm message is about: the longest known name followed by -VERSION."""
    for marker in ("needed by ", "in rpm package ", "from install of "):
        line = line.split(marker, 1)[-1]  # name the package that failed, not what it needs
    for name in sorted(names, key=len, reverse=True):
        if re.search(rf"(^|[\s(]){re.escape(name)}(-\d|\b(?!-))", line):
            return name
    return "-"
