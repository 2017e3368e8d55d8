"""--backend copr against a local Copr API v3 server (tests/coprserver.py, a test double: no Copr
is reachable here), through the real copr client library, with real SRPMs and RPMs."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from coprserver import CoprServer

from buildtool.backends.copr import CoprBackend, CoprOptions, waves
from buildtool.graph import Graph
from buildtool.targets import available_targets, load_target
from conftest import ROOT, assert_output_schema, repoquery, require_tools, run_buildtool

pytest.importorskip("copr.v3")

integration = pytest.mark.integration
PROJECT = "tester/fuel"
CHROOT = "epel-9-x86_64"


@pytest.fixture
def copr(tmp_path, monkeypatch):
    require_tools("rpmbuild", "rpm", "createrepo_c")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    targets = [load_target(ROOT, name) for name in available_targets(ROOT)]
    server = CoprServer(tmp_path / "copr", {t.copr.chroot: t.rpm_args() for t in targets})
    server.start()
    server.config_path = server.config_file(tmp_path / "copr.conf")
    yield server
    server.stop()


def copr_args(copr: CoprServer, chain: Path, workdirs: list[str], *extra: str) -> list[str]:
    return ["repo", "-m", str(chain), "--backend", "copr", "--copr-project", PROJECT,
            "--copr-config", str(copr.config_path), "--poll", "0.02", "--json",
            *workdirs, *extra]


def run_copr(copr, chain, workdirs, *extra):
    result = run_buildtool(*copr_args(copr, chain, workdirs, *extra))
    assert "Traceback" not in result.stderr, result.stderr
    summary = json.loads(result.stdout) if result.stdout.strip() else {}
    if summary:
        assert_output_schema(summary, "repo" if "targets" in summary else "error")
    return result, summary


def statuses(summary: dict) -> dict[str, str]:
    return {name: p["status"] for name, p in summary["targets"]["el9"]["packages"].items()}


def the_build(copr: CoprServer, package: str):
    (build,) = copr.builds_of(package)
    return build


@integration
def test_waves_are_copr_batches_and_the_rpms_are_published(copr, chain, workdirs, tmp_path):
    result, summary = run_copr(copr, chain, workdirs, "--create-project")
    assert result.status == 0, result.stderr
    project = copr.projects[("tester", "fuel")]
    assert project.chroots == [CHROOT]
    assert project.additional_repos[CHROOT] == load_target(ROOT, "el9").copr.external_repos
    a, b, meta = (the_build(copr, name) for name in ("chain-a", "chain-b", "chain-meta"))
    # chain-a and chain-meta need nothing: one batch, built side by side on the farm
    assert a.batch == meta.batch and meta.started < a.ended and a.started < meta.ended
    # chain-b BuildRequires chain-a: the next batch, blocked by theirs, started once they ended
    assert copr.batches[b.batch] == a.batch and b.started >= max(a.ended, meta.ended)
    assert statuses(summary) == {"chain-a": "built", "chain-b": "built", "chain-meta": "built"}
    builds = summary["targets"]["el9"]["copr"]["builds"]
    assert builds["chain-b"]["build_id"] == b.id and builds["chain-b"]["state"] == "succeeded"
    assert builds["chain-b"]["url"] == f"{copr.url}/coprs/build/{b.id}/"
    assert f"copr: chain-b: build {b.id} submitted" in result.stderr
    assert f"copr: chain-a: build {a.id} succeeded" in result.stderr
    assert (f"copr: chain-b: build {b.id} running, log: {copr.result_url(b)}builder-live.log"
            in result.stderr)
    # downloaded and published by the usual publish stage
    current = tmp_path / "dist" / "repos" / "el9" / "current"
    assert repoquery(current) == ["chain-a-1.0-1.el9", "chain-b-2.0-1.el9", "chain-meta-3.0-1.el9"]
    assert summary["targets"]["el9"]["publish"]["changed"] is True


@integration
def test_several_targets_build_in_their_chroots_of_one_project(copr, chain, workdirs, tmp_path):
    result, summary = run_copr(copr, chain, workdirs, "--create-project", "-t", "el9",
                               "-t", "fedora-45")
    assert result.status == 0, result.stderr
    assert copr.projects[("tester", "fuel")].chroots == [CHROOT, "fedora-45-x86_64"]
    assert sorted((b.package, b.chroot) for b in copr.builds.values()) == [
        (name, chroot) for name in ("chain-a", "chain-b", "chain-meta")
        for chroot in (CHROOT, "fedora-45-x86_64")]
    fedora = summary["targets"]["fedora-45"]["copr"]
    assert fedora["chroot"] == "fedora-45-x86_64" and fedora["repo_file"].endswith(
        "/coprs/tester/fuel/repo/fedora-45/tester-fuel-fedora-45.repo")
    assert repoquery(tmp_path / "dist" / "repos" / "fedora-45" / "current") == [
        "chain-a-1.0-1.fc45", "chain-b-2.0-1.fc45", "chain-meta-3.0-1.fc45"]


@integration
def test_unchanged_packages_are_not_submitted_again(copr, chain, workdirs, tmp_path):
    assert run_copr(copr, chain, workdirs, "--create-project")[0].status == 0
    assert copr.uploads() == 3
    result, summary = run_copr(copr, chain, workdirs)
    assert result.status == 0, result.stderr
    assert set(statuses(summary).values()) == {"cached"} and copr.uploads() == 3
    assert summary["targets"]["el9"]["publish"]["changed"] is False
    # the local RPMs are gone: the project still has the builds, so they are downloaded again
    build_rpms = tmp_path / "build" / "el9" / "rpms"
    subprocess.run(["rm", "-rf", str(build_rpms)], check=True)
    result, summary = run_copr(copr, chain, workdirs)
    assert result.status == 0, result.stderr
    assert set(statuses(summary).values()) == {"cached"} and copr.uploads() == 3
    assert sorted(p.name for p in build_rpms.rglob("*.rpm")) == [
        "chain-a-1.0-1.el9.noarch.rpm", "chain-b-2.0-1.el9.noarch.rpm",
        "chain-meta-3.0-1.el9.noarch.rpm"]
    # a changed source: that package and its dependent are submitted, nothing else
    (chain.parent / "src" / "chain-a" / "data.txt").write_text("new data\n")
    result, summary = run_copr(copr, chain, workdirs)
    assert result.status == 0, result.stderr
    assert statuses(summary) == {"chain-a": "built", "chain-b": "built", "chain-meta": "cached"}
    assert copr.uploads() == 5
    # a build deleted from the project (or a different project) is submitted again
    (chain.parent / "src" / "chain-a" / "data.txt").write_text("newer data\n")
    result, summary = run_copr(copr, chain, workdirs, "--no-download")
    assert result.status == 0, result.stderr
    second_a = copr.builds_of("chain-a")[-1]
    del copr.builds[second_a.id]
    result, summary = run_copr(copr, chain, workdirs, "--no-download")
    assert statuses(summary)["chain-a"] == "built" and statuses(summary)["chain-meta"] == "cached"


@integration
def test_a_failure_names_the_package_and_its_log_and_cancels_dependents(copr, chain, workdirs,
                                                                       tmp_path):
    copr.fail = {"chain-a"}
    copr.ticks = {"chain-meta": 12}  # chain-b's batch waits for it: time to cancel chain-b
    result, summary = run_copr(copr, chain, workdirs, "--create-project")
    assert result.status == 1
    assert statuses(summary) == {"chain-a": "failed", "chain-b": "skipped", "chain-meta": "built"}
    a, b = the_build(copr, "chain-a"), the_build(copr, "chain-b")
    log_url = f"{copr.result_url(a)}builder-live.log.gz"
    assert f"chain-a failed (Copr build {a.id} failed, log: {log_url})" in result.stderr
    assert "chain-a failed as the test asked" in result.stderr  # the farm's log, fetched
    assert b.state == "canceled" and b.started is None
    builds = summary["targets"]["el9"]["copr"]["builds"]
    assert builds["chain-a"] == {"build_id": a.id, "state": "failed", "log": log_url,
                                 "url": f"{copr.url}/coprs/build/{a.id}/"}
    assert builds["chain-b"]["state"] == "canceled"
    # chain-meta requires the failed packages: the publish gate holds it back, nothing broken
    assert summary["targets"]["el9"]["held_back"]["chain-meta"].startswith("nothing provides")
    assert not (tmp_path / "dist" / "repos" / "el9" / "current").exists()


@integration
def test_a_dependent_the_farm_started_anyway_is_reported_as_skipped(copr, chain, workdirs):
    copr.fail = {"chain-a"}  # chain-a and chain-meta end together: Copr starts chain-b's batch
    result, summary = run_copr(copr, chain, workdirs, "--create-project")
    assert result.status == 1
    b = the_build(copr, "chain-b")
    assert b.state == "failed"  # on the farm: "No matching package to install: 'chain-a'"
    outcome = summary["targets"]["el9"]["packages"]["chain-b"]
    assert outcome["status"] == "skipped"
    assert outcome["reason"].startswith(f"needs chain-a; Copr build {b.id} failed, log: ")


@integration
def test_ctrl_c_cancels_the_submitted_builds(copr, chain, workdirs, tmp_path):
    copr.hold = {"chain-a", "chain-meta"}  # they keep running until cancelled
    process = subprocess.Popen([sys.executable, "-m", "buildtool",
                                *copr_args(copr, chain, workdirs, "--create-project")],
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not (len(copr.builds) == 3 and the_build(copr, "chain-a").state == "running"):
            assert time.monotonic() < deadline and process.poll() is None, process.stderr
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, stderr
    assert {build.state for build in copr.builds.values()} == {"canceled"}
    a, b, meta = (the_build(copr, name) for name in ("chain-a", "chain-b", "chain-meta"))
    assert (f"copr: cancelled chain-b ({b.id}), chain-meta ({meta.id}), chain-a ({a.id})"
            in stderr)
    assert "Traceback" not in stderr and "interrupted" in stderr
    assert not (tmp_path / "dist" / "repos" / "el9" / "current").exists()


@integration
def test_no_download_leaves_copr_as_the_repository(copr, chain, workdirs, tmp_path):
    result, summary = run_copr(copr, chain, workdirs, "--create-project", "--no-download")
    assert result.status == 0, result.stderr
    repo_file = f"{copr.url}/coprs/tester/fuel/repo/epel-9/tester-fuel-epel-9.repo"
    assert summary["targets"]["el9"]["copr"]["repo_file"] == repo_file
    assert f"el9: not published here, Copr serves the packages: {repo_file}" in result.stderr
    assert "publish" not in summary["targets"]["el9"]
    assert not (tmp_path / "dist" / "repos").exists()
    assert not any(path.endswith(".rpm") for _, path in copr.requests)
    # the next run asks Copr, not the local RPMs, whether the builds are still there
    result, summary = run_copr(copr, chain, workdirs, "--no-download")
    assert set(statuses(summary).values()) == {"cached"} and copr.uploads() == 3


@integration
def test_a_missing_project_is_one_line_with_a_hint(copr, chain, workdirs):
    result, _ = run_copr(copr, chain, workdirs)
    assert result.status == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "buildtool: error: Copr project tester/fuel does not exist (hint: add --create-project: "
        "its chroots and repositories come from repo-config/targets)")
    assert copr.uploads() == 0


@integration
def test_a_project_without_the_targets_chroot_is_one_line(copr, chain, workdirs):
    from coprserver import Project
    copr.projects[("tester", "fuel")] = Project("tester", "fuel", ["fedora-44-x86_64"])
    result, _ = run_copr(copr, chain, workdirs)
    assert result.status == 2
    assert "Copr project tester/fuel has no chroot epel-9-x86_64 (target el9)" in result.stderr
    result, _ = run_copr(copr, chain, workdirs, "--create-project")  # enables it, keeps the other
    assert result.status == 0, result.stderr
    assert copr.projects[("tester", "fuel")].chroots == [CHROOT, "fedora-44-x86_64"]


@integration
def test_bad_credentials_and_configuration_are_one_line(copr, chain, workdirs, tmp_path):
    copr.credentials = ("buildtool-test", "another-token")
    result, _ = run_copr(copr, chain, workdirs, "--create-project")
    assert result.status == 1
    assert "buildtool: error: Copr: configuring project tester/fuel: Login invalid" in result.stderr
    missing = tmp_path / "nowhere" / "copr"
    result = run_buildtool(*copr_args(copr, chain, workdirs, "--copr-config", str(missing)))
    assert result.status == 2 and f"no Copr configuration at {missing}" in result.stderr
    result = run_buildtool("build", "-m", str(chain), "--backend", "copr", *workdirs)
    assert result.status == 2 and "--backend copr needs --copr-project" in result.stderr
    assert "Traceback" not in result.stderr


@integration
def test_one_package_through_the_backend_interface(copr, tmp_path):
    """Backend.build: one SRPM, one Copr build, its RPMs in the request's result directory."""
    from coprserver import Project

    from buildtool.backends import BuildRequest
    spec = tmp_path / "single.spec"
    spec.write_text("Name: single\nVersion: 1\nRelease: 1\nSummary: s\nLicense: MIT\n"
                    "BuildArch: noarch\n%description\nd\n%files\n")
    top = tmp_path / "top"
    subprocess.run(["rpmbuild", "-bs", "--define", f"_topdir {top}", str(spec)], check=True,
                   capture_output=True)
    (srpm,) = (top / "SRPMS").glob("*.src.rpm")
    copr.projects[("tester", "fuel")] = Project("tester", "fuel", [CHROOT])
    backend = CoprBackend(CoprOptions(PROJECT, copr.config_path, poll_seconds=0.01))
    backend.check_available()
    target = load_target(ROOT, "el9")
    log = tmp_path / "single.log"
    result = backend.build(BuildRequest("single", srpm, spec, tmp_path, target,
                                        tmp_path / "out", log, 1700000000, None))
    assert result.ok and [p.name for p in result.rpms] == ["single-1-1.noarch.rpm"]
    assert result.rpms[0].is_file() and "succeeded" in log.read_text()


