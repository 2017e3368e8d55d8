"""Koji: SRPMs are built here, binary RPMs by a Koji hub through the koji client library,
configured by a koji client profile (/etc/koji.conf.d, ~/.koji/config or --koji-config).

`koji build --nowait` semantics per package: the SRPM is uploaded and a build task created in the
Koji build target. Koji has no batches and its chain-build takes only SCM URLs, so a package is
submitted once its dependencies' builds completed, with `wait_builds` naming their NVRs: the
hub holds the task until the build tag's repository has them (koji build --wait-build).
Independent packages build in parallel on the hub's builders.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Callable, Literal

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
from .copr import RPM_MAGIC, read_record, write_record
from .farm import FarmRun

# koji.TASK_STATES: FREE 0, OPEN 1, CLOSED 2, CANCELED 3, ASSIGNED 4, FAILED 5
TASK_STATES = {0: "free", 1: "open", 2: "closed", 3: "canceled", 4: "assigned", 5: "failed"}
FINAL = frozenset({"closed", "canceled", "failed"})
BUILD_COMPLETE = 1  # koji.BUILD_STATES["COMPLETE"]


@dataclass(frozen=True)
class KojiOptions:
    profile: str = "koji"
    config: Path | None = None  # a koji client configuration file read on top of the system's
    target: str = ""  # the Koji build target; {target} is replaced by buildtool's target name
    poll_seconds: float = 20.0


class KojiBackend(Backend):
    name = "koji"
    clean_room = True
    required_tools = ("rpmbuild",)  # the SRPMs are built here

    def __init__(self, options: KojiOptions,
                 say: Callable[[str], None] = lambda message: print(message, file=sys.stderr)):
        self.options = options
        self.say = say
        self.session: Any = None  # koji.ClientSession (untyped)
        self.config: dict[str, Any] = {}
        # target -> package -> task id, state, URLs
        self.builds: dict[str, dict[str, dict[str, Any]]] = {}

    def check_available(self) -> None:
        super().check_available()
        if not self.options.target:
            raise UserError("--backend koji needs --koji-target KOJI_TARGET",
                            "the Koji build target, e.g. fuel-{target}-candidate")
        try:
            import koji
        except ImportError:
            raise ToolMissing("the koji client library is not installed (needed by --backend koji)",
                              "pip install koji (it builds gssapi: install libkrb5-dev first), "
                              "or install python3-koji") from None
        if self.options.config and not self.options.config.is_file():
            raise UserError(f"no koji configuration at {self.options.config}")
        try:
            config = koji.read_config(self.options.profile,
                                      user_config=str(self.options.config or "") or None)
        except koji.ConfigurationError as error:
            raise UserError(f"koji profile {self.options.profile}: {error}",
                            "see koji's client configuration (/etc/koji.conf.d)") from None
        self.config = dict(config)
        self.session = koji.ClientSession(self.config["server"], self.config)
        with koji_errors("logging in"):
            login(self.session, self.config)
            self.session.getAPIVersion()

    def koji_target(self, target: TargetProfile) -> str:
        return self.options.target.replace("{target}", target.name)

    def prepare_run(self, target: TargetProfile, build_root: Path, local_repo: Path) -> None:
        with koji_errors("reading the build target"):
            found = self.session.getBuildTarget(self.koji_target(target))
        if not found:
            raise UserError(f"no Koji build target {self.koji_target(target)} "
                            f"(for target {target.name})", "list them with 'koji list-targets'")

    # --- the primitives -----------------------------------------------------------------------

    def submit(self, srpm: Path, koji_target: str, wait_builds: list[str]) -> int:
        serverdir = f"cli-build/buildtool-{time.time()!r}"
        with koji_errors(f"uploading {srpm.name}"):
            self.session.uploadWrapper(str(srpm), serverdir)
        options = {"wait_builds": wait_builds} if wait_builds else {}
        with koji_errors(f"submitting {srpm.name}"):
            return int(self.session.build(f"{serverdir}/{srpm.name}", koji_target, options))

    def state(self, task_id: int) -> str:
        with koji_errors(f"reading task {task_id}"):
            return TASK_STATES.get(self.session.getTaskInfo(task_id)["state"], "unknown")

    def failure(self, task_id: int) -> str:
        """Why the task failed, as the hub says it."""
        import koji
        try:
            self.session.getTaskResult(task_id)
        except koji.GenericError as error:
            return str(error)
        except OSError:  # the hub is unreachable: the task page still says why
            return ""
        return ""

    def cancel(self, task_ids: list[int]) -> list[int]:
        refused = []
        for task_id in task_ids:
            try:
                self.session.cancelTask(task_id)
            except Exception:  # noqa: BLE001 - best effort: report, never hide the first error
                refused.append(task_id)
        return refused

    def built(self, task_id: int) -> dict[str, Any]:
        with koji_errors(f"reading the build of task {task_id}"):
            builds = self.session.listBuilds(taskID=task_id)
        if len(builds) != 1:
            raise StageFailed(f"Koji task {task_id} closed with {len(builds)} builds",
                              f"see {self.task_page(task_id)}")
        build: dict[str, Any] = builds[0]
        return build

    def complete(self, nvr: str) -> bool:
        with koji_errors(f"reading build {nvr}"):
            info = self.session.getBuild(nvr)
        return bool(info) and info.get("state") == BUILD_COMPLETE

    def download(self, build: dict[str, Any], dest: Path) -> list[Path]:
        import koji
        import requests
        with koji_errors(f"listing the RPMs of {build['nvr']}"):
            rpms = self.session.listRPMs(buildID=build["build_id"])
        paths = koji.PathInfo(topdir=self.config["topurl"].rstrip("/"))
        dest.mkdir(parents=True, exist_ok=True)
        fetched = []
        for rpm in sorted((r for r in rpms if r["arch"] != "src"), key=lambda r: r["arch"]):
            url = f"{paths.build(build)}/{paths.rpm(rpm)}"
            path = dest / Path(paths.rpm(rpm)).name
            try:
                with requests.get(url, stream=True, timeout=300) as response:
                    response.raise_for_status()
                    with path.open("wb") as out:
                        for chunk in response.iter_content(1 << 20):
                            out.write(chunk)
            except requests.RequestException as error:
                raise StageFailed(f"downloading {url}: {error}") from None
            with path.open("rb") as downloaded:
                if downloaded.read(4) != RPM_MAGIC:
                    raise StageFailed(f"{url} is not an RPM")
            fetched.append(path)
        if not fetched:
            raise StageFailed(f"Koji build {build['nvr']} has no binary RPMs")
        return sorted(fetched)

    def task_page(self, task_id: int) -> str:
        return f"{self.config['weburl'].rstrip('/')}/taskinfo?taskID={task_id}"

    def run_summary(self, target: TargetProfile) -> dict[str, Any]:
        return {"hub": self.config["server"], "target": self.koji_target(target),
                "builds": self.builds.get(target.name, {})}

    # --- one package (the Backend interface) --------------------------------------------------

    def build(self, request: BuildRequest) -> BuildResult:
        """One SRPM, one Koji task, waited for; the graph goes through build_graph instead."""
        assert request.srpm is not None, "makes_srpm is False: the SRPM step ran"
        task_id = self.submit(request.srpm, self.koji_target(request.target), [])
        try:
            while (state := self.state(task_id)) not in FINAL:
                time.sleep(self.options.poll_seconds)
                interrupt.check()
        except KeyboardInterrupt:
            self.cancel([task_id])
            raise
        with request.log.open("a") as log:
            log.write(f"Koji task {task_id}: {state} ({self.task_page(task_id)})\n")
        if state != "closed":
            return BuildResult(False, (), request.log)
        return BuildResult(True, tuple(self.download(self.built(task_id), request.result_dir)),
                           request.log)

    # --- the whole graph ----------------------------------------------------------------------

    def build_graph(self, graph: Graph, inputs: dict[str, PackageInput], keys: dict[str, str],
                    target: TargetProfile, layout: BuildLayout,
                    on_event: Callable[[str, PackageOutcome | str], None]
                    ) -> dict[str, PackageOutcome]:
        return KojiRun(self, graph, target, layout, keys, on_event).run(inputs)


class KojiRun(FarmRun):
    """One target's graph on Koji: reuse what is built, submit what is ready, wait."""

    backend: KojiBackend

    def __init__(self, backend: KojiBackend, graph: Graph, target: TargetProfile,
                 layout: BuildLayout, keys: dict[str, str],
                 on_event: Callable[[str, PackageOutcome | str], None]) -> None:
        super().__init__(backend, graph, target, layout, keys, on_event)
        self.koji_target = backend.koji_target(target)
        self.nvrs: dict[str, str] = {}  # package -> the NVR Koji built (what dependants wait for)

    def where(self) -> str:
        return f"Koji {self.backend.config['server']} ({self.koji_target})"

    def run(self, inputs: dict[str, PackageInput]) -> dict[str, PackageOutcome]:
        waiting = self.srpms_to_submit(inputs)
        active: dict[str, int] = {}
        try:
            while waiting or active:
                self._submit_ready(waiting, active)
                self._poll(active)
                if active:
                    time.sleep(self.backend.options.poll_seconds)
                    interrupt.check()
        except (KeyboardInterrupt, StageFailed):
            refused = self.backend.cancel(list(active.values()))
            cancelled = [f"{name} ({task})" for name, task in active.items() if task not in refused]
            if cancelled:
                self.backend.say(f"koji: cancelled {', '.join(cancelled)}")
            raise
        return {name: self.outcomes[name] for name in self.graph.order()}

    def _reuse(self, name: str) -> PackageOutcome | None:
        record = read_record(self.layout, name)
        farm = record.get("koji") or {}
        wanted = (self.keys[name], self.backend.config["server"], self.koji_target)
        if (record.get("key"), farm.get("hub"), farm.get("target")) != wanted:
            return None
        rpms = [self.layout.rpms(name) / rpm for rpm in record.get("rpms", [])]
        if not (rpms and all(path.is_file() for path in rpms)):
            if not self.backend.complete(farm["nvr"]):
                return None
            rpms = self._install(name, self.backend.built(farm["task_id"]), farm["task_id"])
        self.nvrs[name] = farm["nvr"]
        self.builds[name] = {"task_id": farm["task_id"], "state": "closed", "nvr": farm["nvr"],
                             "url": self.backend.task_page(farm["task_id"])}
        return PackageOutcome(name, CACHED, 0.0, rpms, self.layout.log(name),
                              f"Koji build {farm['nvr']}")

    def _submit_ready(self, waiting: dict[str, Path], active: dict[str, int]) -> None:
        for name in list(waiting):
            if broken := self._broken(name):
                del waiting[name]
                self._finish(PackageOutcome(name, SKIPPED, reason=f"needs {', '.join(broken)}"))
            elif all(self.outcomes.get(dep) for dep in self.graph.deps[name]):
                wait_builds = sorted(self.nvrs[dep] for dep in self.graph.deps[name])
                task_id = self.backend.submit(waiting.pop(name), self.koji_target, wait_builds)
                active[name] = task_id
                self.started[name] = time.monotonic()
                self.builds[name] = {"task_id": task_id, "state": "free",
                                     "url": self.backend.task_page(task_id)}
                after = f" after {', '.join(wait_builds)}" if wait_builds else ""
                self._log(name, f"submitted as Koji task {task_id}{after}")
                self.backend.say(f"koji: {name}: task {task_id} submitted{after} "
                                 f"({self.backend.task_page(task_id)})")
                self.on_event("start", name)

    def _poll(self, active: dict[str, int]) -> None:
        for name, task_id in list(active.items()):
            state = self.backend.state(task_id)
            if state != self.builds[name]["state"]:
                self.builds[name]["state"] = state
                self._log(name, f"Koji task {task_id}: {state}")
                self.backend.say(f"koji: {name}: task {task_id} {state}")
            if state in FINAL:
                del active[name]
                self._finish(self._finished(name, task_id, state))

    def _finished(self, name: str, task_id: int, state: str) -> PackageOutcome:
        seconds = time.monotonic() - self.started[name]
        url = self.backend.task_page(task_id)
        if state != "closed":
            why = self.backend.failure(task_id)
            if why:
                self._log(name, f"===== Koji task {task_id} =====\n{why}")
            return PackageOutcome(name, FAILED, seconds, [], self.layout.log(name),
                                  f"Koji task {task_id} {state}: {url}")
        build = self.backend.built(task_id)
        rpms = self._install(name, build, task_id)
        return PackageOutcome(name, BUILT, seconds, rpms, self.layout.log(name))

    def _install(self, name: str, build: dict[str, Any], task_id: int) -> list[Path]:
        final_dir = self.layout.rpms(name)
        final_dir.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=final_dir.parent))
        try:
            fetched = self.backend.download(build, staging)
            if final_dir.exists():
                shutil.rmtree(final_dir)
            staging.rename(final_dir)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        rpms = sorted(final_dir / path.name for path in fetched)
        self.nvrs[name] = build["nvr"]
        write_record(self.layout, name, self.keys[name], rpms,
                     {"hub": self.backend.config["server"], "target": self.koji_target,
                      "task_id": task_id, "nvr": build["nvr"]}, section="koji")
        self._log(name, f"downloaded {', '.join(path.name for path in rpms)}")
        return rpms

