"""The manifest reference, generated so that it cannot go stale.

Keys, types, defaults, allowed values and ranges come from the schema dataclasses of manifest.py;
the path prefixes, patterns and lists a value must respect come from policy.py and manifest.py's
constants; examples come from fuel.yaml wherever it uses a key (EXTRA_EXAMPLES otherwise), and the
tests validate every one. `python -m buildtool.reference [--check] FILE` writes docs/manifest.md.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import inspect
import re
import sys
import types
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin, get_type_hints

import yaml

from . import manifest as m
from . import policy
from .errors import UserError
from .positions import KeyPath, format_path
from .schema import Range

ROOT_CLASS = m.ManifestFile


@dataclass(frozen=True)
class Example:
    """Keys set on the mapping at `location` of fuel.yaml (None removes a key)."""

    location: KeyPath
    patch: dict[str, Any]
    from_manifest: bool
    shown: dict[str, Any] | None = None  # what the reference prints (default: the key's own value)


@dataclass(frozen=True)
class Entry:
    key: str  # packages.*.services.user
    type: str
    default: str | None  # None: required
    allowed: str | None
    rules: tuple[str, ...]
    description: str
    children: tuple[str, ...]  # keys of a mapping-valued entry
    example: Example | None

    @property
    def name(self) -> str:
        return self.key.rsplit(".", 1)[-1]


# ----------------------------------------------------------------------------- descriptions
# A key without an entry here is described by its trailing comment in manifest.py.
DESCRIPTIONS = {
    "schema": "Version of the manifest format; only 1 exists.",
    "packages": "The packages, by RPM name.",
    "defaults": "Values a package takes when it does not set them.",
    "profiles": "Named package sets beyond `default`; `--profile NAME` adds one to a run.",
    "profiles.*.description": "What the profile adds, for people.",
    "defaults.release": "RPM Release of packages that do not set `release`.",
    "defaults.license": "SPDX licence of packages that do not set `license`.",
    "defaults.url": "Upstream URL of packages that do not set `url`.",
    "defaults.packager": "The spec's Packager: header.",
    "defaults.source_date_epoch": "SOURCE_DATE_EPOCH of reproducible builds (a git source's "
                                  "commit time wins).",
    "packages.*.version": "Upstream version: the RPM Version.",
    "packages.*.summary": "One-line RPM Summary.",
    "packages.*.description": "RPM %description; may span lines.",
    "packages.*.kind": "Which spec template builds it: `python` (a Python project built as a "
                       "wheel), `files` (install: entries), `meta` (requirements only).",
    "packages.*.name": "Set from the key under `packages:`; a value written here is replaced.",
    "packages.*.release": "RPM Release; publishing raises it when the content changes.",
    "packages.*.license": "SPDX licence expression of the upstream code.",
    "packages.*.url": "Upstream URL (the spec's URL:).",
    "packages.*.arch": "Build architecture; only noarch packages are built.",
    "packages.*.profile": "The profile the package belongs to; `default` is always built.",
    "packages.*.source": "Where the package's source comes from: exactly one of path, git, "
                         "pypi, url or generated.",
    "packages.*.patches": "Patch files of this repository applied in order (-p1).",
    "packages.*.build_requires": "BuildRequires: abstract names mapped per target, or manifest "
                                 "packages.",
    "packages.*.requires": "Requires: abstract names mapped per target (deps: of "
                           "repo-config/targets/<t>.yaml), or manifest packages.",
    "packages.*.provides": "Extra Provides:.",
    "packages.*.conflicts": "Conflicts:.",
    "packages.*.obsoletes": "Obsoletes: (a package this one replaces).",
    "packages.*.users": "System users (and their primary groups) the package creates: a "
                        "sysusers.d file and an idempotent %pre.",
    "packages.*.services": "systemd service units the package ships, enables and restarts on "
                           "upgrade.",
    "packages.*.config_files": "Configuration files written by the manifest or taken from this "
                               "repository: %config(noreplace) by default.",
    "packages.*.directories": "Directories the package owns; state and log directories survive "
                              "upgrade and erase and are part of the backup set.",
    "packages.*.install": "Files and trees the package installs.",
    "packages.*.tmpfiles": "Lines of the tmpfiles.d file the package ships.",
    "packages.*.logrotate": "logrotate entries the package ships.",
    "packages.*.subpackages": "Further RPMs built from the same source, taking some files.",
    "packages.*.databases": "PostgreSQL databases the package's services use: part of the "
                            "backup set.",
    "packages.*.source_date_epoch": "SOURCE_DATE_EPOCH of this package's build.",
    "packages.*.nodejs": "A JavaScript build (files packages): the fetch stage installs "
                         "node_modules from the source's lock file (`npm ci --ignore-scripts`, "
                         "patches applied first, sandboxed with network, cached by sha256) as "
                         "Source1; %build runs `command` offline; install: entries copy its "
                         "output.",
    "packages.*.nodejs.command": "A program of node_modules/.bin and its arguments, run in the "
                                 "top directory of the source in %build (no network there).",
    "packages.*.nodejs.modules_sha256": "Pin of the node_modules tarball: a registry serving "
                                        "other content for the same lock file fails the fetch.",
    "packages.*.source.ref": "git: the tag, branch or commit to build.",
    "packages.*.source.version": "pypi: the version of the sdist (default: the package's).",
    "packages.*.source.sha256": "Checksum of the downloaded file (pypi, url).",
    "packages.*.users.name": "The user's name.",
    "packages.*.users.home": "Home directory.",
    "packages.*.users.shell": "Login shell.",
    "packages.*.users.comment": "GECOS comment.",
    "packages.*.services.description": "The unit's Description=.",
    "packages.*.services.exec_start": "ExecStart=: one command from an absolute path.",
    "packages.*.services.user": "User= the service runs as.",
    "packages.*.services.group": "Group= (default: the user's primary group).",
    "packages.*.services.type": "Type=.",
    "packages.*.services.exec_reload": "ExecReload=.",
    "packages.*.services.after": "After= units.",
    "packages.*.services.wants": "Wants= units.",
    "packages.*.services.requires": "Requires= units.",
    "packages.*.services.restart": "Restart=.",
    "packages.*.services.restart_sec": "RestartSec=, in seconds.",
    "packages.*.services.environment_file": "EnvironmentFile=; a leading '-' makes it optional.",
    "packages.*.services.environment": "Environment= variables.",
    "packages.*.services.working_directory": "WorkingDirectory=; a leading '-' makes it optional.",
    "packages.*.services.read_write_paths": "ReadWritePaths= besides the package's own "
                                            "directories ('-' prefix: optional).",
    "packages.*.services.wanted_by": "WantedBy= of the [Install] section.",
    "packages.*.config_files.dest": "Where the file is installed.",
    "packages.*.config_files.content": "The file's text.",
    "packages.*.config_files.mode": "File mode.",
    "packages.*.config_files.owner": "Owning user.",
    "packages.*.config_files.group": "Owning group (e.g. the service's, for a 0640 secret).",
    "packages.*.config_files.noreplace": "%config(noreplace) when true, %config when false.",
    "packages.*.directories.path": "The directory.",
    "packages.*.directories.owner": "Owning user.",
    "packages.*.directories.group": "Owning group.",
    "packages.*.directories.mode": "Directory mode.",
    "packages.*.directories.kind": "What lives there: `state` (kept, backed up), `log`, "
                                   "`runtime` (/run), `data` (shipped data).",
    "packages.*.install.dest": "Where it is installed.",
    "packages.*.install.mode": "File mode (of the files, for a tree).",
    "packages.*.logrotate.frequency": "How often logs rotate.",
    "packages.*.logrotate.rotate": "Rotated copies kept.",
    "packages.*.subpackages.name": "The subpackage's RPM name (in full).",
    "packages.*.subpackages.summary": "Its RPM Summary.",
    "packages.*.subpackages.description": "Its %description.",
    "packages.*.subpackages.requires": "Its Requires:.",
    "packages.*.databases.name": "The database's name.",
}

# ----------------------------------------------------------------------------- rules
# Which kind of place (policy.ALLOWED_ROOTS) a path key may name; tested to be enforced.
PATH_KINDS = {
    "packages.*.install.dest": "install",
    "packages.*.config_files.dest": "config",
    "packages.*.services.environment_file": "environment_file",
    "packages.*.services.read_write_paths": "writable",
    "packages.*.logrotate.path": "logrotate",
}


def _roots(kind: str) -> str:
    return ", ".join(f"`{root}`" for root in policy.ALLOWED_ROOTS[kind])


def _pattern(regex: re.Pattern[str]) -> str:
    return f"matches `{regex.pattern}`"


CLEAN_PATH = ("an absolute path in normal form (no `..`, `//`, spaces or shell characters); "
              "never a system file or tree (policy.PROTECTED: /etc/passwd, /etc/systemd, /usr/lib/"
              "systemd, /root, ... {} entries)".format(len(policy.PROTECTED)))
NOT_SYSTEM_DIR = "never a base system directory itself (policy.SYSTEM_DIRS: /usr/bin, /etc, /var/lib, ...)"
MODE = ("an octal mode as quoted text (`\"0640\"`), " + _pattern(policy.MODE_RE)
        + "; never world-writable")
ACCOUNT = (_pattern(policy.ACCOUNT_RE) + "; not a system account ("
           + ", ".join(sorted(policy.SYSTEM_ACCOUNTS)) + ") or `systemd-*`")
CREATED_USER = "`root` or a user some package of the manifest creates under `users:`"
CREATED_GROUP = "`root` or the primary group of a user some package creates"
UNIT_NAME = _pattern(policy.UNIT_NAME_RE) + " (a unit with its suffix)"
DEPENDENCY = (_pattern(m.DEP_RE) + " (NAME or NAME OP VERSION); the name is a package of the "
              "manifest (then in the same profile or `default`) or mapped by every target's deps:")
SINGLE_LINE = "one line; no trailing backslash"


def _directory_roots() -> str:
    kinds = get_args(get_type_hints(m.Directory)["kind"])
    return "; ".join(f"{kind}: below {_roots(kind)}" for kind in kinds)


RULES: dict[str, tuple[str, ...]] = {
    "packages": ("a package name " + _pattern(m.NAME_RE), "no name twice, subpackages included"),
    "packages.*.version": (_pattern(m.VERSION_RE),),
    "packages.*.release": (_pattern(m.VERSION_RE),),
    "packages.*.kind": ("`meta`: no source, install or services", "`python`: needs a source"),
    "packages.*.profile": ("`default` or a key of `profiles:`",),
    "packages.*.patches": ("a file of this repository, relative to the manifest, no `..`",),
    "packages.*.build_requires": (DEPENDENCY,),
    "packages.*.requires": (DEPENDENCY,),
    "packages.*.provides": (_pattern(m.DEP_RE),),
    "packages.*.conflicts": (_pattern(m.DEP_RE),),
    "packages.*.obsoletes": (_pattern(m.DEP_RE),),
    "packages.*.commands": ("python packages only", "each " + _pattern(m.NAME_RE)),
    "packages.*.source": ("exactly one of path, git, pypi, url, generated",
                          "git needs ref; pypi and url need sha256"),
    "packages.*.source.path": ("a directory of this repository, relative to the manifest, no `..`",),
    "packages.*.source.git": (_pattern(policy.GIT_URL_RE) + " (https, git, ssh, file:///, "
                              "user@host:path; no options or ext::)",),
    "packages.*.source.ref": (_pattern(policy.GIT_REF_RE) + ", no `..`",),
    "packages.*.source.pypi": (_pattern(policy.PYPI_NAME_RE),),
    "packages.*.source.url": (_pattern(policy.DOWNLOAD_URL_RE),),
    "packages.*.source.version": (_pattern(policy.FILE_NAME_RE),),
    "packages.*.source.sha256": (_pattern(m.SHA256_RE),),
    "packages.*.source.filename": (_pattern(policy.FILE_NAME_RE),),
    "packages.*.source.unpack_dir": (_pattern(policy.FILE_NAME_RE),),
    "packages.*.source.subdir": ("a relative path " + _pattern(m.REL_PATH_RE) + ", no `..`",),
    "packages.*.users.name": (ACCOUNT, "declared by one package only"),
    "packages.*.users.group": (ACCOUNT,),
    "packages.*.users.home": (CLEAN_PATH,),
    "packages.*.users.shell": (CLEAN_PATH,),
    "packages.*.users.comment": (_pattern(m.COMMENT_RE),),
    "packages.*.services.name": (_pattern(m.UNIT_RE) + " (without .service; a trailing @ "
                                 "makes a template)", "no unit twice in the manifest"),
    "packages.*.services.description": (SINGLE_LINE,),
    "packages.*.services.exec_start": ("starts with `/` (no `+ ! - @ :` prefix)",
                                       "no lone `;` (a second command)", SINGLE_LINE),
    "packages.*.services.exec_reload": ("as exec_start",),
    "packages.*.services.user": (CREATED_USER, "`root` only with `root_reason`"),
    "packages.*.services.group": (CREATED_GROUP,),
    "packages.*.services.after": ("each " + UNIT_NAME,),
    "packages.*.services.wants": ("each " + UNIT_NAME,),
    "packages.*.services.requires": ("each " + UNIT_NAME,),
    "packages.*.services.wanted_by": (UNIT_NAME,),
    "packages.*.services.environment": ("names " + _pattern(policy.ENV_KEY_RE),
                                        "values: " + SINGLE_LINE),
    "packages.*.services.environment_file": (CLEAN_PATH,),
    "packages.*.services.working_directory": (CLEAN_PATH,),
    "packages.*.services.read_write_paths": (CLEAN_PATH,),
    "packages.*.config_files": ("exactly one of source or content", "no dest twice in the manifest"),
    "packages.*.config_files.dest": (CLEAN_PATH, NOT_SYSTEM_DIR),
    "packages.*.config_files.source": ("a file of this repository, relative to the manifest, "
                                       "no `..`",),
    "packages.*.config_files.mode": (MODE,),
    "packages.*.config_files.owner": (CREATED_USER,),
    "packages.*.config_files.group": (CREATED_GROUP,),
    "packages.*.config_files.targets": ("each a target of repo-config/targets/",),
    "packages.*.directories.path": (CLEAN_PATH, NOT_SYSTEM_DIR,
                                    "strictly below, per kind: " + _directory_roots()),
    "packages.*.directories.owner": (CREATED_USER,),
    "packages.*.directories.group": (CREATED_GROUP,),
    "packages.*.directories.mode": (MODE,),
    "packages.*.install": ("exactly one of src, content or generated",
                           "no dest twice in the manifest"),
    "packages.*.install.src": ("a relative path " + _pattern(m.REL_PATH_RE) + ", no `..`",),
    "packages.*.install.dest": (CLEAN_PATH, NOT_SYSTEM_DIR),
    "packages.*.install.mode": (MODE,),
    "packages.*.tmpfiles": (
        "`TYPE PATH [MODE USER GROUP AGE ARGUMENT]`; types: "
        + ", ".join(f"`{t}` ({what})" for t, what in policy.TMPFILES_TYPES.items())
        + f"; modifiers `{policy.TMPFILES_MODIFIERS}`",
        "PATH below " + _roots("tmpfiles"),
        "an AGE or type D only below " + ", ".join(f"`{r}`" for r in policy.VOLATILE_ROOTS),
        "USER/GROUP: created by some package, or `-`; ARGUMENT: no `%` specifiers"),
    "packages.*.logrotate.path": (CLEAN_PATH + "; `*` and `?` allowed",),
    "packages.*.logrotate.su": ("`USER GROUP`, each " + _pattern(policy.ACCOUNT_RE),
                                "not root; a user and group some package creates"),
    "packages.*.subpackages.name": (_pattern(m.NAME_RE), "no package of that name"),
    "packages.*.subpackages.files": ("each " + CLEAN_PATH,),
    "packages.*.databases.name": (_pattern(m.PG_NAME_RE), "declared by one package only"),
    "packages.*.databases.owner": (_pattern(m.PG_NAME_RE),),
    "packages.*.nodejs": ("files packages only", "needs a source other than generated",
                          "the source has package.json and npm-shrinkwrap.json or "
                          "package-lock.json at its top"),
    "packages.*.nodejs.command": ("not empty", "the program: " + _pattern(m.NAME_RE),
                                  "arguments: one line each; shell-quoted, `%` escaped"),
    "packages.*.nodejs.modules_sha256": (_pattern(m.SHA256_RE),),
}
for _key, _kind in PATH_KINDS.items():
    RULES[_key] = RULES.get(_key, ()) + (f"strictly below {_roots(_kind)}",)

GENERAL_RULES = (
    "Unknown keys are errors; keys without a default are required.",
    "Text fields are one line, except "
    + ", ".join(f"{cls}.{name}" for cls, name in sorted(m.MULTILINE))
    + "; no control characters anywhere.",
    "A value YAML would not read as the text written (`1.10`, `0644`, `yes`) must be quoted.",
)

# ----------------------------------------------------------------------------- examples
# Keys fuel.yaml does not use: where in fuel.yaml the example applies and what it sets there.
_NAILGUN = ("packages", "fuel-nailgun")
_NAILGUN_SERVICE = _NAILGUN + ("services", 0)
_SUBPACKAGE = {"name": "fuel-nailgun-workers", "summary": "Nailgun's worker units",
               "description": "receiverd and assassind.", "files": ["/usr/bin/receiverd"],
               "requires": ["fuel-nailgun"]}
_URL_SOURCE = {"pypi": None, "url": "https://example.org/packetary-0.1.0.tar.gz",
               "filename": "packetary-0.1.0.tar.gz", "unpack_dir": "packetary-0.1.0"}
EXTRA_EXAMPLES: dict[str, tuple[KeyPath, dict[str, Any]]] = {
    "defaults.release": (("defaults",), {"release": "1"}),
    "packages.*.name": (_NAILGUN, {"name": "fuel-nailgun"}),
    "packages.*.release": (_NAILGUN, {"release": "2"}),
    "packages.*.arch": (_NAILGUN, {"arch": "noarch"}),
    "packages.*.provides": (_NAILGUN, {"provides": ["nailgun = 11.0.0"]}),
    "packages.*.conflicts": (_NAILGUN, {"conflicts": ["fuel-nailgun-legacy"]}),
    "packages.*.obsoletes": (_NAILGUN, {"obsoletes": ["nailgun < 11.0.0"]}),
    "packages.*.tmpfiles": (_NAILGUN, {"tmpfiles": ["d /run/nailgun 0750 nailgun nailgun -"]}),
    "packages.*.source_date_epoch": (_NAILGUN, {"source_date_epoch": 1700000000}),
    "packages.*.subpackages": (_NAILGUN, {"subpackages": [_SUBPACKAGE]}),
    **{f"packages.*.subpackages.{name}": (_NAILGUN, {"subpackages": [_SUBPACKAGE]})
       for name in _SUBPACKAGE},
    **{f"packages.*.source.{name}": (("packages", "python3-packetary", "source"), _URL_SOURCE)
       for name in ("url", "filename", "unpack_dir")},
    "packages.*.source.version": (("packages", "python3-packetary", "source"),
                                  {"version": "0.1.0"}),
    "packages.*.users.group": (_NAILGUN + ("users", 0), {"group": "nailgun"}),
    "packages.*.users.shell": (_NAILGUN + ("users", 0), {"shell": "/sbin/nologin"}),
    "packages.*.services.group": (_NAILGUN_SERVICE, {"group": "nailgun"}),
    "packages.*.services.type": (_NAILGUN_SERVICE, {"type": "notify"}),
    "packages.*.services.exec_reload": (_NAILGUN_SERVICE, {"exec_reload": "/bin/kill -HUP $MAINPID"}),
    "packages.*.services.requires": (_NAILGUN_SERVICE, {"requires": ["postgresql.service"]}),
    "packages.*.services.restart": (_NAILGUN_SERVICE, {"restart": "always"}),
    "packages.*.services.restart_sec": (_NAILGUN_SERVICE, {"restart_sec": 10}),
    "packages.*.services.working_directory": (_NAILGUN_SERVICE,
                                              {"working_directory": "/var/lib/nailgun"}),
    "packages.*.services.hardening": (_NAILGUN_SERVICE, {"hardening": True}),
    "packages.*.services.read_write_paths": (_NAILGUN_SERVICE,
                                             {"read_write_paths": ["-/var/cache/nailgun"]}),
    "packages.*.services.wanted_by": (_NAILGUN_SERVICE, {"wanted_by": "multi-user.target"}),
    "packages.*.services.root_reason": (_NAILGUN_SERVICE, {
        "user": "root", "root_reason": "binds a port below 1024"}),
    "packages.*.config_files.source": (("packages", "astute", "config_files", 1), {
        "content": None, "source": "packages/fuel-setup/fuel-deploy"}),
    "packages.*.config_files.owner": (_NAILGUN + ("config_files", 0), {"owner": "nailgun"}),
    "packages.*.config_files.noreplace": (_NAILGUN + ("config_files", 0), {"noreplace": True}),
    "packages.*.config_files.targets": (_NAILGUN + ("config_files", 0),
                                        {"targets": ["el9", "fedora-45"]}),
    "packages.*.nodejs.modules_sha256": (("packages", "fuel-ui", "nodejs"),
                                         {"modules_sha256": "0" * 64}),
}


# ----------------------------------------------------------------------------- schema walk
def _field_comments(cls: type) -> dict[str, str]:
    """Trailing `# comment` of each field line in the dataclass's source."""
    comments = {}
    for line in inspect.getsource(cls).splitlines():
        found = re.match(r"^\s+(\w+): [^#]*#\s*(.+)$", line)
        if found:
            comments[found.group(1)] = found.group(2).strip()
    return comments


