# PYTHON_ARGCOMPLETE_OK (shell completion: see enable_completion)
"""Command line: buildtool validate | list | render | build | publish | repo | verify | snapshots |
rollback | release-files.

Each command takes exactly the options it uses, from shared option groups (manifest, targets,
directories, build, signing, publish, output). The stage modules are imported when a command
runs, so that --help, completion and validate start without them.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from . import __version__, interrupt, layout, locations
from .errors import EXIT_FAILED, UserError

if TYPE_CHECKING:  # the modules themselves are imported where a command runs (see above)
    from . import pipeline
    from . import publish as publish_stage
    from .backends import Backend
    from .report import Reporter
    from .signing import Signer
    from .sources import FetchedSource
    from .targets import TargetProfile

DESCRIPTION = """\
Turn the Fuel service manifest into RPM specs, RPMs and a yum/dnf repository.

stages: validate -> render -> build (fetch sources, SRPM, RPMs) -> publish -> verify.
`buildtool repo` runs the first four; each can run alone. `buildtool COMMAND --help` lists the
options of one command.
"""

EXIT_BROKEN_PIPE = 128 + signal.SIGPIPE
EXIT_INTERRUPTED = 128 + signal.SIGINT
EXIT_TERMINATED = 128 + signal.SIGTERM

EXIT_CODES = f"""\
exit status:
  0    success
  1    a build, publish gate or verify check failed; or the system refused (disk, permissions)
  2    bad input: manifest, arguments, unknown target, missing tool
  {EXIT_BROKEN_PIPE}  the reader of the output went away (e.g. `buildtool list | head -1`)
  {EXIT_INTERRUPTED}  interrupted (Ctrl-C); {EXIT_TERMINATED}: terminated (SIGTERM). The published
       repository is unchanged either way.
"""

EPILOG = """\
examples:
  buildtool validate
  buildtool list --profile upstream
  buildtool render --target fedora-45 --check
  buildtool build --only python3-fuelclient -j 2
  buildtool repo --target el9 --json > summary.json
  buildtool repo --profile upstream --source fuel-nailgun=~/src/fuel-web
  buildtool publish --sign-key 0xKEYID --passphrase-env FUEL_SIGN_PASS
  buildtool verify --target el9
  buildtool snapshots --target el9
  buildtool rollback --target el9 [--to SNAPSHOT]
  buildtool release-files --target el9 --out /tmp/fuel-release --sign-key 0xKEYID

