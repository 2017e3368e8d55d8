"""Build stage: SRPMs, then binary RPMs through a backend, in dependency order, in parallel,
skipping everything whose build key is unchanged."""

from __future__ import annotations

import hashlib
import heapq
import json
import os
import shutil
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from . import __version__
from .backends import Backend, BuildRequest
from .backends.base import run_logged
from .backends.rpmbuild import build_environment, config_files, outputs_are_files
from .declared import SourceTree, missing_from_build
from .graph import Graph
from .layout import BuildLayout
from .render import RenderedPackage, spec_digest
from .sandbox import Sandbox
from .sources import FetchedSource
from .targets import TargetProfile

BUILT, CACHED, FAILED, SKIPPED = "built", "cached", "failed", "skipped"


@dataclass(frozen=True)
class PackageInput:
    """What the build of one package depends on, as produced by the earlier stages."""

    rendered: RenderedPackage
    source: FetchedSource | None
    source_date_epoch: int
    tree: SourceTree | None = None  # where its build metadata is (declared-files check)


@dataclass
class PackageOutcome:
    name: str
    status: str
    seconds: float = 0.0
    rpms: list[Path] = field(default_factory=list)
    log: Path | None = None
    reason: str = ""
    srpm: Path | None = None  # every build makes one; publish ships it under SRPMS/



def build_keys(graph: Graph, inputs: dict[str, PackageInput], target: TargetProfile,
               backend: Backend) -> dict[str, str]:
    """Digest of everything that can change a package's RPMs, including its dependencies' keys."""
    keys: dict[str, str] = {}
    # An unconfined (--no-sandbox) build's RPMs are never reused as if they were confined.
    confinement = "sandboxed" if backend.sandbox or backend.clean_room else "unconfined"
    run_wide = [target.name, backend.name, confinement, __version__,
                *(path.read_text() for path in target.macros_files)]
    for name in graph.order():
        item = inputs[name]
        digest = hashlib.sha256()
        for part in (spec_digest(item.rendered), item.source.sha256 if item.source else "-",
                     (item.source.node_modules_sha256 if item.source else None) or "-",
                     str(item.source_date_epoch), *run_wide,
                     *(f"{dep}={keys[dep]}" for dep in sorted(graph.deps[name]))):
            digest.update(part.encode() + b"\0")
        keys[name] = digest.hexdigest()
    return keys


def cached_outcome(layout: BuildLayout, name: str, key: str) -> PackageOutcome | None:
    state_file = layout.state(name)
    try:
        state = json.loads(state_file.read_text())
    except (OSError, ValueError):
        return None
    rpms = [layout.rpms(name) / rpm for rpm in state.get("rpms", [])]
    srpm = layout.srpms / state["srpm"] if state.get("srpm") else None
    if state.get("key") != key or not rpms or not all(p.is_file() for p in rpms):
        return None
    return PackageOutcome(name, CACHED, 0.0, rpms, layout.log(name),
                          srpm=srpm if srpm and srpm.is_file() else None)


def build_all(graph: Graph, inputs: dict[str, PackageInput], target: TargetProfile,
              backend: Backend, layout: BuildLayout, jobs: int,
              on_event: Callable[[str, PackageOutcome | str], None] = lambda *_: None,
              keep_going: bool = False) -> dict[str, PackageOutcome]:
    """Build every package of `graph` in dependency order. A failure skips its dependents;
    the others go on with `keep_going`, else no new build starts (running ones finish)."""
    keys = build_keys(graph, inputs, target, backend)
    layout.rpms("").mkdir(parents=True, exist_ok=True)
    backend.prepare_run(target, layout.root, layout.local_repo)
    if hasattr(backend, "build_graph"):  # a build farm orders and runs the whole graph itself
        farm_outcomes: dict[str, PackageOutcome] = backend.build_graph(graph, inputs, keys, target,
                                                                       layout, on_event)
        return farm_outcomes
    run = _Schedule(graph, keys, layout, on_event, keep_going)
    jobs = max(1, jobs)
    running: dict[Future[PackageOutcome], str] = {}
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        while run.ready or running:
            while run.ready and len(running) < jobs:
                name = run.next_to_build()
                if name is not None:
                    on_event("start", name)
                    running[pool.submit(_build_one, name, inputs[name], keys[name], target,
                                        backend, layout)] = name
            if not running:
                continue
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                outcome = future.result()
                del running[future]
                if outcome.status == BUILT:
                    backend.package_built(layout.local_repo)
                run.finish(outcome)
    return {name: run.outcomes[name] for name in graph.order()}


