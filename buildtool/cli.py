"""Command line: buildtool validate | list | render | build | publish | repo."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from . import __version__, pipeline
from .backends import select_backend
from .build import FAILED, SKIPPED
from .errors import EXIT_FAILED, UserError
from .render import check_spec
from .report import Reporter, Timer, outcome_json, write_json
from .sources import default_cache_dir

DESCRIPTION = """\
Turn the Fuel service manifest into RPM specs, RPMs and a yum/dnf repository.

stages: validate -> render -> build (fetch sources, SRPM, RPMs) -> publish.
`buildtool repo` runs them all; each can run alone.
"""

EPILOG = """\
examples:
  buildtool validate
  buildtool list --profile upstream
  buildtool render --target fedora --check
  buildtool build --only python3-fuelclient -j 2
  buildtool repo --target el9 --json > summary.json
  buildtool repo --profile upstream --source nailgun=~/src/fuel-web

exit status: 0 success, 1 a build or publish failed, 2 bad input (manifest, arguments, tools).
"""


def parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--manifest", "-m", type=Path, default=pipeline.Settings().manifest,
                        help="service manifest (default: fuel.yaml of this repository)")
    common.add_argument("--target", "-t", action="append", dest="targets", metavar="TARGET",
                        help="target distribution, repeatable (default: el9; see repo-config/targets)")
    common.add_argument("--profile", "-p", action="append", dest="profiles", default=[],
                        metavar="PROFILE", help="add a package profile, e.g. upstream (repeatable)")
    common.add_argument("--source", action="append", dest="sources", default=[],
                        metavar="NAME=PATH", help="build package NAME from a local checkout")
    common.add_argument("--only", action="append", default=[], metavar="PKG",
                        help="only this package and its internal dependencies (repeatable)")
    common.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 2,
                        help="parallel builds (default: number of cores)")
    common.add_argument("--backend", choices=["auto", "mock", "rpmbuild"], default="auto",
                        help="auto = mock where installed, else host rpmbuild")
    common.add_argument("--build-dir", type=Path, default=pipeline.Settings().build_dir,
                        help="work directory (default: build/)")
    common.add_argument("--dist-dir", type=Path, default=pipeline.Settings().dist_dir,
                        help="published repositories (default: dist/)")
    common.add_argument("--keep", type=int, default=5, help="repository snapshots to keep")
    common.add_argument("--json", action="store_true", help="print a machine summary on stdout")
    common.add_argument("-v", "--verbose", action="store_true", help="say more")

    top = argparse.ArgumentParser(prog="buildtool", description=DESCRIPTION, epilog=EPILOG,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
    top.add_argument("--version", action="version", version=f"buildtool {__version__}")
    sub = top.add_subparsers(dest="command", metavar="COMMAND", required=True)
    sub.add_parser("validate", parents=[common], help="check the manifest and exit")
    sub.add_parser("list", parents=[common], help="list the packages of the active profiles")
    render = sub.add_parser("render", parents=[common], help="write build/<target>/SPECS")
    render.add_argument("--check", action="store_true",
                        help="also run rpmspec -P with the target's macros on every spec")
    sub.add_parser("build", parents=[common], help="render, fetch sources and build RPMs")
    sub.add_parser("publish", parents=[common], help="publish built RPMs as a repository snapshot")
    sub.add_parser("repo", parents=[common], help="render, build and publish (the main job)")
    return top


def settings_from(args: argparse.Namespace) -> pipeline.Settings:
    overrides = {}
    for item in args.sources:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise UserError(f"--source {item}: expected NAME=PATH", "e.g. --source nailgun=../fuel-web")
        overrides[name] = path
    if args.jobs < 1:
        raise UserError(f"-j {args.jobs}: must be at least 1")
    return pipeline.Settings(
        manifest=args.manifest, targets=args.targets or ["el9"], profiles=args.profiles,
        source_overrides=overrides, only=args.only, jobs=args.jobs, backend=args.backend,
        build_dir=args.build_dir, dist_dir=args.dist_dir, cache_dir=default_cache_dir(),
        keep=args.keep)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    reporter = Reporter(sys.stderr, verbose=args.verbose)
    try:
        return COMMANDS[args.command](args, settings_from(args), reporter)
    except UserError as error:
        reporter.warn(f"buildtool: error: {error}")
        return error.exit_status
    except KeyboardInterrupt:
        reporter.warn("buildtool: interrupted; the published repository is unchanged")
        return 130


def cmd_validate(args, settings, reporter) -> int:
    manifest, targets = pipeline.load(settings)
    reporter.info(f"{manifest.path}: ok, {len(manifest.packages)} packages "
                  f"(profiles: {', '.join(manifest.profiles)})")
    if args.json:
        write_json({"manifest": str(manifest.path), "valid": True,
                    "packages": sorted(manifest.packages)})
    return 0


def cmd_list(args, settings, reporter) -> int:
    manifest, _ = pipeline.load(settings)
    graph = pipeline.plan_graph(manifest, settings)
    rows = []
    for name in graph.order():
        package = manifest.packages[name]
        rows.append({"name": name, "version": f"{package.version}-{package.release}",
                     "kind": package.kind, "profile": package.profile,
                     "needs": sorted(graph.deps[name])})
    if args.json:
        write_json({"packages": rows})
        return 0
    width = max([len(r["name"]) for r in rows] + [4])
    print(f"{'name':<{width}}  {'version':<14} {'kind':<7} {'profile':<9} needs")
    for row in rows:
        print(f"{row['name']:<{width}}  {row['version']:<14} {row['kind']:<7} {row['profile']:<9} "
              f"{', '.join(row['needs']) or '-'}")
    return 0


def cmd_render(args, settings, reporter) -> int:
    manifest, targets = pipeline.load(settings)
    graph = pipeline.plan_graph(manifest, settings)
    summary = {}
    for target in targets:
        rendered = pipeline.render(manifest, target, settings, graph)
        if args.check:
            for item in rendered.values():
                check_spec(item.spec, target)
        summary[target.name] = {name: str(item.spec) for name, item in rendered.items()}
        reporter.info(f"{target.name}: rendered {len(rendered)} spec(s) in "
                      f"{pipeline.target_root(settings, target) / 'SPECS'}"
                      + (" (rpmspec -P clean)" if args.check else ""))
    if args.json:
        write_json({"specs": summary})
    return 0


def cmd_build(args, settings, reporter) -> int:
    return _run(args, settings, reporter, publish=False)


def cmd_repo(args, settings, reporter) -> int:
    return _run(args, settings, reporter, publish=True)


def cmd_publish(args, settings, reporter) -> int:
    manifest, targets = pipeline.load(settings)
    graph = pipeline.plan_graph(manifest, settings)
    summary = {}
    for target in targets:
        rpms = pipeline.built_rpms(manifest, target, settings, graph.order())
        result = pipeline.publish(rpms, target, settings)
        summary[target.name] = _publish_json(result)
        _report_publish(reporter, target.name, result)
    if args.json:
        write_json({"targets": summary})
    return 0


def _run(args, settings, reporter, publish: bool) -> int:
    manifest, targets = pipeline.load(settings)
    graph = pipeline.plan_graph(manifest, settings)
    backend = select_backend(settings.backend, warn=reporter.warn)
    summary, status = {}, 0
    for target in targets:
        timer = Timer()
        rendered = pipeline.render(manifest, target, settings, graph)
        fetched = pipeline.fetch_sources(manifest, rendered, settings)
        reporter.start_build(len(rendered), target.name)
        outcomes = pipeline.build(manifest, target, settings, graph, rendered, fetched, backend,
                                  reporter.event)
        reporter.summary(target.name, outcomes, timer.seconds)
        failed = any(o.status in (FAILED, SKIPPED) for o in outcomes.values())
        target_summary = {"backend": backend.name, "seconds": round(timer.seconds, 3),
                          "packages": {name: outcome_json(o) for name, o in outcomes.items()}}
        if publish:
            good = [name for name, o in outcomes.items() if o.status not in (FAILED, SKIPPED)]
            if good:
                result = pipeline.publish(
                    [rpm for name in good for rpm in outcomes[name].rpms], target, settings)
                target_summary["publish"] = _publish_json(result)
                _report_publish(reporter, target.name, result)
            if failed:
                reporter.warn(f"{target.name}: published without the failed and skipped packages")
        summary[target.name] = target_summary
        status = EXIT_FAILED if failed else status
    if args.json:
        write_json({"ok": status == 0, "targets": summary})
    return status


def _publish_json(result) -> dict:
    return {"repository": str(result.repo_dir / "current"), "snapshot": result.snapshot.name,
            "changed": result.changed, "packages": result.packages}


def _report_publish(reporter, target: str, result) -> None:
    verb = "published" if result.changed else "unchanged"
    reporter.info(f"{target}: {verb} {result.packages} RPM(s) at {result.repo_dir / 'current'} "
                  f"(snapshot {result.snapshot.name})")


COMMANDS = {"validate": cmd_validate, "list": cmd_list, "render": cmd_render,
            "build": cmd_build, "publish": cmd_publish, "repo": cmd_repo}


if __name__ == "__main__":
    sys.exit(main())
