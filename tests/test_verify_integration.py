"""`buildtool verify` against real repositories with rpmlint, dnf, rpm and a debootstrap root.

The throwaway root is a Debian minbase (cached under the buildtool cache, ~45 s the first time);
scriptlets really run in it. The distribution is a set of stand-in packages generated from the
target's data (repo-config/distro-data/<target>.tsv): they provide only what the real repositories
were recorded to provide, so a name no repository has fails; they are still no proof that the real
packages install (`make installcheck` is).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from buildtool import distrodata, pipeline
from buildtool.targets import load_target
from buildtool.verify.dnfroot import DnfRoot
from buildtool.verify.installtest import (
    DATA_NAME,
    EDIT_MARK,
    erase_phase,
    install_phase,
    operator_edits,
    upgrade_phase,
)
from buildtool.verify.nextbuild import build_next_repo
from buildtool.verify.rootcache import fresh_root
from buildtool.verify.rpminfo import repository_packages
from buildtool.verify.standin import standin_repositories
from conftest import assert_output_schema

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
CHAIN_CONFIG = "/etc/chain-b/chain-b.conf"
CHAIN_STATE = f"/var/lib/chain-b/{DATA_NAME}"


def buildtool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "buildtool", *args], cwd=ROOT,
                          capture_output=True, text=True)


def verify_json(*args: str) -> tuple[int, dict, str]:
    result = buildtool("verify", "--json", *args)
    assert "Traceback" not in result.stderr, result.stderr
    document = json.loads(result.stdout)
    assert_output_schema(document, "verify")
    return result.returncode, document, result.stderr


def all_findings(summary: dict) -> list[dict]:
    target = summary["targets"]["el9"]
    return [*target["lint"]["errors"], *target["unresolved"],
            *(f for phase in target["phases"].values() for f in phase["findings"])]


def chain_repo(tmp_path: Path, edit=None, config: Path | None = None) -> tuple[Path, Path, Path]:
    """Build and publish a copy of the chain fixture; return (manifest, build dir, dist dir)."""
    copy = tmp_path / "chain"
    shutil.copytree(FIXTURES / "chain", copy)
    manifest = copy / "manifest.yaml"
    if edit:
        manifest.write_text(edit(manifest.read_text()))
    build, dist = tmp_path / "build", tmp_path / "dist"
    result = buildtool("repo", "--manifest", str(manifest), "--build-dir", str(build),
                       "--dist-dir", str(dist), *(["--config-dir", str(config)] if config else []))
    assert result.returncode == 0, result.stderr
    return manifest, build, dist


def spec_repo(tmp_path: Path, *specs: str) -> Path:
    """A published repository of the chain-a fixture package plus hand-written broken specs."""
    repo = tmp_path / "repo"
    (repo / "Packages").mkdir(parents=True)
    for spec in specs:
        result = subprocess.run(
            ["rpmbuild", "-bb", "--define", f"_topdir {tmp_path / 'rpmbuild'}",
             "--define", f"_rpmdir {repo / 'Packages'}", str(FIXTURES / "verify" / spec)],
            capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
    subprocess.run(["createrepo_c", "--quiet", str(repo)], check=True)
    return repo


def test_the_default_repository_verifies(tmp_path):
    """`buildtool verify --target el9` on dist/repos/el9/current (built by `make repo`)."""
    if not (ROOT / "dist" / "repos" / "el9" / "current").is_dir():
        assert buildtool("repo", "--target", "el9").returncode == 0
    status, summary, stderr = verify_json("--target", "el9", "--build-dir", str(tmp_path))
    target = summary["targets"]["el9"]
    assert status == 0, stderr
    assert "fuel" in target["packages"]
    assert target["lint"]["errors"] == [] and target["unresolved"] == []
    assert {name: p["status"] for name, p in target["phases"].items()} == {
        "install": "passed", "upgrade": "passed", "erase": "passed"}
    assert re.search(r"el9\s+\d+\s+0/\d+\s+0\s+\d+\s+passed\s+passed\s+passed", stderr)


def test_chain_fixture_verifies_with_rpmnew_on_upgrade(tmp_path):
    manifest, build, dist = chain_repo(tmp_path)
    status, summary, stderr = verify_json("--manifest", str(manifest), "--build-dir", str(build),
                                          "--dist-dir", str(dist))
    assert status == 0, stderr
    notes = summary["targets"]["el9"]["phases"]["upgrade"]["notes"]
    assert f"{CHAIN_CONFIG}: edit kept, new packaged version in {CHAIN_CONFIG}.rpmnew" in notes


def test_edited_config_and_state_data_survive_upgrade_and_erase(tmp_path):
    """The phases one by one, looking into the root between them."""
    manifest, build, dist = chain_repo(tmp_path)
    current_repo = dist / "repos" / "el9" / "current"
    settings = pipeline.Settings(manifest=manifest, build_dir=build, dist_dir=dist)
    target = load_target(ROOT, "el9")
    next_repo = build_next_repo(settings, target)
    distro = standin_repositories(target, distrodata.load(target.distro_data_file(ROOT)),
                                  tmp_path / "distro")
    root = fresh_root(tmp_path / "root")
    current = repository_packages(current_repo.resolve())
    upcoming = repository_packages(next_repo.resolve())
    repos = {"fuel": current_repo.resolve(), **distro}
    dnf = DnfRoot(root=root, work=tmp_path / "work", repos=repos)

    install = install_phase(dnf, current)
    assert install.status == "passed", install.findings
    assert "chainb:" in (root / "etc/passwd").read_text()
    assert (root / "var/lib/chain-b").stat().st_mode & 0o777 == 0o750
    operator = operator_edits(root, current)
    assert CHAIN_CONFIG in operator.configs and CHAIN_STATE in operator.data
    state_content = (root / CHAIN_STATE.lstrip("/")).read_text()

    dnf = DnfRoot(root=root, work=tmp_path / "work", repos={**repos, "fuel-next": next_repo})
    upgrade = upgrade_phase(dnf, current, upcoming, operator)
    assert upgrade.status == "passed", upgrade.findings
    assert dnf.installed()["chain-b"] == "2.0-2.el9"  # the next release continues the history
    live = (root / CHAIN_CONFIG.lstrip("/")).read_text()
    assert EDIT_MARK in live
    assert "changed in the next release" in (root / f"{CHAIN_CONFIG}.rpmnew".lstrip("/")).read_text()
    assert (root / CHAIN_STATE.lstrip("/")).read_text() == state_content

    erase = erase_phase(dnf, upcoming, operator)
    assert erase.status == "passed", erase.findings
    assert "chain-b" not in dnf.installed()
    assert EDIT_MARK in (root / f"{CHAIN_CONFIG}.rpmsave".lstrip("/")).read_text()
    assert (root / CHAIN_STATE.lstrip("/")).read_text() == state_content
    assert not (root / "usr/bin/chain-a-hello").exists()


def test_config_not_marked_noreplace_loses_the_edit_and_fails(tmp_path):
    manifest, build, dist = chain_repo(
        tmp_path, edit=lambda text: text.replace("group: chainb}", "group: chainb, noreplace: false}"))
    status, summary, stderr = verify_json("--manifest", str(manifest), "--build-dir", str(build),
                                          "--dist-dir", str(dist))
    assert status == 1
    upgrade = summary["targets"]["el9"]["phases"]["upgrade"]
    assert upgrade["status"] == "failed"
    assert any(f["package"] == "chain-b" and CHAIN_CONFIG in f["message"] and ".rpmsave" in f["message"]
               for f in upgrade["findings"]), upgrade
    assert "FAIL upgrade: chain-b: /etc/chain-b/chain-b.conf" in stderr


def test_missing_dependency_is_reported_with_the_package(tmp_path):
    repo = spec_repo(tmp_path, "verify-unresolved.spec")
    status, summary, stderr = verify_json("--repo", str(repo), "--no-upgrade",
                                          "--build-dir", str(tmp_path / "build"))
    assert status == 1
    target = summary["targets"]["el9"]
    assert target["lint"]["errors"] == []
    assert target["unresolved"] == [{
        "check": "closure", "package": "verify-unresolved",
        "requirement": "verify-no-such-package >= 2",
        "message": "nothing provides 'verify-no-such-package >= 2' on el9 (not in its "
                   "distribution data: repo-config/distro-data/el9.tsv)"}]
    assert target["phases"]["install"]["status"] == "failed"
    assert "FAIL closure: verify-unresolved: nothing provides" in stderr


def test_failing_pre_scriptlet_is_reported_with_the_package(tmp_path):
    repo = spec_repo(tmp_path, "verify-pre-fails.spec")
    status, summary, stderr = verify_json("--repo", str(repo), "--no-upgrade",
                                          "--build-dir", str(tmp_path / "build"))
    assert status == 1
    target = summary["targets"]["el9"]
    assert target["lint"]["errors"] == [] and target["unresolved"] == []
    install = target["phases"]["install"]
    assert install["status"] == "failed"
    assert {f["package"] for f in install["findings"]} == {"verify-pre-fails"}, install
    assert target["phases"]["erase"]["status"] == "skipped"


def test_rpmlint_error_is_reported_with_the_package(tmp_path):
    repo = spec_repo(tmp_path, "verify-lint-error.spec")
    status, summary, stderr = verify_json("--repo", str(repo), "--no-upgrade",
                                          "--build-dir", str(tmp_path / "build"))
    assert status == 1
    errors = summary["targets"]["el9"]["lint"]["errors"]
    assert {"check": "lint", "package": "verify-lint-error",
            "message": "dir-or-file-in-home /home/operator/notes.txt"} in errors
    assert "FAIL lint: verify-lint-error: dir-or-file-in-home" in stderr


def test_not_a_repository_is_a_user_error(tmp_path):
    result = buildtool("verify", "--repo", str(tmp_path), "--no-upgrade",
                       "--build-dir", str(tmp_path / "build"))
    assert result.returncode == 2
    assert "is not a published repository" in result.stderr and "Traceback" not in result.stderr


def test_erase_that_deletes_state_data_is_reported_with_the_package(tmp_path):
    repo = spec_repo(tmp_path, "verify-erase-wipes.spec")
    status, summary, stderr = verify_json("--repo", str(repo), "--no-upgrade",
                                          "--build-dir", str(tmp_path / "build"))
    assert status == 1
    phases = summary["targets"]["el9"]["phases"]
    assert phases["install"]["status"] == "passed"
    assert phases["erase"]["findings"] == [{
        "check": "erase", "package": "verify-erase-wipes",
        "message": f"operator data /var/lib/verify-erase-wipes/{DATA_NAME} was lost"}]


def test_a_nonexistent_name_in_a_target_map_fails_verify(tmp_path):
    """The closure check can fail: map the chain's `bash` to a name no el9 repository has.
    Publishing already holds chain-b back; verify of the build outputs says why."""
    config = tmp_path / "config"
    shutil.copytree(ROOT / "repo-config", config / "repo-config")
    el9 = config / "repo-config" / "targets" / "el9.yaml"
    el9.write_text(el9.read_text().replace("  bash: bash\n", "  bash: bash-from-nowhere\n"))
    chain = tmp_path / "chain"
    shutil.copytree(FIXTURES / "chain", chain)
    build = tmp_path / "build"
    published = buildtool("repo", "--manifest", str(chain / "manifest.yaml"), "--build-dir",
                          str(build), "--dist-dir", str(tmp_path / "dist"), "--config-dir",
                          str(config))
    assert published.returncode == 1
    assert "held back chain-b: nothing provides 'bash-from-nowhere' on el9" in published.stderr
    outputs = tmp_path / "outputs"
    (outputs / "Packages").mkdir(parents=True)
    for rpm in (build / "el9" / "rpms").glob("*/*.rpm"):
        shutil.copy(rpm, outputs / "Packages")
    subprocess.run(["createrepo_c", "--quiet", str(outputs)], check=True)
    status, summary, stderr = verify_json("--repo", str(outputs), "--no-upgrade", "--build-dir",
                                          str(tmp_path / "verify"), "--config-dir", str(config))
    assert status == 1
    assert {"check": "closure", "package": "chain-b", "requirement": "bash-from-nowhere",
            "message": "nothing provides 'bash-from-nowhere' on el9 (not in its distribution "
                       "data: repo-config/distro-data/el9.tsv)"} in \
        summary["targets"]["el9"]["unresolved"]
    assert "FAIL closure: chain-b: nothing provides 'bash-from-nowhere' on el9" in stderr


def test_a_version_the_distribution_does_not_have_fails_verify(tmp_path):
    """Versions count: el9's data has python3-six 1.15, so `python3dist(six) >= 2` fails."""
    data = tmp_path / "el9.tsv"
    data.write_text((ROOT / "repo-config" / "distro-data" / "el9.tsv").read_text())
    repo = spec_repo(tmp_path, "verify-needs-six-2.spec")
    status, summary, _ = verify_json("--repo", str(repo), "--no-upgrade", "--distro-data",
                                     str(data), "--build-dir", str(tmp_path / "build"))
    assert status == 1
    assert [f["requirement"] for f in summary["targets"]["el9"]["unresolved"]] == \
        ["python3.9dist(six) >= 2"]


def test_a_requirement_only_a_citation_covers_is_listed_unverified(tmp_path):
    data = tmp_path / "el9.tsv"
    cited = "\t".join(["verify-cited-thing", "1.0-1", "verify-cited-thing = 1.0-1", "Somewhere",
                       "cited", "a page that says so"])
    data.write_text((ROOT / "repo-config" / "distro-data" / "el9.tsv").read_text() + cited + "\n")
    repo = spec_repo(tmp_path, "verify-needs-cited.spec")
    status, summary, stderr = verify_json("--repo", str(repo), "--no-upgrade", "--distro-data",
                                          str(data), "--build-dir", str(tmp_path / "build"))
    target = summary["targets"]["el9"]
    assert status == 0, stderr
    assert target["unresolved"] == []
    assert [f["requirement"] for f in target["unverified"]] == ["verify-cited-thing"]
    assert {"name": "verify-cited-thing", "evr": "1.0-1", "repository": "Somewhere",
            "status": "cited"} in target["distribution"]["pulled"]
