"""What a source tree's own build metadata says it installs, and what a built package left out.

Read from the source archive without running any of its code: setup.cfg ([entry_points]
console_scripts, [files] scripts and data_files, as pbr reads them), setup.py (the literal
entry_points, scripts and data_files arguments of its setup() call, parsed with `ast`), the
module of every entry point (any group: plugins too must be in the package), a
*.gemspec (its executables) and upstream's systemd unit files (*.service at the top of the tree
or under systemd/). A file declared there and missing from the package's RPMs is an error that
names the package, the file and where it was declared.

Not read: arguments computed at run time (a setup.py that builds entry_points in a function is
reported as unreadable, unless a setup.cfg carries them as pbr projects do), package data (it lands inside the package's own directory, which the
spec packages whole) and anything upstream's RPM spec installed by hand (see fuel.yaml comments).
"""

from __future__ import annotations

import ast
import configparser
import re
import tarfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from . import runner
from .errors import UserError

BINDIR = "/usr/bin"
UNITDIR = "/usr/lib/systemd/system"
MODULE_PREFIX = "site-packages/"  # an entry point's module, wherever the target's sitelib is
_GEM_EXECUTABLES_RE = re.compile(r"\.executables\s*=\s*(?:%w[(\[{](?P<words>[^)\]}]*)[)\]}]"
                                 r"|\[(?P<list>[^\]]*)\])")
UNPACKAGED_HEADER = "Installed (but unpackaged) file(s) found:"


@dataclass(frozen=True)
class Declared:
    path: str  # where it is installed, e.g. /usr/bin/shotgun2
    origin: str  # where upstream declares it, e.g. "setup.cfg [entry_points] console_scripts"


def declared_installs(archive: Path, top: str, subdir: str | None) -> list[Declared]:
    """Every file the build metadata of the tree `top/` (setup files in `top/subdir`) installs."""
    try:
        with tarfile.open(archive, mode="r:*") as tar:
            texts = {name: _text(tar, name) for name in tar.getnames()}
    except tarfile.ReadError:
        return []  # not a tar archive (a zip sdist): nothing is checked
    base = f"{top}/{subdir}" if subdir else top
    found: list[Declared] = []
    if f"{base}/setup.cfg" in texts:
        found += _from_setup_cfg(texts[f"{base}/setup.cfg"])
    if f"{base}/setup.py" in texts:
        found += _from_setup_py(texts[f"{base}/setup.py"], f"{base}/setup.py",
                                pbr_style=f"{base}/setup.cfg" in texts)
    for name in sorted(texts):
        relative = name[len(top) + 1:] if name.startswith(f"{top}/") else ""
        if PurePosixPath(relative).parent == PurePosixPath(subdir or ".") \
                and relative.endswith(".gemspec"):
            found += _from_gemspec(texts[name], PurePosixPath(relative).name)
        if re.fullmatch(r"(systemd/)?[^/]+\.service", relative):
            found.append(Declared(f"{UNITDIR}/{PurePosixPath(relative).name}",
                                  f"upstream unit file {relative}"))
    return list(dict.fromkeys(found))


@dataclass(frozen=True)
class SourceTree:
    """Where a package's build metadata is: its source archive, the archive's top directory and
    the directory of setup.py inside it."""

    archive: Path
    top: str
    subdir: str | None = None


def missing_from_build(package: str, tree: SourceTree, rpms: Sequence[Path] | None,
                       log_text: str) -> list[str]:
    """One problem line per declared file the package does not ship: checked against its RPMs'
    file lists, or, when rpmbuild failed (rpms None), against the files it reported unpackaged."""
    try:
        declared = declared_installs(tree.archive, tree.top, tree.subdir)
    except UserError as error:
        return [f"{package}: {error.message}"]
    if not declared:  # nothing to look for: no need to read the RPMs' file lists
        return []
    if rpms is None:
        left_out = unpackaged_in_log(log_text)
        return [problem(package, item) for item in declared if item.path in left_out]
    return [problem(package, item) for item in unpackaged(declared, packaged_files(rpms))]


def packaged_files(rpms: Sequence[Path]) -> set[str]:
    result = runner.run(["rpm", "-qp", "--qf", "[%{FILENAMES}\n]", *map(str, rpms)],
                        capture_output=True, text=True, check=True)
    return set(result.stdout.split())


def unpackaged(declared: list[Declared], packaged: set[str]) -> list[Declared]:
    return [item for item in declared if not _is_packaged(item.path, packaged)]


def _is_packaged(path: str, packaged: set[str]) -> bool:
    if not path.startswith(MODULE_PREFIX):
        return path in packaged
    module = path[len(MODULE_PREFIX):]
    suffixes = (f"/site-packages/{module}", f"/site-packages/{module[:-3]}/__init__.py")
    return any(p.endswith(suffixes) for p in packaged)


def unpackaged_in_log(log_text: str) -> set[str]:
    """The files rpmbuild found installed but not listed in %files (its own error section)."""
    lines = log_text.splitlines()
    found: set[str] = set()
    for index, line in enumerate(lines):
        if UNPACKAGED_HEADER in line:
            for following in lines[index + 1:]:
                if not following.startswith((" ", "\t")) or not following.strip().startswith("/"):
                    break
                found.add(following.strip())
    return found


