"""The verify stage for one target: lint, closure, install/upgrade/erase; returns a report."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from .. import distrodata
from ..targets import TargetProfile
from .closure import closure_findings
from .installtest import Phase, lifecycle
from .lint import lint
from .report import TargetReport
from .rootcache import fresh_root
from .rpminfo import repository_packages
from .runnable import not_runnable
from .standin import standin_repositories


def verify_target(target: TargetProfile, repo: Path, next_repo: Path | None, work: Path,
                  lint_config: Path, data_file: Path,
                  root_cache: Path | None = None) -> TargetReport:
    started = time.monotonic()
    repo = repo.resolve()
    packages = repository_packages(repo)
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    lint_result = lint([p.path for p in packages], lint_config)
    distro_packages = distrodata.load(data_file)
    distro = standin_repositories(target, distro_packages, work / "distro")
    unresolved, unverified = closure_findings(repo, distro, work, target.name)
    upcoming = repository_packages(next_repo.resolve()) if next_repo else None
    root = fresh_root(work / "root", root_cache)
    phases = lifecycle(packages, upcoming, {"fuel": repo, **distro},
                       next_repo.resolve() if next_repo else None, root, work)
    report = TargetReport(target=target.name, repository=repo,
                          packages=[p.name for p in packages],
                          size_bytes=sum(p.path.stat().st_size for p in packages),
                          lint_errors=lint_result.errors, lint_warnings=lint_result.warnings,
                          unresolved=unresolved, unverified=unverified, phases=phases,
                          not_runnable=not_runnable(packages, unresolved, target.name,
                                                    target.python_version),
                          pulled=_pulled(phases, distro_packages),
                          unavailable=dict(target.unavailable), data_file=data_file,
                          seconds=time.monotonic() - started, work=work)
    if report.ok:
        shutil.rmtree(root)  # 200 MB; a failed run keeps it for a look inside
    return report


def _pulled(phases: list[Phase],
            distro_packages: list[distrodata.DistroPackage]) -> list[dict[str, str | None]]:
    """The distribution packages `dnf install` pulled in, with where they come from."""
    by_name = {p.name: p for p in distro_packages}
    install = next(p for p in phases if p.name == "install")
    return [{"name": name, "evr": by_name[name].evr, "repository": by_name[name].repository,
             "status": by_name[name].status} for name in install.pulled if name in by_name]
