"""The command line as a person and as CI meet it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from buildtool import cli
from conftest import ROOT, require_tools, run_buildtool


def test_help_lists_stages_and_examples():
    result = run_buildtool("--help")
    assert result.status == 0
    for word in ("validate", "list", "render", "build", "publish", "repo", "examples:", "exit status"):
        assert word in result.stdout


# command -> options its help must offer, options it must not (it does not use them)
OPTIONS = {
    "validate": ({"--manifest", "--profile", "--source", "--explain"},
                 {"--target", "--jobs", "--sign-key", "--build-dir", "--only"}),
    "list": ({"--manifest", "--profile", "--only"}, {"--target", "--source", "--jobs", "--dist-dir"}),
    "render": ({"--target", "--only", "--source", "--build-dir", "--check"},
               {"--dist-dir", "--jobs", "--sign-key", "--keep"}),
    "build": ({"--target", "--jobs", "--keep-going", "--backend", "--no-sandbox", "--copr-project",
               "--sign-key", "--base-url", "--build-dir", "--dist-dir"},
              {"--keep", "--keep-versions", "--no-wait", "--to", "--check"}),
    "publish": ({"--target", "--only", "--keep", "--keep-versions", "--no-wait", "--sign-key"},
                {"--jobs", "--source", "--backend", "--copr-project", "--no-sandbox"}),
    "repo": ({"--target", "--jobs", "--backend", "--copr-project", "--sign-key", "--keep",
              "--no-wait", "--source"}, {"--to", "--check", "--out", "--repo"}),
    "verify": ({"--target", "--repo", "--next-repo", "--no-upgrade", "--jobs", "--backend"},
               {"--sign-key", "--copr-project", "--keep", "--only"}),
    "snapshots": ({"--target", "--dist-dir"},
                  {"--manifest", "--build-dir", "--jobs", "--sign-key", "--no-wait"}),
    "rollback": ({"--target", "--dist-dir", "--to", "--no-wait"},
                 {"--manifest", "--jobs", "--source", "--sign-key", "--keep"}),
    "release-files": ({"--target", "--out", "--sign-key", "--base-url", "--dist-dir"},
                      {"--manifest", "--jobs", "--build-dir", "--keep"}),
}


def offered(help_text: str) -> set[str]:
    return set(re.findall(r"(--[a-z-]+)", help_text))


@pytest.mark.parametrize("command", sorted(OPTIONS))
def test_every_command_offers_exactly_the_options_it_uses(command):
    result = run_buildtool(command, "--help")
    assert result.status == 0
    wanted, unused = OPTIONS[command]
    assert wanted | {"--json", "--verbose", "--quiet", "--config-dir"} <= offered(result.stdout)
    assert not unused & offered(result.stdout)
    assert "exit status:" in result.stdout and "141" in result.stdout


def test_an_option_the_command_does_not_take_is_an_error():
    result = run_buildtool("rollback", "--jobs", "3")
    assert result.status == 2
    assert "buildtool rollback: error: unrecognized arguments: --jobs 3" in result.stderr
    assert "'buildtool rollback --help' lists the options it takes" in result.stderr
    assert "Traceback" not in result.stderr


def test_quiet_and_verbose_exclude_each_other():
    result = run_buildtool("validate", "--quiet", "--verbose")
    assert result.status == 2 and "not allowed with argument" in result.stderr


def test_a_reader_that_goes_away_ends_the_output_quietly():
    """`buildtool list | head -1`: the pipe closes before buildtool writes."""
    process = subprocess.Popen([sys.executable, "-m", "buildtool", "list"], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.close()  # before the interpreter has even started: every write fails
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=60) == 141, stderr
    assert stderr == ""


def test_help_and_validate_load_no_stage_module():
    """Fast start: the parser needs no stage, validate only the manifest's modules."""
    probe = ("import sys\nfrom buildtool import cli\n{call}\n"
             "print(' '.join(sorted(sys.modules)))")
    heavy = {"jinja2", "buildtool.build", "buildtool.render", "buildtool.publish",
             "buildtool.sources", "buildtool.backends", "buildtool.verify", "urllib.request"}
    for call in ("cli.parser()", "cli.main(['validate', '--quiet'])"):
        process = subprocess.run([sys.executable, "-c", probe.format(call=call)], cwd=ROOT,
                                 capture_output=True, text=True, check=True)
        loaded = set(process.stdout.split())
        assert "buildtool.cli" in loaded and not heavy & loaded, call