def problem(package: str, item: Declared) -> str:
    """One line naming the package, the file and what to add to the manifest."""
    name = PurePosixPath(item.path).name
    if item.path.startswith(MODULE_PREFIX):
        hint = (f"keep the module in the package (keep_tests: true in packages.{package} "
                "if it is under a tests/ directory)")
    elif item.path.startswith(f"{BINDIR}/"):
        hint = f"add '{name}' to packages.{package}.commands (or an install: entry) in fuel.yaml"
    elif item.path.startswith(f"{UNITDIR}/"):
        hint = f"add a service named '{name.removesuffix('.service')}' to packages.{package}"
    else:
        hint = f"add an install: entry for it to packages.{package}"
    return f"{package}: {item.path} ({item.origin}) is not packaged: {hint}"


def _text(tar: tarfile.TarFile, name: str) -> str:
    if not name.endswith(("setup.cfg", "setup.py", ".gemspec", ".service")):
        return ""
    member = tar.extractfile(name)
    return member.read().decode(errors="replace") if member else ""


def _from_setup_cfg(text: str) -> list[Declared]:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(text)
    except configparser.Error as error:
        raise UserError(f"setup.cfg: cannot read it: {error}".splitlines()[0]) from None
    found = []
    if parser.has_option("entry_points", "console_scripts"):
        for line in _lines(parser["entry_points"]["console_scripts"]):
            found.append(Declared(f"{BINDIR}/{line.split('=')[0].strip()}",
                                  "setup.cfg [entry_points] console_scripts"))
    if parser.has_section("entry_points"):
        found += _entry_point_modules({group: _lines(value) for group, value
                                       in parser["entry_points"].items()}, "setup.cfg")
    if parser.has_option("files", "scripts"):
        for script in _lines(parser["files"]["scripts"]):
            found.append(Declared(f"{BINDIR}/{PurePosixPath(script).name}",
                                  "setup.cfg [files] scripts"))
    if parser.has_option("files", "data_files"):
        for line in _lines(parser["files"]["data_files"]):
            if "=" in line:
                dest, sources = line.split("=", 1)
                found += _data_files(dest.strip(), sources.split(), "setup.cfg [files] data_files")
    return found


def _from_setup_py(text: str, where: str, pbr_style: bool) -> list[Declared]:
    """The literal arguments of setup(); a computed one is an error unless setup.cfg (pbr's
    convention, read above) carries the metadata."""
    try:
        tree = ast.parse(text, where)
    except SyntaxError as error:
        raise UserError(f"{where}:{error.lineno}: cannot parse it: {error.msg}",
                        "the declared-files check reads setup.py without running it") from None
    found: list[Declared] = []
    for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call) and _is_setup(n.func)):
        for keyword in call.keywords:
            if keyword.arg not in ("entry_points", "scripts", "data_files"):
                continue
            try:
                value = ast.literal_eval(keyword.value)
            except ValueError:
                if pbr_style:
                    continue
                raise UserError(f"{where}:{keyword.value.lineno}: {keyword.arg} is computed at "
                                "run time", "the declared-files check reads literal setup() "
                                "arguments only") from None
            found += _from_setup_argument(keyword.arg, value)
    return found


def _from_setup_argument(argument: str, value: Any) -> list[Declared]:
    if argument == "entry_points":
        scripts = [*value.get("console_scripts", []), *value.get("gui_scripts", [])]
        return [*(Declared(f"{BINDIR}/{line.split('=')[0].strip()}",
                           "setup.py entry_points console_scripts") for line in scripts),
                *_entry_point_modules(value, "setup.py")]
    if argument == "scripts":
        return [Declared(f"{BINDIR}/{PurePosixPath(s).name}", "setup.py scripts") for s in value]
    return [item for dest, sources in value
            for item in _data_files(dest, sources, "setup.py data_files")]


def _entry_point_modules(groups: Mapping[str, str | list[str]], where: str) -> list[Declared]:
    """The module every entry point loads, as a path under site-packages."""
    found = []
    for group, lines in groups.items():
        for line in [lines] if isinstance(lines, str) else lines:
            if "=" in line:
                module = line.split("=", 1)[1].split(":")[0].strip()
                found.append(Declared(f"{MODULE_PREFIX}{module.replace('.', '/')}.py",
                                      f"{where} entry point {group}: {line.split('=')[0].strip()}"))
    return found


def _data_files(dest: str, sources: list[str], origin: str) -> list[Declared]:
    directory = dest if dest.startswith("/") else f"/usr/{dest}"
    return [Declared(f"{directory.rstrip('/')}/{PurePosixPath(s).name}", origin)
            for s in sources]


def _from_gemspec(text: str, name: str) -> list[Declared]:
    match = _GEM_EXECUTABLES_RE.search(text)
    if not match:
        return []
    words = match["words"].split() if match["words"] is not None else \
        re.findall(r"['\"]([^'\"]+)['\"]", match["list"])
    return [Declared(f"{BINDIR}/{word}", f"{name} executables") for word in words]


def _is_setup(func: ast.expr) -> bool:
    return (isinstance(func, ast.Name) and func.id == "setup") or \
        (isinstance(func, ast.Attribute) and func.attr == "setup")


def _lines(value: str) -> list[str]:
    return [line.strip() for line in value.splitlines() if line.strip()]