def _inner_dataclass(annotation: Any) -> tuple[type | None, bool]:
    """The dataclass a field holds, and whether it is keyed by names (dict[str, X])."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin in (Union, types.UnionType):
        real = [a for a in args if a is not type(None)]
        return _inner_dataclass(real[0]) if len(real) == 1 else (None, False)
    if origin is list:
        return _inner_dataclass(args[0])
    if origin is dict:
        return _inner_dataclass(args[1])[0], True
    is_dataclass = isinstance(annotation, type) and dataclasses.is_dataclass(annotation)
    return (annotation, False) if is_dataclass else (None, False)


def _describe_type(annotation: Any) -> tuple[str, str | None]:
    """A readable type and, for choices and ranges, what is allowed."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        text, _ = _describe_type(args[0])
        ranges = [e for e in args[1:] if isinstance(e, Range)]
        bounds = "; ".join(f"{r.low} to {r.high}" + (f" ({r.why})" if r.why else "") for r in ranges)
        return text, bounds or None
    if origin in (Union, types.UnionType):
        real = [a for a in args if a is not type(None)]
        return _describe_type(real[0]) if len(real) == 1 else (" or ".join(
            _describe_type(a)[0] for a in real), None)
    if origin is Literal:
        return "one of the values below", ", ".join(f"`{a}`" for a in args)
    if origin is list:
        item, allowed = _describe_type(args[0])
        return f"list of {item}", allowed
    if origin is dict:
        item, allowed = _describe_type(args[1])
        return f"mapping of names to {item}", allowed
    if dataclasses.is_dataclass(annotation):
        return "mapping (keys below)", None
    return {str: "text", bool: "true or false", int: "whole number"}.get(annotation, str(annotation)), None


