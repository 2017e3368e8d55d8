"""The service manifest: typed model, strict validation, profiles and source overrides."""

from __future__ import annotations

import dataclasses
import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from .errors import UserError
from .schema import SchemaError, build
from .yamlpos import KeyPath, Positions, load_yaml

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")
VERSION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+~^]*$")
USER_RE = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
MODE_RE = re.compile(r"^0?[0-7]{3}$")
ABS_PATH_RE = re.compile(r"^/[A-Za-z0-9._+@:,=/-]*$")
REL_PATH_RE = re.compile(r"^[A-Za-z0-9._+@:,=-][A-Za-z0-9._+@:,=/-]*$")
GLOB_PATH_RE = re.compile(r"^/[A-Za-z0-9._+@:,=/*?-]*$")
DEP_RE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._+()/-]*)(\s+(<|<=|=|>=|>)\s+([A-Za-z0-9._+~^:-]+))?$")
UNIT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9:._-]*@?$")
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
COMMENT_RE = re.compile(r"^[A-Za-z0-9 ._,()/+-]*$")
PG_NAME_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")

MULTILINE_FIELDS = {"description", "content"}
DEFAULT_PROFILE = "default"


@dataclass(frozen=True)
class Source:
    path: str | None = None  # a directory of this repository (relative to the manifest)
    git: str | None = None  # a git URL; `ref` names the commit, tag or branch
    ref: str | None = None
    pypi: str | None = None  # a PyPI project name; `version` defaults to the package's
    version: str | None = None
    url: str | None = None  # a tarball URL; needs sha256
    generated: Literal["release-files"] | None = None  # written by buildtool per target
    sha256: str | None = None
    filename: str | None = None  # name of the tarball in SOURCES (derived when omitted)
    unpack_dir: str | None = None  # top directory inside the tarball (derived when omitted)
    subdir: str | None = None  # python: the directory of setup.py inside the tree (e.g. nailgun)


@dataclass(frozen=True)
class User:
    name: str
    group: str | None = None  # primary group, created with the user; defaults to the user's name
    home: str = "/"
    shell: str = "/sbin/nologin"
    comment: str = ""

    @property
    def primary_group(self) -> str:
        return self.group or self.name


@dataclass(frozen=True)
class Service:
    name: str  # unit name without .service; a trailing @ makes a template unit
    description: str
    exec_start: str
    user: str
    group: str | None = None
    type: Literal["simple", "exec", "notify", "forking", "oneshot"] = "simple"
    exec_reload: str | None = None
    after: list[str] = field(default_factory=list)
    wants: list[str] = field(default_factory=list)
    requires: list[str] = field(default_factory=list)
    restart: Literal["no", "on-failure", "on-abnormal", "always"] = "on-failure"
    restart_sec: int = 5
    environment_file: str | None = None
    environment: dict[str, str] = field(default_factory=dict)
    working_directory: str | None = None
    hardening: bool = True  # NoNewPrivileges, ProtectSystem=strict, ProtectHome, PrivateTmp, ...
    read_write_paths: list[str] = field(default_factory=list)
    wanted_by: str = "multi-user.target"
    root_reason: str | None = None  # required when user is root: why the service needs it


@dataclass(frozen=True)
class ConfigFile:
    dest: str
    source: str | None = None  # a file of this repository (relative to the manifest)
    content: str | None = None
    mode: str = "0644"
    owner: str = "root"
    group: str = "root"
    noreplace: bool = True
    targets: list[str] = field(default_factory=list)  # only for these targets (empty: all)


@dataclass(frozen=True)
class Directory:
    path: str
    owner: str = "root"
    group: str = "root"
    mode: str = "0755"
    kind: Literal["state", "log", "runtime", "data"] = "state"


@dataclass(frozen=True)
class InstallFile:
    dest: str
    src: str | None = None  # relative to the unpacked source tree; a directory is copied whole
    content: str | None = None  # or the file's text, written by the manifest (e.g. a wrapper)
    generated: Literal["backup-set"] | None = None  # or a file buildtool derives from the manifest
    mode: str = "0644"
    config: bool = False  # a file the operator may edit: %config(noreplace)


