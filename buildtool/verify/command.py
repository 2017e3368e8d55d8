"""`buildtool verify`: the command line side of the verify stage (its options: cli.py)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from .. import layout, pipeline
from ..errors import EXIT_FAILED, UserError
from ..report import write_json
from .lint import assemble_config, distribution_config, rpmlint_dir
from .nextbuild import build_next_repo
from .report import print_report, report_json
from .run import verify_target

if TYPE_CHECKING:
    import argparse

    from ..report import Reporter
    from ..targets import TargetProfile


def lint_config(settings: pipeline.Settings, target: TargetProfile) -> Path:
    """The target distribution's rpmlint configuration with Fuel's filters on top."""
    return assemble_config(distribution_config(settings.config_root, target),
                           rpmlint_dir(settings.config_root) / "fuel.toml",
                           layout.rpmlint_config_dir(settings.build_dir, target.name))


def cmd_verify(args: argparse.Namespace, settings: pipeline.Settings, reporter: Reporter) -> int:
    _, targets = pipeline.load(settings)
    if args.repo and len(targets) > 1:
        raise UserError("--repo names one repository but several targets were given",
                        "verify one --target at a time with --repo")
    reports = []
    for target in targets:
        repo = args.repo or layout.current_link(layout.repo_dir(settings.dist_dir, target.name))
        if not repo.is_dir():
            raise UserError(f"{repo} does not exist",
                            f"run 'buildtool repo --target {target.name}' (or make repo) first")
        reporter.info(f"{target.name}: verifying {repo}")
        next_repo = None if args.no_upgrade else args.next_repo
        if next_repo is None and not args.no_upgrade:
            reporter.info(f"{target.name}: building the next release for the upgrade test")
            next_repo = build_next_repo(settings, target)
        data_file = args.distro_data or target.distro_data_file(settings.config_root)
        reports.append(verify_target(target, repo, next_repo,
                                     layout.verify_work(settings.build_dir, target.name),
                                     lint_config(settings, target),
                                     data_file))
    print_report(reports, sys.stderr, quiet=reporter.quiet)
    if args.json:
        write_json(report_json(reports))
    return 0 if all(report.ok for report in reports) else EXIT_FAILED
