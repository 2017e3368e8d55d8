"""The static check of whether a package's Python code runs on the target's Python (fast)."""

from __future__ import annotations

from buildtool.verify.findings import Finding
from buildtool.verify.matrix import not_runnable_line
from buildtool.verify.runnable import code_problems, code_reason, requirement_reason


def reason(source: str, version: str = "3.9", has_setuptools: bool = False) -> str:
    return code_reason(code_problems({"/m.py": source.encode()}, version, has_setuptools), version)


def test_python2_syntax_is_named_with_file_and_line():
    assert reason('import re\nre.compile(ur"x")\n') == "Python 2 code (Python 2 syntax in /m.py:2)"
    assert reason('print "x"\n').startswith("Python 2 code (Python 2 syntax in /m.py:1")


def test_modules_python3_renamed_are_python2_code():
    assert reason("import urlparse\nfrom StringIO import StringIO\nimport os\n") == \
        "Python 2 code (imports urlparse, StringIO)"


def test_removed_modules_count_only_from_the_python_that_removed_them():
    assert reason("from distutils.version import StrictVersion\n", "3.9") == ""
    assert reason("from distutils.version import StrictVersion\n", "3.12") == \
        "imports modules Python 3.12 no longer has (distutils: PEP 632)"
    assert reason("import crypt\n", "3.12") == ""
    assert reason("import crypt\n", "3.13") == \
        "imports modules Python 3.13 no longer has (crypt: PEP 594)"


def test_setuptools_serves_distutils_on_newer_pythons():
    assert reason("import distutils\n", "3.14", has_setuptools=True) == ""


def test_python3_code_has_no_reason():
    assert reason("import urllib.parse\nfrom io import StringIO\nprint('x')\n", "3.15") == ""


def test_requirements_nothing_provides_read_as_python_distributions():
    findings = [Finding("closure", "fuel-nailgun", "-", requirement="python3.9dist(web-py) >= 0.37"),
                Finding("closure", "fuel-nailgun", "-", requirement=(
                    "(python3.9dist(sqlalchemy) < 1.1 with python3.9dist(sqlalchemy) >= 0.9.9)")),
                Finding("closure", "fuel-nailgun", "-", requirement="rubygem(raemon)")]
    assert requirement_reason(findings, "el9") == (
        "needs web-py >= 0.37, sqlalchemy < 1.1, >= 0.9.9, rubygem(raemon): "
        "nothing in el9's distribution data provides them")
    assert requirement_reason(findings[:1], "el9").endswith(
        "nothing in el9's distribution data provides it")
    assert requirement_reason([], "el9") == ""


def test_the_readme_matrix_says_what_cannot_run_per_target():
    summary = {"targets": {"el9": {"not_runnable": {"shotgun": "Python 2 code (x)"}},
                           "el10": {"not_runnable": {}}}}
    assert not_runnable_line(summary).endswith(": el9: shotgun: Python 2 code (x).")
    assert not_runnable_line({"targets": {"el9": {}}}).startswith("Not runnable: none found")
