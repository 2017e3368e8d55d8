"""The build sandbox against a hostile setup.py (tests/hostile/python), built through buildtool.

The package's setup.py runs at %build and %install time and tries to write to the host's /var/tmp,
read /etc/shadow and $HOME, reach a TCP listener of this test over loopback and over the host's
address, write into another package's build trees and poison the lookaside cache. Every test
checks the effect on the host (not only what the attack printed); the --no-sandbox control run
shows the same checks catch the attacks when nothing confines them.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import uuid
from pathlib import Path

import pytest

from buildtool import sandbox as sandbox_module
from buildtool.errors import ToolMissing
from conftest import require_tools, run_buildtool

pytestmark = pytest.mark.integration
HOSTILE = Path(__file__).resolve().parent / "hostile" / "python"
ALL_ATTACKS = ["write-var-tmp", "read-shadow", "read-home", "network-loopback",
               "network-host-address", "write-other-trees", "poison-cache"]


class Listener:
    """A TCP server on every address of the host that records who connected."""

    def __init__(self) -> None:
        self.server = socket.create_server(("0.0.0.0", 0))
        self.server.settimeout(0.2)
        self.port = self.server.getsockname()[1]
        self.connections: list[bytes] = []
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.server.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(2)
                self.connections.append(conn.recv(100))

    def close(self) -> None:
        self.stopped.set()
        self.thread.join()
        self.server.close()


@pytest.fixture
def listener():
    server = Listener()
    yield server
    server.close()


def host_address() -> str:
    """An address of this host that is not loopback (the one the default route uses)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("10.255.255.254", 9))  # UDP: no packet is sent
        return probe.getsockname()[0]


@pytest.fixture
def attack(tmp_path, listener, monkeypatch):
    """Lay out the hostile manifest and what it aims at; yields a function that builds it."""
    require_tools("rpmbuild", "rpm", "rpm2cpio", "cpio", "bwrap")
    workspace = tmp_path / "hostile"
    shutil.copytree(HOSTILE, workspace)
    build, cache = tmp_path / "build", tmp_path / "cache"
    cache.mkdir()
    monkeypatch.setenv("BUILDTOOL_CACHE", str(cache))
    # Another package's rpmbuild tree in the middle of its build, open to everyone: only the
    # sandbox's mount namespace can keep the hostile build out of it.
    live_tree = Path(tempfile.mkdtemp(prefix="buildtool-victim-", dir="/tmp"))
    os.chmod(live_tree, 0o777)
    plan = {
        "var_tmp_file": f"/var/tmp/buildtool-hostile-{uuid.uuid4().hex}",
        "home": str(Path.home()),
        "port": listener.port,
        "host_address": host_address(),
        "other_trees": [str(build / "el9" / "SOURCES" / "victim"),
                        str(build / "el9" / "rpms" / "victim"), "/tmp/buildtool-victim-*"],
        "cache": str(cache),
    }

    def run(attacks: list[str], *extra: str):
        plan["attacks"] = attacks
        (workspace / "src" / "hostile" / "attack.json").write_text(json.dumps(plan))
        result = run_buildtool("build", "-m", str(workspace / "manifest.yaml"), "--backend",
                               "rpmbuild", "--build-dir", str(build), "-j", "2", "--json", *extra)
        return result, build, plan, live_tree

    yield run
    Path(plan["var_tmp_file"]).unlink(missing_ok=True)
    shutil.rmtree(live_tree, ignore_errors=True)


def attack_lines(text: str) -> dict[str, set[str]]:
    """ATTACK name -> the outcomes setup.py reported (it runs more than once per build)."""
    outcomes: dict[str, set[str]] = {}
    for line in text.splitlines():
        line = line.removeprefix("# ")
        if line.startswith("ATTACK "):
            name, _, outcome = line.removeprefix("ATTACK ").partition(": ")
            outcomes.setdefault(name, set()).add(outcome)
    return outcomes


def planted(*roots: Path) -> list[Path]:
    return [path for root in roots if root.exists() for path in root.rglob("planted-by-hostile")]


