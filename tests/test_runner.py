"""One door to external programs (buildtool/runner.py): nothing else starts a process."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from buildtool import runner

BUILDTOOL = Path(__file__).resolve().parent.parent / "buildtool"
DIRECT = re.compile(r"\bsubprocess\.(run|Popen|call|check_call|check_output)\(|\bos\.(system|popen)\(")


def test_no_module_but_the_runner_starts_a_process_itself():
    offenders = [f"{path.relative_to(BUILDTOOL)}:{number}"
                 for path in BUILDTOOL.rglob("*.py") if path.name != "runner.py"
                 for number, line in enumerate(path.read_text().splitlines(), start=1)
                 if DIRECT.search(line)]
    assert offenders == []


def test_the_default_environment_has_a_fixed_locale_and_an_explicit_one_is_kept():
    assert runner.environment()["LC_ALL"] == "C.UTF-8"
    assert runner.environment({"PATH": "/usr/bin"}) == {"PATH": "/usr/bin"}
    result = runner.run(["sh", "-c", "echo $LC_ALL"], capture_output=True, text=True)
    assert result.stdout.strip() == "C.UTF-8"


def test_a_shell_string_is_refused():
    with pytest.raises(ValueError, match="argument lists only"):
        runner.run("echo hi", shell=True)
