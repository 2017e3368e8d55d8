"""Copr: SRPMs are built here (reproducibly, as for every backend), binary RPMs on a Copr build
farm through the official client library (copr.v3), configured as copr-cli is (~/.config/copr).

The whole graph is submitted at once, one build per package, in waves: the builds of a wave share
one Copr batch (they build in parallel on the farm) and the batch waits for the previous wave's
(`with_build_id` / `after_build_id`), so a package builds only once what it needs is in the
project's repository. Copr's batches form a chain, not a graph: a package waits for the whole
wave before it, not only for its own dependencies.

A package whose build key is unchanged and whose Copr build in this project and chroot succeeded
is not submitted again: the key and the build id are recorded in build/<target>/state/.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

from .. import interrupt
from ..build import (
    BUILT,
    CACHED,
    FAILED,
    SKIPPED,
    PackageInput,
    PackageOutcome,
)
from ..errors import StageFailed, ToolMissing, UserError
from ..graph import Graph
from ..layout import BuildLayout
from ..targets import TargetProfile
from .base import Backend, BuildRequest, BuildResult
from .farm import FarmRun

FINAL_STATES = frozenset({"succeeded", "failed", "canceled", "skipped", "forked"})
RPM_MAGIC = b"\xed\xab\xee\xdb"


@dataclass(frozen=True)
class CoprOptions:
    project: str = ""  # OWNER/NAME, or @GROUP/NAME
    config: Path | None = None  # copr-cli's configuration file; None: ~/.config/copr
    create_project: bool = False  # create the project or add this target's chroot and repositories
    download: bool = True  # False: Copr stays the repository, nothing is downloaded or published
    poll_seconds: float = 20.0


def split_project(project: str) -> tuple[str, str]:
    owner, _, name = project.partition("/")
    if not owner or not name or "/" in name:
        raise UserError(f"--copr-project '{project}': expected OWNER/PROJECT",
                        "e.g. --copr-project myname/fuel or --copr-project @mygroup/fuel")
    return owner, name


def waves(graph: Graph, names: list[str]) -> list[list[str]]:
    """`names` grouped so that each group needs only packages of earlier groups (or none of
    `names`): group n is what can build once groups 0..n-1 are done."""
    chosen = set(names)
    level: dict[str, int] = {}
    for name in graph.order():
        if name in chosen:
            level[name] = 1 + max((level[dep] for dep in graph.deps[name] if dep in chosen),
                                  default=-1)
    count = max(level.values(), default=-1) + 1
    return [sorted(name for name in level if level[name] == i) for i in range(count)]


def wave_options(chroot: str, previous_wave: int | None,
                 first_in_wave: int | None) -> dict[str, Any]:
    """Copr build options that put a build into its wave's batch."""
    options: dict[str, Any] = {"chroots": [chroot]}
    if first_in_wave is not None:
        options["with_build_id"] = first_in_wave
    elif previous_wave is not None:
        options["after_build_id"] = previous_wave
    return options