""" + EXIT_CODES

LOCAL_BACKENDS = ["auto", "mock", "rpmbuild"]
FARM_BACKENDS = ["copr", "koji"]


# --- option groups -----------------------------------------------------------------------------


def add_output_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("output")
    group.add_argument("--json", action="store_true",
                       help="print a machine summary on stdout (JSON Schema: "
                            "docs/buildtool-output.schema.json)")
    loudness = group.add_mutually_exclusive_group()
    loudness.add_argument("-v", "--verbose", action="store_true", help="say more")
    loudness.add_argument("-q", "--quiet", action="store_true",
                          help="only errors and the final line")


def add_config_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config-dir", type=Path, default=locations.data_root(), metavar="DIR",
                        help="directory holding repo-config/ (targets, macros, distribution "
                             "data, .repo templates; default: this repository's)")


def add_manifest_options(parser: argparse.ArgumentParser, sources: bool = True) -> None:
    group = parser.add_argument_group("manifest")
    group.add_argument("--manifest", "-m", type=Path, default=locations.work_root() / "fuel.yaml",
                       help="service manifest (default: fuel.yaml of this repository)")
    group.add_argument("--profile", "-p", action="append", dest="profiles", default=[],
                       metavar="PROFILE", help="add a package profile, e.g. upstream (repeatable)")
    if sources:
        group.add_argument("--source", action="append", dest="sources", default=[],
                           metavar="NAME=PATH", help="build package NAME from a local checkout")


def add_only_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--only", action="append", default=[], metavar="PKG",
                        help="only this package and its internal dependencies (repeatable)")


def add_target_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--target", "-t", action="append", dest="targets", metavar="TARGET",
                        help="target distribution, repeatable (default: el9; see "
                             "repo-config/targets)")


def add_dir_options(parser: argparse.ArgumentParser, build: bool = True, dist: bool = True) -> None:
    if build:
        parser.add_argument("--build-dir", type=Path, default=layout.default_build_dir(),
                            help="work directory (default: build/)")
    if dist:
        parser.add_argument("--dist-dir", type=Path, default=layout.default_dist_dir(),
                            help="published repositories (default: dist/)")


def add_build_options(parser: argparse.ArgumentParser, farms: bool = True) -> None:
    group = parser.add_argument_group("build")
    group.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 2,
                       help="parallel builds (default: number of cores)")
    group.add_argument("-k", "--keep-going", action="store_true",
                       help="after a failed build, build everything that does not need it "
                            "(default: start no new build; exit status 1 either way)")
    group.add_argument("--backend", choices=LOCAL_BACKENDS + (FARM_BACKENDS if farms else []),
                       default="auto", help="auto = mock where installed, else host rpmbuild"
                       + ("; copr, koji = a build farm (see README: Build farms)" if farms else ""))
    group.add_argument("--no-sandbox", dest="sandbox", action="store_false",
                       help="run package code (setup.py, %%prep, %%build, %%install) unconfined "
                            "on this host instead of in the bubblewrap sandbox (warns)")
    if farms:
        add_farm_options(parser)


def add_farm_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("build farms (--backend copr, --backend koji)")
    group.add_argument("--copr-project", metavar="OWNER/PROJECT", default="",
                       help="the Copr project to build in (@GROUP/PROJECT for a group's)")
    group.add_argument("--copr-config", type=Path, metavar="FILE",
                       help="copr-cli's configuration with the API token (default: ~/.config/copr)")
    group.add_argument("--create-project", action="store_true",
                       help="create the project, or enable the target's chroot in it, with the "
                            "external repositories of repo-config/targets")
    group.add_argument("--no-download", action="store_true",
                       help="leave the RPMs in Copr: print its .repo URL instead of publishing")
    group.add_argument("--koji-profile", default="koji", metavar="PROFILE",
                       help="koji client profile: hub, topurl, authentication (default: koji)")
    group.add_argument("--koji-config", type=Path, metavar="FILE",
                       help="a koji client configuration read on top of the system's")
    group.add_argument("--koji-target", default="", metavar="KOJI_TARGET",
                       help="the Koji build target; {target} becomes buildtool's target name")
    group.add_argument("--poll", type=float, default=20.0, metavar="SECONDS",
                       help="how often to ask the build farm for its builds' states (default: 20)")


def add_signing_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("signing and client files")
    group.add_argument("--sign-key", metavar="KEYID",
                       help="sign RPMs and repomd.xml with this secret key of $GNUPGHOME")
    group.add_argument("--sign-key-file", type=Path, metavar="FILE",
                       help="sign with the secret key in this armored file (private keyring)")
    group.add_argument("--passphrase-env", metavar="VAR",
                       help="environment variable holding the key's passphrase (default: agent)")
    group.add_argument("--base-url", metavar="URL",
                       help="where dist/repos is served, for the .repo files "
                            "(default: repo-config/repos/repo.yaml, else file://DIST/repos)")


def add_lock_option(parser: argparse._ActionsContainer) -> None:  # a parser or a group
    parser.add_argument("--no-wait", action="store_true",
                        help="fail at once if another publish holds the repository (default: wait)")


def add_publish_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("publish")
    group.add_argument("--keep", type=int, default=5, help="repository snapshots to keep")
    group.add_argument("--keep-versions", type=int, default=2, metavar="N",
                       help="versions of each package a snapshot carries, newest included "
                            "(default 2: one to downgrade to)")
    add_lock_option(group)


# --- the commands' options ---------------------------------------------------------------------


def _command(sub: argparse._SubParsersAction[argparse.ArgumentParser], name: str, help_text: str,
             *groups: Callable[[argparse.ArgumentParser], None]) -> argparse.ArgumentParser:
    parser = sub.add_parser(name, help=help_text, description=help_text, epilog=EXIT_CODES,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    for add in groups:
        add(parser)
    add_config_options(parser)
    add_output_options(parser)
    parser.set_defaults(command_parser=parser)  # to complain about options in its words
    return parser


def _without_sources(parser: argparse.ArgumentParser) -> None:
    add_manifest_options(parser, sources=False)


def _local_build(parser: argparse.ArgumentParser) -> None:
    add_build_options(parser, farms=False)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="buildtool", description=DESCRIPTION, epilog=EPILOG,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
    top.add_argument("--version", action="version", version=f"buildtool {__version__}")
    sub = top.add_subparsers(dest="command", metavar="COMMAND", required=True)
    validate = _command(sub, "validate", "check the manifest and exit", add_manifest_options)
    validate.add_argument("--explain", metavar="KEY", help="print the manifest reference of KEY "
                          "(e.g. services.user; all keys: docs/manifest.md) and exit")
    _command(sub, "list", "list the packages of the active profiles", _without_sources,
             add_only_option)
    render = _command(sub, "render", "write build/<target>/SPECS", add_manifest_options,
                      add_only_option, add_target_options, lambda p: add_dir_options(p, dist=False))
    render.add_argument("--check", action="store_true",
                        help="also run rpmspec -P with the target's macros on every spec")
    # build writes fuel-release's files (the .repo, the public key) and continues the release
    # history of the published repository: it needs signing's public half and dist/
    _command(sub, "build", "render, fetch sources and build RPMs", add_manifest_options,
             add_only_option, add_target_options, add_dir_options, add_build_options,
             add_signing_options)
    _command(sub, "publish", "publish built RPMs as a repository snapshot", _without_sources,
             add_only_option, add_target_options, add_dir_options, add_signing_options,
             add_publish_options)
    _command(sub, "repo", "render, build and publish (the main job)", add_manifest_options,
             add_only_option, add_target_options, add_dir_options, add_build_options,
             add_signing_options, add_publish_options)
    verify = _command(sub, "verify", "lint, closure, install/upgrade/erase test of the published "
                      "repository", add_manifest_options, add_target_options, add_dir_options,
                      _local_build)
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
    _command(sub, "snapshots", "list the repository snapshots: date, packages, what changed",
             add_target_options, lambda p: add_dir_options(p, build=False))
    rollback = _command(sub, "rollback", "make an earlier snapshot current (atomically)",
                        add_target_options, lambda p: add_dir_options(p, build=False),
                        add_lock_option)
    rollback.add_argument("--to", metavar="SNAPSHOT",
                          help="snapshot id (default: the one before the current one)")
    release = _command(sub, "release-files", "write fuel-release's sources: the .repo file, "
                       "key, fuel_release", add_target_options,
                       lambda p: add_dir_options(p, build=False), add_signing_options)
    release.add_argument("--out", type=Path, required=True, metavar="DIR",
                         help="directory the manifest's fuel-release package takes its source from")
    return top


# --- from options to settings ------------------------------------------------------------------


def settings_from(args: argparse.Namespace) -> pipeline.Settings:
    """The pipeline's settings from the options this command has (the others keep defaults)."""
    from . import pipeline, signing

    given = vars(args)
    defaults = pipeline.Settings()
    overrides = {}
    for item in given.get("sources", []):
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise UserError(f"--source {item}: expected NAME=PATH", "e.g. --source fuel-nailgun=../fuel-web")
        overrides[name] = path
    if given.get("jobs", 1) < 1:
        raise UserError(f"-j {args.jobs}: must be at least 1")
    return pipeline.Settings(
        manifest=given.get("manifest", defaults.manifest),
        targets=given.get("targets") or ["el9"], profiles=given.get("profiles", []),
        source_overrides=overrides, only=given.get("only", []),
        jobs=given.get("jobs", defaults.jobs), backend=given.get("backend", defaults.backend),
        keep_going=given.get("keep_going", False), sandbox=given.get("sandbox", True),
        build_dir=given.get("build_dir", defaults.build_dir).resolve(),
        dist_dir=given.get("dist_dir", defaults.dist_dir).resolve(),
        keep=given.get("keep", defaults.keep),
        keep_versions=given.get("keep_versions", defaults.keep_versions),
        wait_for_lock=not given.get("no_wait", False),
        # the passphrase variable leaves the environment here, before anything else runs
        signing=signing.config_from(given.get("sign_key"), given.get("sign_key_file"),
                                    given.get("passphrase_env")),
        base_url=given.get("base_url"), config_root=args.config_dir.resolve())