def _default(cls: type, field: dataclasses.Field[Any]) -> str | None:
    if field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
        return None
    if field.default_factory is not dataclasses.MISSING:  # (and no default)
        value = field.default_factory()
        return "the defaults below" if dataclasses.is_dataclass(value) else f"`{_inline(value)}`"
    if field.default is None:
        from_defaults = cls is m.Package and field.name in {f.name for f in dataclasses.fields(m.Defaults)}
        return f"`defaults.{field.name}`" if from_defaults else "none"
    return f"`{_inline(field.default)}`"


def _inline(value: Any) -> str:
    return yaml.safe_dump(value, default_flow_style=True, width=10_000).strip().removesuffix("...").strip()


def _walk(cls: type, prefix: str) -> Iterator[tuple[str, type, dataclasses.Field[Any], Any,
                                                   str | None, type | None]]:
    hints = get_type_hints(cls, include_extras=True)
    comments = _field_comments(cls)
    for field in dataclasses.fields(cls):
        if not field.init:
            continue
        key = prefix + field.name
        annotation = hints[field.name]
        inner, keyed = _inner_dataclass(annotation)
        child_prefix = f"{key}.*." if keyed else f"{key}."
        yield key, cls, field, annotation, comments.get(field.name), inner
        if inner is not None:
            yield from _walk(inner, child_prefix)