def payload(rpm: Path, dest: Path) -> str:
    dest.mkdir()
    subprocess.run(f"rpm2cpio '{rpm}' | cpio -idm --quiet", shell=True, cwd=dest, check=True)
    return "\n".join(p.read_text(errors="replace") for p in dest.rglob("*") if p.is_file())


def test_hostile_setup_py_cannot_reach_the_host(attack, listener, tmp_path):
    result, build, plan, live_tree = attack(ALL_ATTACKS)
    assert result.status == 0, result.stderr[-2000:]
    log = build / "el9" / "logs" / "hostile.log"
    rpm = next((build / "el9" / "rpms" / "hostile").glob("hostile-1.0-*.rpm"))
    shipped = payload(rpm, tmp_path / "payload")
    seen = attack_lines(shipped)  # the report the package ships, whatever the log shows
    assert set(seen) == set(ALL_ATTACKS), log.read_text()[-3000:]

    # /var/tmp inside is private: the write lands there and vanishes with the sandbox.
    assert not os.path.exists(plan["var_tmp_file"])
    # /etc/shadow is masked and the build user could not read it anyway; nothing shipped.
    assert seen["read-shadow"] == {"blocked: PermissionError: [Errno 13] Permission denied: "
                                   "'/etc/shadow'"}
    assert "LOOT = None" in shipped
    for line in Path("/etc/shadow").read_text().splitlines():
        assert not line or line not in shipped
    # $HOME does not exist inside.
    assert all(o.startswith("blocked: FileNotFoundError") for o in seen["read-home"])
    # Own network namespace: loopback is the sandbox's own, the host is unreachable.
    assert all(o.startswith("blocked: ConnectionRefusedError") for o in seen["network-loopback"])
    assert all("Network is unreachable" in o for o in seen["network-host-address"])
    assert listener.connections == []
    # Other packages' trees and the cache are not even visible, let alone writable.
    assert all(o.startswith("blocked: FileNotFoundError: none of")
               for o in seen["write-other-trees"] | seen["poison-cache"])
    assert planted(build, live_tree, Path(plan["cache"])) == []
    # It ran as an unprivileged user, not as root mapped into a namespace.
    identity = next(line for line in shipped.splitlines() if "ATTACK-IDENTITY" in line)
    if os.geteuid() == 0:
        uid = int(identity.split("uid=")[1].split()[0])
        assert uid != 0 and uid == sandbox_module.ensure_build_user().uid
    # The report says the builds were confined.
    assert json.loads(result.stdout)["targets"]["el9"]["sandbox"] is True


def test_without_the_sandbox_the_same_checks_catch_the_attacks(attack, listener):
    """The control run: --no-sandbox warns, and the host effects the test above rules out do
    happen (harmless ones only: no secret is read here)."""
    result, build, plan, live_tree = attack(
        ["write-var-tmp", "network-loopback", "write-other-trees"], "--no-sandbox")
    assert result.status == 0, result.stderr[-2000:]
    assert "warning: --no-sandbox: package code" in result.stderr
    assert os.path.exists(plan["var_tmp_file"])
    assert listener.connections and listener.connections[0].startswith(b"hello from a build")
    assert planted(live_tree) and planted(build / "el9" / "SOURCES" / "victim")
    assert json.loads(result.stdout)["targets"]["el9"]["sandbox"] is False
    assert "(no sandbox)" in (build / "el9" / "logs" / "hostile.log").read_text().splitlines()[0]


def test_a_build_output_that_is_a_link_is_refused(attack):
    """The build may leave anything in its tree; only regular files leave it as RPMs."""
    result, build, _, _ = attack(["smuggle-output"])
    assert result.status == 1
    log = (build / "el9" / "logs" / "hostile.log").read_text()
    assert "refused build output zz-smuggled-1.0-1.noarch.rpm: not a regular file" in log
    assert not list(build.rglob("zz-smuggled*"))