# --- running a command -------------------------------------------------------------------------


class Terminated(BaseException):
    """SIGTERM: unwind like Ctrl-C, so that the signing process and a staged snapshot go."""


def _terminate(number: int, frame: FrameType | None) -> None:
    raise Terminated()


def parse(top: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    """The options; one the command does not take is an error in that command's words."""
    args, unknown = top.parse_known_args(argv)
    if unknown:
        args.command_parser.error(f"unrecognized arguments: {' '.join(unknown)} (hint: "
                                  f"'buildtool {args.command} --help' lists the options it takes)")
    return args


def main(argv: list[str] | None = None) -> int:
    top = parser()
    enable_completion(top)
    args = parse(top, argv)
    from .report import Reporter

    reporter = Reporter(sys.stderr, verbose=args.verbose, quiet=args.quiet)
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _terminate)
        previous_interrupt = interrupt.install()
        try:
            return _main(args, reporter)
        finally:
            signal.signal(signal.SIGTERM, previous)
            signal.signal(signal.SIGINT, previous_interrupt)
    return _main(args, reporter)


def _main(args: argparse.Namespace, reporter: Reporter) -> int:
    try:
        return _run_command(args, reporter)
    except UserError as error:
        reporter.error(f"buildtool: error: {error}")
        if args.json:  # CI gets its summary on failure too
            _write_json({"ok": False, "error": str(error), "exit_status": error.exit_status})
        return error.exit_status
    except KeyboardInterrupt:
        reporter.error("buildtool: interrupted; the published repository is unchanged")
        return EXIT_INTERRUPTED
    except Terminated:
        reporter.error("buildtool: terminated; the published repository is unchanged")
        return EXIT_TERMINATED
    except BrokenPipeError:
        return _reader_gone()
    except OSError as error:  # the machine said no (permissions, disk full): one line, not a trace
        where = f": {error.filename}" if error.filename else ""
        reporter.error(f"buildtool: error: {error.strerror or error}{where} "
                       "(hint: check permissions and free space)")
        return EXIT_FAILED


