"""Automatic releases: changed content under the same version gets the next Release, and an
installed system really upgrades to it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from buildtool import distrodata
from buildtool.releases import Release, _bumped, describe, next_release
from buildtool.targets import load_target
from buildtool.verify.dnfroot import DnfRoot
from buildtool.verify.standin import standin_repositories
from conftest import FIXTURES, require_tools, run_buildtool

ROOT = Path(__file__).resolve().parent.parent

TODAY = "Wed Dec 02 2026"


def released(version="1.0", release="1", source="s1", spec="p1", **parts):
    return Release(version, release, TODAY, source, {"spec": spec, **parts})


def test_unchanged_content_keeps_its_release():
    history = [released()]
    release, new = next_release(history, "1.0", "1", "s1", {"spec": "p1"}, TODAY)
    assert (release.release, new) == ("1", False)


def test_changed_content_under_the_same_version_gets_the_next_release():
    history = [released(), released(release="2", source="s2")]
    release, new = next_release(history, "1.0", "1", "s3", {"spec": "p1"}, TODAY)
    assert (release.release, new) == ("3", True)
    assert release.changes == ["Source changed: sha256 s2 -> s3"]


def test_a_new_version_starts_at_the_floor_and_the_floor_always_holds():
    history = [released(release="4")]
    assert next_release(history, "1.1", "1", "s9", {"spec": "p1"}, TODAY)[0].release == "1"
    assert next_release(history, "1.0", "7", "s9", {"spec": "p1"}, TODAY)[0].release == "7"


def test_going_back_to_published_content_reuses_that_release():
    history = [released(), released(release="2", source="s2")]
    assert next_release(history, "1.0", "1", "s1", {"spec": "p1"}, TODAY)[0].release == "1"


def test_the_changelog_says_what_changed():
    before = released(**{"chain-b.service": "u1", "fix.patch": "x"})
    after = Release("1.1", "1", TODAY, "s2", {"spec": "p2", "chain-b.service": "u2",
                                              "new.patch": "y"})
    assert describe(before, after) == [
        "Update to 1.1", "Source changed: sha256 s1 -> s2", "Chain-b.service changed",
        "Fix.patch removed", "New.patch added", "Packaging (manifest fields or templates) changed"]
    assert describe(None, after) == ["First build by buildtool from the service manifest"]


@pytest.mark.parametrize("release, bumped", [("1", "2"), ("1.1", "1.2"), ("9", "10"),
                                             ("2a", "2a.1")])
def test_bumps(release, bumped):
    assert _bumped(release) == bumped


@pytest.mark.integration
def test_publish_change_one_file_publish_and_dnf_upgrade_installs_the_new_release(tmp_path):
    """The issue's end-to-end case: an installed chain-a upgrades after one source file changed."""
    require_tools("rpmbuild", "createrepo_c", "dnf", "rpm")
    chain = tmp_path / "chain"
    shutil.copytree(FIXTURES / "chain", chain)
    dirs = ["--build-dir", str(tmp_path / "build"), "--dist-dir", str(tmp_path / "dist")]
    first = run_buildtool("repo", "-m", str(chain / "manifest.yaml"), *dirs, "--json")
    assert first.status == 0, first.stderr
    repo = tmp_path / "dist" / "repos" / "el9" / "current"

    target = load_target(ROOT, "el9")
    distro = standin_repositories(target, distrodata.load(target.distro_data_file(ROOT)),
                                  tmp_path / "distro")
    dnf = DnfRoot(root=tmp_path / "root", work=tmp_path / "work",
                  repos={"fuel": repo.resolve(), **distro})
    dnf.root.mkdir()
    install = dnf.dnf("--setopt=tsflags=noscripts", "install", "chain-a")
    assert install.returncode == 0, install.stdout + install.stderr
    assert dnf.installed()["chain-a"] == "1.0-1.el9"

    (chain / "src" / "chain-a" / "data.txt").write_text("changed content\n")
    second = run_buildtool("repo", "-m", str(chain / "manifest.yaml"), *dirs, "--json")
    assert second.status == 0, second.stderr
    summary = json.loads(second.stdout)
    assert summary["targets"]["el9"]["packages"]["chain-a"]["status"] == "built"

    dnf = DnfRoot(root=dnf.root, work=tmp_path / "work-2",  # `current` is a new snapshot now
                  repos={"fuel": repo.resolve(), **distro})
    upgrade = dnf.dnf("--setopt=tsflags=noscripts", "upgrade", "chain-a")
    assert upgrade.returncode == 0, upgrade.stdout + upgrade.stderr
    assert dnf.installed()["chain-a"] == "1.0-2.el9"
    changelog = dnf.rpm("-q", "--changelog", "chain-a").stdout
    assert "- 1.0-2\n- Source changed: sha256" in changelog

    third = run_buildtool("repo", "-m", str(chain / "manifest.yaml"), *dirs, "--json")
    assert json.loads(third.stdout)["targets"]["el9"]["packages"]["chain-a"]["status"] == "cached"
