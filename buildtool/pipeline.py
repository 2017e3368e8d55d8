"""The stages wired together: validate -> plan -> render -> fetch -> build -> publish.

Each function takes the previous stage's output and returns its own; the CLI calls them.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from . import build as build_stage
from . import gate, locations, repofiles
from . import publish as publish_stage
from . import releases as release_stage
from . import render as render_stage
from .backends import Backend
from .errors import StageFailed, UserError
from .graph import Graph, for_target, plan, unavailable_on
from .manifest import Manifest, Package, load_manifest
from .sandbox import Sandbox
from .signing import Signer, SigningConfig
from .sources import FetchedSource, Lookaside, default_cache_dir, fetch
from .targets import TargetProfile, available_targets, load_target

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
    build_dir: Path = WORK_ROOT / "build"
    dist_dir: Path = WORK_ROOT / "dist"
    cache_dir: Path = field(default_factory=default_cache_dir)
    keep: int = 5
    keep_versions: int = 2  # versions of each package a snapshot carries, newest included
    wait_for_lock: bool = True  # False: fail at once when another publish holds the repository
    signing: SigningConfig = field(default_factory=SigningConfig)
    base_url: str | None = None  # where dist/repos is served; None: repo-config, else file://
    config_root: Path = PROJECT_ROOT  # where repo-config/ lives


def load(settings: Settings) -> tuple[Manifest, list[TargetProfile]]:
    """Validate the manifest against every known target's dependency map; load the run's targets."""
    all_targets = {name: load_target(settings.config_root, name)
                   for name in available_targets(settings.config_root)}
    for name in settings.targets:
        if name not in all_targets:
            raise UserError(f"unknown target '{name}'",
                            f"known targets: {', '.join(sorted(all_targets))}")
    manifest = load_manifest(
        settings.manifest, profiles=settings.profiles, source_overrides=settings.source_overrides,
        known_dependencies={name: set(t.deps) | set(t.unavailable)
                            for name, t in all_targets.items()})
    return manifest, [all_targets[name] for name in settings.targets]


def target_root(settings: Settings, target: TargetProfile) -> Path:
    return settings.build_dir / target.name


def render(manifest: Manifest, target: TargetProfile, settings: Settings,
           graph: Graph) -> dict[str, render_stage.RenderedPackage]:
    return render_stage.render_all(manifest, target, target_root(settings, target),
                                   names=graph.order())


def fetch_sources(manifest: Manifest, rendered: dict[str, render_stage.RenderedPackage],
                  target: TargetProfile, settings: Settings, signer: Signer | None = None,
                  failures: dict[str, str] | None = None,
                  sandbox: Sandbox | None = None) -> dict[str, FetchedSource | None]:
    """Every package's source. With `failures`, a source that cannot be had is recorded there
    (package -> message) and the others are still fetched; without, the first one raises.
    `sandbox` confines the one fetch step that runs package code (pip download of an sdist)."""
    cache = Lookaside(settings.cache_dir)
    fetched = {}
    for name, item in rendered.items():
        source = manifest.packages[name].source
        generated_dir = None
        try:
            if source and source.generated == "release-files":
                generated_dir = target_root(settings, target) / "generated" / name
                release_files(generated_dir, target, settings, signer)
            fetched[name] = (fetch(manifest.packages[name], manifest.root, cache,
                                   item.sources_dir, generated_dir, sandbox) if source else None)
        except StageFailed as error:
            if failures is None:
                raise
            failures[name] = str(error)
    return fetched


def without_failed_fetches(graph: Graph, failures: dict[str, str]
                           ) -> tuple[Graph, dict[str, build_stage.PackageOutcome]]:
    """The graph left to build, and outcomes for what cannot be: the packages whose source failed
    and everything that needs them."""
    lost = unavailable_on(graph, failures)
    outcomes = {name: build_stage.PackageOutcome(
        name, build_stage.FAILED if name in failures else build_stage.SKIPPED,
        reason=failures.get(name) or reason.replace("this target cannot carry", "could not be built"))
        for name, reason in lost.items()}
    return graph.restricted(set(graph.deps) - set(lost)), outcomes


def assign_releases(manifest: Manifest, rendered: dict[str, render_stage.RenderedPackage],
                    fetched: dict[str, FetchedSource | None], target: TargetProfile,
                    settings: Settings, history_from: Settings | None = None
                    ) -> dict[str, release_stage.Release]:
    """Decide each package's Release from the published history (of `history_from`'s
    repository, default this run's) and write it with the changelog into the specs. The
    decisions are kept in the build state so that a standalone publish can record them."""
    floors = {name: (manifest.packages[name].version, manifest.packages[name].release)
              for name in rendered}
    decided = release_stage.assign_releases(
        rendered, fetched, floors, history_file(history_from or settings, target),
        manifest.defaults.packager)
    state = target_root(settings, target) / "state" / "releases.json"
    state.parent.mkdir(parents=True, exist_ok=True)
    state.write_text(json.dumps({name: dataclasses.asdict(r) for name, r in decided.items()}))
    return decided


def record_releases(settings: Settings, target: TargetProfile, names: list[str]) -> None:
    """After a publish: the published packages' releases join the history."""
    state = target_root(settings, target) / "state" / "releases.json"
    try:
        decided = json.loads(state.read_text())
    except (OSError, ValueError):
        return
    release_stage.record(history_file(settings, target),
                         {name: release_stage.Release(**decided[name])
                          for name in names if name in decided})