class CoprBackend(Backend):
    name = "copr"
    clean_room = True
    required_tools = ("rpmbuild",)  # the SRPMs are built here

    def __init__(self, options: CoprOptions,
                 say: Callable[[str], None] = lambda message: print(message, file=sys.stderr)):
        self.options = options
        self.say = say
        self.client: Any = None  # copr.v3.Client (untyped)
        self.config: dict[str, Any] = {}
        self.owner, self.project = "", ""
        # target -> package -> build id, state, URLs
        self.builds: dict[str, dict[str, dict[str, Any]]] = {}

    # --- set-up -------------------------------------------------------------------------------

    def check_available(self) -> None:
        super().check_available()
        if not self.options.project:
            raise UserError("--backend copr needs --copr-project OWNER/PROJECT",
                            "the Copr project the packages are built in")
        self.owner, self.project = split_project(self.options.project)
        try:
            from copr.v3 import Client, CoprException, config_from_file
        except ImportError:
            raise ToolMissing("the copr client library is not installed (needed by --backend copr)",
                              "pip install 'buildtool[farm]', or install python3-copr") from None
        path = self.options.config or Path("~/.config/copr").expanduser()
        if not path.is_file():
            raise UserError(f"no Copr configuration at {path}",
                            "save the API token from your Copr instance's /api page there, "
                            "or give --copr-config FILE")
        try:
            self.config = config_from_file(str(path))
        except CoprException as error:
            raise UserError(f"{path}: {error}", "copr-cli's format: a [copr-cli] section with "
                            "login, username, token and copr_url") from None
        self.client = Client(self.config)

    def prepare_run(self, target: TargetProfile, build_root: Path, local_repo: Path) -> None:
        chroot = chroot_of(target)
        project = self._get_project()
        if self.options.create_project:
            self._configure_project(project, target)
        elif project is None:
            raise UserError(f"Copr project {self.options.project} does not exist",
                            "add --create-project: its chroots and repositories come from "
                            "repo-config/targets")
        elif chroot not in project.get("chroot_repos", {}):
            raise UserError(f"Copr project {self.options.project} has no chroot {chroot} "
                            f"(target {target.name})", "add --create-project to enable it")

    def _get_project(self) -> dict[str, Any] | None:
        try:
            with copr_errors("reading the project"):
                return dict(self.client.project_proxy.get(self.owner, self.project))
        except NotOnCopr:
            return None

    def _configure_project(self, project: dict[str, Any] | None, target: TargetProfile) -> None:
        chroot = chroot_of(target)
        assert target.copr is not None, "chroot_of refuses a target without copr settings"
        with copr_errors(f"configuring project {self.options.project}"):
            if project is None:
                self.client.project_proxy.add(
                    self.owner, self.project, chroots=[chroot],
                    description="Fuel master node packages, built by buildtool")
                self.say(f"copr: created project {self.options.project} with {chroot}")
            elif chroot not in project.get("chroot_repos", {}):
                chroots = sorted({*project.get("chroot_repos", {}), chroot})
                self.client.project_proxy.edit(self.owner, self.project, chroots=chroots)
                self.say(f"copr: enabled {chroot} in {self.options.project}")
            self.client.project_chroot_proxy.edit(
                self.owner, self.project, chroot,
                additional_repos=list(target.copr.external_repos))

    # --- the primitives -----------------------------------------------------------------------

    def submit(self, srpm: Path, options: dict[str, Any]) -> int:
        with copr_errors(f"submitting {srpm.name}"):
            build = self.client.build_proxy.create_from_file(self.owner, self.project, str(srpm),
                                                             buildopts=dict(options))
        return int(build["id"])

    def state(self, build_id: int) -> str:
        with copr_errors(f"reading build {build_id}"):
            return str(self.client.build_proxy.get(build_id)["state"])

    def result_url(self, build_id: int, chroot: str) -> str:
        with copr_errors(f"reading build {build_id} in {chroot}"):
            return self.client.build_chroot_proxy.get(build_id, chroot).get("result_url") or ""

    def cancel(self, build_ids: list[int]) -> list[int]:
        """Cancel what can still be cancelled; returns the builds that could not be."""
        from copr.v3 import CoprException
        refused = []
        for build_id in build_ids:
            try:
                self.client.build_proxy.cancel(build_id)
            except (CoprException, OSError):
                refused.append(build_id)
        return refused

    def download(self, build_id: int, chroot: str, dest: Path) -> list[Path]:
        """The build's binary RPMs for `chroot`, fetched into `dest`."""
        import requests
        base = self.result_url(build_id, chroot).rstrip("/") + "/"
        with copr_errors(f"listing the RPMs of build {build_id}"):
            built = self.client.build_chroot_proxy.get_built_packages(build_id, chroot)
        packages = built["packages"]
        names = sorted(f"{p['name']}-{p['version']}-{p['release']}.{p['arch']}.rpm"
                       for p in packages if p["arch"] != "src")
        if not names:
            raise StageFailed(f"Copr build {build_id} succeeded but lists no binary RPMs",
                              f"see {base}")
        dest.mkdir(parents=True, exist_ok=True)
        rpms = []
        for name in names:
            if "/" in name or name.startswith("."):  # names come from the farm: stay in dest
                raise StageFailed(f"Copr build {build_id} lists a strange file name: {name!r}")
            path = dest / name
            try:
                with requests.get(base + name, stream=True, timeout=300) as response:
                    response.raise_for_status()
                    with path.open("wb") as out:
                        for chunk in response.iter_content(1 << 20):
                            out.write(chunk)
            except requests.RequestException as error:
                raise StageFailed(f"downloading {base + name}: {error}") from None
            with path.open("rb") as downloaded:
                if downloaded.read(4) != RPM_MAGIC:
                    raise StageFailed(f"{base + name} is not an RPM")
            rpms.append(path)
        return rpms

    def remote_log(self, build_id: int, chroot: str) -> tuple[str, str]:
        """The build log's URL and its text ('' when it cannot be fetched)."""
        import requests
        base = self.result_url(build_id, chroot)
        if not base:
            return self.build_page(build_id), ""
        url = base.rstrip("/") + "/builder-live.log.gz"
        try:
            response = requests.get(url, timeout=60)
            response.raise_for_status()
        except requests.RequestException:
            return url, ""
        data = response.content
        if data.startswith(b"\x1f\x8b"):  # served as a file, not with Content-Encoding: gzip
            data = gzip.decompress(data)
        return url, data.decode(errors="replace")

    def build_page(self, build_id: int) -> str:
        return f"{self.config['copr_url'].rstrip('/')}/coprs/build/{build_id}/"

    def repo_file_url(self, target: TargetProfile) -> str:
        """The .repo file Copr serves for the project's chroot of `target`."""
        name_release = chroot_of(target).rsplit("-", 1)[0]
        group = self.owner.startswith("@")
        path_owner = f"g/{self.owner[1:]}" if group else self.owner
        file_owner = f"group_{self.owner[1:]}" if group else self.owner
        return (f"{self.config['copr_url'].rstrip('/')}/coprs/{path_owner}/{self.project}/repo/"
                f"{name_release}/{file_owner}-{self.project}-{name_release}.repo")

    def remote_repository(self, target: TargetProfile) -> str | None:
        """With --no-download, where the packages are served instead of a local publish."""
        return None if self.options.download else self.repo_file_url(target)

    def run_summary(self, target: TargetProfile) -> dict[str, Any]:
        return {"project": self.options.project, "chroot": chroot_of(target),
                "repo_file": self.repo_file_url(target), "downloaded": self.options.download,
                "builds": self.builds.get(target.name, {})}

    # --- one package (the Backend interface) --------------------------------------------------

    def build(self, request: BuildRequest) -> BuildResult:
        """One SRPM, one Copr build, waited for; the graph goes through build_graph instead."""
        chroot = chroot_of(request.target)
        assert request.srpm is not None, "makes_srpm is False: the SRPM step ran"
        build_id = self.submit(request.srpm, wave_options(chroot, None, None))
        try:
            while (state := self.state(build_id)) not in FINAL_STATES:
                time.sleep(self.options.poll_seconds)
                interrupt.check()
        except KeyboardInterrupt:
            self.cancel([build_id])
            raise
        with request.log.open("a") as log:
            log.write(f"Copr build {build_id}: {state} ({self.build_page(build_id)})\n")
        if state != "succeeded":
            return BuildResult(False, (), request.log)
        return BuildResult(True, tuple(self.download(build_id, chroot, request.result_dir)),
                           request.log)

    # --- the whole graph ----------------------------------------------------------------------

    def build_graph(self, graph: Graph, inputs: dict[str, PackageInput], keys: dict[str, str],
                    target: TargetProfile, layout: BuildLayout,
                    on_event: Callable[[str, PackageOutcome | str], None]
                    ) -> dict[str, PackageOutcome]:
        return GraphRun(self, graph, target, layout, keys, on_event).run(inputs)


