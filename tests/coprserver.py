"""A local stand-in for a Copr frontend and backend (a test double: no Copr is reachable here).

It answers the Copr API v3 endpoints the official client library (copr.v3) calls for buildtool,
with the JSON shapes of Copr's frontend (views/apiv3_ns: to_dict of projects, builds and build
chroots): project get/add/edit, project-chroot edit, build create/upload, build get, build
cancel, build-chroot get and built-packages; and it serves result directories as Copr's backend
does (RPMs and builder-live.log.gz).

Builds follow Copr's batch rules: `with_build_id` joins that build's batch, `after_build_id`
starts a new batch blocked by that build's batch, and a batch starts only when the one blocking
it has ended. A build "runs" for a few API requests and then really rebuilds the uploaded SRPM
with rpmbuild --rebuild (per chroot macros given by the test), so the downloaded RPMs are real. The
farm's clock ticks once per build status request (GET build/ID), so runs are repeatable. As
in a Copr buildroot, a BuildRequires on a package of the same project is only satisfied by an
earlier succeeded build of it: a build submitted too early fails like mock does.
"""

from __future__ import annotations

import base64
import email.parser
import email.policy
import gzip
import itertools
import json
import os
import shutil
import subprocess
import tempfile
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

FINAL = {"succeeded", "failed", "canceled", "skipped"}


@dataclass
class Build:
    id: int
    owner: str
    project: str
    chroot: str
    package: str
    version: str
    srpm: Path
    batch: int
    state: str = "pending"
    ticks: int = 0
    started: int | None = None  # the server's clock (a counter of advances) at start and end
    ended: int | None = None
    requires: list[str] = field(default_factory=list)


@dataclass
class Project:
    owner: str
    name: str
    chroots: list[str]
    additional_repos: dict[str, list[str]] = field(default_factory=dict)  # per chroot