class _Schedule:
    """Which package may start next. Each package is looked at when its last dependency
    finishes, not on every pass over all of them: the work stays linear in the graph."""

    def __init__(self, graph: Graph, keys: dict[str, str], layout: BuildLayout,
                 on_event: Callable[[str, PackageOutcome | str], None], keep_going: bool):
        self.graph, self.keys, self.layout = graph, keys, layout
        self.on_event, self.keep_going = on_event, keep_going
        self.outcomes: dict[str, PackageOutcome] = {}
        self.waiting = {name: set(needs) for name, needs in graph.deps.items()}
        self.ready = [name for name in graph.order() if not self.waiting[name]]
        heapq.heapify(self.ready)
        self.first_failure: str | None = None

    def next_to_build(self) -> str | None:
        """Pop the next ready package (by name); finish it here if it is cached or must be
        skipped, else return it to be built."""
        name = heapq.heappop(self.ready)
        cached = cached_outcome(self.layout, name, self.keys[name])
        if cached:
            self.finish(cached)
        elif self.first_failure and not self.keep_going:
            self.finish(PackageOutcome(name, SKIPPED, reason=f"not started after "
                                       f"{self.first_failure} failed (--keep-going builds "
                                       "everything it can)"))
        else:
            return name
        return None

    def finish(self, outcome: PackageOutcome) -> None:
        """Record `outcome`; skip what needs a failed or skipped package (a worklist, not
        recursion: a chain may be thousands long), queue what became ready."""
        todo = [outcome]
        while todo:
            done = todo.pop()
            self.outcomes[done.name] = done
            self.on_event("done", done)
            if done.status == FAILED:
                self.first_failure = min(filter(None, [self.first_failure, done.name]))
            for other in self.graph.needed_by.get(done.name, []):
                if other in self.outcomes or other not in self.waiting:
                    continue
                self.waiting[other].discard(done.name)
                if done.status in (FAILED, SKIPPED):
                    skipped = PackageOutcome(other, SKIPPED,
                                             reason=f"needs {', '.join(self._lost(other))}")
                    self.outcomes[other] = skipped  # now: no second skip of it from another path
                    todo.append(skipped)
                elif not self.waiting[other]:
                    heapq.heappush(self.ready, other)

    def _lost(self, name: str) -> list[str]:
        return sorted(d for d in self.graph.deps[name] if d in self.outcomes
                      and self.outcomes[d].status in (FAILED, SKIPPED))