def _run_command(args: argparse.Namespace, reporter: Reporter) -> int:
    if args.command == "validate" and args.explain:  # the reference needs no settings
        from . import reference

        print(reference.explain(args.explain, args.manifest), end="")
        return 0
    settings = settings_from(args)
    if args.command != "validate":
        from . import keyhome

        keyhome.sweep_stale()  # what a SIGKILLed signing process left behind
    status = COMMANDS[args.command](args, settings, reporter)
    sys.stdout.flush()  # a reader that went away shows here, inside the handler above
    return status


def _reader_gone() -> int:
    """The reader of stdout went away (`buildtool list | head -1`): stop quietly. Python would
    complain once more when it flushes stdout at exit, so stdout points at /dev/null now."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return EXIT_BROKEN_PIPE


def _write_json(document: dict[str, Any]) -> None:
    from .report import write_json

    write_json(document)


def enable_completion(top: argparse.ArgumentParser) -> None:
    """Shell completion where argcomplete is installed (optional; see README: completion).
    It acts only when the shell's completion hook runs buildtool, and exits there."""
    if "_ARGCOMPLETE" not in os.environ:
        return
    try:
        import argcomplete
    except ImportError:
        return
    argcomplete.autocomplete(top)


# --- the commands ------------------------------------------------------------------------------


def cmd_validate(args: argparse.Namespace, settings: pipeline.Settings, reporter: Reporter) -> int:
    from . import pipeline

    manifest, _ = pipeline.load(settings)
    reporter.result(f"{manifest.path}: ok, {len(manifest.packages)} packages "
                    f"(profiles: {', '.join(manifest.profiles)})")
    if args.json:
        _write_json({"ok": True, "manifest": str(manifest.path), "valid": True,
                     "packages": sorted(manifest.packages)})
    return 0


def cmd_list(args: argparse.Namespace, settings: pipeline.Settings, reporter: Reporter) -> int:
    from . import pipeline

    planned = pipeline.plan_run(settings)
    rows = []
    for name in planned.graph.order():
        package = planned.manifest.packages[name]
        rows.append({"name": name, "version": f"{package.version}-{package.release}",
                     "kind": package.kind, "profile": package.profile,
                     "needs": sorted(planned.graph.deps[name])})
    if args.json:
        _write_json({"ok": True, "packages": rows})
        return 0
    width = max([len(r["name"]) for r in rows] + [4])
    print(f"{'name':<{width}}  {'version':<14} {'kind':<7} {'profile':<9} needs")
    for row in rows:
        print(f"{row['name']:<{width}}  {row['version']:<14} {row['kind']:<7} {row['profile']:<9} "
              f"{', '.join(row['needs']) or '-'}")
    return 0