class CoprServer:
    def __init__(self, workdir: Path, rpm_args: dict[str, list[str]],
                 login: str = "buildtool-test", token: str = "secret-token",
                 owner: str = "tester", run_ticks: int = 2):
        self.workdir = workdir
        self.rpm_args = rpm_args  # chroot -> rpmbuild arguments standing in for its macros
        self.credentials = (login, token)
        self.owner = owner
        self.run_ticks = run_ticks
        self.projects: dict[tuple[str, str], Project] = {}
        self.builds: dict[int, Build] = {}
        self.batches: dict[int, int | None] = {}  # batch -> the batch blocking it
        self.fail: set[str] = set()  # packages whose builds fail
        self.hold: set[str] = set()  # packages whose builds keep running until cancelled
        self.ticks: dict[str, int] = {}  # packages that build longer than run_ticks
        self.requests: list[tuple[str, str]] = []
        self.clock = 0
        self._ids = itertools.count(1001)
        self._batch_ids = itertools.count(1)
        self._lock = threading.RLock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- life cycle ---

    def start(self) -> str:
        handler = type("Handler", (_Handler,), {"server_state": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self.url

    def stop(self) -> None:
        if self._httpd:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._thread.join(timeout=10)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def config_file(self, path: Path) -> Path:
        """copr-cli's configuration for this server (http, so encrypted = False)."""
        login, token = self.credentials
        path.write_text(f"[copr-cli]\nlogin = {login}\nusername = {self.owner}\ntoken = {token}\n"
                        f"copr_url = {self.url}\nencrypted = False\n")
        return path

    # --- what tests look at ---

    def builds_of(self, package: str) -> list[Build]:
        return [b for b in self.builds.values() if b.package == package]

    def uploads(self) -> int:
        return sum(1 for method, path in self.requests if path.endswith("/build/create/upload"))

    # --- the simulated farm ---

    def advance(self) -> None:
        """One tick: finish builds whose time is up, start the builds whose batch may run."""
        with self._lock:
            self.clock += 1
            for build in self.builds.values():
                if build.state == "running" and build.package not in self.hold:
                    build.ticks -= 1
                    if build.ticks <= 0:
                        self._finish(build)
            for build in self.builds.values():
                if build.state == "pending" and self._batch_may_start(build.batch):
                    self._start(build)

    def _batch_may_start(self, batch: int) -> bool:
        blocker = self.batches[batch]
        return blocker is None or all(b.state in FINAL for b in self.builds.values()
                                      if b.batch == blocker)

    def _start(self, build: Build) -> None:
        build.state, build.started = "running", self.clock
        build.ticks = self.ticks.get(build.package, self.run_ticks)
        missing = [name for name in build.requires if self._internal(build, name)
                   and not self._succeeded_before(build, name)]
        if missing:
            self._end(build, "failed", f"No matching package to install: '{missing[0]}'\n")

    def _internal(self, build: Build, name: str) -> bool:
        return any(b.package == name and (b.owner, b.project) == (build.owner, build.project)
                   for b in self.builds.values())

    def _succeeded_before(self, build: Build, name: str) -> bool:
        return any(b.package == name and b.state == "succeeded" and b.chroot == build.chroot
                   and (b.owner, b.project) == (build.owner, build.project)
                   for b in self.builds.values())

    def _finish(self, build: Build) -> None:
        if build.package in self.fail:
            self._end(build, "failed", f"error: Bad exit status from /var/tmp/rpm-tmp (%build)\n"
                                       f"{build.package} failed as the test asked\n")
            return
        with tempfile.TemporaryDirectory(prefix="coprserver-") as tmp:
            process = subprocess.run(
                ["rpmbuild", "--rebuild", "--nodeps", "--define", f"_topdir {tmp}",
                 *self.rpm_args[build.chroot], str(build.srpm)], capture_output=True, text=True,
                env={**os.environ, "SOURCE_DATE_EPOCH": "1700000000", "LC_ALL": "C.UTF-8"})
            rpms = list(Path(tmp, "RPMS").rglob("*.rpm"))
            for rpm in rpms:
                shutil.copy2(rpm, self.result_dir(build) / rpm.name)
        state = "succeeded" if process.returncode == 0 and rpms else "failed"
        self._end(build, state, process.stdout + process.stderr)

    def _end(self, build: Build, state: str, log: str) -> None:
        build.state, build.ended = state, self.clock
        directory = self.result_dir(build)
        (directory / "builder-live.log.gz").write_bytes(gzip.compress(log.encode()))

    def result_dir(self, build: Build) -> Path:
        path = (self.workdir / "results" / build.owner / build.project / build.chroot
                / f"{build.id:08d}-{build.package}")
        path.mkdir(parents=True, exist_ok=True)
        return path

    def result_url(self, build: Build) -> str:
        return (f"{self.url}/results/{build.owner}/{build.project}/{build.chroot}/"
                f"{build.id:08d}-{build.package}/")

    # --- API v3 ---

    def project_dict(self, project: Project) -> dict:
        return {"id": 1, "name": project.name, "projectname": project.name,
                "ownername": project.owner, "full_name": f"{project.owner}/{project.name}",
                "description": "", "additional_repos": [],
                "chroot_repos": {chroot: f"{self.url}/results/{project.owner}/{project.name}/"
                                 f"{chroot}/" for chroot in project.chroots}}

    def build_dict(self, build: Build) -> dict:
        return {"id": build.id, "state": build.state, "projectname": build.project,
                "ownername": build.owner,
                "repo_url": f"{self.url}/results/{build.owner}/{build.project}",
                "source_package": {"name": build.package, "version": build.version,
                                   "url": None},
                "submitted_on": 0, "started_on": build.started, "ended_on": build.ended,
                "submitter": self.owner, "chroots": [build.chroot],
                "project_dirname": build.project, "is_background": False}

    def build_chroot_dict(self, build: Build) -> dict:
        started = build.state not in ("pending", "importing")
        return {"name": build.chroot, "started_on": build.started, "ended_on": build.ended,
                "result_url": self.result_url(build) if started else None, "state": build.state}

    def create_build(self, data: dict, srpm_name: str, srpm: bytes) -> tuple[int, dict]:
        project = self.projects.get((data["ownername"], data["projectname"]))
        if project is None:
            return 404, {"error": f"Project {data['ownername']}/{data['projectname']} "
                                  "does not exist."}
        chroots = data.get("chroots") or project.chroots
        if any(chroot not in project.chroots for chroot in chroots):
            return 400, {"error": f"Bad request parameters: chroots {chroots} not enabled"}
        build_id = next(self._ids)
        path = self.workdir / "uploads" / str(build_id) / Path(srpm_name).name
        path.parent.mkdir(parents=True)
        path.write_bytes(srpm)
        query = subprocess.run(["rpm", "-qp", "--qf", "%{NAME} %{VERSION}-%{RELEASE}\n",
                                str(path)], capture_output=True, text=True)
        if query.returncode != 0:
            return 400, {"error": f"{srpm_name} is not a source RPM"}
        package, version = query.stdout.split()[:2]
        requires = subprocess.run(["rpm", "-qp", "--requires", str(path)], capture_output=True,
                                  text=True).stdout.split("\n")
        if data.get("with_build_id"):
            batch = self.builds[int(data["with_build_id"])].batch
        else:
            batch = next(self._batch_ids)
            after = data.get("after_build_id")
            self.batches[batch] = self.builds[int(after)].batch if after else None
        build = Build(build_id, project.owner, project.name, chroots[0], package, version, path,
                      batch, requires=[line.split()[0] for line in requires if line.strip()])
        self.builds[build_id] = build
        return 200, self.build_dict(build)

    def cancel(self, build_id: int) -> tuple[int, dict]:
        build = self.builds.get(build_id)
        if build is None:
            return 404, {"error": f"Build {build_id} does not exist."}
        if build.state in FINAL:
            return 400, {"error": f"Cannot cancel build {build_id} in state {build.state}"}
        build.state, build.ended = "canceled", self.clock
        return 200, self.build_dict(build)


class _Handler(BaseHTTPRequestHandler):
    server_state: CoprServer

    def log_message(self, *args) -> None:  # quiet: pytest shows failures, not access logs
        pass

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def _dispatch(self, method: str) -> None:
        state = self.server_state
        url = urlparse(self.path)
        query = {key: values[0] for key, values in parse_qs(url.query).items()}
        with state._lock:
            state.requests.append((method, url.path))
            if url.path.startswith("/results/"):
                return self._file(url.path)
            if not url.path.startswith("/api_3/"):
                return self._json(404, {"error": "not found"})
            route = url.path[len("/api_3/"):].strip("/")
            if method == "GET" and route.startswith("build/"):
                state.advance()  # the farm's time passes while a client polls its builds
            body = self._body()
            if method in ("POST", "PUT") and not self._authorized():
                return self._json(401, {"error": "Login invalid/expired. Please visit "
                                        f"{state.url}/api to get or renew your API token."})
            return self._json(*self._route(method, route, query, body))

    def _route(self, method: str, route: str, query: dict, body: dict) -> tuple[int, dict]:
        state = self.server_state
        parts = route.split("/")
        if method == "GET" and route == "project":
            project = state.projects.get((query["ownername"], query["projectname"]))
            if project is None:
                return 404, {"error": f"Project {query['ownername']}/{query['projectname']} "
                                      "does not exist."}
            return 200, state.project_dict(project)
        if method == "POST" and parts[:2] == ["project", "add"]:
            data = body["json"]
            key = (parts[2], data["name"])
            if key not in state.projects:
                state.projects[key] = Project(parts[2], data["name"], list(data["chroots"] or []))
            elif query.get("exist_ok") != "True":
                return 400, {"error": f"You already have a project named '{data['name']}'."}
            return 200, state.project_dict(state.projects[key])
        if method == "PUT" and parts[:2] == ["project", "edit"]:
            project = state.projects[(parts[2], parts[3])]
            if body["json"].get("chroots") is not None:
                project.chroots = list(body["json"]["chroots"])
            return 200, state.project_dict(project)
        if method == "PUT" and parts[:2] == ["project-chroot", "edit"]:
            project = state.projects[(parts[2], parts[3])]
            if parts[4] not in project.chroots:
                return 404, {"error": f"Chroot {parts[4]} does not exist in {parts[3]}"}
            project.additional_repos[parts[4]] = list(body["json"]["additional_repos"] or [])
            return 200, {"mock_chroot": parts[4],
                         "additional_repos": project.additional_repos[parts[4]]}
        if method == "POST" and route == "build/create/upload":
            name, content = body["pkgs"]
            return state.create_build(body["json"], name, content)
        if method == "GET" and parts[0] == "build" and len(parts) == 2 and parts[1].isdigit():
            build = state.builds.get(int(parts[1]))
            if build is None:
                return 404, {"error": f"Build {parts[1]} does not exist."}
            return 200, state.build_dict(build)
        if method == "PUT" and parts[:2] == ["build", "cancel"]:
            return state.cancel(int(parts[2]))
        if method == "GET" and parts[0] == "build-chroot":
            build = state.builds.get(int(query["build_id"]))
            if build is None or build.chroot != query["chrootname"]:
                return 404, {"error": "Build chroot does not exist."}
            if route == "build-chroot":
                return 200, state.build_chroot_dict(build)
            if route == "build-chroot/built-packages":
                return 200, {"packages": _nevras(state.result_dir(build))}
        return 404, {"error": f"no API endpoint {method} /api_3/{route} in the test server"}

    def _authorized(self) -> bool:
        header = self.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        login, _, token = base64.b64decode(header[6:]).decode().partition(":")
        return (login, token) == self.server_state.credentials

    def _body(self) -> dict:
        """JSON bodies, or the client's multipart form: a 'json' part plus files."""
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        kind = self.headers.get("Content-Type", "")
        if kind.startswith("multipart/form-data"):
            message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
                f"Content-Type: {kind}\r\n\r\n".encode() + raw)
            parts = {}
            for part in message.iter_parts():
                name = part.get_param("name", header="content-disposition")
                payload = part.get_payload(decode=True)
                parts[name] = (json.loads(payload) if name == "json"
                               else (part.get_filename(), payload))
            return parts
        return {"json": json.loads(raw)} if raw else {"json": {}}

    def _json(self, status: int, data: dict) -> None:
        payload = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _file(self, path: str) -> None:
        local = (self.server_state.workdir / path.lstrip("/")).resolve()
        if self.server_state.workdir.resolve() not in local.parents or not local.is_file():
            return self._json(404, {"error": "no such file"})
        payload = local.read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def _nevras(directory: Path) -> list[dict]:
    rows = []
    for rpm in sorted(directory.glob("*.rpm")):
        out = subprocess.run(["rpm", "-qp", "--qf", "%{NAME}|%{EPOCH}|%{VERSION}|%{RELEASE}|"
                              "%{ARCH}", str(rpm)], capture_output=True, text=True).stdout
        name, epoch, version, release, arch = out.strip().split("|")
        rows.append({"name": name, "epoch": 0 if epoch == "(none)" else int(epoch),
                     "version": version, "release": release, "arch": arch})
    return rows