class GraphRun(FarmRun):
    """One target's graph on Copr: reuse what is built, submit the rest in waves, wait."""

    backend: CoprBackend

    def __init__(self, backend: CoprBackend, graph: Graph, target: TargetProfile,
                 layout: BuildLayout, keys: dict[str, str],
                 on_event: Callable[[str, PackageOutcome | str], None]) -> None:
        super().__init__(backend, graph, target, layout, keys, on_event)
        self.chroot = chroot_of(target)

    def where(self) -> str:
        return f"Copr {self.backend.options.project} ({self.chroot})"

    def run(self, inputs: dict[str, PackageInput]) -> dict[str, PackageOutcome]:
        srpms = self.srpms_to_submit(inputs)
        submitted: dict[str, int] = {}
        try:
            self._submit(srpms, submitted)
            self._wait(submitted)
        except (KeyboardInterrupt, StageFailed):
            self._cancel_unfinished(submitted)
            raise
        return {name: self.outcomes[name] for name in self.graph.order()}

    def _reuse(self, name: str) -> PackageOutcome | None:
        """The recorded Copr build of this very key, if the project still has it."""
        record = read_record(self.layout, name)
        farm = record.get("copr") or {}
        wanted = (self.keys[name], self.backend.options.project, self.chroot)
        if (record.get("key"), farm.get("project"), farm.get("chroot")) != wanted:
            return None
        build_id = int(farm["build_id"])
        rpms = [self.layout.rpms(name) / rpm for rpm in record.get("rpms", [])]
        have_rpms = bool(rpms) and all(path.is_file() for path in rpms)
        if not (self.backend.options.download and have_rpms):
            try:
                if self.backend.state(build_id) != "succeeded":
                    return None
            except NotOnCopr:
                return None  # deleted from the project: build it again
            if self.backend.options.download:
                rpms = self._install_rpms(name, build_id)
        self._remember(name, build_id, "succeeded")
        return PackageOutcome(name, CACHED, 0.0, rpms, self.layout.log(name),
                              f"Copr build {build_id}")

    def _submit(self, srpms: dict[str, Path], submitted: dict[str, int]) -> None:
        previous = None
        for wave in waves(self.graph, list(srpms)):
            first = None
            for name in wave:
                build_id = self.backend.submit(srpms[name],
                                               wave_options(self.chroot, previous, first))
                first = first or build_id
                submitted[name] = build_id
                self.started[name] = time.monotonic()
                self._remember(name, build_id, "pending")
                self._log(name, f"submitted {srpms[name].name} as Copr build {build_id}: "
                                f"{self.backend.build_page(build_id)}")
                self.backend.say(f"copr: {name}: build {build_id} submitted "
                                 f"({self.backend.build_page(build_id)})")
                self.on_event("start", name)
            previous = first

    def _wait(self, submitted: dict[str, int]) -> None:
        active = dict(submitted)
        while active:
            for name, build_id in list(active.items()):
                if name not in active:
                    continue  # cancelled below as a dependent of a failure in this pass
                state = self.backend.state(build_id)
                if state != self.builds[name]["state"]:
                    self._remember(name, build_id, state)
                    where = ""
                    if state == "running":  # Copr streams the log while the build runs
                        live = self.backend.result_url(build_id, self.chroot)
                        where = f", log: {live}builder-live.log" if live else ""
                    self._log(name, f"Copr build {build_id}: {state}{where}")
                    self.backend.say(f"copr: {name}: build {build_id} {state}{where}")
                if state not in FINAL_STATES:
                    continue
                del active[name]
                # what needs a failed package is cancelled before anything else reaches Copr
                skipped = self._cancel_dependents(name, active) if state != "succeeded" else []
                outcome = self._finished(name, build_id, state)
                if outcome.status == FAILED and (broken := self._failed_needs(name, active)):
                    # Copr started the next batch anyway: the failure is the dependency's
                    outcome = PackageOutcome(name, SKIPPED, outcome.seconds, [], outcome.log,
                                             f"needs {', '.join(broken)}; {outcome.reason}")
                for done in (outcome, *skipped):
                    self._finish(done)
            if active:
                time.sleep(self.backend.options.poll_seconds)
                interrupt.check()

    def _finished(self, name: str, build_id: int, state: str) -> PackageOutcome:
        seconds = time.monotonic() - self.started[name]
        log = self.layout.log(name)
        if state != "succeeded":
            url, text = self.backend.remote_log(build_id, self.chroot)
            self.builds[name]["log"] = url
            if text:
                self._log(name, f"===== Copr build log {url} =====\n{text}")
            return PackageOutcome(name, FAILED, seconds, [], log,
                                  f"Copr build {build_id} {state}, log: {url}")
        rpms: list[Path] = []
        if self.backend.options.download:
            rpms = self._install_rpms(name, build_id)
        else:
            write_record(self.layout, name, self.keys[name], [], self._farm(build_id))
        self.builds[name]["results"] = self.backend.result_url(build_id, self.chroot)
        return PackageOutcome(name, BUILT, seconds, rpms, log)

    def _install_rpms(self, name: str, build_id: int) -> list[Path]:
        """Download the build's RPMs and swap them in whole, then record the key."""
        final_dir = self.layout.rpms(name)
        final_dir.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=final_dir.parent))
        try:
            fetched = self.backend.download(build_id, self.chroot, staging)
            if final_dir.exists():
                shutil.rmtree(final_dir)
            staging.rename(final_dir)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        rpms = sorted(final_dir / path.name for path in fetched)
        write_record(self.layout, name, self.keys[name], rpms, self._farm(build_id))
        self._log(name, f"downloaded {', '.join(path.name for path in rpms)}")
        return rpms

    def _failed_needs(self, name: str, active: dict[str, int]) -> list[str]:
        """Dependencies of `name` that failed, seen already or ended on Copr since last asked."""
        return sorted(dep for dep in self.graph.deps[name]
                      if dep in self.outcomes and self.outcomes[dep].status in (FAILED, SKIPPED)
                      or dep in active and self.backend.state(active[dep]) in
                      FINAL_STATES - {"succeeded"})

    def _cancel_dependents(self, failed: str, active: dict[str, int]) -> list[PackageOutcome]:
        doomed = [name for name in reversed(active) if name in self.graph.dependents(failed)]
        refused = self.backend.cancel([active[name] for name in doomed])
        skipped = []
        for name in doomed:
            build_id = active.pop(name)
            state = "not cancelled" if build_id in refused else "canceled"
            self._remember(name, build_id, state)
            skipped.append(PackageOutcome(name, SKIPPED, reason=f"needs {failed}; Copr build "
                                          f"{build_id} {state}"))
        return skipped

    def _cancel_unfinished(self, submitted: dict[str, int]) -> None:
        # the last waves first: a cancelled batch must not let the one it blocks start
        unfinished = {name: build_id for name, build_id in reversed(submitted.items())
                      if name not in self.outcomes}
        if not unfinished:
            return
        refused = self.backend.cancel(list(unfinished.values()))
        cancelled = [f"{name} ({build_id})" for name, build_id in unfinished.items()
                     if build_id not in refused]
        if cancelled:
            self.backend.say(f"copr: cancelled {', '.join(cancelled)}")
        if refused:
            self.backend.say(f"copr: could not cancel build(s) {', '.join(map(str, refused))}; "
                             f"see {self.backend.build_page(refused[0])}")

    def _remember(self, name: str, build_id: int, state: str) -> None:
        entry = self.builds.setdefault(name, {})
        entry.update(build_id=build_id, state=state, url=self.backend.build_page(build_id))

    def _farm(self, build_id: int) -> dict[str, Any]:
        return {"project": self.backend.options.project, "chroot": self.chroot,
                "build_id": build_id}