def history_file(settings: Settings, target: TargetProfile) -> Path:
    return publish_stage.repo_dir(settings.dist_dir, target.name) / release_stage.HISTORY_FILE


def build(manifest: Manifest, target: TargetProfile, settings: Settings, graph: Graph,
          rendered: dict[str, render_stage.RenderedPackage],
          fetched: dict[str, FetchedSource | None], backend: Backend,
          on_event: Callable[[str, build_stage.PackageOutcome | str], None]
          ) -> dict[str, build_stage.PackageOutcome]:
    inputs = {name: build_stage.PackageInput(
        rendered[name], fetched[name], _source_date_epoch(manifest.packages[name], fetched[name]))
        for name in graph.order()}
    layout = build_stage.BuildLayout(target_root(settings, target))
    return build_stage.build_all(graph, inputs, target, backend, layout, settings.jobs, on_event,
                                 keep_going=settings.keep_going)


def _source_date_epoch(package: Package, fetched: FetchedSource | None) -> int:
    """A git source's commit time, else the manifest's (load_manifest fills in the default)."""
    if fetched is not None and fetched.source_date_epoch:
        return fetched.source_date_epoch
    assert package.source_date_epoch is not None, "load_manifest fills in the default"
    return package.source_date_epoch


def built_rpms(manifest: Manifest, target: TargetProfile, settings: Settings,
               names: list[str]) -> list[Path]:
    """The RPMs the build stage recorded for `names` (the input of a standalone publish)."""
    layout = build_stage.BuildLayout(target_root(settings, target))
    rpms = []
    for name in names:
        try:
            state = json.loads(layout.state(name).read_text())
        except (OSError, ValueError):
            raise UserError(f"{name} has not been built for {target.name}",
                            f"run 'buildtool build --target {target.name}' first") from None
        paths = [layout.rpms(name) / rpm for rpm in state["rpms"]]
        missing = [p for p in paths if not p.is_file()]
        if missing:
            raise UserError(f"{name}: built RPM {missing[0]} is missing",
                            f"run 'buildtool build --target {target.name}' again")
        rpms += paths
    return rpms


def installable_set(manifest: Manifest, target: TargetProfile, settings: Settings,
                    outcomes: dict[str, build_stage.PackageOutcome]) -> gate.GateResult:
    """What of this build may be published: the good RPMs, the published versions of packages
    whose build failed or that would not install, and nothing that the distribution and the
    rest cannot satisfy."""
    rpms = [rpm for o in outcomes.values() if o.status in (build_stage.BUILT, build_stage.CACHED)
            for rpm in o.rpms]
    if outcomes and all(o.status == build_stage.CACHED for o in outcomes.values()):
        # nothing was built: these very RPMs passed the gate when they were published
        return gate.GateResult(sorted(rpms))
    everything = {rpm_name for name in outcomes for rpm_name in
                  [name, *(sub.name for sub in manifest.packages[name].subpackages)]}
    fallbacks = gate.previous_rpms(settings.dist_dir, target.name, everything)
    data_file = target.distro_data_file(settings.config_root)
    return gate.installable(rpms, fallbacks, target, data_file,
                            target_root(settings, target) / "gate")


def built_srpms(target: TargetProfile, settings: Settings, names: list[str]) -> list[Path]:
    """The SRPMs the build stage recorded for `names` (those that still exist)."""
    layout = build_stage.BuildLayout(target_root(settings, target))
    found = []
    for name in names:
        try:
            srpm = json.loads(layout.state(name).read_text()).get("srpm")
        except (OSError, ValueError):
            continue
        if srpm and (layout.srpms / srpm).is_file():
            found.append(layout.srpms / srpm)
    return found


def publish(rpms: list[Path], target: TargetProfile, settings: Settings,
            signer: Signer | None = None, srpms: list[Path] | None = None
            ) -> publish_stage.PublishResult:
    return publish_stage.publish(
        rpms, settings.dist_dir, target.name, keep=settings.keep,
        keep_versions=settings.keep_versions, wait=settings.wait_for_lock, signer=signer,
        client_files=client_files(target, settings), srpms=srpms)


def client_files(target: TargetProfile, settings: Settings) -> publish_stage.ClientFiles:
    """The .repo file, comps group and key name a snapshot of `target` carries."""
    config = repofiles.load_repo_config(settings.config_root)
    base_url = repofiles.base_url_for(config, settings.dist_dir, settings.base_url)
    return publish_stage.ClientFiles(
        repo_file_name=config.repo_file_name,
        repo_file=lambda signed: repofiles.repo_file_text(config, target, base_url, signed),
        comps=lambda names: repofiles.comps_xml(config, names),
        key_name=config.key_name)


def release_files(out: Path, target: TargetProfile, settings: Settings,
                  signer: Signer | None) -> list[Path]:
    """The fuel-release package's sources for `target`, written into `out`."""
    config = repofiles.load_repo_config(settings.config_root)
    base_url = repofiles.base_url_for(config, settings.dist_dir, settings.base_url)
    return repofiles.write_release_files(out, config, target, base_url,
                                         signer.public_key if signer else None)


def plan_graph(manifest: Manifest, settings: Settings) -> Graph:
    return plan(manifest, settings.only)


def target_graph(graph: Graph, target: TargetProfile) -> tuple[Graph, dict[str, str]]:
    """The packages built for `target`, and those it cannot carry with the reason."""
    return for_target(graph, target.unavailable), unavailable_on(graph, target.unavailable)
