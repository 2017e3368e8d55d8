"""The whole pipeline with the real tools: build, publish, read back, cache, rebuild, fail."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from conftest import repoquery, require_tools, run_buildtool

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def tools():
    require_tools("rpmbuild", "createrepo_c")


def repo_json(chain: Path, workdirs: list[str], *extra: str) -> tuple[int, dict, str]:
    result = run_buildtool("repo", "-m", str(chain), "--backend", "rpmbuild", "--json", "-j", "2",
                           *workdirs, *extra)
    return result.status, json.loads(result.stdout), result.stderr


def statuses(summary: dict, target: str = "el9") -> dict[str, str]:
    return {name: p["status"] for name, p in summary["targets"][target]["packages"].items()}


def test_build_publish_and_read_back(chain, workdirs, tmp_path):
    status, summary, stderr = repo_json(chain, workdirs)
    assert status == 0, stderr
    assert statuses(summary) == {"chain-a": "built", "chain-b": "built", "chain-meta": "built"}
    current = tmp_path / "dist" / "repos" / "el9" / "current"
    assert repoquery(current) == ["chain-a-1.0-1.el9", "chain-b-2.0-1.el9", "chain-meta-3.0-1.el9"]
    assert summary["targets"]["el9"]["publish"]["changed"] is True
    log = Path(summary["targets"]["el9"]["packages"]["chain-b"]["log"])
    assert "Should not be used directly" not in log.read_text() and "rpmbuild" in log.read_text()


def test_second_run_rebuilds_nothing(chain, workdirs):
    assert repo_json(chain, workdirs)[0] == 0
    status, summary, stderr = repo_json(chain, workdirs)
    assert status == 0, stderr
    assert set(statuses(summary).values()) == {"cached"}
    assert summary["targets"]["el9"]["publish"]["changed"] is False


def test_changed_source_rebuilds_the_package_and_its_dependents_only(chain, workdirs):
    assert repo_json(chain, workdirs)[0] == 0
    (chain.parent / "src" / "chain-a" / "data.txt").write_text("new data\n")
    status, summary, _ = repo_json(chain, workdirs)
    assert status == 0
    assert statuses(summary) == {"chain-a": "built", "chain-b": "built", "chain-meta": "cached"}
    assert summary["targets"]["el9"]["publish"]["changed"] is True


def test_changed_manifest_entry_rebuilds_only_that_package(chain, workdirs):
    assert repo_json(chain, workdirs)[0] == 0
    text = chain.read_text().replace("summary: Everything of the chain", "summary: All of it")
    chain.write_text(text)
    status, summary, _ = repo_json(chain, workdirs)
    assert statuses(summary) == {"chain-a": "cached", "chain-b": "cached", "chain-meta": "built"}


def test_builds_are_byte_identical(chain, tmp_path, monkeypatch):
    monkeypatch.setenv("BUILDTOOL_CACHE", str(tmp_path / "cache"))
    outputs = []
    for run in ("one", "two"):
        dirs = ["--build-dir", str(tmp_path / run / "build"), "--dist-dir", str(tmp_path / run / "dist")]
        status, summary, stderr = repo_json(chain, dirs)
        assert status == 0, stderr
        outputs.append({Path(rpm).name: Path(rpm).read_bytes()
                        for p in summary["targets"]["el9"]["packages"].values()
                        for rpm in [*p["rpms"], p["srpm"]]})
    assert outputs[0].keys() == outputs[1].keys() and len(outputs[0]) == 6  # RPMs and SRPMs
    for name in outputs[0]:
        assert outputs[0][name] == outputs[1][name], f"{name} differs between two builds"


def test_failed_package_skips_dependents_and_the_rest_publishes(chain, workdirs, tmp_path):
    text = chain.read_text().replace("src: data.txt", "src: missing.txt")
    text += """\
  chain-c:
    version: "1.0"
    kind: meta
    summary: Needs chain-a
    description: Skipped when chain-a fails.
    requires: [chain-a]
