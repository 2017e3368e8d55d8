"""Command line: buildtool validate | list | render | build | publish | repo | snapshots |
rollback | release-files."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

from . import __version__, gate, keyhome, pipeline, reference, signing
from . import publish as publish_stage
from .backends import add_farm_arguments, farm_options, select_backend
from .build import FAILED, SKIPPED
from .errors import EXIT_FAILED, UserError
from .graph import Graph
from .render import check_spec
from .report import Reporter, Timer, outcome_json, write_json
from .sandbox import create as make_sandbox
from .sources import FetchedSource, default_cache_dir
from .targets import TargetProfile, load_target
from .verify import command as verify_command

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
  buildtool publish --sign-key 0xKEYID --passphrase-env FUEL_SIGN_PASS
  buildtool snapshots --target el9
  buildtool rollback --target el9 [--to SNAPSHOT]
  buildtool release-files --target el9 --out /tmp/fuel-release --sign-key 0xKEYID

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
    common.add_argument("-k", "--keep-going", action="store_true",
                        help="after a failed build, build everything that does not need it "
                             "(default: start no new build; exit status 1 either way)")
    common.add_argument("--backend", choices=["auto", "mock", "rpmbuild", "copr", "koji"],
                        default="auto", help="auto = mock where installed, else host rpmbuild; "
                        "copr, koji = a build farm (see README: Build farms)")
    common.add_argument("--no-sandbox", dest="sandbox", action="store_false",
                        help="run package code (setup.py, %%prep, %%build, %%install) unconfined "
                             "on this host instead of in the bubblewrap sandbox (warns)")
    common.add_argument("--build-dir", type=Path, default=pipeline.Settings().build_dir,
                        help="work directory (default: build/)")
    common.add_argument("--dist-dir", type=Path, default=pipeline.Settings().dist_dir,
                        help="published repositories (default: dist/)")
    common.add_argument("--keep", type=int, default=5, help="repository snapshots to keep")
    common.add_argument("--keep-versions", type=int, default=2, metavar="N",
                        help="versions of each package a snapshot carries, newest included "
                             "(default 2: one to downgrade to)")
    common.add_argument("--no-wait", action="store_true",
                        help="fail at once if another publish holds the repository (default: wait)")
    common.add_argument("--sign-key", metavar="KEYID",
                        help="sign RPMs and repomd.xml with this secret key of $GNUPGHOME")
    common.add_argument("--sign-key-file", type=Path, metavar="FILE",
                        help="sign with the secret key in this armored file (private keyring)")
    common.add_argument("--passphrase-env", metavar="VAR",
                        help="environment variable holding the key's passphrase (default: agent)")
    common.add_argument("--base-url", metavar="URL",
                        help="where dist/repos is served, for the .repo files "
                             "(default: repo-config/repos/repo.yaml, else file://DIST/repos)")
    common.add_argument("--config-dir", type=Path, default=pipeline.Settings().config_root,
                        metavar="DIR", help="directory holding repo-config/ (targets, macros, "
                        "distribution data, .repo templates; default: this repository's)")
    common.add_argument("--json", action="store_true", help="print a machine summary on stdout")
    add_farm_arguments(common)
    common.add_argument("-v", "--verbose", action="store_true", help="say more")

    top = argparse.ArgumentParser(prog="buildtool", description=DESCRIPTION, epilog=EPILOG,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
    top.add_argument("--version", action="version", version=f"buildtool {__version__}")
    sub = top.add_subparsers(dest="command", metavar="COMMAND", required=True)
    validate = sub.add_parser("validate", parents=[common], help="check the manifest and exit")
    validate.add_argument("--explain", metavar="KEY", help="print the manifest reference of KEY "
                          "(e.g. services.user; all keys: docs/manifest.md) and exit")
    sub.add_parser("list", parents=[common], help="list the packages of the active profiles")
    render = sub.add_parser("render", parents=[common], help="write build/<target>/SPECS")
    render.add_argument("--check", action="store_true",
                        help="also run rpmspec -P with the target's macros on every spec")
    sub.add_parser("build", parents=[common], help="render, fetch sources and build RPMs")
    sub.add_parser("publish", parents=[common], help="publish built RPMs as a repository snapshot")
    sub.add_parser("repo", parents=[common], help="render, build and publish (the main job)")
    verify_command.add_parser(sub, common)
    sub.add_parser("snapshots", parents=[common],
                   help="list the repository snapshots: date, packages, what changed")
    rollback = sub.add_parser("rollback", parents=[common],
                              help="make an earlier snapshot current (atomically)")
    rollback.add_argument("--to", metavar="SNAPSHOT",
                          help="snapshot id (default: the one before the current one)")
    release = sub.add_parser("release-files", parents=[common],
                             help="write fuel-release's sources: the .repo file, key, fuel_release")
    release.add_argument("--out", type=Path, required=True, metavar="DIR",
                         help="directory the manifest's fuel-release package takes its source from")
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
        keep_going=args.keep_going,
        sandbox=args.sandbox,
        build_dir=args.build_dir.resolve(), dist_dir=args.dist_dir.resolve(),
        cache_dir=default_cache_dir(),
        keep=args.keep, keep_versions=args.keep_versions, wait_for_lock=not args.no_wait,
        # the passphrase variable leaves the environment here, before anything else runs
        signing=signing.config_from(args.sign_key, args.sign_key_file, args.passphrase_env),
        base_url=args.base_url, config_root=args.config_dir.resolve())


class Terminated(BaseException):
    """SIGTERM: unwind like Ctrl-C, so that the signing process and a staged snapshot go."""


def _terminate(number: int, frame: FrameType | None) -> None:
    raise Terminated()


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    reporter = Reporter(sys.stderr, verbose=args.verbose)
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _terminate)
        try:
            return _main(args, reporter)
        finally:
            signal.signal(signal.SIGTERM, previous)
    return _main(args, reporter)


def _main(args: argparse.Namespace, reporter: Reporter) -> int:
    try:
        settings = settings_from(args)
        keyhome.sweep_stale()  # what a SIGKILLed signing process left behind
        return COMMANDS[args.command](args, settings, reporter)
    except UserError as error:
        reporter.warn(f"buildtool: error: {error}")
        if getattr(args, "json", False):  # CI gets its summary on failure too
            write_json({"ok": False, "error": str(error), "exit_status": error.exit_status})
        return error.exit_status
    except KeyboardInterrupt:
        reporter.warn("buildtool: interrupted; the published repository is unchanged")
        return 130
    except Terminated:
        reporter.warn("buildtool: terminated; the published repository is unchanged")
        return 128 + signal.SIGTERM
    except OSError as error:  # the machine said no (permissions, disk full): one line, not a trace
        where = f": {error.filename}" if error.filename else ""
        reporter.warn(f"buildtool: error: {error.strerror or error}{where} "
                      "(hint: check permissions and free space)")
        return EXIT_FAILED


def cmd_validate(args: argparse.Namespace, settings: pipeline.Settings, reporter: Reporter) -> int:
    if args.explain:
        print(reference.explain(args.explain, settings.manifest), end="")
        return 0
    manifest, targets = pipeline.load(settings)
    reporter.info(f"{manifest.path}: ok, {len(manifest.packages)} packages "
                  f"(profiles: {', '.join(manifest.profiles)})")
    if args.json:
        write_json({"manifest": str(manifest.path), "valid": True,
                    "packages": sorted(manifest.packages)})
    return 0


def cmd_list(args: argparse.Namespace, settings: pipeline.Settings, reporter: Reporter) -> int:
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


def cmd_render(args: argparse.Namespace, settings: pipeline.Settings, reporter: Reporter) -> int:
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


def cmd_build(args: argparse.Namespace, settings: pipeline.Settings, reporter: Reporter) -> int:
    signer = signing.prepare(settings.signing)  # public key only: fuel-release ships it
    return _run(args, settings, reporter, publish=False, signer=signer)


def cmd_repo(args: argparse.Namespace, settings: pipeline.Settings, reporter: Reporter) -> int:
    return _run(args, settings, reporter, publish=True, signer=_signer(settings, reporter))


def cmd_publish(args: argparse.Namespace, settings: pipeline.Settings, reporter: Reporter) -> int:
    manifest, targets = pipeline.load(settings)
    graph = pipeline.plan_graph(manifest, settings)
    summary, status = {}, 0
    signer = _signer(settings, reporter)
    for target in targets:
        names = _graph_for(graph, target, reporter)[0].order()
        rpms = pipeline.built_rpms(manifest, target, settings, names)
        gated = gate.installable(
            rpms, {}, target, target.distro_data_file(settings.config_root),
            pipeline.target_root(settings, target) / "gate")
        for name, why in gated.held_back.items():
            reporter.warn(f"{target.name}: held back {name}: {why}")
        status = EXIT_FAILED if gated.held_back else status
        summary[target.name] = {"held_back": gated.held_back}
        if gated.rpms:
            result = pipeline.publish(gated.rpms, target, settings, signer,
                                      pipeline.built_srpms(target, settings, names))
            pipeline.record_releases(settings, target, names)
            summary[target.name].update(_publish_json(result))
            _report_publish(reporter, target.name, result)
    if args.json:
        write_json({"ok": status == 0, "targets": summary})
    return status


def _run(args: argparse.Namespace, settings: pipeline.Settings, reporter: Reporter,
         publish: bool, signer: signing.Signer | None = None) -> int:
    manifest, targets = pipeline.load(settings)
    full_graph = pipeline.plan_graph(manifest, settings)
    sandbox = make_sandbox(settings.sandbox, reporter.warn)
    backend = select_backend(settings.backend, warn=reporter.warn, sandbox=sandbox,
                             farm=farm_options(args))
    summary, status = {}, 0
    for target in targets:
        timer = Timer()
        graph, not_built = _graph_for(full_graph, target, reporter)
        rendered = pipeline.render(manifest, target, settings, graph)
        fetch_failures: dict[str, str] = {}
        fetched = pipeline.fetch_sources(manifest, rendered, target, settings, signer,
                                         failures=fetch_failures, sandbox=sandbox)
        graph, unbuildable = pipeline.without_failed_fetches(graph, fetch_failures)
        rendered = {name: rendered[name] for name in graph.order()}
        pipeline.assign_releases(manifest, rendered, fetched, target, settings)
        reporter.start_build(len(rendered), target.name)
        outcomes = pipeline.build(manifest, target, settings, graph, rendered, fetched, backend,
                                  reporter.event)
        outcomes = {**unbuildable, **outcomes}
        reporter.summary(target.name, outcomes, timer.seconds)
        failed = any(o.status in (FAILED, SKIPPED) for o in outcomes.values())
        target_summary = {"backend": backend.name, "seconds": round(timer.seconds, 3),
                          "sandbox": backend.clean_room or backend.sandbox is not None,
                          "packages": {name: dict(outcome_json(o), source=source_json(fetched.get(name)))
                                       for name, o in outcomes.items()},
                          "not_on_target": not_built}
        if hasattr(backend, "run_summary"):  # a build farm: build ids, states, log URLs
            target_summary[backend.name] = backend.run_summary(target)
        if publish and (remote := getattr(backend, "remote_repository", lambda _: None)(target)):
            reporter.info(f"{target.name}: not published here, Copr serves the packages: {remote}")
        elif publish:
            gated = pipeline.installable_set(manifest, target, settings, outcomes)
            for name, why in gated.held_back.items():
                reporter.warn(f"{target.name}: held back {name}: {why}")
            target_summary["held_back"] = gated.held_back
            target_summary["kept_previous"] = gated.kept_previous
            if gated.rpms:
                published = {rpm.name for rpm in gated.rpms}
                shipped = [name for name, o in outcomes.items()
                           if o.rpms and all(rpm.name in published for rpm in o.rpms)]
                result = pipeline.publish(gated.rpms, target, settings, signer,
                                          [srpm for n in shipped if (srpm := outcomes[n].srpm)])
                target_summary["publish"] = _publish_json(result)
                _report_publish(reporter, target.name, result)
                pipeline.record_releases(settings, target, shipped)
            failed = failed or bool(gated.held_back)
        summary[target.name] = target_summary
        status = EXIT_FAILED if failed else status
    if args.json:
        write_json({"ok": status == 0, "targets": summary})
    return status


def source_json(source: FetchedSource | None) -> dict[str, str | None] | None:
    """What a package was built from; a git source's ref as the commit id it resolved to."""
    if source is None:
        return None
    return {"file": source.filename, "sha256": source.sha256, "commit": source.commit}


