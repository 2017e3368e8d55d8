"""The verify stage for one target: lint, closure, install/upgrade/erase; returns a report."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

from ..errors import StageFailed
from ..publish import createrepo_command
from ..targets import TargetProfile
from .closure import unresolved_requirements
from .installtest import lifecycle
from .lint import lint
from .report import TargetReport
from .rootcache import fresh_root
from .rpminfo import repository_packages
from .standin import build_standin


def verify_target(target: TargetProfile, repo: Path, next_repo: Path | None, work: Path,
                  lint_config: Path, root_cache: Path | None = None) -> TargetReport:
    started = time.monotonic()
    repo = repo.resolve()
    packages = repository_packages(repo)
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    lint_result = lint([p.path for p in packages], lint_config)
    base_repo = standin_repository(target, work / "base")
    unresolved = unresolved_requirements(repo, base_repo, work)
    upcoming = repository_packages(next_repo.resolve()) if next_repo else None
    root = fresh_root(work / "root", root_cache)
    phases = lifecycle(packages, upcoming, {"fuel": repo, "base": base_repo},
                       next_repo.resolve() if next_repo else None, root, work)
    report = TargetReport(target=target.name, repository=repo,
                          packages=[p.name for p in packages],
                          size_bytes=sum(p.path.stat().st_size for p in packages),
                          lint_errors=lint_result.errors, lint_warnings=lint_result.warnings,
                          unresolved=unresolved, phases=phases,
                          seconds=time.monotonic() - started, work=work)
    if report.ok:
        shutil.rmtree(root)  # 200 MB; a failed run keeps it for a look inside
    return report


def standin_repository(target: TargetProfile, directory: Path) -> Path:
    build_standin(target, directory)
    result = subprocess.run([createrepo_command(), "--quiet", str(directory)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise StageFailed(f"createrepo_c failed for the stand-in repository: {result.stderr.strip()}")
    return directory
