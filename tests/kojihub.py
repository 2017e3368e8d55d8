"""A local stand-in for a Koji hub (a test double: no Koji is reachable here).

It answers the XML-RPC calls the koji client library makes for buildtool (login, getAPIVersion,
getBuildTarget, the fast upload: checkUpload / rawUpload, build, getTaskInfo, getTaskResult,
cancelTask, listBuilds, listRPMs, getBuild) and serves built RPMs under /packages as a hub's
topurl does. A build task waits while a build named in its `wait_builds` is not yet in the build
tag's repository (three polls after it completed), then "runs" for a few polls and really rebuilds
the uploaded SRPM with rpmbuild --rebuild. As in a Koji buildroot, a BuildRequires on a package
built by this hub is satisfied only once such a build is in the repository: submitted too early,
the task fails.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import tempfile
import threading
import xmlrpc.client
import zlib
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

FREE, OPEN, CLOSED, CANCELED, FAILED = 0, 1, 2, 3, 5


@dataclass
class Task:
    id: int
    package: str
    srpm: Path
    target: str
    wait_builds: list[str]
    requires: list[str]
    state: int = FREE
    ticks: int = 2
    started: int | None = None
    ended: int | None = None
    error: str = ""
    build_id: int | None = None


@dataclass
class KojiBuild:
    id: int
    task_id: int
    name: str
    version: str
    release: str
    rpms: list[dict] = field(default_factory=list)
    in_repo_at: int = 0  # the clock value from which the build tag's repository has it


class KojiHub:
    def __init__(self, workdir: Path, rpm_args: list[str], targets: tuple[str, ...] = (),
                 user: str = "builder", password: str = "secret"):
        self.workdir = workdir
        self.rpm_args = rpm_args
        self.targets = set(targets)
        self.credentials = (user, password)
        self.tasks: dict[int, Task] = {}
        self.builds: dict[int, KojiBuild] = {}
        self.fail: set[str] = set()
        self.hold: set[str] = set()
        self.clock = 0
        self._ids = itertools.count(5001)
        self._build_ids = itertools.count(1)
        self._lock = threading.RLock()
        self._httpd: ThreadingHTTPServer | None = None

    def start(self) -> str:
        handler = type("Handler", (_Handler,), {"hub": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self.url

    def stop(self) -> None:
        if self._httpd:
            self._httpd.shutdown()
            self._httpd.server_close()

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def config_file(self, path: Path, profile: str = "testkoji") -> Path:
        """A koji client profile for this hub; the password goes in KOJI_USER/KOJI_PASSWORD."""
        path.write_text(f"[{profile}]\nserver = {self.url}/kojihub\nweburl = {self.url}/koji\n"
                        f"topurl = {self.url}\nauthtype = password\nmax_retries = 0\n"
                        f"anon_retry = false\n")
        return path

    def tasks_of(self, package: str) -> list[Task]:
        return [t for t in self.tasks.values() if t.package == package]

    # --- the simulated builders ---

    def advance(self) -> None:
        self.clock += 1
        for task in self.tasks.values():
            if task.state == OPEN and task.package not in self.hold:
                task.ticks -= 1
                if task.ticks <= 0:
                    self._finish(task)
        for task in self.tasks.values():
            if task.state == FREE and all(self._in_repo(nvr) for nvr in task.wait_builds):
                task.state, task.started = OPEN, self.clock
                missing = [name for name in task.requires if self._ours(name)
                           and not any(b.name == name and b.in_repo_at <= self.clock
                                       for b in self.builds.values())]
                if missing:
                    self._end(task, FAILED, f"BuildError: error building package (arch noarch), "
                                            f"mock exited with status 30; No matching package to "
                                            f"install: '{missing[0]}'")

    def _ours(self, name: str) -> bool:
        return any(t.package == name for t in self.tasks.values())

    def _in_repo(self, nvr: str) -> bool:
        return any(f"{b.name}-{b.version}-{b.release}" == nvr and b.in_repo_at <= self.clock
                   for b in self.builds.values())

    def _finish(self, task: Task) -> None:
        if task.package in self.fail:
            self._end(task, FAILED, f"BuildError: error building package (arch noarch), mock "
                                    f"exited with status 1; {task.package} failed as asked")
            return
        with tempfile.TemporaryDirectory(prefix="kojihub-") as tmp:
            process = subprocess.run(
                ["rpmbuild", "--rebuild", "--nodeps", "--define", f"_topdir {tmp}",
                 *self.rpm_args, str(task.srpm)], capture_output=True, text=True,
                env={**os.environ, "SOURCE_DATE_EPOCH": "1700000000", "LC_ALL": "C.UTF-8"})
            rpms = sorted(Path(tmp, "RPMS").rglob("*.rpm"))
            if process.returncode != 0 or not rpms:
                self._end(task, FAILED, "BuildError: " + process.stderr[-500:])
                return
            heads = [_header(rpm) for rpm in rpms]
            name, version, release = heads[0]["srcname"], heads[0]["version"], heads[0]["release"]
            build = KojiBuild(next(self._build_ids), task.id, name, version, release,
                              in_repo_at=self.clock + 3)
            for rpm, head in zip(rpms, heads, strict=True):
                dest = (self.workdir / "packages" / name / version / release / head["arch"]
                        / rpm.name)
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(rpm, dest)
                build.rpms.append({key: head[key] for key in ("name", "version", "release",
                                                              "arch")})
        self.builds[build.id] = build
        task.build_id = build.id
        self._end(task, CLOSED, "")

    def _end(self, task: Task, state: int, error: str) -> None:
        task.state, task.ended, task.error = state, self.clock, error

    # --- the hub's calls ---

    def call(self, method: str, args: list, kwargs: dict):
        if method == "getAPIVersion":
            return 1
        if method == "login":
            if tuple(args[:2]) != self.credentials:
                raise xmlrpc.client.Fault(1002, "AuthError: invalid username or password")
            return {"session-id": 1, "session-key": "1-key", "header-auth": True}
        if method == "getBuildTarget":
            name = args[0]
            return ({"name": name, "build_tag_name": f"{name}-build",
                     "dest_tag_name": f"{name}-dest"} if name in self.targets else None)
        if method == "checkUpload":
            path = self.workdir / "work" / args[0] / args[1]
            if not path.exists():
                return None
            data = path.read_bytes()
            return {"size": len(data), "hexdigest": "%08x" % zlib.adler32(data)}
        if method == "build":
            return self._build(args[0], args[1], args[2] if len(args) > 2 else {})
        if method == "getTaskInfo":
            self.advance()  # the builders' time passes while a client polls
            task = self.tasks[int(args[0])]
            return {"id": task.id, "state": task.state, "method": "build"}
        if method == "getTaskResult":
            task = self.tasks[int(args[0])]
            if task.state == FAILED:
                raise xmlrpc.client.Fault(1000, task.error)
            return {"koji_builds": [task.build_id]} if task.build_id else None
        if method == "cancelTask":
            task = self.tasks[int(args[0])]
            if task.state in (CLOSED, CANCELED, FAILED):
                raise xmlrpc.client.Fault(1000, f"GenericError: task {task.id} is finished")
            self._end(task, CANCELED, "")
            return None
        if method == "listBuilds":
            return [self._build_dict(b) for b in self.builds.values()
                    if b.task_id == int(kwargs["taskID"])]
        if method == "listRPMs":
            return list(self.builds[int(kwargs["buildID"])].rpms)
        if method == "getBuild":
            for build in self.builds.values():
                if f"{build.name}-{build.version}-{build.release}" == args[0]:
                    return {**self._build_dict(build), "state": 1}
            return None
        raise xmlrpc.client.Fault(1000, f"GenericError: no method {method} in the test hub")

    def _build(self, source: str, target: str, opts: dict) -> int:
        if target not in self.targets:
            raise xmlrpc.client.Fault(1000, f"GenericError: No such build target: {target}")
        srpm = self.workdir / "work" / source
        task_id = next(self._ids)
        head = _header(srpm)
        requires = subprocess.run(["rpm", "-qp", "--requires", str(srpm)], capture_output=True,
                                  text=True).stdout.split("\n")
        self.tasks[task_id] = Task(task_id, head["name"], srpm, target,
                                   list(opts.get("wait_builds") or []),
                                   [line.split()[0] for line in requires if line.strip()])
        return task_id

    def _build_dict(self, build: KojiBuild) -> dict:
        return {"build_id": build.id, "id": build.id, "name": build.name,
                "package_name": build.name, "version": build.version, "release": build.release,
                "nvr": f"{build.name}-{build.version}-{build.release}", "task_id": build.task_id,
                "volume_name": "DEFAULT", "state": 1}

    def upload(self, query: dict, data: bytes) -> dict:
        path = self.workdir / "work" / query["filepath"] / query["filename"]
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("r+b" if path.exists() else "wb") as out:
            out.seek(int(query["offset"]))
            out.write(data)
        return {"size": len(data), "hexdigest": "%08x" % zlib.adler32(data)}


def _header(rpm: Path) -> dict:
    out = subprocess.run(["rpm", "-qp", "--qf", "%{NAME}|%{VERSION}|%{RELEASE}|%{ARCH}|"
                          "%{SOURCERPM}", str(rpm)], capture_output=True, text=True).stdout
    name, version, release, arch, source = out.strip().split("|")
    srcname = source.rsplit("-", 2)[0] if source != "(none)" else name
    return {"name": name, "version": version, "release": release, "arch": arch,
            "srcname": srcname}


class _Handler(BaseHTTPRequestHandler):
    hub: KojiHub

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        path = urlparse(self.path).path
        local = (self.hub.workdir / path.lstrip("/")).resolve()
        if not path.startswith("/packages/") or not local.is_file():
            self.send_response(404)
            self.end_headers()
            return
        payload = local.read_bytes()
        self.send_response(200)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_POST(self) -> None:
        url = urlparse(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        query = {key: values[0] for key, values in parse_qs(url.query).items()}
        with self.hub._lock:
            try:
                if "filename" in query:  # the fast upload: raw bytes, arguments in the URL
                    result = self.hub.upload(query, body)
                else:
                    args, method = xmlrpc.client.loads(body, use_builtin_types=True)
                    args, kwargs = list(args), {}
                    if args and isinstance(args[-1], dict) and args[-1].get("__starstar"):
                        kwargs = {k: v for k, v in args.pop().items() if k != "__starstar"}
                    result = self.hub.call(method, args, kwargs)
                payload = xmlrpc.client.dumps((result,), methodresponse=True, allow_none=True)
            except xmlrpc.client.Fault as fault:
                payload = xmlrpc.client.dumps(fault, allow_none=True)
        data = payload.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
