"""Retention and rollback: older versions carried in each snapshot for dnf downgrade, old snapshots
kept for rollback, `buildtool snapshots` / `rollback` / `release-files` from the command line."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from publish_helpers import (  # noqa: F401
    Dnf,
    build_rpm,
    checksig,
    client_files,
    gnupghome_fixture,
    make_key,
    repodata_problems,
    signing_fixture,
)

from buildtool import publish
from buildtool.errors import UserError
from buildtool.signing import stop_agent
from conftest import require_tools, run_buildtool

pytestmark = [pytest.mark.integration]


@pytest.fixture(autouse=True)
def _tools():
    require_tools("rpmbuild", "rpmsign", "createrepo_c", "gpg")


@pytest.fixture
def demo(tmp_path) -> dict[str, Path]:
    out = tmp_path / "rpms"
    return {version: build_rpm("demo", version, out) for version in ("1.0", "2.0", "3.0")}


@pytest.fixture
def fuel(tmp_path) -> Path:
    return build_rpm("fuel", "1.0", tmp_path / "rpms")


def packages_in(snapshot: Path) -> list[str]:
    return sorted(p.name for p in (snapshot / "Packages").glob("*.rpm"))


def repo_of(dist: Path) -> Path:
    return publish.repo_dir(dist, "el9")


def test_rollback_then_dnf_sees_v1_and_the_v2_snapshot_offers_both_ways(
        tmp_path, demo, fuel, signing):
    require_tools("dnf")
    dist = tmp_path / "dist"
    files = client_files((dist / "repos").as_uri())
    v1 = publish.publish([demo["1.0"], fuel], dist, "el9", signer=signing, client_files=files)
    v2 = publish.publish([demo["2.0"], fuel], dist, "el9", signer=signing, client_files=files)
    assert packages_in(v2.snapshot) == ["demo-1.0-1.noarch.rpm", "demo-2.0-1.noarch.rpm",
                                        "fuel-1.0-1.noarch.rpm"]
    key = v2.snapshot / "RPM-GPG-KEY-fuel"
    for rpm in (v2.snapshot / "Packages").glob("*.rpm"):  # the retained v1 is signed too
        assert "signatures OK" in checksig(rpm, tmp_path / "rpmdb", key)

    repos = tmp_path / "repos"
    repos.mkdir()
    (repos / "fuel.repo").write_text((v2.snapshot / "fuel.repo").read_text())
    upgrader = Dnf(repos / "fuel.repo", tmp_path / "root-v2")
    rolled = Dnf(repos / "fuel.repo", tmp_path / "root-rolled-back")
    try:
        assert upgrader.run("install", "demo").returncode == 0
        assert upgrader.installed() == ["demo-2.0"]
        run = upgrader.run("downgrade", "demo")
        assert run.returncode == 0, run.stderr
        assert upgrader.installed() == ["demo-1.0"]
        run = upgrader.run("upgrade", "demo")
        assert run.returncode == 0, run.stderr
        assert upgrader.installed() == ["demo-2.0"]

        assert publish.rollback(dist, "el9") == v1.snapshot
        assert publish.current_snapshot(repo_of(dist)) == v1.snapshot
        assert repodata_problems(v1.snapshot) == []
        run = rolled.run("install", "demo")
        assert run.returncode == 0, run.stderr
        assert rolled.installed() == ["demo-1.0"]
        listed = rolled.run("repoquery", "--qf", "%{name}-%{version}", "demo")
        assert listed.stdout.split() == ["demo-1.0"]
    finally:
        upgrader.close()
        rolled.close()


@pytest.mark.parametrize("keep_versions, expected", [
    (1, ["demo-3.0-1.noarch.rpm"]),
    (2, ["demo-2.0-1.noarch.rpm", "demo-3.0-1.noarch.rpm"]),
    (3, ["demo-1.0-1.noarch.rpm", "demo-2.0-1.noarch.rpm", "demo-3.0-1.noarch.rpm"]),
])
def test_keep_versions_counts_the_newest_and_older_ones(tmp_path, demo, keep_versions, expected):
    dist = tmp_path / "dist"
    for version in ("1.0", "2.0", "3.0"):
        last = publish.publish([demo[version]], dist, "el9", keep_versions=keep_versions)
    assert packages_in(last.snapshot) == expected
    assert last.retained == len(expected) - 1
    assert repodata_problems(last.snapshot) == []


def test_a_package_dropped_from_the_run_takes_its_old_versions_with_it(tmp_path, demo, fuel):
    dist = tmp_path / "dist"
    publish.publish([demo["1.0"], fuel], dist, "el9")
    publish.publish([demo["2.0"], fuel], dist, "el9")
    last = publish.publish([fuel], dist, "el9")
    assert packages_in(last.snapshot) == ["fuel-1.0-1.noarch.rpm"]


def test_snapshots_lists_what_changed(tmp_path, demo, fuel):
    dist = tmp_path / "dist"
    publish.publish([demo["1.0"]], dist, "el9")
    publish.publish([demo["2.0"], fuel], dist, "el9")
    publish.publish([fuel], dist, "el9")
    first, second, third = publish.list_snapshots(dist, "el9")
    assert first.added == ["demo 0:1.0-1"] and not first.removed and not first.updated
    assert second.added == ["fuel 0:1.0-1"] and second.updated == ["demo 0:1.0-1 -> 0:2.0-1"]
    assert third.removed == ["demo 0:2.0-1"] and not third.added
    assert [info.current for info in (first, second, third)] == [False, False, True]


def test_rollback_to_a_named_snapshot_and_errors(tmp_path, demo):
    dist = tmp_path / "dist"
    with pytest.raises(UserError, match="no snapshot older"):
        publish.rollback(dist, "el9")
    one = publish.publish([demo["1.0"]], dist, "el9").snapshot
    with pytest.raises(UserError, match="no snapshot older"):
        publish.rollback(dist, "el9")
    publish.publish([demo["2.0"]], dist, "el9")
    three = publish.publish([demo["3.0"]], dist, "el9").snapshot
    with pytest.raises(UserError, match="no complete snapshot 'nope'"):
        publish.rollback(dist, "el9", "nope")
    assert publish.rollback(dist, "el9", one.name) == one
    assert publish.rollback(dist, "el9", three.name) == three
    assert publish.current_snapshot(repo_of(dist)) == three


def test_old_snapshots_beyond_keep_are_pruned_but_never_current(tmp_path, demo, fuel):
    dist = tmp_path / "dist"
    made = [publish.publish(rpms, dist, "el9", keep=2).snapshot
            for rpms in ([demo["1.0"]], [demo["2.0"]], [demo["3.0"]])]
    assert publish.complete_snapshots(repo_of(dist)) == made[1:]
    publish.rollback(dist, "el9", made[1].name)
    newest = publish.publish([fuel], dist, "el9", keep=1).snapshot
    assert publish.complete_snapshots(repo_of(dist)) == [newest]
    assert not list((repo_of(dist) / "snapshots").glob(".*"))


# --- the command line, on the chain fixture manifest (three tiny packages) --------------------


def test_cli_signed_repo_snapshots_rollback_and_release_files(tmp_path, chain, workdirs):
    home = tmp_path / "gnupg"
    fingerprint = make_key(home)
    env = {**os.environ, "GNUPGHOME": str(home)}
    dist = Path(workdirs[-1])
    try:
        common = ["--manifest", str(chain), *workdirs, "--sign-key", fingerprint]
        first = run_buildtool("repo", *common, env=env)
        assert first.status == 0, first.stderr
        assert "unsigned" not in first.stderr
        current = publish.current_snapshot(repo_of(dist))
        key = current / "RPM-GPG-KEY-fuel"
        rpms = sorted((current / "Packages").glob("*.rpm"))
        assert len(rpms) == 3
        for rpm in rpms:
            assert "signatures OK" in checksig(rpm, tmp_path / "rpmdb", key)

        chain.with_name("src").joinpath("chain-a", "data.txt").write_text("changed\n")
        chain.write_text(chain.read_text().replace('version: "1.0"', 'version: "1.1"'))
        second = run_buildtool("repo", *common, env=env)
        assert second.status == 0, second.stderr

        listing = run_buildtool("snapshots", "--dist-dir", str(dist))
        assert listing.status == 0, listing.stderr
        lines = [line for line in listing.stdout.splitlines() if line.startswith("  ")]
        assert len(lines) == 2 and lines[1].startswith("  * ")
        assert "~chain-a 0:1.0-1.el9 -> 0:1.1-1.el9" in lines[1] and "signed" in lines[1]

        back = run_buildtool("rollback", "--dist-dir", str(dist))
        assert back.status == 0, back.stderr
        assert publish.current_snapshot(repo_of(dist)) == current

        out = tmp_path / "fuel-release"
        release = run_buildtool("release-files", "--dist-dir", str(dist), "--sign-key",
                                fingerprint, "--out", str(out),
                                "--base-url", "https://fuel.example.org/repos", env=env)
        assert release.status == 0, release.stderr
        repo_file = (out / "fuel.repo").read_text()
        assert "baseurl=https://fuel.example.org/repos/el9/current" in repo_file
        assert "gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-fuel" in repo_file
        assert "gpgcheck=1" in repo_file
        assert (out / "RPM-GPG-KEY-fuel").read_text() == key.read_text()
        assert (out / "fuel_release").read_text() == "11.0\n"
    finally:
        stop_agent(home)


def test_cli_unsigned_run_warns_once_and_lock_flag_fails_clearly(tmp_path, chain, workdirs):
    dist = Path(workdirs[-1])
    run = run_buildtool("repo", "--manifest", str(chain), *workdirs, "-t", "el9", "-t", "fedora-45")
    assert run.status == 0, run.stderr
    assert run.stderr.count("publishing unsigned") == 1
    for target in ("el9", "fedora-45"):
        current = publish.current_snapshot(publish.repo_dir(dist, target))
        assert "gpgcheck=0" in (current / "fuel.repo").read_text()
    with publish.repo_lock(repo_of(dist)):
        busy = run_buildtool("rollback", "--dist-dir", str(dist), "--no-wait")
    assert busy.status == 2
    assert "being published by another process" in busy.stderr
    assert "Traceback" not in busy.stderr


def test_cli_release_files_unsigned_write_a_gpgcheck_0_repo(tmp_path, chain, workdirs):
    out = tmp_path / "fuel-release"
    run = run_buildtool("release-files", "--dist-dir", workdirs[-1], "--out", str(out))
    assert run.status == 0, run.stderr
    assert "gpgcheck=0" in (out / "fuel.repo").read_text()
    assert sorted(p.name for p in out.iterdir()) == ["RPM-GPG-KEY-fuel", "fuel.repo",
                                                     "fuel_release"]
    again = subprocess.run(["ls", "--full-time", str(out)], capture_output=True, text=True)
    rerun = run_buildtool("release-files", "--dist-dir", workdirs[-1], "--out", str(out))
    assert rerun.status == 0
    same = subprocess.run(["ls", "--full-time", str(out)], capture_output=True, text=True)
    assert again.stdout == same.stdout  # unchanged files keep their mtime: no needless rebuild