# ----------------------------------------------------------------------------- examples from fuel.yaml
def _first_uses(data: Any, location: KeyPath, pattern: tuple[str, ...],
                found: dict[str, Example]) -> None:
    """Record, per reference key, the first mapping of fuel.yaml that sets it."""
    if isinstance(data, list):
        for i, item in enumerate(data):
            _first_uses(item, location + (i,), pattern, found)
    elif isinstance(data, dict):
        keyed = pattern[-1:] in (("packages",), ("profiles",), ("environment",))
        for name, value in data.items():
            if keyed:
                _first_uses(value, location + (name,), pattern + ("*",), found)
                continue
            key = ".".join(pattern + (name,))
            found.setdefault(key, Example(location, {name: value}, True))
            _first_uses(value, location + (name,), pattern + (name,), found)


def entries(manifest_path: Path) -> list[Entry]:
    data = yaml.safe_load(manifest_path.read_text()) if manifest_path.is_file() else {}
    found: dict[str, Example] = {}
    _first_uses(data, (), (), found)
    for key, (location, patch) in EXTRA_EXAMPLES.items():
        name = key.rsplit(".", 1)[-1]
        shown = None if name in patch else {name: patch[location_key(key)][0][name]}
        found.setdefault(key, Example(location, patch, False, shown))
    result = []
    for key, cls, field, annotation, comment, inner in _walk(ROOT_CLASS, ""):
        type_text, allowed = _describe_type(annotation)
        children = tuple(f.name for f in dataclasses.fields(inner) if f.init) if inner else ()
        result.append(Entry(key, type_text, _default(cls, field), allowed, RULES.get(key, ()),
                            _sentence(DESCRIPTIONS.get(key) or comment or ""), children, found.get(key)))
    return result


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") or not text else ".")


