"""The stage sequence: validate -> plan -> render -> fetch -> build -> publish (-> verify).

`plan_run` validates and plans; `run` drives every target through the rest and is what the CLI's
build and repo commands, verify's next-release build and the benchmarks call. Each stage is also
a function of its own here (render, fetch_sources, build, publish, ...) for the commands that run
one stage alone. A stage takes the previous stage's output and returns its own.

The stage modules are imported where a stage runs, so that validate and list load none of them.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import layout, locations
from .errors import StageFailed, UserError
from .graph import Graph, for_target, plan, unavailable_on
from .manifest import Manifest, Package, load_manifest
from .signing import Signer, SigningConfig
from .targets import TargetProfile, load_all_targets

if TYPE_CHECKING:
    from .backends import Backend
    from .build import PackageOutcome
    from .declared import SourceTree
    from .gate import GateResult
    from .publish import ClientFiles, PublishResult
    from .releases import Release
    from .render import RenderedPackage
    from .report import Reporter
    from .sandbox import Sandbox
    from .sources import FetchedSource, Lookaside

PROJECT_ROOT = locations.data_root()  # holds specs/ and repo-config/
WORK_ROOT = locations.work_root()  # the checkout, or the current directory of an installed tool


@dataclass
class Settings:
    manifest: Path = WORK_ROOT / "fuel.yaml"
    targets: list[str] = field(default_factory=lambda: ["el9"])
    profiles: list[str] = field(default_factory=list)
    source_overrides: dict[str, str] = field(default_factory=dict)
    only: list[str] = field(default_factory=list)
    jobs: int = os.cpu_count() or 2
    keep_going: bool = False  # after a failed build, start the others anyway
    backend: str = "auto"
    sandbox: bool = True  # False only with --no-sandbox: package code runs unconfined
    build_dir: Path = field(default_factory=layout.default_build_dir)
    dist_dir: Path = field(default_factory=layout.default_dist_dir)
    cache_dir: Path = field(default_factory=locations.default_cache_dir)
    keep: int = 5
    keep_versions: int = 2  # versions of each package a snapshot carries, newest included
    wait_for_lock: bool = True  # False: fail at once when another publish holds the repository
    signing: SigningConfig = field(default_factory=SigningConfig)
    base_url: str | None = None  # where dist/repos is served; None: repo-config, else file://
    config_root: Path = PROJECT_ROOT  # where repo-config/ lives


# --- validate and plan -----------------------------------------------------------------------


@dataclass(frozen=True)
class RunPlan:
    """A validated manifest, the run's targets and the packages to build in dependency order."""

    manifest: Manifest
    targets: list[TargetProfile]
    graph: Graph


def load(settings: Settings) -> tuple[Manifest, list[TargetProfile]]:
    """Validate the manifest against every known target's dependency map; load the run's targets."""
    all_targets = load_all_targets(settings.config_root, kept_inputs(settings))
    for name in settings.targets:
        if name not in all_targets:
            raise UserError(f"unknown target '{name}'",
                            f"known targets: {', '.join(sorted(all_targets))}")
    manifest = load_manifest(
        settings.manifest, profiles=settings.profiles, source_overrides=settings.source_overrides,
        known_dependencies={name: set(t.deps) | set(t.unavailable)
                            for name, t in all_targets.items()},
        cache_dir=kept_inputs(settings))
    return manifest, [all_targets[name] for name in settings.targets]


def kept_inputs(settings: Settings) -> Path:
    """Where parsed inputs are kept between runs (validated.py)."""
    return layout.parsed_inputs(settings.build_dir)


def plan_graph(manifest: Manifest, settings: Settings) -> Graph:
    return plan(manifest, settings.only)


def plan_run(settings: Settings, manifest: Manifest | None = None) -> RunPlan:
    """Validate and plan; `manifest` replaces the one the settings name (already validated)."""
    loaded, targets = load(settings)
    manifest = manifest or loaded
    return RunPlan(manifest, targets, plan_graph(manifest, settings))


def target_graph(graph: Graph, target: TargetProfile) -> tuple[Graph, dict[str, str]]:
    """The packages built for `target`, and those it cannot carry with the reason."""
    return for_target(graph, target.unavailable), unavailable_on(graph, target.unavailable)


def target_root(settings: Settings, target: TargetProfile) -> Path:
    return target_layout(settings, target).root


def target_layout(settings: Settings, target: TargetProfile) -> layout.BuildLayout:
    return layout.target_build(settings.build_dir, target.name)


# --- the whole sequence ------------------------------------------------------------------------


