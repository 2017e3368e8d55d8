"""--backend koji against a local Koji hub (tests/kojihub.py, a test double: no Koji is reachable
here), through the real koji client library (XML-RPC, fast upload), with real SRPMs and RPMs."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from buildtool.targets import load_target
from conftest import ROOT, require_tools, run_buildtool

pytest.importorskip("koji")

from kojihub import KojiHub  # noqa: E402 - only with the koji library installed

pytestmark = pytest.mark.integration
KOJI_TARGET = "fuel-el9-candidate"


@pytest.fixture
def hub(tmp_path, monkeypatch):
    require_tools("rpmbuild", "rpm", "createrepo_c")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # no ~/.koji of the machine's user
    monkeypatch.setenv("KOJI_USER", "builder")
    monkeypatch.setenv("KOJI_PASSWORD", "secret")
    server = KojiHub(tmp_path / "koji", load_target(ROOT, "el9").rpm_args(), (KOJI_TARGET,))
    server.start()
    server.config_path = server.config_file(tmp_path / "koji.conf")
    yield server
    server.stop()


def run_koji(hub, chain, workdirs, *extra):
    result = run_buildtool("repo", "-m", str(chain), "--backend", "koji", "--koji-profile",
                           "testkoji", "--koji-config", str(hub.config_path), "--koji-target",
                           "fuel-{target}-candidate", "--poll", "0.02", "--json", *workdirs,
                           *extra)
    assert "Traceback" not in result.stderr, result.stderr
    return result, (json.loads(result.stdout) if result.stdout.strip() else {})


def statuses(summary: dict) -> dict[str, str]:
    return {name: p["status"] for name, p in summary["targets"]["el9"]["packages"].items()}


def the_task(hub, package):
    (task,) = hub.tasks_of(package)
    return task


def test_dependants_wait_for_their_dependencies_builds_and_rpms_are_published(hub, chain,
                                                                            workdirs, tmp_path):
    result, summary = run_koji(hub, chain, workdirs)
    assert result.status == 0, result.stderr
    a, b, meta = (the_task(hub, name) for name in ("chain-a", "chain-b", "chain-meta"))
    assert a.wait_builds == [] and meta.wait_builds == []
    assert b.wait_builds == ["chain-a-1.0-1.el9"]  # koji build --wait-build
    assert meta.started < a.ended and a.started < meta.ended  # side by side on the builders
    assert b.started > a.ended
    builds = summary["targets"]["el9"]["koji"]["builds"]
    assert builds["chain-b"]["task_id"] == b.id and builds["chain-b"]["state"] == "closed"
    assert f"koji: chain-b: task {b.id} submitted after chain-a-1.0-1.el9" in result.stderr
    current = tmp_path / "dist" / "repos" / "el9" / "current"
    names = sorted(p.name for p in (current).rglob("*.rpm"))
    assert names == ["chain-a-1.0-1.el9.noarch.rpm", "chain-b-2.0-1.el9.noarch.rpm",
                     "chain-meta-3.0-1.el9.noarch.rpm"]
    # unchanged: nothing submitted again; RPMs gone here: downloaded again from the hub
    subprocess.run(["rm", "-rf", str(tmp_path / "build" / "el9" / "rpms")], check=True)
    result, summary = run_koji(hub, chain, workdirs)
    assert result.status == 0, result.stderr
    assert set(statuses(summary).values()) == {"cached"} and len(hub.tasks) == 3
    assert len(list((tmp_path / "build" / "el9" / "rpms").rglob("*.rpm"))) == 3


def test_a_failure_names_the_task_and_skips_dependants(hub, chain, workdirs):
    hub.fail = {"chain-a"}
    result, summary = run_koji(hub, chain, workdirs)
    assert result.status == 1
    assert statuses(summary) == {"chain-a": "failed", "chain-b": "skipped", "chain-meta": "built"}
    a = the_task(hub, "chain-a")
    assert f"chain-a failed (Koji task {a.id} failed: {hub.url}/koji/taskinfo?taskID={a.id})" \
        in result.stderr
    assert "chain-a failed as asked" in result.stderr  # the hub's error, in the log's tail
    assert hub.tasks_of("chain-b") == []  # never submitted


def test_ctrl_c_cancels_the_running_tasks(hub, chain, workdirs, tmp_path):
    import signal
    import sys
    import time
    hub.hold = {"chain-a"}
    args = ["repo", "-m", str(chain), "--backend", "koji", "--koji-profile", "testkoji",
            "--koji-config", str(hub.config_path), "--koji-target", KOJI_TARGET, "--poll", "0.02",
            *workdirs]
    process = subprocess.Popen([sys.executable, "-m", "buildtool", *args], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not (hub.tasks_of("chain-a") and the_task(hub, "chain-a").state == 1
                   and hub.tasks_of("chain-meta") and the_task(hub, "chain-meta").state == 2):
            assert time.monotonic() < deadline and process.poll() is None
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, stderr
    a = the_task(hub, "chain-a")
    assert a.state == 3 and f"koji: cancelled chain-a ({a.id})" in stderr
    assert "Traceback" not in stderr


def test_bad_target_and_credentials_are_one_line(hub, chain, workdirs, tmp_path):
    result = run_buildtool("build", "-m", str(chain), "--backend", "koji", "--koji-profile",
                           "testkoji", "--koji-config", str(hub.config_path), "--koji-target",
                           "nope", *workdirs)
    assert result.status == 2 and "no Koji build target nope (for target el9)" in result.stderr
    hub.credentials = ("builder", "other")
    result, _ = run_koji(hub, chain, workdirs)
    assert result.status == 1 and "Koji: logging in: " in result.stderr
    result = run_buildtool("build", "-m", str(chain), "--backend", "koji", *workdirs)
    assert result.status == 2 and "--backend koji needs --koji-target" in result.stderr
    assert "Traceback" not in result.stderr


def test_reuse_checks_the_hub_when_the_rpms_are_gone(hub, chain, workdirs, tmp_path):
    assert run_koji(hub, chain, workdirs)[0].status == 0
    hub.builds.clear()  # the hub lost the builds (or another hub): build again
    subprocess.run(["rm", "-rf", str(Path(tmp_path / "build" / "el9" / "rpms"))], check=True)
    result, summary = run_koji(hub, chain, workdirs)
    assert result.status == 0, result.stderr
    assert set(statuses(summary).values()) == {"built"} and len(hub.tasks) == 6