# ----------------------------------------------------------------------------- rendering
def location_key(key: str) -> str:
    """The field of the example's location a nested key's example sets (its list's name)."""
    return key.rsplit(".", 2)[-2]


class _ExampleDumper(yaml.SafeDumper):
    """Writes text that spans lines as a `|` block, as a manifest author would."""


_ExampleDumper.add_representer(str, lambda dumper, text: dumper.represent_scalar(
    "tag:yaml.org,2002:str", text, style="|" if "\n" in text else None))


def _dump(value: Any) -> str:
    return yaml.dump(value, Dumper=_ExampleDumper, sort_keys=False, width=100).rstrip()


def _example_text(entry: Entry) -> str:
    assert entry.example is not None, "render_entry: only entries with an example"
    if entry.example.shown is not None:
        return _dump(entry.example.shown)
    value = entry.example.patch[entry.name]
    if isinstance(value, list) and value and isinstance(value[0], dict):
        value = value[:1]  # one item of a list of mappings is enough to read
    elif isinstance(value, dict) and entry.key in ("packages", "profiles"):
        value = dict(list(value.items())[:1])
    return _dump({entry.name: value})


def render_entry(entry: Entry) -> str:
    lines = [f"### `{entry.key}`", "", entry.description, ""]
    lines.append(f"- type: {entry.type}")
    lines.append(f"- default: {entry.default}" if entry.default is not None else "- required")
    if entry.allowed:
        lines.append(f"- allowed: {entry.allowed}")
    if entry.children:
        lines.append(f"- keys: {', '.join(f'`{c}`' for c in entry.children)}")
    lines += [f"- rule: {rule}" for rule in entry.rules]
    if entry.example:
        where = format_path(entry.example.location) or "the top level"
        origin = (f"fuel.yaml, at {where}" if entry.example.from_manifest
                  else f"not used in fuel.yaml; validated at {where}")
        lines += ["", f"Example ({origin}):", "", "```yaml", _example_text(entry), "```"]
    return "\n".join(lines) + "\n"


