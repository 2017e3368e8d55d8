"""The verify stage's parsing and bookkeeping, without running the tools (fast)."""

from __future__ import annotations

from pathlib import Path

import pytest

from buildtool.distrodata import CITED, VERIFIED, DistroPackage, capability_names
from buildtool.errors import StageFailed
from buildtool.manifest import load_manifest
from buildtool.targets import load_target
from buildtool.verify.closure import parse_repoclosure
from buildtool.verify.findings import Finding
from buildtool.verify.installtest import FAILED, PASSED, Phase, _named_package
from buildtool.verify.lint import parse_output
from buildtool.verify.nextbuild import CONFIG_CHANGE, next_release
from buildtool.verify.report import TargetReport, report_json
from buildtool.verify.standin import standin_spec

ROOT = Path(__file__).resolve().parent.parent

RPMLINT_OUTPUT = """\
chain-b.noarch: W: postin-without-ghost-file-creation /run/chain-b
verify-lint-error.noarch: E: dir-or-file-in-home /home/operator/notes.txt
 2 packages and 0 specfiles checked; 1 errors, 1 warnings, 1 badness; has taken 0.1 s
"""

REPOCLOSURE_OUTPUT = """\
package: chain-b-2.0-1.el9.noarch from fuel
  unresolved deps (2):
    shadow-utils
    python3.9dist(six) >= 1.9
package: verify-unresolved-1.0-1.noarch from fuel
  unresolved deps (1):
    verify-no-such-package >= 2
"""


def test_rpmlint_errors_and_warnings_are_tied_to_their_package():
    result = parse_output(RPMLINT_OUTPUT)
    assert result.errors == [Finding("lint", "verify-lint-error",
                                     "dir-or-file-in-home /home/operator/notes.txt")]
    assert [w.package for w in result.warnings] == ["chain-b"]


def test_every_unresolved_requirement_names_the_package_that_needs_it():
    findings = parse_repoclosure(REPOCLOSURE_OUTPUT)
    assert [(f.package, f.message) for f in findings] == [
        ("chain-b", "nothing provides 'shadow-utils'"),
        ("chain-b", "nothing provides 'python3.9dist(six) >= 1.9'"),
        ("verify-unresolved", "nothing provides 'verify-no-such-package >= 2'"),
    ]


def test_dnf_messages_are_attributed_to_the_failing_package_not_to_what_it_needs():
    names = ["chain-a", "chain-b", "chain-b-extra"]
    assert _named_package("- nothing provides chain-a needed by chain-b-2.0-1.el9.noarch",
                          names) == "chain-b"
    assert _named_package("Error in PREIN scriptlet in rpm package chain-b-extra", names) == \
        "chain-b-extra"
    assert _named_package("Error: Transaction test error", names) == "-"


def test_stand_ins_provide_exactly_what_the_distribution_data_says():
    target = load_target(ROOT, "el9")
    six = DistroPackage("python3-six", "1.15.0-7.el9",
                        ("python3-six = 1.15.0-7.el9", "python3.9dist(six) = 1.15.0"), "BaseOS",
                        VERIFIED, "cs9-baseos-2022.tsv.xz: python3-six")
    spec = standin_spec(target, "distro", [six])
    assert "%package -n python3-six" in spec and "%files -n python3-six" in spec
    provides = [line.split(None, 1)[1] for line in spec.splitlines()
                if line.startswith("Provides:")]
    assert provides == ["python3-six = 1.15.0-7.el9", "python3.9dist(six) = 1.15.0"]


def test_a_hostile_data_row_cannot_open_a_spec_section():
    target = load_target(ROOT, "el9")
    bad = DistroPackage("x", None, ("y\n%post\nrm -rf /",), "r", CITED, "e")
    with pytest.raises(StageFailed, match="unsafe value"):
        standin_spec(target, "distro-cited", [bad])


def test_capability_names_of_plain_versioned_file_and_rich_requirements():
    assert capability_names("python3.9dist(six) >= 1.9") == ["python3.9dist(six)"]
    assert capability_names("/bin/sh") == ["/bin/sh"]
    assert capability_names("python(abi) = 3.12") == ["python(abi)"]
    assert capability_names("((python3.9dist(x) < 2 or python3.9dist(x) > 2) with "
                            "python3.9dist(x) >= 1)") == ["python3.9dist(x)"]
    assert capability_names("rpmlib(CompressedFileNames) <= 3.0.4-1") == []


def test_next_release_bumps_every_release_and_changes_every_config():
    manifest = load_manifest(ROOT / "tests" / "fixtures" / "chain" / "manifest.yaml")
    bumped = next_release(manifest)
    for name, package in bumped.packages.items():
        assert package.release == manifest.packages[name].release + ".1"
    config = bumped.packages["chain-b"].config_files[0]
    original = (manifest.root / manifest.packages["chain-b"].config_files[0].source).read_text()
    assert config.source is None and config.content == original + CONFIG_CHANGE


def test_report_fails_on_any_finding_and_json_carries_it():
    def report(**changes):
        base = dict(target="el9", repository=Path("/repo"), packages=["a"], size_bytes=3_000_000,
                    lint_errors=[], lint_warnings=[], unresolved=[],
                    phases=[Phase("install"), Phase("upgrade"), Phase("erase")])
        return TargetReport(**{**base, **changes})

    assert report().ok
    broken = Phase("upgrade")
    broken.add([Finding("upgrade", "chain-b", "/etc/chain-b/chain-b.conf: edit gone")])
    assert broken.status == FAILED and Phase("install").status == PASSED
    for bad in (report(lint_errors=[Finding("lint", "a", "x")]),
                report(unresolved=[Finding("closure", "a", "x")]),
                report(phases=[Phase("install"), broken, Phase("erase")])):
        assert not bad.ok
    summary = report_json([report(phases=[Phase("install"), broken, Phase("erase")])])
    assert summary["ok"] is False
    assert summary["targets"]["el9"]["phases"]["upgrade"]["findings"][0]["package"] == "chain-b"
    assert summary["targets"]["el9"]["size_vs_docker_images_rpm"] == 0.01