@dataclass
class TargetRun:
    """What the stages made of one target."""

    target: TargetProfile
    not_on_target: dict[str, str]  # package -> why the target cannot carry it
    fetched: dict[str, FetchedSource | None]
    outcomes: dict[str, PackageOutcome]  # every package of the target graph, in build order
    seconds: float
    gated: GateResult | None = None  # what publish was allowed to ship; None: no publish here
    published: PublishResult | None = None  # None: nothing to publish, or not published here
    remote_repository: str | None = None  # a build farm serves the packages instead

    @property
    def failed(self) -> bool:
        from .build import FAILED, SKIPPED

        held_back = bool(self.gated and self.gated.held_back)
        return held_back or any(o.status in (FAILED, SKIPPED) for o in self.outcomes.values())


@dataclass
class Run:
    backend: Backend
    targets: list[TargetRun]

    @property
    def failed(self) -> bool:
        return any(item.failed for item in self.targets)


def run(settings: Settings, reporter: Reporter, *, publish: bool, signer: Signer | None,
        farm: dict[str, Any] | None = None, manifest: Manifest | None = None, gated: bool = True,
        history_from: Settings | None = None) -> Run:
    """Validate, plan, then render, fetch, build and (with `publish`) publish every target.

    `manifest` replaces the settings' one (verify builds a changed next release); `gated=False`
    publishes every RPM built without the installability gate (a throwaway repository);
    `history_from` names the repository whose release history the releases continue."""
    from .backends import select_backend
    from .sandbox import create as make_sandbox

    planned = plan_run(settings, manifest)
    sandbox = make_sandbox(settings.sandbox, reporter.warn)
    backend = select_backend(settings.backend, warn=reporter.warn, sandbox=sandbox, farm=farm)
    return Run(backend, [run_target(planned, target, settings, backend, reporter, publish=publish,
                                    signer=signer, sandbox=sandbox, gated=gated,
                                    history_from=history_from)
                         for target in planned.targets])


def run_target(planned: RunPlan, target: TargetProfile, settings: Settings, backend: Backend,
               reporter: Reporter, *, publish: bool, signer: Signer | None = None,
               sandbox: Sandbox | None = None, gated: bool = True,
               history_from: Settings | None = None) -> TargetRun:
    """render -> fetch -> build -> publish for one target. A package whose source cannot be had
    fails alone (with what needs it); the others still build."""
    started = time.monotonic()
    manifest = planned.manifest
    graph, not_on_target = target_graph(planned.graph, target)
    for name, reason in not_on_target.items():
        reporter.info(f"{target.name}: not built: {name}: {reason}")
    rendered = render(manifest, target, settings, graph)
    failures: dict[str, str] = {}
    fetched = fetch_sources(manifest, rendered, target, settings, signer, failures, sandbox)
    graph, unbuildable = without_failed_fetches(graph, failures)
    rendered = {name: rendered[name] for name in graph.order()}
    assign_releases(manifest, rendered, fetched, target, settings, history_from)
    reporter.start_build(len(rendered), target.name)
    outcomes = {**unbuildable, **build(manifest, target, settings, graph, rendered, fetched,
                                       backend, reporter.event)}
    reporter.summary(target.name, outcomes, time.monotonic() - started)
    result = TargetRun(target, not_on_target, fetched, outcomes, 0.0)
    if publish:
        _publish_run(result, manifest, settings, backend, reporter, signer, gated)
    result.seconds = time.monotonic() - started
    return result


def _publish_run(result: TargetRun, manifest: Manifest, settings: Settings, backend: Backend,
                 reporter: Reporter, signer: Signer | None, gated: bool) -> None:
    from .build import BUILT, CACHED
    from .gate import GateResult

    target = result.target
    result.remote_repository = getattr(backend, "remote_repository", lambda _: None)(target)
    if result.remote_repository:
        reporter.info(f"{target.name}: not published here, Copr serves the packages: "
                      f"{result.remote_repository}")
        return
    if gated:
        result.gated = installable_set(manifest, target, settings, result.outcomes)
    else:
        result.gated = GateResult([rpm for o in result.outcomes.values()
                                   if o.status in (BUILT, CACHED) for rpm in o.rpms])
    for name, why in result.gated.held_back.items():
        reporter.error(f"{target.name}: held back {name}: {why}")
    if not result.gated.rpms:
        return
    published = {rpm.name for rpm in result.gated.rpms}
    shipped = [name for name, o in result.outcomes.items()
               if o.rpms and all(rpm.name in published for rpm in o.rpms)]
    result.published = publish(result.gated.rpms, target, settings, signer,
                               [srpm for n in shipped if (srpm := result.outcomes[n].srpm)])
    record_releases(settings, target, shipped)


# --- one stage each ----------------------------------------------------------------------------


def render(manifest: Manifest, target: TargetProfile, settings: Settings,
           graph: Graph) -> dict[str, RenderedPackage]:
    from .render import render_all

    return render_all(manifest, target, target_root(settings, target), names=graph.order())