def _build_one(name: str, item: PackageInput, key: str, target: TargetProfile, backend: Backend,
               layout: BuildLayout) -> PackageOutcome:
    started = time.monotonic()
    log = layout.log(name)
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(f"# buildtool {__version__}: {name} for {target.name} with {backend.name}"
                   f"{'' if backend.clean_room or backend.sandbox else ' (no sandbox)'}\n"
                   + source_log_line(item.source))
    srpm = None  # a backend that makes_srpm returns it with the RPMs
    if not backend.makes_srpm:
        srpm = build_srpm(item, target, layout, log, backend.sandbox)
        if srpm is None:
            return PackageOutcome(name, FAILED, time.monotonic() - started, [], log, "SRPM failed")
    final_dir = layout.rpms(name)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=final_dir.parent))
    try:
        result = backend.build(BuildRequest(
            name, srpm, item.rendered.spec, item.rendered.sources_dir, target, staging, log,
            item.source_date_epoch, layout.local_repo))
        missing = _undeclared_check(name, item, None if not result.ok else result.rpms, log)
        if missing:
            return PackageOutcome(name, FAILED, time.monotonic() - started, [], log,
                                  "; ".join(missing))
        if not result.ok:
            return PackageOutcome(name, FAILED, time.monotonic() - started, [], log, "build failed")
        if result.srpm is not None:  # made along with the RPMs
            layout.srpms.mkdir(parents=True, exist_ok=True)
            srpm = layout.srpms / result.srpm.name
            result.srpm.rename(srpm)
        # Swap in the new RPMs only once they are complete; then record the key.
        if final_dir.exists():
            shutil.rmtree(final_dir)
        staging.rename(final_dir)
        rpms = sorted(final_dir / rpm.name for rpm in result.rpms)
        _write_state(layout.state(name), key, rpms, srpm)
        return PackageOutcome(name, BUILT, time.monotonic() - started, rpms, log, srpm=srpm)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _undeclared_check(name: str, item: PackageInput, rpms: Sequence[Path] | None,
                      log: Path) -> list[str]:
    """What upstream's build metadata installs and the package does not ship, logged."""
    if item.tree is None:
        return []
    missing = missing_from_build(name, item.tree, rpms, log.read_text(errors="replace"))
    with log.open("a") as stream:
        for line in missing:
            stream.write(f"# declared-files check: {line}\n")
    return missing


def source_log_line(source: FetchedSource | None) -> str:
    if source is None:
        return ""
    commit = f" (git commit {source.commit})" if source.commit else ""
    modules = (f"# node_modules: sha256 {source.node_modules_sha256} (npm ci of the lock file)\n"
               if source.node_modules_sha256 else "")
    return f"# source: {source.filename} sha256 {source.sha256}{commit}\n{modules}"


def build_srpm(item: PackageInput, target: TargetProfile, layout: BuildLayout,
               log: Path, sandbox: Sandbox | None = None) -> Path | None:
    layout.srpms.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="buildtool-srpm-") as tmp:
        sources, spec = item.rendered.sources_dir.resolve(), item.rendered.spec.resolve()
        # rpm keeps the parsed spec in the SRPM: relative source and build directories (SOURCES
        # is a link to this package's sources) keep build paths out, so SRPMs are reproducible
        (Path(tmp) / "SOURCES").symlink_to(sources)
        args = ["rpmbuild", "-bs", "--nodeps", "--define", "_topdir .",
                "--define", "_sourcedir SOURCES", "--define", "_builddir BUILD",
                "--define", f"_srcrpmdir {tmp}", *target.rpm_args(), str(spec)]
        env = build_environment(item.source_date_epoch)
        if sandbox is not None:  # the spec is parsed, and a spec can run commands (%(...))
            args = sandbox.command(args, writable=(Path(tmp),), readable=(
                sources, spec, *config_files(target)))
            env = sandbox.environment(env)
            sandbox.give(Path(tmp))
        status = run_logged(args, log, env, cwd=Path(tmp))
        if sandbox is not None:
            sandbox.take_back(Path(tmp))
        if status != 0:
            return None
        made = list(Path(tmp).glob("*.src.rpm"))
        if len(made) != 1 or not outputs_are_files(made, log):
            return None
        final = layout.srpms / made[0].name
        shutil.move(str(made[0]), final)
        return final


def _write_state(path: Path, key: str, rpms: list[Path], srpm: Path | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"key": key, "rpms": [p.name for p in rpms],
                               "srpm": srpm.name if srpm else None,
                               "built_at": int(time.time())}, indent=1))
    os.replace(tmp, path)


def log_tail(log: Path | None, lines: int = 15) -> list[str]:
    if log is None or not log.exists():
        return []
    return log.read_text(errors="replace").splitlines()[-lines:]
