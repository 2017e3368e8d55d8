"""Why a package cannot run on a target: its Python code and the requirements nothing provides.

The code check is static, done by this host's Python 3.11 for the target's Python version:
every .py file of the package is parsed with `ast` (Python 2 syntax such as print statements,
`ur""` literals or `except X, e` fails to parse), and its imports are looked up in two lists:
standard library modules Python 3 renamed or removed (PEP 3108: urlparse, StringIO, ...) and
those removed later, by the target's version (PEP 632: distutils in 3.12; PEP 594: asynchat,
asyncore, smtpd in 3.12 and crypt, cgi, telnetlib, ... in 3.13; imp in 3.12).

What it does not catch: Python 2 semantics that parse fine on Python 3 (str/bytes, integer
division, dict.iteritems() or unicode() called at run time), imports made at run time
(importlib, __import__), syntax newer than Python 3.11 on 3.12+ targets, compiled extensions,
and APIs the package's own dependencies have removed. Only the target's real interpreter
(a mock build, or an install test in a target container) proves that the code runs.
"""

from __future__ import annotations

import ast
import re
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .. import runner
from ..distrodata import capability_names, python_dist
from .findings import Finding

if TYPE_CHECKING:
    from .rpminfo import PackageInfo

# PEP 3108 (and the Python 3.0 renames): modules that exist only in Python 2.
PYTHON2_ONLY = frozenset({
    "__builtin__", "anydbm", "BaseHTTPServer", "CGIHTTPServer", "commands", "ConfigParser",
    "Cookie", "cookielib", "cPickle", "cStringIO", "dbhash", "dircache", "dummy_thread",
    "exceptions", "htmlentitydefs", "HTMLParser", "httplib", "md5", "mimetools", "new",
    "Queue", "repr", "robotparser", "sets", "sha", "SimpleHTTPServer", "SimpleXMLRPCServer",
    "SocketServer", "StringIO", "thread", "Tkinter", "urllib2", "urlparse", "UserDict",
    "UserList", "UserString", "xmlrpclib"})
# Removed from the standard library later: module -> (first Python without it, reference).
REMOVED_IN = {
    "distutils": ((3, 12), "PEP 632"), "imp": ((3, 12), "Python 3.12 What's New"),
    **{name: ((3, 12), "PEP 594") for name in ("asynchat", "asyncore", "smtpd")},
    **{name: ((3, 13), "PEP 594") for name in (
        "aifc", "audioop", "cgi", "cgitb", "chunk", "crypt", "imghdr", "mailcap", "msilib",
        "nis", "nntplib", "ossaudiodev", "pipes", "sndhdr", "spwd", "sunau", "telnetlib", "uu",
        "xdrlib")},
    "lib2to3": ((3, 13), "Python 3.13 What's New"),
}


@dataclass(frozen=True)
class CodeProblem:
    file: str  # path inside the package
    line: int
    what: str  # "syntax" | "python2-module" | "removed-module"
    detail: str  # the syntax error or the module name


def code_problems(files: dict[str, bytes], python_version: str,
                  has_setuptools: bool = False) -> list[CodeProblem]:
    """What keeps these Python files from running on `python_version` (e.g. "3.9").
    `has_setuptools`: the package requires setuptools, whose distutils-precedence.pth serves
    `import distutils` on Python 3.12+ (setuptools >= 60), so distutils is no problem there."""
    version = tuple(int(part) for part in python_version.split(".")[:2])
    problems = []
    for name, source in sorted(files.items()):
        try:
            tree = ast.parse(source, name)
        except SyntaxError as error:
            problems.append(CodeProblem(name, error.lineno or 0, "syntax", error.msg))
            continue
        for node, module in _imports(tree):
            top = module.split(".")[0]
            if top in PYTHON2_ONLY:
                problems.append(CodeProblem(name, node.lineno, "python2-module", top))
            elif top == "distutils" and has_setuptools:
                continue
            elif top in REMOVED_IN and version >= REMOVED_IN[top][0]:
                problems.append(CodeProblem(name, node.lineno, "removed-module", top))
    return problems