def chroot_of(target: TargetProfile) -> str:
    if target.copr is None:
        raise UserError(f"target {target.name} has no Copr chroot",
                        f"add 'copr: {{chroot: ...}}' to repo-config/targets/{target.name}.yaml")
    return target.copr.chroot


class NotOnCopr(StageFailed):
    """Copr answered that the project or build does not exist."""


@contextmanager
def copr_errors(what: str) -> Iterator[None]:
    """The client library's and the network's errors as one line, exit status 1."""
    import requests
    from copr.v3 import CoprException, CoprNoResultException
    try:
        yield
    except CoprException as error:
        message = f"Copr: {what}: {' '.join(str(error).split())}"
        if isinstance(error, CoprNoResultException):
            raise NotOnCopr(message) from None
        raise StageFailed(message) from None
    except requests.RequestException as error:
        raise StageFailed(f"Copr: {what}: {error}") from None


def read_record(layout: BuildLayout, name: str) -> dict[str, Any]:
    try:
        record: dict[str, Any] = json.loads(layout.state(name).read_text())
        return record
    except (OSError, ValueError):
        return {}


def write_record(layout: BuildLayout, name: str, key: str, rpms: list[Path],
                 farm: dict[str, Any], section: str = "copr") -> None:
    """build.py's state file (key, RPMs: `buildtool publish` reads it) plus the farm's build."""
    path = layout.state(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"key": key, "rpms": [p.name for p in rpms],
                               "built_at": int(time.time()), section: farm}, indent=1))
    os.replace(tmp, path)