@dataclass(frozen=True)
class Logrotate:
    path: str  # a glob such as /var/log/nailgun/*.log
    frequency: Literal["daily", "weekly", "monthly"] = "weekly"
    rotate: int = 4
    su: str | None = None  # "user group" owning the log directory


@dataclass(frozen=True)
class Database:
    """A PostgreSQL database the package's service uses: part of the backup set."""

    name: str
    owner: str  # the PostgreSQL role that owns it (created by fuel-deploy)


@dataclass(frozen=True)
class Subpackage:
    name: str
    summary: str
    description: str
    files: list[str]  # destination paths moved from the main package to this one
    requires: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Package:
    version: str
    summary: str
    description: str
    kind: Literal["python", "files", "meta"]
    name: str = ""  # filled from the manifest key
    release: str | None = None
    license: str | None = None
    url: str | None = None
    arch: Literal["noarch"] = "noarch"
    profile: str = DEFAULT_PROFILE
    source: Source | None = None
    patches: list[str] = field(default_factory=list)
    build_requires: list[str] = field(default_factory=list)
    requires: list[str] = field(default_factory=list)
    provides: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    obsoletes: list[str] = field(default_factory=list)
    requires_all_packages: bool = False  # meta packages: require every package of the run
    commands: list[str] = field(default_factory=list)  # python: console scripts in %{_bindir}
    users: list[User] = field(default_factory=list)
    services: list[Service] = field(default_factory=list)
    config_files: list[ConfigFile] = field(default_factory=list)
    directories: list[Directory] = field(default_factory=list)
    install: list[InstallFile] = field(default_factory=list)
    tmpfiles: list[str] = field(default_factory=list)
    logrotate: list[Logrotate] = field(default_factory=list)
    subpackages: list[Subpackage] = field(default_factory=list)
    databases: list[Database] = field(default_factory=list)
    source_date_epoch: int | None = None


@dataclass(frozen=True)
class Defaults:
    release: str = "1"
    license: str = "ASL 2.0"
    url: str = ""
    packager: str = "Fuel Packagers <fuel@localhost>"
    source_date_epoch: int = 1700000000


@dataclass(frozen=True)
class Profile:
    description: str


@dataclass(frozen=True)
class ManifestFile:
    schema: Literal[1]
    packages: dict[str, Package]
    defaults: Defaults = field(default_factory=Defaults)
    profiles: dict[str, Profile] = field(default_factory=dict)


@dataclass(frozen=True)
class Manifest:
    """A validated manifest restricted to the active profiles, ready to plan."""

    path: Path
    defaults: Defaults
    packages: dict[str, Package]
    profiles: tuple[str, ...]
    positions: Positions = field(repr=False, compare=False)

    @property
    def root(self) -> Path:
        """Directory that relative paths in the manifest are relative to."""
        return self.path.parent

    def owner_of(self, rpm_name: str) -> str | None:
        """The manifest package that produces `rpm_name` (itself or one of its subpackages)."""
        for package in self.packages.values():
            if rpm_name == package.name or rpm_name in (s.name for s in package.subpackages):
                return package.name
        return None


def load_manifest(path: Path, *, profiles: list[str] | None = None,
                  source_overrides: dict[str, str] | None = None,
                  known_dependencies: dict[str, set[str]] | None = None) -> Manifest:
    """Load, validate and filter a manifest; raise a located UserError on the first problem.

    `known_dependencies` maps each target name to the abstract dependency names it can map, so
    that a requirement that is neither a manifest package nor mapped anywhere is caught here.
    """
    data, positions = load_yaml(path, display_name=_display_name(path))
    manifest_file = build(ManifestFile, data, (), positions)
    packages = {name: _complete(name, pkg, manifest_file.defaults, positions)
                for name, pkg in manifest_file.packages.items()}
    active = tuple(dict.fromkeys([DEFAULT_PROFILE, *(profiles or [])]))
    _check_profiles(manifest_file, packages, active, positions)
    for name, package in packages.items():
        _check_package(package, ("packages", name), positions, path.parent)
    _check_cross_references(packages, positions, known_dependencies or {})
    _check_databases(packages, positions)
    selected = {name: pkg for name, pkg in packages.items() if pkg.profile in active}
    selected = _apply_source_overrides(selected, source_overrides or {}, packages)
    manifest = Manifest(path, manifest_file.defaults, selected, active, positions)
    from .graph import check_acyclic  # local import: graph depends on this module's model

    check_acyclic(manifest)
    return manifest


