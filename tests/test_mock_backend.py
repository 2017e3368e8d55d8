"""The mock backend. mock cannot be installed on these machines: its configuration and command
lines are checked here, and orchestration runs against a TEST DOUBLE of mock (a script that
records its arguments and rebuilds the SRPM with host rpmbuild). None of this proves that real
mock builds work; that needs a Fedora/EL build host."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from buildtool.backends import BuildRequest, select_backend
from buildtool.backends.mock import MockBackend, mock_config
from buildtool.errors import ToolMissing
from buildtool.targets import load_target
from conftest import ROOT, require_tools, run_buildtool

FAKE_MOCK = """\
#!/usr/bin/env python3
# TEST DOUBLE of mock: records argv, then rebuilds the SRPM with host rpmbuild into --resultdir,
# with the target's macros (what the real chroot's distribution macros provide).
import json, os, subprocess, sys, tempfile
args = sys.argv[1:]
with open(os.path.join(os.path.dirname(os.path.abspath(sys.argv[0])), "calls.jsonl"), "a") as log:
    log.write(json.dumps(args) + "\\n")
resultdir = args[args.index("--resultdir") + 1]
srpm = args[-1]
with tempfile.TemporaryDirectory() as top:
    status = subprocess.call(["rpmbuild", "--rebuild", "--nodeps", "--define", "_topdir " + top,
                              *json.loads(TARGET_ARGS), srpm],
                             stdout=open(os.path.join(resultdir, "build.log"), "w"),
                             stderr=subprocess.STDOUT)
    for root, _, files in os.walk(os.path.join(top, "RPMS")):
        for name in files:
            os.rename(os.path.join(root, name), os.path.join(resultdir, name))
sys.exit(status)
"""


def test_config_includes_the_stock_config_and_this_runs_repository(tmp_path):
    text = mock_config(load_target(ROOT, "el9"), tmp_path / "localrepo")
    assert text.startswith("include('/etc/mock/centos-stream+epel-9-x86_64.cfg')")
    assert "config_opts['root'] = 'buildtool-el9'" in text
    assert f"baseurl=file://{(tmp_path / 'localrepo').resolve()}" in text
    assert "config_opts['macros']['%_buildhost'] = 'buildtool.fuel'" in text
    assert "config_opts['macros']['%dist'] = '.el9'" in text
    compile(text.replace("include(", "print("), "mock.cfg", "exec")  # valid Python, as mock reads it


def test_command_line_uses_a_unique_root_per_package(tmp_path):
    backend = MockBackend()
    backend.config_path = tmp_path / "buildtool-el9.cfg"
    request = BuildRequest("nailgun", tmp_path / "x.src.rpm", tmp_path / "x.spec", tmp_path,
                           load_target(ROOT, "el9"),
                           tmp_path / "out", tmp_path / "log", 1700000000, tmp_path / "repo")
    assert backend.command(request) == [
        "mock", "--root", str(tmp_path / "buildtool-el9.cfg"), "--uniqueext", "nailgun",
        "--resultdir", str(tmp_path / "out"), "--no-cleanup-after",
        "--rebuild", str(tmp_path / "x.src.rpm")]


def test_auto_falls_back_to_rpmbuild_with_one_warning(monkeypatch):
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    warnings = []
    backend = select_backend("auto", warn=warnings.append)
    assert backend.name == "rpmbuild" and len(warnings) == 1 and "not a clean-room" in warnings[0]


def test_explicit_mock_without_mock_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    with pytest.raises(ToolMissing, match="mock is not installed"):
        select_backend("mock")


@pytest.mark.integration
def test_orchestration_with_the_mock_test_double(chain, workdirs, tmp_path, monkeypatch):
    require_tools("rpmbuild", "createrepo_c")
    bindir = tmp_path / "bin"
    bindir.mkdir()
    target_args = json.dumps(load_target(ROOT, "el9").rpm_args())
    (bindir / "mock").write_text(FAKE_MOCK.replace("TARGET_ARGS", repr(target_args)))
    os.chmod(bindir / "mock", 0o755)
    calls = bindir / "calls.jsonl"  # the build environment is scrubbed: no variables get through
    monkeypatch.setenv("PATH", f"{bindir}:{os.environ['PATH']}")
    result = run_buildtool("repo", "-m", str(chain), "--backend", "auto", "--json", *workdirs)
    assert result.status == 0, result.stderr
    assert "not a clean-room" not in result.stderr  # auto picked mock
    summary = json.loads(result.stdout)["targets"]["el9"]
    assert summary["backend"] == "mock"
    argvs = [json.loads(line) for line in calls.read_text().splitlines()]
    assert sorted(a[a.index("--uniqueext") + 1] for a in argvs) == ["chain-a", "chain-b", "chain-meta"]
    local_repo = tmp_path / "build" / "el9" / "localrepo"
    assert (local_repo / "repodata" / "repomd.xml").is_file()
    assert any(p.name.startswith("chain-a-1.0") for p in local_repo.glob("*.rpm"))
    log = Path(summary["packages"]["chain-b"]["log"]).read_text()
    assert "===== mock build.log =====" in log