def test_mock_config_keeps_the_network_out_of_builds(tmp_path):
    """mock confines its builds itself (a test of the config text: mock does not run here)."""
    from buildtool.backends.mock import mock_config
    from buildtool.targets import load_target
    from conftest import ROOT
    text = mock_config(load_target(ROOT, "el9"), tmp_path / "repo")
    assert "config_opts['rpmbuild_networking'] = False" in text


def test_missing_bwrap_is_one_line_naming_the_package(chain, workdirs):
    result = run_buildtool("build", "-m", str(chain), "--backend", "rpmbuild", *workdirs,
                           env=dict(os.environ, PATH="/nonexistent"))
    assert result.status == 2
    assert result.stderr.strip().splitlines()[-1].startswith(
        "buildtool: error: bwrap is not installed")
    assert "bubblewrap" in result.stderr and "Traceback" not in result.stderr


def test_missing_bwrap_error_and_opt_out(monkeypatch):
    warnings: list[str] = []
    monkeypatch.setattr(shutil, "which", lambda tool: None)
    with pytest.raises(ToolMissing, match="bwrap is not installed.*install the package "
                                          "'bubblewrap'"):
        sandbox_module.create(True, warnings.append)
    assert sandbox_module.create(False, warnings.append) is None
    assert warnings == [sandbox_module.NO_SANDBOX_WARNING]


def test_sandbox_shows_only_what_it_is_given(tmp_path):
    """Directly: a writable tree, a read-only file, and nothing else of the project or host."""
    require_tools("bwrap")
    box = sandbox_module.create(True, print)
    tree, readable, hidden = tmp_path / "tree", tmp_path / "visible.txt", tmp_path / "hidden.txt"
    tree.mkdir()
    readable.write_text("visible\n")
    hidden.write_text("secret\n")
    box.give(tree)
    script = (f"cat {readable}; cat {hidden} || echo hidden-missing; echo out > {tree}/made; "
              f"echo no > {readable} || echo readonly; touch /usr/x || echo usr-readonly; "
              "ls /root || echo no-root; ls /run || echo no-run")
    out = subprocess.run(box.command(["sh", "-c", script], writable=(tree,), readable=(readable,)),
                         capture_output=True, text=True, env=box.environment({"PATH": "/usr/bin"}))
    box.take_back(tree)
    lines = out.stdout.splitlines()
    assert lines == ["visible", "hidden-missing", "readonly", "usr-readonly", "no-root", "no-run"]
    assert (tree / "made").read_text() == "out\n" and readable.read_text() == "visible\n"
    assert (tree / "made").stat().st_uid == os.getuid()


NON_ROOT_PROBE = """
import subprocess, sys, tempfile
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from buildtool import sandbox
box = sandbox.create(True, print)
assert box.user is None, box
tree = Path(tempfile.mkdtemp(prefix="buildtool-probe-"))
script = "id -u; echo made > %s/made; cat /etc/shadow || echo no-shadow; ls /root || echo no-root" % tree
out = subprocess.run(box.command(["sh", "-c", script], writable=(tree,)), capture_output=True,
                     text=True, env=box.environment({"PATH": "/usr/bin:/bin"}))
print(out.stdout + "made=" + (tree / "made").read_text())
(tree / "made").unlink()
tree.rmdir()
"""


def test_a_non_root_invoker_is_confined_in_a_user_namespace():
    """buildtool run by an ordinary user: no setpriv, bwrap maps that user (still not root)."""
    require_tools("bwrap", "setpriv")
    if os.geteuid() != 0:
        pytest.skip("runs the probe as another user; needs root to switch")
    user = sandbox_module.ensure_build_user()
    from conftest import ROOT
    result = subprocess.run(["setpriv", f"--reuid={user.uid}", f"--regid={user.gid}",
                             "--clear-groups", "/usr/bin/python3", "-c", NON_ROOT_PROBE, str(ROOT)],
                            capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"})
    if "Permission denied" in result.stderr and str(ROOT) in result.stderr:
        pytest.skip(f"the build user cannot read {ROOT}")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [str(user.uid), "no-shadow", "no-root", "made=made"]