def _display_name(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _complete(name: str, package: Package, defaults: Defaults, positions: Positions) -> Package:
    return dataclasses.replace(
        package, name=name,
        release=package.release or defaults.release,
        license=package.license or defaults.license,
        url=package.url or defaults.url,
        source_date_epoch=(package.source_date_epoch if package.source_date_epoch is not None
                           else defaults.source_date_epoch))


def _check_profiles(manifest_file: ManifestFile, packages: dict[str, Package],
                    active: tuple[str, ...], positions: Positions) -> None:
    known = {DEFAULT_PROFILE, *manifest_file.profiles}
    for profile in active:
        if profile not in known:
            raise UserError(f"unknown profile '{profile}'",
                            f"profiles of this manifest: {', '.join(sorted(known))}")
    for name, package in packages.items():
        if package.profile not in known:
            raise SchemaError(positions, ("packages", name, "profile"),
                              f"unknown profile '{package.profile}'",
                              "declare it under the top-level 'profiles:' key")


def _check_package(package: Package, path: KeyPath, positions: Positions, root: Path) -> None:
    def fail(sub: KeyPath, message: str, hint: str | None = None) -> None:
        raise SchemaError(positions, path + sub, message, hint)

    _check_text(package, path, positions)
    if not NAME_RE.match(package.name):
        fail((), f"'{package.name}' is not a valid RPM package name",
             "use letters, digits and . _ + - ; start with a letter or digit")
    for key in ("version", "release"):
        if not VERSION_RE.match(getattr(package, key)):
            fail((key,), f"'{getattr(package, key)}' is not a valid RPM {key}",
                 "no '-' or spaces; letters, digits and . _ + ~ ^ only")
    _check_source(package, path, positions, root)
    for i, patch in enumerate(package.patches):
        _check_relative_file(patch, path + ("patches", i), positions, root)
    for key in ("build_requires", "requires", "provides", "conflicts", "obsoletes"):
        for i, dep in enumerate(getattr(package, key)):
            if not DEP_RE.match(dep):
                fail((key, i), f"'{dep}' is not a dependency",
                     "write NAME or NAME OP VERSION, e.g. 'python3-yaml >= 5'")
    if package.kind == "meta" and (package.source or package.install or package.services):
        fail(("kind",), "a meta package has no source, install or services",
             "use kind: files for packages that ship files")
    if package.kind == "python" and not package.source:
        fail(("source",), "a python package needs a source", "add source: {pypi: NAME, sha256: ...}")
    if package.kind != "python" and package.commands:
        fail(("commands",), "commands are only for python packages",
             "install scripts with install: entries")
    for i, command in enumerate(package.commands):
        if not NAME_RE.match(command):
            fail(("commands", i), f"'{command}' is not a command name")
    for i, item in enumerate(package.install):
        if [item.src, item.content, item.generated].count(None) != 2:
            fail(("install", i), "give exactly one of 'src', 'content' or 'generated'")
        if item.src is not None and (not REL_PATH_RE.match(item.src) or ".." in item.src.split("/")):
            fail(("install", i, "src"), f"'{item.src}' must be a relative path inside the source",
                 "no leading '/', no '..'")
        _check_abs_path(item.dest, path + ("install", i, "dest"), positions)
        _check_mode(item.mode, path + ("install", i, "mode"), positions)
    for i, config in enumerate(package.config_files):
        sub = path + ("config_files", i)
        _check_abs_path(config.dest, sub + ("dest",), positions)
        _check_mode(config.mode, sub + ("mode",), positions)
        if (config.source is None) == (config.content is None):
            fail(("config_files", i), "give exactly one of 'source' or 'content'")
        if config.source is not None:
            _check_relative_file(config.source, sub + ("source",), positions, root)
        if int(config.mode, 8) & 0o002:
            fail(("config_files", i, "mode"), "config files must not be world-writable")
    for i, directory in enumerate(package.directories):
        _check_abs_path(directory.path, path + ("directories", i, "path"), positions)
        _check_mode(directory.mode, path + ("directories", i, "mode"), positions)
    for i, user in enumerate(package.users):
        for key in ("name", "group"):
            value = getattr(user, key)
            if value is not None and not USER_RE.match(value):
                fail(("users", i, key), f"'{value}' is not a valid user or group name",
                     "lower-case letters, digits, _ and -, at most 32 characters")
        if not COMMENT_RE.match(user.comment):
            fail(("users", i, "comment"), f"'{user.comment}' has characters a user comment cannot",
                 "letters, digits, spaces and . _ , ( ) / + -")
        _check_abs_path(user.home, path + ("users", i, "home"), positions)
        _check_abs_path(user.shell, path + ("users", i, "shell"), positions)
    for i, service in enumerate(package.services):
        sub = path + ("services", i)
        if not UNIT_RE.match(service.name):
            fail(("services", i, "name"), f"'{service.name}' is not a valid unit name",
                 "letters, digits and : . _ - ; end with @ for a template unit")
        if not service.exec_start.startswith("/"):
            fail(("services", i, "exec_start"), "exec_start must start with an absolute path",
                 "systemd needs e.g. /usr/bin/astuted --config ...")
        if service.user == "root" and not service.root_reason:
            fail(("services", i, "user"), "service runs as root without a reason",
                 "create a system user under users:, or give root_reason: why it needs root")
        for key in ("environment_file", "working_directory"):
            value = getattr(service, key)
            if value is not None:
                _check_abs_path(value.lstrip("-"), sub + (key,), positions)
        for j, rw_path in enumerate(service.read_write_paths):
            _check_abs_path(rw_path.lstrip("-"), sub + ("read_write_paths", j), positions)
    for i, rotate in enumerate(package.logrotate):
        if not GLOB_PATH_RE.match(rotate.path) or ".." in rotate.path.split("/"):
            fail(("logrotate", i, "path"), f"'{rotate.path}' is not an absolute path or glob")
    for i, sub_package in enumerate(package.subpackages):
        if not NAME_RE.match(sub_package.name):
            fail(("subpackages", i, "name"), f"'{sub_package.name}' is not a valid RPM name")
        for j, file_path in enumerate(sub_package.files):
            _check_abs_path(file_path, path + ("subpackages", i, "files", j), positions)


def _check_source(package: Package, path: KeyPath, positions: Positions, root: Path) -> None:
    source = package.source
    if source is None:
        return
    sub = path + ("source",)
    kinds = [k for k in ("path", "git", "pypi", "url", "generated") if getattr(source, k)]
    if len(kinds) != 1:
        raise SchemaError(positions, sub, "give exactly one of path, git, pypi, url or generated",
                          f"found {', '.join(kinds) or 'none'}")
    if source.path is not None:
        _check_relative_file(source.path, sub + ("path",), positions, root, directory=True)
    if source.git is not None and not source.ref:
        raise SchemaError(positions, sub + ("ref",), "a git source needs a ref",
                          "name a tag or commit, e.g. ref: 11.0.0")
    if (source.pypi or source.url) and not source.sha256:
        raise SchemaError(positions, sub + ("sha256",), f"a {kinds[0]} source needs a sha256",
                          "pin the checksum of the exact file")
    if source.sha256 and not SHA256_RE.match(source.sha256):
        raise SchemaError(positions, sub + ("sha256",), "not a sha256 (64 lower-case hex digits)")
    for key in ("filename", "unpack_dir"):
        value = getattr(source, key)
        if value is not None and (not REL_PATH_RE.match(value) or "/" in value):
            raise SchemaError(positions, sub + (key,), f"'{value}' must be a plain file name")
    if source.subdir is not None and (not REL_PATH_RE.match(source.subdir)
                                      or ".." in source.subdir.split("/")):
        raise SchemaError(positions, sub + ("subdir",), f"'{source.subdir}' must be a relative path",
                          "a directory inside the source tree, no leading '/', no '..'")


def _check_text(value: object, path: KeyPath, positions: Positions, key: str = "") -> None:
    """Refuse newlines in one-line fields and control characters everywhere."""
    if isinstance(value, str):
        if "\n" in value and key not in MULTILINE_FIELDS:
            raise SchemaError(positions, path, "must be a single line",
                              "newlines are only allowed in description and content")
        if CONTROL_RE.search(value.replace("\t", " ")) or "\r" in value:
            raise SchemaError(positions, path, "contains control characters")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_text(item, path + (i,), positions, key)
    elif isinstance(value, dict):
        for item_key, item in value.items():
            _check_text(item, path + (item_key,), positions, key)
    elif dataclasses.is_dataclass(value):
        for f in dataclasses.fields(value):
            _check_text(getattr(value, f.name), path + (f.name,), positions, f.name)


def _check_abs_path(value: str, path: KeyPath, positions: Positions) -> None:
    if not ABS_PATH_RE.match(value) or ".." in value.split("/") or "//" in value:
        raise SchemaError(positions, path, f"'{value}' is not a clean absolute path",
                          "start with '/', no '..', no spaces or shell characters")


def _check_relative_file(value: str, path: KeyPath, positions: Positions, root: Path,
                         directory: bool = False) -> None:
    if not REL_PATH_RE.match(value) or ".." in value.split("/"):
        raise SchemaError(positions, path, f"'{value}' must be a path inside this repository",
                          "relative to the manifest, no leading '/', no '..'")
    target = root / value
    if not (target.is_dir() if directory else target.is_file()):
        raise SchemaError(positions, path, f"'{value}' does not exist",
                          f"create {'directory' if directory else 'file'} {target}")


def _check_mode(value: str, path: KeyPath, positions: Positions) -> None:
    if not MODE_RE.match(value):
        raise SchemaError(positions, path, f"'{value}' is not a file mode",
                          "quote an octal mode, e.g. \"0640\"")


def _check_cross_references(packages: dict[str, Package], positions: Positions,
                            known_dependencies: dict[str, set[str]]) -> None:
    rpm_names: dict[str, str] = {}
    for name, package in packages.items():
        for i, sub in enumerate(package.subpackages):
            if sub.name in packages or sub.name in rpm_names:
                raise SchemaError(positions, ("packages", name, "subpackages", i, "name"),
                                  f"'{sub.name}' is already a package name")
            rpm_names[sub.name] = name
        rpm_names[name] = name
    users: dict[str, str] = {"root": "root"}
    groups = {"root"}
    for name, package in packages.items():
        for i, user in enumerate(package.users):
            if user.name in users and user.name != "root":
                raise SchemaError(positions, ("packages", name, "users", i, "name"),
                                  f"user '{user.name}' is declared twice",
                                  f"it is already declared by {users[user.name]}")
            users[user.name] = name
            groups.add(user.primary_group)
    seen: dict[str, KeyPath] = {}
    for name, package in packages.items():
        path = ("packages", name)
        for i, config in enumerate(package.config_files):
            for j, target in enumerate(config.targets):
                if known_dependencies and target not in known_dependencies:
                    raise SchemaError(positions, path + ("config_files", i, "targets", j),
                                      f"unknown target '{target}'",
                                      f"known targets: {', '.join(sorted(known_dependencies))}")
        for key in ("build_requires", "requires"):
            for i, dep in enumerate(getattr(package, key)):
                _check_dependency(DEP_RE.match(dep).group(1), path + (key, i), rpm_names,
                                  positions, known_dependencies)
                owner = packages.get(rpm_names.get(DEP_RE.match(dep).group(1), ""))
                if owner and owner.profile != DEFAULT_PROFILE and package.profile == DEFAULT_PROFILE:
                    raise SchemaError(positions, path + (key, i),
                                      f"'{dep}' is in profile '{owner.profile}' but {name} is not",
                                      f"move {name} to profile '{owner.profile}'")
        owned = [(("services", i, "user"), s.user) for i, s in enumerate(package.services)]
        owned += [(("config_files", i, "owner"), c.owner) for i, c in enumerate(package.config_files)]
        owned += [(("directories", i, "owner"), d.owner) for i, d in enumerate(package.directories)]
        for sub, user in owned:
            if user not in users:
                raise SchemaError(positions, path + sub, f"user '{user}' is not created by any package",
                                  _suggest(user, users) or "declare it under some package's users:")
        grouped = [(("services", i, "group"), s.group) for i, s in enumerate(package.services)]
        grouped += [(("config_files", i, "group"), c.group) for i, c in enumerate(package.config_files)]
        grouped += [(("directories", i, "group"), d.group) for i, d in enumerate(package.directories)]
        for sub, group in grouped:
            if group is not None and group not in groups:
                raise SchemaError(positions, path + sub, f"group '{group}' is not created by any package",
                                  _suggest(group, groups) or "declare a user with that group")
        claims = [(("services", i, "name"), f"unit:{s.name}") for i, s in enumerate(package.services)]
        claims += [(("config_files", i, "dest"), c.dest) for i, c in enumerate(package.config_files)]
        claims += [(("install", i, "dest"), f.dest) for i, f in enumerate(package.install)]
        for sub, claim in claims:
            if claim in seen:
                where = ".".join(str(p) for p in seen[claim])
                raise SchemaError(positions, path + sub,
                                  f"'{claim.removeprefix('unit:')}' is also declared at {where}")
            seen[claim] = path + sub


def _check_databases(packages: dict[str, Package], positions: Positions) -> None:
    """Database and role names are plain PostgreSQL identifiers; a database has one declaration."""
    declared: dict[str, str] = {}
    for name, package in packages.items():
        for i, database in enumerate(package.databases):
            for key in ("name", "owner"):
                if not PG_NAME_RE.match(getattr(database, key)):
                    raise SchemaError(positions, ("packages", name, "databases", i, key),
                                      f"'{getattr(database, key)}' is not a PostgreSQL name",
                                      "lower-case letters, digits and _, at most 63 characters")
            if database.name in declared:
                raise SchemaError(positions, ("packages", name, "databases", i, "name"),
                                  f"database '{database.name}' is declared twice",
                                  f"it is already declared by {declared[database.name]}")
            declared[database.name] = name


def _check_dependency(name: str, path: KeyPath, rpm_names: dict[str, str], positions: Positions,
                      known_dependencies: dict[str, set[str]]) -> None:
    if name in rpm_names or not known_dependencies:
        return
    missing = [target for target, names in sorted(known_dependencies.items()) if name not in names]
    if missing:
        candidates = set(rpm_names).union(*known_dependencies.values())
        hint = _suggest(name, candidates)
        hint = f"{hint}; or " if hint else ""
        raise SchemaError(positions, path,
                          f"'{name}' is not a package of this manifest and target "
                          f"{missing[0]} has no mapping for it",
                          f"{hint}add '{name}: <distro package>' to the deps: of "
                          f"repo-config/targets/{missing[0]}.yaml")


def _suggest(name: str, candidates) -> str | None:
    close = difflib.get_close_matches(name, sorted(candidates), n=1)
    return f"did you mean '{close[0]}'?" if close else None


def _apply_source_overrides(packages: dict[str, Package], overrides: dict[str, str],
                            all_packages: dict[str, Package]) -> dict[str, Package]:
    result = dict(packages)
    for name, local_path in overrides.items():
        if name not in all_packages:
            raise UserError(f"--source {name}=...: no package '{name}' in the manifest",
                            _suggest(name, all_packages) or "run 'buildtool list' to see the names")
        if name not in result:
            raise UserError(f"--source {name}=...: package '{name}' is not in the active profiles",
                            f"add --profile {all_packages[name].profile}")
        directory = Path(local_path).expanduser().resolve()
        if not directory.is_dir():
            raise UserError(f"--source {name}={local_path}: not a directory",
                            "point it at a local checkout of the package's source")
        original = result[name].source or Source()
        result[name] = dataclasses.replace(result[name], source=Source(
            path=str(directory), filename=original.filename, unpack_dir=original.unpack_dir,
            subdir=original.subdir))
    return result
