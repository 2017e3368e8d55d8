"""The per-target distribution data: where it comes from, and that it can be refreshed.

scripts/extract-distro-data reads the team's datasets (../shared/distro-data, real repository
metadata and package lists); scripts/refresh-distro-data asks live repositories with dnf, tried
here against a local file:// repository because no distribution mirror is reachable.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from buildtool import distrodata
from buildtool.distrodata import CITED, DERIVED, VERIFIED
from buildtool.targets import available_targets, load_target
from buildtool.verify.standin import standin_repositories
from conftest import require_tools

ROOT = Path(__file__).resolve().parent.parent
DATASETS = ROOT.parent / "shared" / "distro-data"
TARGETS = ["el9", "el10", "fedora-44", "fedora-45", "leap-16"]


def script(name: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "scripts" / name), *args],
                          capture_output=True, text=True, cwd=ROOT)


@pytest.mark.parametrize("target", TARGETS)
def test_every_row_carries_its_evidence(target):
    rows = distrodata.load(load_target(ROOT, target).distro_data_file(ROOT))
    assert rows, f"no distribution data for {target}"
    for row in rows:
        assert row.status in (VERIFIED, DERIVED, CITED) and row.evidence and row.repository
        if row.status == CITED:
            assert ": " in row.evidence and len(row.evidence) > 40, row  # source: excerpt
        else:
            assert ".tsv" in row.evidence or ".txt" in row.evidence or "repoquery" in row.evidence


def test_el9_base_rows_are_real_repository_metadata():
    rows = {r.name: r for r in distrodata.load(load_target(ROOT, "el9").distro_data_file(ROOT))}
    assert rows["python3"].status == VERIFIED and rows["python3"].evr == "3.9.10-1.el9"
    assert "python(abi) = 3.9" in rows["python3"].provides
    assert "python3.9dist(pyyaml) = 5.4.1" in rows["python3-pyyaml"].provides
    assert rows["puppet"].evr == "7.27.0-1.el9s" and rows["puppet"].repository.startswith("RDO")


@pytest.mark.skipif(not DATASETS.is_dir(), reason="the team's datasets are not beside the checkout")
@pytest.mark.parametrize("target", TARGETS)
def test_the_committed_data_is_what_the_datasets_and_citations_give(tmp_path, target):
    """Re-extracting (for the same capabilities) reproduces the committed file byte for byte:
    nothing in it was written by hand."""
    empty = tmp_path / "no-repo"
    empty.mkdir()
    out = tmp_path / f"{target}.tsv"
    result = script("extract-distro-data", target, "--repo", str(empty), "--out", str(out))
    assert result.returncode == 0, result.stderr
    committed = load_target(ROOT, target).distro_data_file(ROOT)
    assert out.read_text() == committed.read_text()


def test_a_name_no_dataset_has_is_left_out_and_reported(tmp_path):
    if not DATASETS.is_dir():
        pytest.skip("the team's datasets are not beside the checkout")
    out = tmp_path / "el9.tsv"
    result = script("extract-distro-data", "el9", "--repo", str(tmp_path), "--out", str(out),
                    "--capability", "python3-bintrees")
    assert result.returncode == 0, result.stderr
    assert "not in any dataset or citation: python3-bintrees" in result.stderr
    assert "python3-bintrees" not in {r.name for r in distrodata.load(out)}


@pytest.mark.integration
def test_refresh_asks_a_repository_with_dnf_and_reports_what_it_lacks(tmp_path):
    """A local repository plays the mirror: its packages become verified rows with their real
    provides; what it lacks is reported and left out (exit 1)."""
    require_tools("rpmbuild", "createrepo_c", "dnf")
    target = load_target(ROOT, "el9")
    rows = [r for r in distrodata.load(target.distro_data_file(ROOT))
            if r.name in ("bash", "python3", "python3-six")]
    mirror = standin_repositories(target, rows, tmp_path / "mirror")["distro"]
    out = tmp_path / "el9.tsv"
    result = script("refresh-distro-data", "el9", "--mirror", f"Local={mirror.as_uri()}",
                    "--repo", str(tmp_path / "none"), "--out", str(out))
    assert result.returncode == 1, result.stderr
    assert "provided by no repository: shadow-utils" in result.stderr
    refreshed = {r.name: r for r in distrodata.load(out)}
    assert set(refreshed) == {"bash", "python3", "python3-six"}
    assert all(r.status == VERIFIED and "repoquery" in r.evidence for r in refreshed.values())
    assert "python3.9dist(six) = 1.15.0" in refreshed["python3-six"].provides


def test_every_target_has_a_data_file():
    assert sorted(available_targets(ROOT)) == sorted(TARGETS)
    for target in TARGETS:
        assert load_target(ROOT, target).distro_data_file(ROOT).is_file()