def fetch_sources(manifest: Manifest, rendered: dict[str, RenderedPackage],
                  target: TargetProfile, settings: Settings, signer: Signer | None = None,
                  failures: dict[str, str] | None = None,
                  sandbox: Sandbox | None = None) -> dict[str, FetchedSource | None]:
    """Every package's source. With `failures`, a source that cannot be had is recorded there
    (package -> message) and the others are still fetched; without, the first one raises.
    `sandbox` confines the one fetch step that runs package code (pip download of an sdist)."""
    from .sources import Lookaside, fetch

    cache = Lookaside(settings.cache_dir)
    fetched = {}
    for name, item in rendered.items():
        source = manifest.packages[name].source
        generated_dir = None
        try:
            if source and source.generated == "release-files":
                generated_dir = target_layout(settings, target).generated(name)
                release_files(generated_dir, target, settings, signer)
            fetched[name] = got = (fetch(manifest.packages[name], manifest.root, cache,
                                         item.sources_dir, generated_dir, sandbox)
                                   if source else None)
            # a nodejs build has a source (load_manifest checks it): the lock file is in it
            if manifest.packages[name].nodejs is not None and got is not None:
                fetched[name] = with_node_modules(manifest, name, got, item, cache, sandbox)
        except StageFailed as error:
            if failures is None:
                raise
            failures[name] = str(error)
    return fetched


def with_node_modules(manifest: Manifest, name: str, fetched: FetchedSource,
                      item: RenderedPackage, cache: Lookaside,
                      sandbox: Sandbox | None) -> FetchedSource:
    """A nodejs build's Source1: node_modules installed from the lock file of its Source0."""
    from .nodemodules import vendor_node_modules

    digest = vendor_node_modules(manifest.packages[name], manifest.root,
                                 item.sources_dir / fetched.filename, cache, item.sources_dir,
                                 sandbox)
    return dataclasses.replace(fetched, node_modules_sha256=digest)


def without_failed_fetches(graph: Graph, failures: dict[str, str]
                           ) -> tuple[Graph, dict[str, PackageOutcome]]:
    """The graph left to build, and outcomes for what cannot be: the packages whose source failed
    and everything that needs them."""
    from .build import FAILED, SKIPPED, PackageOutcome

    lost = unavailable_on(graph, failures)
    outcomes = {name: PackageOutcome(
        name, FAILED if name in failures else SKIPPED,
        reason=failures.get(name) or reason.replace("this target cannot carry", "could not be built"))
        for name, reason in lost.items()}
    return graph.restricted(set(graph.deps) - set(lost)), outcomes


def assign_releases(manifest: Manifest, rendered: dict[str, RenderedPackage],
                    fetched: dict[str, FetchedSource | None], target: TargetProfile,
                    settings: Settings, history_from: Settings | None = None
                    ) -> dict[str, Release]:
    """Decide each package's Release from the published history (of `history_from`'s
    repository, default this run's) and write it with the changelog into the specs. The
    decisions are kept in the build state so that a standalone publish can record them."""
    from . import releases

    floors = {name: (manifest.packages[name].version, manifest.packages[name].release)
              for name in rendered}
    decided = releases.assign_releases(
        rendered, fetched, floors, history_file(history_from or settings, target),
        manifest.defaults.packager)
    state = target_layout(settings, target).releases_state
    state.parent.mkdir(parents=True, exist_ok=True)
    state.write_text(json.dumps({name: dataclasses.asdict(r) for name, r in decided.items()}))
    return decided


def record_releases(settings: Settings, target: TargetProfile, names: list[str]) -> None:
    """After a publish: the published packages' releases join the history."""
    from . import releases

    try:
        decided = json.loads(target_layout(settings, target).releases_state.read_text())
    except (OSError, ValueError):
        return
    releases.record(history_file(settings, target),
                    {name: releases.Release(**decided[name]) for name in names if name in decided})


def history_file(settings: Settings, target: TargetProfile) -> Path:
    return layout.release_history(settings.dist_dir, target.name)


def _source_tree(package: Package, rendered: RenderedPackage,
                 fetched: FetchedSource | None) -> SourceTree | None:
    """The source archive whose build metadata the declared-files check reads."""
    from .declared import SourceTree
    from .sources import unpack_dir

    if fetched is None or package.source is None or package.source.generated:
        return None
    return SourceTree(rendered.sources_dir / fetched.filename, unpack_dir(package),
                      package.source.subdir)


def build(manifest: Manifest, target: TargetProfile, settings: Settings, graph: Graph,
          rendered: dict[str, RenderedPackage], fetched: dict[str, FetchedSource | None],
          backend: Backend, on_event: Callable[[str, PackageOutcome | str], None]
          ) -> dict[str, PackageOutcome]:
    from .build import PackageInput, build_all

    inputs = {name: PackageInput(
        rendered[name], fetched[name], _source_date_epoch(manifest.packages[name], fetched[name]),
        _source_tree(manifest.packages[name], rendered[name], fetched[name]))
        for name in graph.order()}
    return build_all(graph, inputs, target, backend, target_layout(settings, target),
                     settings.jobs, on_event, keep_going=settings.keep_going)