def login(session: Any, config: dict[str, Any]) -> None:  # session: koji.ClientSession
    """koji_cli's activate_session, without its sys.exit on failure."""
    authtype = config.get("authtype")
    if authtype == "noauth":
        return
    if authtype == "ssl" or (authtype is None and config.get("cert")
                             and Path(config["cert"]).expanduser().is_file()):
        session.ssl_login(config["cert"], None, config.get("serverca"))
    elif authtype == "password":
        # koji's --user/--password, never in a file: from the environment
        user, password = os.environ.get("KOJI_USER"), os.environ.get("KOJI_PASSWORD")
        if not user or not password:
            raise UserError("the koji profile says authtype = password",
                            "set KOJI_USER and KOJI_PASSWORD in the environment")
        session.opts.update(user=user, password=password)
        session.login()
    else:
        session.gssapi_login(principal=config.get("principal"), keytab=config.get("keytab"))
    if not session.logged_in:
        raise UserError("could not log in to the Koji hub",
                        "check the profile's authtype and credentials")


class koji_errors:  # noqa: N801 - used as a context manager, like copr_errors
    """The client library's and the network's errors as one line, exit status 1."""

    def __init__(self, what: str) -> None:
        self.what = what

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> Literal[False]:
        if error is None or isinstance(error, (UserError, KeyboardInterrupt)):
            return False
        import koji
        import requests
        if isinstance(error, (koji.GenericError, requests.RequestException, OSError)):
            raise StageFailed(f"Koji: {self.what}: {' '.join(str(error).split())}") from None
        return False