def code_reason(problems: list[CodeProblem], python_version: str) -> str:
    """One clause: 'Python 2 code (...)' and/or 'uses modules Python X removed (...)'."""
    parts = []
    syntax = [p for p in problems if p.what == "syntax"]
    python2 = _unique(p.detail for p in problems if p.what == "python2-module")
    if syntax or python2:
        shown = [f"Python 2 syntax in {syntax[0].file}:{syntax[0].line}"] if syntax else []
        shown += [f"imports {', '.join(python2)}"] if python2 else []
        parts.append(f"Python 2 code ({'; '.join(shown)})")
    removed = _unique(p.detail for p in problems if p.what == "removed-module")
    if removed:
        cited = ", ".join(f"{m}: {REMOVED_IN[m][1]}" for m in removed)
        parts.append(f"imports modules Python {python_version} no longer has ({cited})")
    return "; ".join(parts)


def requirement_reason(findings: list[Finding], target: str) -> str:
    """'needs web-py >= 0.37, sqlalchemy < 1.1: nothing in el9's distribution data provides
    them', from the closure findings (the data: repo-config/distro-data/<target>.tsv)."""
    needs = _unique(_readable(f.requirement) for f in findings if f.requirement)
    if not needs:
        return ""
    them = "it" if len(needs) == 1 else "them"
    return f"needs {', '.join(needs)}: nothing in {target}'s distribution data provides {them}"


def not_runnable(packages: list[PackageInfo], unresolved: list[Finding], target: str,
                 python_version: str) -> dict[str, str]:
    """RPM name -> why it cannot install or run on the target, for each package with a reason."""
    reasons = {}
    for package in packages:
        files = python_files(package.path)
        problems = code_problems(files, python_version, _requires_setuptools(package.path)) \
            if files else []
        clauses = [code_reason(problems, python_version),
                   requirement_reason([f for f in unresolved if f.package == package.name],
                                      target)]
        reason = "; ".join(c for c in clauses if c)
        if reason:
            reasons[package.name] = reason
    return reasons


def python_files(rpm: Path) -> dict[str, bytes]:
    """The .py files an RPM installs (path -> content), read from its payload."""
    with tempfile.TemporaryDirectory(prefix="buildtool-runnable-") as tmp:
        payload = runner.run(["rpm2cpio", str(rpm)], capture_output=True, check=True).stdout
        runner.run(["cpio", "-idm", "--quiet", "--no-absolute-filenames", "*.py"], input=payload,
                   cwd=tmp, capture_output=True, check=True)
        return {"/" + str(p.relative_to(tmp)): p.read_bytes()
                for p in sorted(Path(tmp).rglob("*.py")) if p.is_file()}


def _requires_setuptools(rpm: Path) -> bool:
    """Whether the package requires a setuptools that may be new enough to serve distutils
    (no upper bound: nailgun's `setuptools <= 18.5` predates the distutils shim)."""
    out = runner.run(["rpm", "-qp", "--requires", str(rpm)], capture_output=True, text=True,
                     check=True).stdout
    return any(("<" not in line) and any(
        name == "python3-setuptools" or (python_dist(name) or ("", ""))[1] == "setuptools"
        for name in capability_names(line)) for line in out.splitlines())


def _imports(tree: ast.AST) -> Iterator[tuple[ast.Import | ast.ImportFrom, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from ((node, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node, node.module


_DIST_BOUND_RE = re.compile(r"python\d(?:\.\d+)?dist\((?P<dist>[^)]+)\)(?:\s*(?P<op>[<>=!]+)"
                            r"\s*(?P<version>[^\s()]+))?")
_EXCLUDED_RE = re.compile(r"\((?P<cap>\S+) < (?P<v>\S+) or (?P=cap) > (?P=v)\)")


def _readable(requirement: str) -> str:
    """python3.9dist(sqlalchemy) < 1.1 -> 'sqlalchemy < 1.1'; a rich requirement on one Python
    distribution -> 'jsonschema >= 2.3, < 2.6, != 2.5'; any other capability unchanged."""
    text = _EXCLUDED_RE.sub(lambda m: f"{m['cap']} != {m['v']}", requirement)
    bounds = list(_DIST_BOUND_RE.finditer(text))
    dists = {m["dist"] for m in bounds}
    if len(dists) != 1 or any(python_dist(n) is None for n in capability_names(text)):
        return requirement
    ranges = ", ".join(f"{m['op']} {m['version']}" for m in bounds if m["op"])
    return f"{dists.pop()} {ranges}".strip()


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))