def _source_date_epoch(package: Package, fetched: FetchedSource | None) -> int:
    """A git source's commit time, else the manifest's (load_manifest fills in the default)."""
    if fetched is not None and fetched.source_date_epoch:
        return fetched.source_date_epoch
    assert package.source_date_epoch is not None, "load_manifest fills in the default"
    return package.source_date_epoch


def built_outputs(target: TargetProfile, settings: Settings,
                  names: list[str]) -> tuple[list[Path], list[Path]]:
    """The RPMs and SRPMs the build stage recorded for `names` (the input of a standalone
    publish); a missing RPM is an error, a missing SRPM is left out."""
    where = target_layout(settings, target)
    srpms_dir = str(where.srpms)
    rpms, srpms = [], []
    for name in names:
        try:
            with open(where.state_file(name), "rb") as handle:
                state = json.load(handle)
        except (OSError, ValueError):
            raise UserError(f"{name} has not been built for {target.name}",
                            f"run 'buildtool build --target {target.name}' first") from None
        rpms_dir = where.rpms_dir(name)
        for rpm in state["rpms"]:
            path = f"{rpms_dir}/{rpm}"
            if not os.path.isfile(path):
                raise UserError(f"{name}: built RPM {path} is missing",
                                f"run 'buildtool build --target {target.name}' again")
            rpms.append(Path(path))
        srpm = state.get("srpm")
        if srpm and os.path.isfile(f"{srpms_dir}/{srpm}"):
            srpms.append(Path(srpms_dir, srpm))
    return rpms, srpms


def installable_set(manifest: Manifest, target: TargetProfile, settings: Settings,
                    outcomes: dict[str, PackageOutcome]) -> GateResult:
    """What of this build may be published: the good RPMs, the published versions of packages
    whose build failed or that would not install, and nothing that the distribution and the
    rest cannot satisfy."""
    from . import gate
    from .build import BUILT, CACHED

    rpms = [rpm for o in outcomes.values() if o.status in (BUILT, CACHED) for rpm in o.rpms]
    if outcomes and all(o.status == CACHED for o in outcomes.values()):
        # nothing was built: these very RPMs passed the gate when they were published
        return gate.GateResult(sorted(rpms))
    everything = {rpm_name for name in outcomes for rpm_name in
                  [name, *(sub.name for sub in manifest.packages[name].subpackages)]}
    fallbacks = gate.previous_rpms(settings.dist_dir, target.name, everything)
    return check_installable(rpms, fallbacks, target, settings)


def check_installable(rpms: list[Path], fallbacks: dict[str, Path], target: TargetProfile,
                      settings: Settings) -> GateResult:
    """The publish gate: what of `rpms` (or of the `fallbacks` already published) installs."""
    from . import gate

    return gate.installable(rpms, fallbacks, target, target.distro_data_file(settings.config_root),
                            target_layout(settings, target).gate)


def publish(rpms: list[Path], target: TargetProfile, settings: Settings,
            signer: Signer | None = None, srpms: list[Path] | None = None) -> PublishResult:
    from . import publish as publish_stage

    return publish_stage.publish(
        rpms, settings.dist_dir, target.name, keep=settings.keep,
        keep_versions=settings.keep_versions, wait=settings.wait_for_lock, signer=signer,
        client_files=client_files(target, settings), srpms=srpms)


def client_files(target: TargetProfile, settings: Settings) -> ClientFiles:
    """The .repo file, comps group and key name a snapshot of `target` carries."""
    from . import repofiles
    from .publish import ClientFiles

    config = repofiles.load_repo_config(settings.config_root, kept_inputs(settings))
    base_url = repofiles.base_url_for(config, settings.dist_dir, settings.base_url)
    return ClientFiles(
        repo_file_name=config.repo_file_name,
        repo_file=lambda signed: repofiles.repo_file_text(config, target, base_url, signed),
        comps=lambda names: repofiles.comps_xml(config, names),
        identity=repofiles.repo_file_identity(config, target, base_url),
        key_name=config.key_name)


def release_files(out: Path, target: TargetProfile, settings: Settings,
                  signer: Signer | None) -> list[Path]:
    """The fuel-release package's sources for `target`, written into `out`."""
    from . import repofiles

    config = repofiles.load_repo_config(settings.config_root, kept_inputs(settings))
    base_url = repofiles.base_url_for(config, settings.dist_dir, settings.base_url)
    return repofiles.write_release_files(out, config, target, base_url,
                                         signer.public_key if signer else None)