# --- units: no server needed ---

def test_waves_put_each_package_after_everything_it_needs():
    graph = Graph({"a": frozenset(), "b": frozenset({"a"}), "c": frozenset({"b", "a"}),
                   "d": frozenset(), "e": frozenset({"d"})})
    assert waves(graph, ["a", "b", "c", "d", "e"]) == [["a", "d"], ["b", "e"], ["c"]]
    # already built on the farm (not submitted): what needs it is not held back for it
    assert waves(graph, ["b", "c", "e"]) == [["b", "e"], ["c"]]


def test_repo_file_urls_for_user_and_group_projects(tmp_path):
    config = tmp_path / "copr"
    config.write_text("[copr-cli]\nlogin = l\nusername = u\ntoken = t\n"
                      "copr_url = https://copr.example.org\n")
    leap = load_target(ROOT, "leap-16")
    for project, url in [
            ("me/fuel", "https://copr.example.org/coprs/me/fuel/repo/opensuse-leap-16.0/"
                        "me-fuel-opensuse-leap-16.0.repo"),
            ("@ops/fuel", "https://copr.example.org/coprs/g/ops/fuel/repo/opensuse-leap-16.0/"
                          "group_ops-fuel-opensuse-leap-16.0.repo")]:
        backend = CoprBackend(CoprOptions(project=project, config=config))
        backend.check_available()
        assert backend.repo_file_url(leap) == url


def test_every_target_names_its_copr_chroot():
    chroots = {name: load_target(ROOT, name).copr.chroot for name in available_targets(ROOT)}
    assert chroots == {"el9": "epel-9-x86_64", "el10": "epel-10-x86_64",
                       "fedora-44": "fedora-44-x86_64", "fedora-45": "fedora-45-x86_64",
                       "leap-16": "opensuse-leap-16.0-x86_64"}