def render(manifest_path: Path) -> str:
    all_entries = entries(manifest_path)
    head = [
        "# Manifest reference",
        "",
        "<!-- generated by `make docs` (python -m buildtool.reference) from buildtool/manifest.py,",
        "     buildtool/policy.py and fuel.yaml: do not edit by hand -->",
        "",
        "Every key of the service manifest (`fuel.yaml`): type, default, allowed values, the rules",
        "validation applies, and an example (from fuel.yaml where it uses the key; every example",
        "is validated by the tests). `buildtool validate --explain KEY` prints one entry, e.g.",
        "`buildtool validate --explain services.user`. `*` stands for a name you choose; list",
        "items are written without their index.",
        "",
        "## General rules",
        "",
        *[f"- {rule}" for rule in GENERAL_RULES],
        "",
        "## Keys",
        "",
        *[f"- [`{e.key}`](#{_anchor(e.key)})" for e in all_entries],
        "",
    ]
    return "\n".join(head) + "\n" + "\n".join(render_entry(e) for e in all_entries)


def _anchor(key: str) -> str:
    return re.sub(r"[^a-z0-9_-]", "", key.lower())


# ----------------------------------------------------------------------------- lookup
def normalise(key: str) -> str:
    """`packages.nailgun.services[0].user` -> `packages.*.services.user`."""
    parts = [p for p in re.sub(r"\[\d+\]", "", key.strip()).split(".") if p]
    for i, part in enumerate(parts[:-1]):
        if part in ("packages", "profiles") and (i == 0 or parts[i - 1] != "environment"):
            parts[i + 1] = "*"
    return ".".join(parts)