"""
    chain.write_text(text)
    result = run_buildtool("repo", "-m", str(chain), "--backend", "rpmbuild", "--json",
                           "--keep-going", *workdirs)
    assert result.status == 1
    summary = json.loads(result.stdout)
    assert statuses(summary) == {"chain-a": "failed", "chain-b": "skipped", "chain-c": "skipped",
                                 "chain-meta": "built"}
    assert "chain-a failed (build failed); last lines of" in result.stderr
    assert "missing.txt" in result.stderr  # the log's tail names the culprit
    assert "Traceback" not in result.stderr
    # chain-meta built, but it requires chain-a and chain-b: publishing it would give an
    # uninstallable repository, so it is held back and nothing is published
    held = summary["targets"]["el9"]["held_back"]
    assert held["chain-meta"].startswith("nothing provides 'chain-")
    assert "held back chain-meta: nothing provides" in result.stderr
    assert not (tmp_path / "dist" / "repos" / "el9" / "current").exists()


def test_a_failed_build_keeps_its_published_version_and_the_repository_installable(
        chain, workdirs, tmp_path):
    status, _, stderr = repo_json(chain, workdirs)
    assert status == 0, stderr
    current = tmp_path / "dist" / "repos" / "el9" / "current"
    before = repoquery(current)
    (chain.parent / "src" / "chain-a" / "data.txt").write_text("new content\n")
    chain.write_text(chain.read_text().replace("src: data.txt", "src: missing.txt"))
    result = run_buildtool("repo", "-m", str(chain), "--json", *workdirs)
    assert result.status == 1
    summary = json.loads(result.stdout)["targets"]["el9"]
    assert summary["packages"]["chain-a"]["status"] == "failed"
    assert summary["kept_previous"] == {"chain-a": ["chain-a-1.0-1.el9.noarch.rpm"],
                                        "chain-b": ["chain-b-2.0-1.el9.noarch.rpm"]}  # skipped
    # chain-b and chain-meta still install: the repository offers the published chain-a
    assert summary["held_back"] == {}
    assert repoquery(current) == before


def test_only_builds_the_package_and_its_dependencies(chain, workdirs):
    status, summary, _ = repo_json(chain, workdirs, "--only", "chain-b")
    assert status == 0 and set(statuses(summary)) == {"chain-a", "chain-b"}


def test_standalone_stages(chain, workdirs, tmp_path):
    assert run_buildtool("publish", "-m", str(chain), *workdirs).status == 2  # nothing built yet
    built = run_buildtool("build", "-m", str(chain), "--backend", "rpmbuild", *workdirs)
    assert built.status == 0, built.stderr
    assert not (tmp_path / "dist").exists()
    published = run_buildtool("publish", "-m", str(chain), *workdirs)
    assert published.status == 0, published.stderr
    assert (tmp_path / "dist" / "repos" / "el9" / "current" / "repodata" / "repomd.xml").is_file()


@pytest.mark.parametrize("target,dist", [("el10", "el10"), ("fedora-44", "fc44"),
                                         ("fedora-45", "fc45"), ("leap-16", "suse.lp160")])
def test_other_targets_build(chain, workdirs, target, dist):
    result = run_buildtool("build", "-m", str(chain), "--json", "--target", target, *workdirs)
    assert result.status == 0, result.stderr
    summary = json.loads(result.stdout)
    rpms = [Path(r).name for p in summary["targets"][target]["packages"].values() for r in p["rpms"]]
    assert sorted(rpms) == [f"chain-a-1.0-1.{dist}.noarch.rpm", f"chain-b-2.0-1.{dist}.noarch.rpm",
                            f"chain-meta-3.0-1.{dist}.noarch.rpm"]


def test_publish_holds_back_what_the_distribution_data_cannot_satisfy(chain, workdirs):
    """Leap 16 has no evidence for bash or /bin/sh here: nothing that needs them is published."""
    status, summary, stderr = repo_json(chain, workdirs, "--target", "leap-16")
    assert status == 1
    held = summary["targets"]["leap-16"]["held_back"]
    assert held["chain-a"] == "nothing provides '/bin/sh' on leap-16"
    assert held["chain-meta"] == "nothing provides 'chain-a' on leap-16"
    assert "leap-16: held back chain-b: nothing provides" in stderr


def test_scriptlets_have_no_unexpanded_macros(chain, workdirs):
    status, summary, _ = repo_json(chain, workdirs)
    for package in summary["targets"]["el9"]["packages"].values():
        for rpm in package["rpms"]:
            scripts = subprocess.run(["rpm", "-qp", "--scripts", rpm], capture_output=True,
                                     text=True).stdout
            assert "%{" not in scripts and "%systemd" not in scripts, rpm


def test_generated_release_files_follow_each_target(chain, workdirs, tmp_path):
    chain.write_text(chain.read_text() + """\
  chain-release:
    version: "1"
    kind: files
    summary: Repository configuration
    description: The .repo file and key, written by buildtool per target.
    source: {generated: release-files}
    install:
      - {src: fuel.repo, dest: /etc/yum.repos.d/fuel.repo, config: true}
      - {src: RPM-GPG-KEY-fuel, dest: /etc/pki/rpm-gpg/RPM-GPG-KEY-fuel}