def _graph_for(graph: Graph, target: TargetProfile,
               reporter: Reporter) -> tuple[Graph, dict[str, str]]:
    """The run's graph for one target; says which packages the target cannot carry and why."""
    target_graph, not_built = pipeline.target_graph(graph, target)
    for name, reason in not_built.items():
        reporter.info(f"{target.name}: not built: {name}: {reason}")
    return target_graph, not_built


def _signer(settings: pipeline.Settings, reporter: Reporter) -> signing.Signer | None:
    """The key resolved and its public half exported, before any build; signing itself happens
    in a separate process when publish needs it."""
    if not settings.signing.enabled:
        reporter.warn("buildtool: warning: publishing unsigned (no --sign-key): the .repo files "
                      "say gpgcheck=0; fine for local work, not for a release")
    return signing.prepare(settings.signing)


def _targets_without_manifest(settings: pipeline.Settings) -> list[TargetProfile]:
    """Repository commands work from the targets alone: a broken manifest must never stand in
    the way of a rollback, and fuel-release's files are written before the manifest needs them."""
    return [load_target(settings.config_root, name) for name in settings.targets]


def cmd_snapshots(args: argparse.Namespace, settings: pipeline.Settings, reporter: Reporter) -> int:
    targets = _targets_without_manifest(settings)
    listing = {target.name: publish_stage.list_snapshots(settings.dist_dir, target.name)
               for target in targets}
    if args.json:
        write_json({name: [_snapshot_json(info) for info in infos]
                    for name, infos in listing.items()})
        return 0
    for name, infos in listing.items():
        print(f"{name}: {len(infos)} snapshot(s) in "
              f"{publish_stage.repo_dir(settings.dist_dir, name) / 'snapshots'}")
        for info in infos:
            print("  " + _snapshot_line(info))
    return 0


