"""`buildtool verify`: the command line side of the verify stage."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .. import pipeline
from ..errors import EXIT_FAILED, UserError
from ..publish import repo_dir
from ..report import Reporter, write_json
from ..targets import TargetProfile
from .lint import assemble_config, distribution_config, rpmlint_dir
from .nextbuild import build_next_repo
from .report import print_report, report_json
from .run import verify_target


def lint_config(settings: pipeline.Settings, target: TargetProfile) -> Path:
    """The target distribution's rpmlint configuration with Fuel's filters on top."""
    return assemble_config(distribution_config(settings.config_root, target),
                           rpmlint_dir(settings.config_root) / "fuel.toml",
                           settings.build_dir / "rpmlint" / target.name)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser],
               common: argparse.ArgumentParser) -> None:
    verify = sub.add_parser(
        "verify", parents=[common],
        help="lint, closure, install/upgrade/erase test of the published repository")
    verify.add_argument("--repo", type=Path, metavar="DIR",
                        help="repository to verify (default: dist/repos/<target>/current)")
    verify.add_argument("--next-repo", type=Path, metavar="DIR",
                        help="repository to upgrade to (default: build the manifest again with "
                             "a bumped release and changed configs)")
    verify.add_argument("--no-upgrade", action="store_true",
                        help="install and erase only, no upgrade build")
    verify.add_argument("--distro-data", type=Path, metavar="FILE",
                        help="what the distribution provides (default: "
                             "repo-config/distro-data/<target>.tsv)")


def cmd_verify(args: argparse.Namespace, settings: pipeline.Settings, reporter: Reporter) -> int:
    _, targets = pipeline.load(settings)
    if args.repo and len(targets) > 1:
        raise UserError("--repo names one repository but several targets were given",
                        "verify one --target at a time with --repo")
    reports = []
    for target in targets:
        repo = args.repo or repo_dir(settings.dist_dir, target.name) / "current"
        if not repo.is_dir():
            raise UserError(f"{repo} does not exist",
                            f"run 'buildtool repo --target {target.name}' (or make repo) first")
        reporter.info(f"{target.name}: verifying {repo}")
        next_repo = None if args.no_upgrade else args.next_repo
        if next_repo is None and not args.no_upgrade:
            reporter.info(f"{target.name}: building the next release for the upgrade test")
            next_repo = build_next_repo(settings, target,
                                        settings.build_dir / "verify-next" / target.name)
        data_file = args.distro_data or target.distro_data_file(settings.config_root)
        reports.append(verify_target(target, repo, next_repo,
                                     settings.build_dir / "verify" / target.name,
                                     lint_config(settings, target),
                                     data_file))
    print_report(reports, sys.stderr)
    if args.json:
        write_json(report_json(reports))
    return 0 if all(report.ok for report in reports) else EXIT_FAILED