""")
    status, summary, stderr = repo_json(chain, workdirs, "--target", "el9", "--target", "fedora-45")
    assert status == 0, stderr
    for target in ("el9", "fedora-45"):
        (rpm,) = summary["targets"][target]["packages"]["chain-release"]["rpms"]
        archive = subprocess.run(["rpm2cpio", rpm], capture_output=True, check=True).stdout
        payload = subprocess.run(["cpio", "-i", "--quiet", "--to-stdout",
                                  "./etc/yum.repos.d/fuel.repo"], input=archive,
                                 capture_output=True, check=True).stdout.decode()
        assert f"baseurl={(tmp_path / 'dist' / 'repos' / target / 'current').as_uri()}" in payload
        assert "gpgcheck=0" in payload  # published unsigned here, and the file says so
        flags = subprocess.run(["rpm", "-qp", "--qf", "[%{FILENAMES} %{FILEFLAGS:fflags}\n]", rpm],
                               capture_output=True, text=True).stdout
        assert "/etc/yum.repos.d/fuel.repo cn" in flags


def test_an_unreachable_source_fails_its_package_only_and_json_says_so(chain, workdirs):
    chain.write_text(chain.read_text() + """\
  chain-remote:
    version: "1.0"
    kind: files
    summary: A package whose source cannot be fetched
    description: Its URL points at a closed local port.
    source: {url: "http://127.0.0.1:9/remote-1.0.tar.gz", sha256: a000000000000000000000000000000000000000000000000000000000000000}
  chain-needs-remote:
    version: "1.0"
    kind: meta
    summary: Needs chain-remote
    description: Skipped when chain-remote cannot be fetched.
    requires: [chain-remote]
""")
    status, summary, stderr = repo_json(chain, workdirs)
    assert status == 1 and summary["schema_version"] == 2 and summary["ok"] is False
    packages = summary["targets"]["el9"]["packages"]
    assert packages["chain-remote"]["status"] == "failed"
    assert "cannot download http://127.0.0.1:9/remote-1.0.tar.gz" in packages["chain-remote"]["reason"]
    assert packages["chain-needs-remote"]["status"] == "skipped"
    assert {packages[n]["status"] for n in ("chain-a", "chain-b")} == {"built"}
    # chain-meta requires every package, so it cannot be published without chain-remote
    assert summary["targets"]["el9"]["held_back"] == {
        "chain-meta": "nothing provides 'chain-needs-remote' on el9"}
    assert "chain-remote failed: chain-remote: cannot download" in stderr


def test_json_is_written_on_a_usage_error_too(tmp_path):
    result = run_buildtool("repo", "-m", str(tmp_path / "missing.yaml"), "--json")
    assert result.status == 2
    document = json.loads(result.stdout)
    assert document["schema_version"] == 2 and document["ok"] is False
    assert "missing.yaml" in document["error"]


def test_every_build_makes_an_srpm_and_publish_ships_them_as_a_source_repository(
        chain, workdirs, tmp_path):
    status, summary, stderr = repo_json(chain, workdirs)
    assert status == 0, stderr
    current = tmp_path / "dist" / "repos" / "el9" / "current"
    srpms = sorted(p.name for p in (current / "SRPMS" / "Packages").glob("*.rpm"))
    assert srpms == ["chain-a-1.0-1.el9.src.rpm", "chain-b-2.0-1.el9.src.rpm",
                     "chain-meta-3.0-1.el9.src.rpm"]
    assert [Path(p["srpm"]).name for p in summary["targets"]["el9"]["packages"].values()] == \
        ["chain-a-1.0-1.el9.src.rpm", "chain-meta-3.0-1.el9.src.rpm", "chain-b-2.0-1.el9.src.rpm"]
    sources = subprocess.run(
        ["dnf", "-q", "--releasever=9", f"--repofrompath=src,{(current / 'SRPMS').as_uri()}",
         "--repo=src", "repoquery", "--arch=src", "--qf",
         "%{name}-%{version}-%{release}.%{arch}"], capture_output=True, text=True)
    assert sorted(sources.stdout.split()) == [s.removesuffix(".rpm") for s in srpms]
    assert repoquery(current) == ["chain-a-1.0-1.el9", "chain-b-2.0-1.el9", "chain-meta-3.0-1.el9"]
    repo_file = (current / "fuel.repo").read_text()
    assert "[fuel-source]" in repo_file and "/SRPMS\nenabled=0" in repo_file


def test_without_keep_going_no_new_build_starts_after_a_failure(chain, workdirs):
    chain.write_text(chain.read_text().replace("src: data.txt", "src: missing.txt"))
    result = run_buildtool("build", "-m", str(chain), "--json", "-j", "1", *workdirs)
    assert result.status == 1
    packages = json.loads(result.stdout)["targets"]["el9"]["packages"]
    assert packages["chain-a"]["status"] == "failed"  # first in order: chain-meta waits
    assert packages["chain-meta"] == {**packages["chain-meta"], "status": "skipped",
                                      "reason": "not started after chain-a failed "
                                                "(--keep-going builds everything it can)"}