def _snapshot_line(info: publish_stage.SnapshotInfo) -> str:
    mark = "*" if info.current else " "
    if info.record is None:
        return f"{mark} {info.path.name}  (no record)"
    heads = len(info.record.heads)
    older = len(info.record.entries) - heads
    signed = "signed" if info.record.signed_by else "unsigned"
    changes = ([f"+{item}" for item in info.added] + [f"-{item}" for item in info.removed]
               + [f"~{item}" for item in info.updated])
    return (f"{mark} {info.path.name}  {info.record.created}  {heads} package(s) "
            f"(+{older} older)  {signed}  {'; '.join(changes) or 'no package change'}")


def _snapshot_json(info: publish_stage.SnapshotInfo) -> dict[str, Any]:
    record = info.record
    return {"id": info.path.name, "current": info.current,
            "created": record.created if record else None,
            "packages": len(record.heads) if record else None,
            "older_versions": len(record.entries) - len(record.heads) if record else None,
            "signed_by": record.signed_by if record else None,
            "added": info.added, "removed": info.removed, "updated": info.updated}


def cmd_rollback(args: argparse.Namespace, settings: pipeline.Settings, reporter: Reporter) -> int:
    targets = _targets_without_manifest(settings)
    for target in targets:
        chosen = publish_stage.rollback(settings.dist_dir, target.name, args.to,
                                        wait=settings.wait_for_lock)
        reporter.info(f"{target.name}: current is now snapshot {chosen.name}")
        if args.json:
            write_json({"target": target.name, "current": chosen.name})
    return 0