def test_validate_quiet_prints_only_its_final_line(capsys):
    assert cli.main(["validate", "--quiet"]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert len(captured.err.splitlines()) == 1 and ": ok, " in captured.err


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
def test_quiet_repo_prints_only_its_final_lines(chain, workdirs):
    require_tools("rpmbuild", "createrepo_c")
    result = run_buildtool("repo", "-m", str(chain), "--backend", "rpmbuild", "--quiet", *workdirs)
    assert result.status == 0, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 2, result.stderr  # no progress, no table, no unsigned/mock warning
    assert re.fullmatch(r"el9: 3 built, 0 cached, 0 failed, 0 skipped in [0-9.]+s", lines[0])
    assert lines[1].startswith("el9: published 3 RPM(s) at ")
    verbose = run_buildtool("repo", "-m", str(chain), "--backend", "rpmbuild", "-v", *workdirs)
    assert "cached   chain-a" in verbose.stderr  # -v also lists what was cached


@pytest.mark.integration
def test_unwritable_build_dir_is_one_line(chain, tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the build directory should be")
    result = run_buildtool("build", "-m", str(chain), "--backend", "rpmbuild",
                           "--build-dir", str(blocker / "build"))
    assert result.status == 1
    assert "Traceback" not in result.stderr
    assert "buildtool: error: Not a directory" in result.stderr


def completions(line: str, tmp_path) -> set[str]:
    """What the shell's completion hook (register-python-argcomplete buildtool) offers after
    `line`, asked the way the hook asks: environment variables, answer in a file."""
    pytest.importorskip("argcomplete")
    answer = tmp_path / "completions"
    env = {**os.environ, "_ARGCOMPLETE": "1", "COMP_LINE": line, "COMP_POINT": str(len(line)),
           "_ARGCOMPLETE_IFS": "\n", "_ARGCOMPLETE_STDOUT_FILENAME": str(answer)}
    process = subprocess.run([sys.executable, "-m", "buildtool"], cwd=ROOT, env=env,
                             capture_output=True, text=True)
    assert process.returncode == 0, process.stderr
    return set(answer.read_text().split())


def test_completion_offers_commands_and_each_commands_own_options(tmp_path):
    assert {"validate", "list", "repo", "rollback", "release-files"} <= completions(
        "buildtool ", tmp_path)
    assert completions("buildtool re", tmp_path) == {"render", "repo", "release-files"}
    rollback = completions("buildtool rollback --", tmp_path)
    assert {"--to", "--no-wait", "--target", "--quiet", "--json"} <= rollback
    assert not {"--jobs", "--source", "--sign-key"} & rollback
    assert {"--jobs", "--keep-going", "--sign-key"} <= completions("buildtool repo --", tmp_path)
    assert completions("buildtool repo --backend ", tmp_path) == {
        "auto", "mock", "rpmbuild", "copr", "koji"}


def test_buildtool_runs_where_argcomplete_is_not_installed():
    """Completion is optional: even the shell's hook gets an ordinary run without it."""
    probe = ("import sys\nsys.modules['argcomplete'] = None  # import argcomplete fails\n"
             "from buildtool import cli\nsys.exit(cli.main(['validate', '--quiet']))")
    env = {**os.environ, "_ARGCOMPLETE": "1", "COMP_LINE": "buildtool ", "COMP_POINT": "10"}
    process = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env,
                             capture_output=True, text=True)
    assert process.returncode == 0 and ": ok, " in process.stderr, process.stderr