def cmd_render(args: argparse.Namespace, settings: pipeline.Settings, reporter: Reporter) -> int:
    from . import pipeline
    from .render import check_spec

    planned = pipeline.plan_run(settings)
    summary = {}
    for target in planned.targets:
        graph, not_on_target = pipeline.target_graph(planned.graph, target)
        for name, reason in not_on_target.items():
            reporter.info(f"{target.name}: not built: {name}: {reason}")
        rendered = pipeline.render(planned.manifest, target, settings, graph)
        if args.check:
            for item in rendered.values():
                check_spec(item.spec, target)
        summary[target.name] = {name: str(item.spec) for name, item in rendered.items()}
        reporter.result(f"{target.name}: rendered {len(rendered)} spec(s) in "
                        f"{pipeline.target_layout(settings, target).specs}"
                        + (" (rpmspec -P clean)" if args.check else ""))
    if args.json:
        _write_json({"ok": True, "specs": summary})
    return 0


def cmd_build(args: argparse.Namespace, settings: pipeline.Settings, reporter: Reporter) -> int:
    from . import signing

    signer = signing.prepare(settings.signing)  # public key only: fuel-release ships it
    return _run(args, settings, reporter, publish=False, signer=signer)


def cmd_repo(args: argparse.Namespace, settings: pipeline.Settings, reporter: Reporter) -> int:
    return _run(args, settings, reporter, publish=True, signer=_signer(settings, reporter))


def _run(args: argparse.Namespace, settings: pipeline.Settings, reporter: Reporter,
         publish: bool, signer: Signer | None) -> int:
    from . import pipeline
    from .backends import farm_options

    run = pipeline.run(settings, reporter, publish=publish, signer=signer,
                       farm=farm_options(args))
    for item in run.targets:
        if item.published:
            _report_publish(reporter, item.target.name, item.published)
    if args.json:
        _write_json({"ok": not run.failed,
                     "targets": {item.target.name: _target_json(run.backend, item)
                                 for item in run.targets}})
    return EXIT_FAILED if run.failed else 0


def _target_json(backend: Backend, item: pipeline.TargetRun) -> dict[str, Any]:
    from .report import outcome_json

    summary = {"backend": backend.name, "seconds": round(item.seconds, 3),
               "sandbox": backend.clean_room or backend.sandbox is not None,
               "packages": {name: dict(outcome_json(o), source=source_json(item.fetched.get(name)))
                            for name, o in item.outcomes.items()},
               "not_on_target": item.not_on_target}
    if hasattr(backend, "run_summary"):  # a build farm: build ids, states, log URLs
        summary[backend.name] = backend.run_summary(item.target)
    if item.gated is not None:
        summary["held_back"] = item.gated.held_back
        summary["kept_previous"] = item.gated.kept_previous
    if item.published is not None:
        summary["publish"] = _publish_json(item.published)
    return summary


def source_json(source: FetchedSource | None) -> dict[str, str | None] | None:
    """What a package was built from; a git source's ref as the commit id it resolved to, and
    a nodejs build's vendored node_modules."""
    if source is None:
        return None
    return {"file": source.filename, "sha256": source.sha256, "commit": source.commit,
            "node_modules_sha256": source.node_modules_sha256}


def cmd_publish(args: argparse.Namespace, settings: pipeline.Settings, reporter: Reporter) -> int:
    from . import pipeline

    planned = pipeline.plan_run(settings)
    summary, status = {}, 0
    signer = _signer(settings, reporter)
    for target in planned.targets:
        graph, not_on_target = pipeline.target_graph(planned.graph, target)
        for name, reason in not_on_target.items():
            reporter.info(f"{target.name}: not built: {name}: {reason}")
        names = graph.order()
        rpms, srpms = pipeline.built_outputs(target, settings, names)
        gated = pipeline.check_installable(rpms, {}, target, settings)
        for name, why in gated.held_back.items():
            reporter.error(f"{target.name}: held back {name}: {why}")
        status = EXIT_FAILED if gated.held_back else status
        summary[target.name] = {"held_back": gated.held_back}
        if gated.rpms:
            result = pipeline.publish(gated.rpms, target, settings, signer, srpms)
            pipeline.record_releases(settings, target, names)
            summary[target.name].update(_publish_json(result))
            _report_publish(reporter, target.name, result)
    if args.json:
        _write_json({"ok": status == 0, "targets": summary})
    return status


