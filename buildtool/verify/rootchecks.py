"""Checks of a root after a transaction: users and groups, files and modes, systemd units."""

from __future__ import annotations

import shutil
from collections.abc import Set as AbstractSet
from pathlib import Path

from ..tooloutput import clean_lines
from .dnfroot import DnfRoot
from .findings import Finding
from .rpminfo import PackageInfo
from .tools import run

UNIT_DIR = "/usr/lib/systemd/system/"
SYSUSERS_DIR = "/usr/lib/sysusers.d/"


def names_in(root: Path, database: str) -> set[str]:
    """User or group names of the root's /etc/passwd or /etc/group."""
    path = root / "etc" / database
    lines = path.read_text().splitlines() if path.is_file() else []
    return {line.split(":", 1)[0] for line in lines if ":" in line}


def check_accounts(root: Path, packages: list[PackageInfo], check: str) -> list[Finding]:
    """Every owner and group of a packaged file, and every sysusers.d entry, exists in the root."""
    users, groups = names_in(root, "passwd"), names_in(root, "group")
    findings = []
    for package in packages:
        wanted_users = {f.owner for f in package.files} | set(_sysusers(root, package, "u"))
        wanted_groups = {f.group for f in package.files} | set(_sysusers(root, package, "g"))
        wanted_groups |= set(_sysusers(root, package, "u"))  # `u name` creates a group of that name too
        findings += [Finding(check, package.name, f"user '{name}' does not exist in the root")
                     for name in sorted(wanted_users - users)]
        findings += [Finding(check, package.name, f"group '{name}' does not exist in the root")
                     for name in sorted(wanted_groups - groups)]
    return findings


def _sysusers(root: Path, package: PackageInfo, kind: str) -> list[str]:
    names = []
    for item in package.files:
        if item.path.startswith(SYSUSERS_DIR) and item.is_regular:
            path = root / item.path.lstrip("/")
            for line in (path.read_text().splitlines() if path.is_file() else []):
                words = line.split()
                if len(words) >= 2 and words[0] == kind:
                    names.append(words[1])
    return names


def check_files(target: DnfRoot, packages: list[PackageInfo], check: str,
                skip_paths: AbstractSet[str] = frozenset()) -> list[Finding]:
    """`rpm -V`: every installed file has the mode, owner, group, size and digest its RPM declares."""
    findings = []
    for package in packages:
        result = target.rpm("-V", package.name)
        for line in clean_lines(result.stdout + "\n" + result.stderr):
            path = line.split()[-1]
            if path not in skip_paths:
                findings.append(Finding(check, package.name, f"rpm -V: {line.strip()}"))
    return findings


def check_units(root: Path, packages: list[PackageInfo], check: str) -> tuple[list[Finding], list[str]]:
    """Packaged units exist in the root and pass `systemd-analyze verify --root`."""
    analyze = shutil.which("systemd-analyze")
    findings, notes = [], []
    for package in packages:
        for item in package.files:
            if not (item.path.startswith(UNIT_DIR) and item.is_regular):
                continue
            unit = item.path.removeprefix(UNIT_DIR)
            if not (root / item.path.lstrip("/")).is_file():
                findings.append(Finding(check, package.name, f"unit {unit} is not in the root"))
                continue
            if analyze is None:
                notes.append(f"{unit}: systemd-analyze is not installed, unit not verified")
                continue
            # a template unit is verified through one instance of it
            name = unit.replace("@.", "@buildtool-verify.", 1)
            result = run([analyze, "verify", "--man=no", f"--root={root}", name])
            problems = clean_lines(result.stdout + "\n" + result.stderr)
            if result.returncode != 0 or problems:
                detail = "; ".join(problems) or f"exit status {result.returncode}"
                findings.append(Finding(check, package.name,
                                        f"systemd-analyze verify {unit}: {detail}"))
    return findings, notes
