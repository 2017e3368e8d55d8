"""The command line as a person and as CI meet it."""

from __future__ import annotations

import json

import pytest

from conftest import require_tools, run_buildtool


def test_help_lists_stages_and_examples():
    result = run_buildtool("--help")
    assert result.status == 0
    for word in ("validate", "list", "render", "build", "publish", "repo", "examples:", "exit status"):
        assert word in result.stdout


@pytest.mark.parametrize("command", ["validate", "list", "render", "build", "publish", "repo"])
def test_every_command_has_help(command):
    result = run_buildtool(command, "--help")
    assert result.status == 0 and "--manifest" in result.stdout and "--target" in result.stdout


def test_unknown_command_is_a_usage_error():
    result = run_buildtool("frobnicate")
    assert result.status == 2 and "invalid choice" in result.stderr


def test_list_shows_versions_and_internal_dependencies(chain):
    result = run_buildtool("list", "-m", str(chain))
    assert result.status == 0
    rows = {line.split()[0]: line for line in result.stdout.splitlines()[1:]}
    assert "2.0-1" in rows["chain-b"] and rows["chain-b"].endswith("chain-a")
    listed = json.loads(run_buildtool("list", "-m", str(chain), "--json").stdout)
    assert [p["name"] for p in listed["packages"]] == ["chain-a", "chain-meta", "chain-b"]


@pytest.mark.integration
def test_progress_is_plain_lines_when_not_a_terminal(chain, workdirs):
    require_tools("rpmbuild", "createrepo_c")
    result = run_buildtool("repo", "-m", str(chain), "--backend", "rpmbuild", *workdirs)
    assert result.status == 0, result.stderr
    assert "\r" not in result.stderr and "\033[" not in result.stderr
    assert "[3/3] built" in result.stderr
    assert "el9: 3 built, 0 cached, 0 failed, 0 skipped" in result.stderr
    assert result.stdout == ""  # human output goes to stderr; stdout is kept for --json


@pytest.mark.integration
def test_unwritable_build_dir_is_one_line(chain, tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the build directory should be")
    result = run_buildtool("build", "-m", str(chain), "--backend", "rpmbuild",
                           "--build-dir", str(blocker / "build"))
    assert result.status == 1
    assert "Traceback" not in result.stderr
    assert "buildtool: error: Not a directory" in result.stderr