def lookup(key: str, all_entries: list[Entry]) -> list[Entry]:
    wanted = normalise(key)
    exact = [e for e in all_entries if e.key == wanted]
    return exact or [e for e in all_entries if e.key.endswith("." + wanted)]


def explain(key: str, manifest_path: Path) -> str:
    all_entries = entries(manifest_path)
    found = lookup(key, all_entries)
    if not found:
        import difflib

        close = difflib.get_close_matches(normalise(key), [e.key for e in all_entries], n=3)
        raise UserError(f"--explain {key}: no such manifest key",
                        f"did you mean {', '.join(close)}?" if close else "see docs/manifest.md")
    return "\n".join(render_entry(e) for e in found)


@functools.cache
def _known_keys() -> frozenset[str]:
    return frozenset(key for key, *_ in _walk(ROOT_CLASS, ""))


def reference_key(path: KeyPath) -> str | None:
    """The nearest documented key of an error's key path (used in error hints)."""
    known = _known_keys()
    parts = normalise(".".join(str(p) for p in path if not isinstance(p, int))).split(".")
    while parts:
        if ".".join(parts) in known:
            return ".".join(parts)
        parts.pop()
    return None


def reference_hint(path: KeyPath, hint: str | None) -> str | None:
    """An error's hint plus where the reference explains its key."""
    key = reference_key(path) if path else None
    if key is None:
        return hint
    pointer = f"reference: buildtool validate --explain {key}"
    return f"{hint}; {pointer}" if hint else pointer


def main(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m buildtool.reference",
                                     description="Write the manifest reference (make docs).")
    parser.add_argument("out", nargs="?", type=Path, default=Path("docs/manifest.md"))
    parser.add_argument("manifest", nargs="?", type=Path, default=Path("fuel.yaml"),
                        help="the manifest the examples are checked against")
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if OUT differs from what would be written")
    args = parser.parse_args(argv)
    text = render(args.manifest)
    if args.check:
        if not args.out.is_file() or args.out.read_text() != text:
            print(f"{args.out} is stale: run 'make docs'", file=sys.stderr)
            return 1
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    return 0


def apply_example(data: Any, example: Example) -> Any:
    """fuel.yaml's data with the example's keys set at its location (a copy)."""
    data = copy.deepcopy(data)
    target = data
    for part in example.location:
        target = target[part]
    for name, value in example.patch.items():
        if value is None:
            target.pop(name, None)
        else:
            target[name] = value
    return data


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