def cmd_release_files(args: argparse.Namespace, settings: pipeline.Settings,
                      reporter: Reporter) -> int:
    targets = _targets_without_manifest(settings)
    if len(targets) != 1:
        raise UserError("release-files writes one target's files", "give exactly one --target")
    written = pipeline.release_files(args.out, targets[0], settings, _signer(settings, reporter))
    reporter.info(f"{targets[0].name}: wrote {', '.join(p.name for p in written)} in {args.out}")
    return 0


def _publish_json(result: publish_stage.PublishResult) -> dict[str, Any]:
    return {"repository": str(result.repo_dir / "current"), "snapshot": result.snapshot.name,
            "changed": result.changed, "packages": result.packages,
            "older_versions": result.retained, "signed": result.signed}


def _report_publish(reporter: Reporter, target: str, result: publish_stage.PublishResult) -> None:
    verb = "published" if result.changed else "unchanged"
    reporter.info(f"{target}: {verb} {result.packages} RPM(s) at {result.repo_dir / 'current'} "
                  f"(snapshot {result.snapshot.name})")


COMMANDS = {"validate": cmd_validate, "list": cmd_list, "render": cmd_render,
            "build": cmd_build, "publish": cmd_publish, "repo": cmd_repo,
            "snapshots": cmd_snapshots, "rollback": cmd_rollback,
            "release-files": cmd_release_files, "verify": verify_command.cmd_verify}


if __name__ == "__main__":
    sys.exit(main())