def cmd_verify(args: argparse.Namespace, settings: pipeline.Settings, reporter: Reporter) -> int:
    from .verify.command import cmd_verify as verify

    return verify(args, settings, reporter)


def _signer(settings: pipeline.Settings, reporter: Reporter) -> Signer | None:
    """The key resolved and its public half exported, before any build; signing itself happens
    in a separate process when publish needs it."""
    from . import signing

    if not settings.signing.enabled:
        reporter.warn("buildtool: warning: publishing unsigned (no --sign-key): the .repo files "
                      "say gpgcheck=0; fine for local work, not for a release")
    return signing.prepare(settings.signing)


def _targets_without_manifest(settings: pipeline.Settings) -> list[TargetProfile]:
    """Repository commands work from the targets alone: a broken manifest must never stand in
    the way of a rollback, and fuel-release's files are written before the manifest needs them."""
    from .targets import load_target

    return [load_target(settings.config_root, name) for name in settings.targets]


def cmd_snapshots(args: argparse.Namespace, settings: pipeline.Settings,
                  reporter: Reporter) -> int:
    from .publish import list_snapshots

    targets = _targets_without_manifest(settings)
    listing = {target.name: list_snapshots(settings.dist_dir, target.name) for target in targets}
    if args.json:
        _write_json({"ok": True, "targets": {name: [_snapshot_json(info) for info in infos]
                                             for name, infos in listing.items()}})
        return 0
    for name, infos in listing.items():
        print(f"{name}: {len(infos)} snapshot(s) in "
              f"{layout.snapshots_dir(layout.repo_dir(settings.dist_dir, name))}")
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
    from .publish import rollback

    current = {}
    for target in _targets_without_manifest(settings):
        chosen = rollback(settings.dist_dir, target.name, args.to, wait=settings.wait_for_lock)
        reporter.result(f"{target.name}: current is now snapshot {chosen.name}")
        current[target.name] = chosen.name
    if args.json:
        _write_json({"ok": True, "targets": {name: {"current": snapshot}
                                             for name, snapshot in current.items()}})
    return 0


def cmd_release_files(args: argparse.Namespace, settings: pipeline.Settings,
                      reporter: Reporter) -> int:
    from . import pipeline

    targets = _targets_without_manifest(settings)
    if len(targets) != 1:
        raise UserError("release-files writes one target's files", "give exactly one --target")
    written = pipeline.release_files(args.out, targets[0], settings, _signer(settings, reporter))
    reporter.result(f"{targets[0].name}: wrote {', '.join(p.name for p in written)} in {args.out}")
    if args.json:
        _write_json({"ok": True, "target": targets[0].name, "files": [str(p) for p in written]})
    return 0


def _publish_json(result: publish_stage.PublishResult) -> dict[str, Any]:
    return {"repository": str(layout.current_link(result.repo_dir)),
            "snapshot": result.snapshot.name, "changed": result.changed,
            "packages": result.packages, "older_versions": result.retained,
            "signed": result.signed}


def _report_publish(reporter: Reporter, target: str, result: publish_stage.PublishResult) -> None:
    verb = "published" if result.changed else "unchanged"
    reporter.result(f"{target}: {verb} {result.packages} RPM(s) at "
                    f"{layout.current_link(result.repo_dir)} (snapshot {result.snapshot.name})")


COMMANDS = {"validate": cmd_validate, "list": cmd_list, "render": cmd_render,
            "build": cmd_build, "publish": cmd_publish, "repo": cmd_repo, "verify": cmd_verify,
            "snapshots": cmd_snapshots, "rollback": cmd_rollback,
            "release-files": cmd_release_files}


if __name__ == "__main__":
    sys.exit(main())
