"""The service manifest: typed model, strict validation, profiles and source overrides."""

from __future__ import annotations

import dataclasses
import difflib
import functools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from . import policy, validated
from .errors import UserError
from .policy import Refused
from .positions import KeyPath, Positions
from .schema import Range, SchemaError, build

T = TypeVar("T")

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")
VERSION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+~^]*$")
REL_PATH_RE = re.compile(r"^[A-Za-z0-9._+@:,=-][A-Za-z0-9._+@:,=/-]*$")
DEP_RE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._+()/-]*)(\s+(<|<=|=|>=|>)\s+([A-Za-z0-9._+~^:-]+))?$")
UNIT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9:._-]*@?$")
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
COMMENT_RE = re.compile(r"^[A-Za-z0-9 ._,()/+-]*$")
PG_NAME_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
# C0 and C1 controls except tab and newline, and the Unicode line and paragraph separators
CONTROL_RE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")

DEFAULT_PROFILE = "default"

Epoch = Annotated[int, Range(0, 2**32 - 1, "RPM stores times in 32 bits")]


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
    restart_sec: Annotated[int, Range(0, 86400, "seconds, at most a day")] = 5
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
    rotate: Annotated[int, Range(0, 1000, "rotated copies to keep")] = 4
    su: str | None = None  # "user group" owning the log directory


@dataclass(frozen=True)
class Database:
    """A PostgreSQL database the package's service uses: part of the backup set."""

    name: str
    owner: str  # the PostgreSQL role that owns it (created by fuel-deploy)


@dataclass(frozen=True)
class NodeBuild:
    """A JavaScript build: node_modules vendored from the source's lock file at fetch time
    (`npm ci`, network, sandboxed), then `command` run offline in %build."""

    command: list[str]  # a program of node_modules/.bin and its arguments
    modules_sha256: str | None = None  # pin of the vendored node_modules tarball


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
    keep_tests: bool = False  # python: ship */tests packages (program code, e.g. OSTF's checks)
    users: list[User] = field(default_factory=list)
    services: list[Service] = field(default_factory=list)
    config_files: list[ConfigFile] = field(default_factory=list)
    directories: list[Directory] = field(default_factory=list)
    install: list[InstallFile] = field(default_factory=list)
    tmpfiles: list[str] = field(default_factory=list)
    logrotate: list[Logrotate] = field(default_factory=list)
    subpackages: list[Subpackage] = field(default_factory=list)
    databases: list[Database] = field(default_factory=list)
    nodejs: NodeBuild | None = None  # files: built with npm before install: copies its output
    source_date_epoch: Epoch | None = None


@dataclass(frozen=True)
class Defaults:
    release: str = "1"
    license: str = "Apache-2.0"  # SPDX
    url: str = ""
    packager: str = "Fuel Packagers <fuel@localhost>"
    source_date_epoch: Epoch = 1700000000


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

    @functools.cached_property
    def resolved_root(self) -> Path:
        return self.root.resolve()

    def owner_of(self, rpm_name: str) -> str | None:
        """The manifest package that produces `rpm_name` (itself or one of its subpackages)."""
        return self._rpm_owners.get(rpm_name)

    @functools.cached_property
    def _rpm_owners(self) -> dict[str, str]:
        """RPM name -> manifest package, built once: a lookup per dependency stays O(1)."""
        owners: dict[str, str] = {}
        for package in self.packages.values():
            for rpm_name in (package.name, *(s.name for s in package.subpackages)):
                owners.setdefault(rpm_name, package.name)
        return owners


def load_manifest(path: Path, *, profiles: list[str] | None = None,
                  source_overrides: dict[str, str] | None = None,
                  known_dependencies: dict[str, set[str]] | None = None,
                  cache_dir: Path | None = None) -> Manifest:
    """Load, validate and filter a manifest; raise a located UserError on the first problem.

    `known_dependencies` maps each target name to the abstract dependency names it can map, so
    that a requirement that is neither a manifest package nor mapped anywhere is caught here.
    With `cache_dir`, a manifest validated before with the same inputs is reused (validated.py).
    """
    if source_overrides:  # local trees of a development run: validated every time
        cache_dir = None
    depends = [path, Path.cwd(), profiles or [],
               sorted((name, sorted(deps)) for name, deps in (known_dependencies or {}).items())]
    return validated.kept(cache_dir, "manifest", str(path.absolute()), [path], repr(depends),
                          lambda: _load_and_validate(path, profiles, source_overrides,
                                                     known_dependencies))


def _load_and_validate(path: Path, profiles: list[str] | None,
                       source_overrides: dict[str, str] | None,
                       known_dependencies: dict[str, set[str]] | None
                       ) -> tuple[Manifest, validated.References]:
    """The validated manifest, and the files and directories it references (path, is a
    directory), which must exist for it to stay valid."""
    # here: a manifest kept validated needs no YAML parser
    from .yamlpos import load_yaml, paused_cycle_collection

    # validating builds tens of thousands of objects and no garbage cycles: with the collector
    # on, its passes over them made validation superlinear (4.6x the time for 4x the packages)
    with paused_cycle_collection():
        return _validated(path, load_yaml(path, display_name=_display_name(path)), profiles,
                          source_overrides, known_dependencies)


def _validated(path: Path, loaded: tuple[Any, Positions], profiles: list[str] | None,
               source_overrides: dict[str, str] | None,
               known_dependencies: dict[str, set[str]] | None
               ) -> tuple[Manifest, validated.References]:
    data, positions = loaded
    manifest_file = build(ManifestFile, data, (), positions)
    _check_text(manifest_file, (), positions)
    packages = {name: _complete(name, pkg, manifest_file.defaults, positions)
                for name, pkg in manifest_file.packages.items()}
    active = tuple(dict.fromkeys([DEFAULT_PROFILE, *(profiles or [])]))
    _check_profiles(manifest_file, packages, active, positions)
    checkout = _Checkout(path.parent)
    for name, package in packages.items():
        _check_package(package, ("packages", name), positions, checkout)
    _check_cross_references(packages, positions, known_dependencies or {})
    _check_databases(packages, positions)
    selected = {name: pkg for name, pkg in packages.items() if pkg.profile in active}
    selected = _apply_source_overrides(selected, source_overrides or {}, packages)
    manifest = Manifest(path, manifest_file.defaults, selected, active, positions)
    check_acyclic(manifest)
    # positions serve the errors found while validating, and there are none now
    manifest = dataclasses.replace(manifest, positions=Positions(positions.filename))
    return manifest, tuple(checkout.found)


def internal_dependencies(manifest: Manifest) -> dict[str, frozenset[str]]:
    """Each package -> the packages of this manifest it needs (BuildRequires and Requires)."""
    deps = {}
    for name, package in manifest.packages.items():
        needed = set()
        for dep in [*package.build_requires, *package.requires]:
            match = DEP_RE.match(dep)
            assert match is not None, "load_manifest validated it"
            owner = manifest.owner_of(match.group(1))
            if owner and owner != name:
                needed.add(owner)
        deps[name] = frozenset(needed)
    return deps


def check_acyclic(manifest: Manifest) -> None:
    """RPM builds need an order: a dependency cycle is an error located at its first package."""
    deps = internal_dependencies(manifest)
    state: dict[str, int] = {}  # 1 = on the current path, 2 = finished
    for start in sorted(deps):
        if state.get(start) is None:
            _depth_first(start, deps, state, manifest)


def _depth_first(start: str, deps: dict[str, frozenset[str]], state: dict[str, int],
                 manifest: Manifest) -> None:
    """Walk everything `start` needs, without recursion (a chain may be thousands long);
    a package met again while it is still on the path closes a cycle."""
    trail = [start]
    todo = [iter(sorted(deps[start]))]
    state[start] = 1
    while todo:
        needed = next(todo[-1], None)
        if needed is None:
            state[trail.pop()] = 2
            todo.pop()
        elif state.get(needed) == 1:
            cycle = trail[trail.index(needed):] + [needed]
            raise SchemaError(manifest.positions, ("packages", trail[-1]),
                              f"dependency cycle: {' -> '.join(cycle)}",
                              "break the cycle; RPM builds need an order")
        elif state.get(needed) is None:
            state[needed] = 1
            trail.append(needed)
            todo.append(iter(sorted(deps[needed])))


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


@dataclass
class _Checkout:
    """The manifest's directory, and the files and directories in it that validation found the
    manifest referring to (path, is a directory): a kept verdict holds while they exist."""

    root: Path
    found: list[tuple[str, bool]] = field(default_factory=list)


def _check_package(package: Package, path: KeyPath, positions: Positions,
                   checkout: _Checkout) -> None:
    """Every rule one package must satisfy on its own, one concern per function."""
    _check_identity(package, path, positions)
    _check_source(package, path, positions, checkout)
    for i, patch in enumerate(package.patches):
        _check_relative_file(patch, path + ("patches", i), positions, checkout)
    _check_dependency_syntax(package, path, positions)
    _check_kind(package, path, positions)
    if package.nodejs is not None:
        _check_node_build(package, package.nodejs, path + ("nodejs",), positions)
    _check_files(package, path, positions, checkout)
    _check_users(package, path, positions)
    for i, service in enumerate(package.services):
        _check_service(service, path + ("services", i), positions)
    _check_system_snippets(package, path, positions)
    _check_subpackages(package, path, positions)


def _check_identity(package: Package, path: KeyPath, positions: Positions) -> None:
    """Name, version and release: what rpm accepts in a NEVRA."""
    if not NAME_RE.match(package.name):
        raise SchemaError(positions, path, f"'{package.name}' is not a valid RPM package name",
                          "use letters, digits and . _ + - ; start with a letter or digit")
    for key in ("version", "release"):
        if not VERSION_RE.match(getattr(package, key)):
            raise SchemaError(positions, path + (key,),
                              f"'{getattr(package, key)}' is not a valid RPM {key}",
                              "no '-' or spaces; letters, digits and . _ + ~ ^ only")


def _check_dependency_syntax(package: Package, path: KeyPath, positions: Positions) -> None:
    for key in ("build_requires", "requires", "provides", "conflicts", "obsoletes"):
        for i, dep in enumerate(getattr(package, key)):
            if not DEP_RE.match(dep):
                raise SchemaError(positions, path + (key, i), f"'{dep}' is not a dependency",
                                  "write NAME or NAME OP VERSION, e.g. 'python3-yaml >= 5'")


def _check_kind(package: Package, path: KeyPath, positions: Positions) -> None:
    """What each kind of package needs or cannot have."""
    if package.kind == "meta" and (package.source or package.install or package.services):
        raise SchemaError(positions, path + ("kind",),
                          "a meta package has no source, install or services",
                          "use kind: files for packages that ship files")
    if package.kind == "python" and not package.source:
        raise SchemaError(positions, path + ("source",), "a python package needs a source",
                          "add source: {pypi: NAME, sha256: ...}")
    if package.kind != "python" and package.commands:
        raise SchemaError(positions, path + ("commands",), "commands are only for python packages",
                          "install scripts with install: entries")
    for i, command in enumerate(package.commands):
        if not NAME_RE.match(command):
            raise SchemaError(positions, path + ("commands", i),
                              f"'{command}' is not a command name")


def _check_system_snippets(package: Package, path: KeyPath, positions: Positions) -> None:
    """tmpfiles.d lines and logrotate stanzas: text that system tools run as root."""
    for i, line in enumerate(package.tmpfiles):
        _policy(positions, path + ("tmpfiles", i), policy.parse_tmpfiles, line)
    for i, rotate in enumerate(package.logrotate):
        sub = path + ("logrotate", i)
        _policy(positions, sub + ("path",), policy.check_path, rotate.path, "logrotate", True)
        if rotate.su is not None:
            _policy(positions, sub + ("su",), policy.parse_su, rotate.su)


def _check_subpackages(package: Package, path: KeyPath, positions: Positions) -> None:
    for i, sub_package in enumerate(package.subpackages):
        if not NAME_RE.match(sub_package.name):
            raise SchemaError(positions, path + ("subpackages", i, "name"),
                              f"'{sub_package.name}' is not a valid RPM name")
        for j, file_path in enumerate(sub_package.files):
            _policy(positions, path + ("subpackages", i, "files", j), policy.check_path,
                    file_path, None)


def _check_node_build(package: Package, node: NodeBuild, path: KeyPath,
                      positions: Positions) -> None:
    """The command runs in %build (sandboxed, offline); its words are shell-quoted there."""
    if package.kind != "files":
        raise SchemaError(positions, path, "a nodejs build is only for kind: files packages",
                          "install its output with install: entries")
    if package.source is None or package.source.generated is not None:
        raise SchemaError(positions, path, "a nodejs build needs an upstream source",
                          "add source: {git: URL, ref: TAG} (or path: or url:)")
    if not node.command:
        raise SchemaError(positions, path + ("command",), "the command is empty",
                          "name a program of node_modules/.bin, e.g. [gulp, build]")
    if not NAME_RE.match(node.command[0]):
        raise SchemaError(positions, path + ("command", 0),
                          f"'{node.command[0]}' is not a program name of node_modules/.bin",
                          "a name such as gulp or webpack; no path, no shell syntax")
    if node.modules_sha256 is not None and not SHA256_RE.match(node.modules_sha256):
        raise SchemaError(positions, path + ("modules_sha256",),
                          "not a sha256 (64 lower-case hex digits)")


def _policy(positions: Positions, path: KeyPath, check: Callable[..., T], *args: Any) -> T:
    """Run a policy check; its refusal becomes an error located at `path`."""
    try:
        return check(*args)
    except Refused as refused:
        raise SchemaError(positions, path, refused.message, refused.hint) from None


def _check_files(package: Package, path: KeyPath, positions: Positions,
                 checkout: _Checkout) -> None:
    """install, config_files and directories: where they go and with which mode."""
    for i, item in enumerate(package.install):
        sub = path + ("install", i)
        if [item.src, item.content, item.generated].count(None) != 2:
            raise SchemaError(positions, sub, "give exactly one of 'src', 'content' or 'generated'")
        if item.src is not None and (not REL_PATH_RE.match(item.src) or ".." in item.src.split("/")):
            raise SchemaError(positions, sub + ("src",),
                              f"'{item.src}' must be a relative path inside the source",
                              "no leading '/', no '..'")
        _policy(positions, sub + ("dest",), policy.check_path, item.dest, "install")
        _policy(positions, sub + ("mode",), policy.check_mode, item.mode)
    for i, config in enumerate(package.config_files):
        sub = path + ("config_files", i)
        _policy(positions, sub + ("dest",), policy.check_path, config.dest, "config")
        _policy(positions, sub + ("mode",), policy.check_mode, config.mode)
        if (config.source is None) == (config.content is None):
            raise SchemaError(positions, sub, "give exactly one of 'source' or 'content'")
        if config.source is not None:
            _check_relative_file(config.source, sub + ("source",), positions, checkout)
    for i, directory in enumerate(package.directories):
        sub = path + ("directories", i)
        _policy(positions, sub + ("path",), policy.check_path, directory.path, directory.kind)
        _policy(positions, sub + ("mode",), policy.check_mode, directory.mode)


def _check_users(package: Package, path: KeyPath, positions: Positions) -> None:
    for i, user in enumerate(package.users):
        sub = path + ("users", i)
        for key in ("name", "group"):
            if getattr(user, key) is not None:
                _policy(positions, sub + (key,), policy.check_account, getattr(user, key))
        if not COMMENT_RE.match(user.comment):
            raise SchemaError(positions, sub + ("comment",),
                              f"'{user.comment}' has characters a user comment cannot",
                              "letters, digits, spaces and . _ , ( ) / + -")
        _policy(positions, sub + ("home",), policy.check_path, user.home, None)
        _policy(positions, sub + ("shell",), policy.check_path, user.shell, None)


def _check_service(service: Service, path: KeyPath, positions: Positions) -> None:
    """Everything that ends up in the unit file: one line each, nothing that escapes the unit."""
    if not UNIT_RE.match(service.name):
        raise SchemaError(positions, path + ("name",), f"'{service.name}' is not a valid unit name",
                          "letters, digits and : . _ - ; end with @ for a template unit")
    _policy(positions, path + ("description",), policy.check_unit_value, service.description)
    _policy(positions, path + ("exec_start",), policy.check_command, service.exec_start)
    if service.exec_reload is not None:
        _policy(positions, path + ("exec_reload",), policy.check_command, service.exec_reload)
    if service.user == "root" and not service.root_reason:
        raise SchemaError(positions, path + ("user",), "service runs as root without a reason",
                          "create a system user under users:, or give root_reason: why it needs root")
    for key in ("after", "wants", "requires"):
        for j, unit in enumerate(getattr(service, key)):
            _policy(positions, path + (key, j), policy.check_unit_name, unit)
    _policy(positions, path + ("wanted_by",), policy.check_unit_name, service.wanted_by)
    for key, value in service.environment.items():
        _policy(positions, path + ("environment", key), policy.check_environment_key, key)
        _policy(positions, path + ("environment", key), policy.check_unit_value, value)
    if service.environment_file is not None:
        _policy(positions, path + ("environment_file",), policy.check_path,
                service.environment_file.removeprefix("-"), "environment_file")
    if service.working_directory is not None:
        _policy(positions, path + ("working_directory",), policy.check_path,
                service.working_directory.removeprefix("-"), None)
    for j, rw_path in enumerate(service.read_write_paths):
        _policy(positions, path + ("read_write_paths", j), policy.check_path,
                rw_path.removeprefix("-"), "writable")


def _check_source(package: Package, path: KeyPath, positions: Positions,
                  checkout: _Checkout) -> None:
    source = package.source
    if source is None:
        return
    sub = path + ("source",)
    kinds = [k for k in ("path", "git", "pypi", "url", "generated") if getattr(source, k)]
    if len(kinds) != 1:
        raise SchemaError(positions, sub, "give exactly one of path, git, pypi, url or generated",
                          f"found {', '.join(kinds) or 'none'}")
    if source.path is not None:
        _check_relative_file(source.path, sub + ("path",), positions, checkout, directory=True)
    if source.git is not None and not source.ref:
        raise SchemaError(positions, sub + ("ref",), "a git source needs a ref",
                          "name a tag or commit, e.g. ref: 11.0.0")
    for key, check in (("git", policy.check_git_url), ("ref", policy.check_git_ref),
                       ("url", policy.check_download_url), ("pypi", policy.check_pypi_name),
                       ("version", policy.check_file_name)):
        if getattr(source, key) is not None:
            _policy(positions, sub + (key,), check, getattr(source, key))
    if (source.pypi or source.url) and not source.sha256:
        raise SchemaError(positions, sub + ("sha256",), f"a {kinds[0]} source needs a sha256",
                          "pin the checksum of the exact file")
    if source.sha256 and not SHA256_RE.match(source.sha256):
        raise SchemaError(positions, sub + ("sha256",), "not a sha256 (64 lower-case hex digits)")
    for key in ("filename", "unpack_dir"):
        if getattr(source, key) is not None:
            _policy(positions, sub + (key,), policy.check_file_name, getattr(source, key))
    if source.subdir is not None and (not REL_PATH_RE.match(source.subdir)
                                      or ".." in source.subdir.split("/")):
        raise SchemaError(positions, sub + ("subdir",), f"'{source.subdir}' must be a relative path",
                          "a directory inside the source tree, no leading '/', no '..'")


# Free text that may span lines: it reaches %description (escaped) or a file of its own.
MULTILINE = {("Package", "description"), ("Subpackage", "description"),
             ("ConfigFile", "content"), ("InstallFile", "content")}


def _check_text(value: object, path: KeyPath, positions: Positions, multiline: bool = False) -> None:
    """Refuse newlines in one-line fields (units, headers, tmpfiles...), control characters anywhere.

    Mapping keys are checked too: package names, environment keys and profile names reach files.
    """
    if isinstance(value, str):
        if "\n" in value and not multiline:
            raise SchemaError(positions, path, "must be a single line",
                              "newlines are only allowed in package descriptions and file content")
        control = CONTROL_RE.search(value.replace("\n", "") if multiline else value)
        if control:
            raise SchemaError(positions, path,
                              f"contains the control character U+{ord(control.group()):04X}",
                              "remove it")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_text(item, path + (i,), positions, multiline)
    elif isinstance(value, dict):
        for item_key, item in value.items():
            _check_text(item_key, path + (item_key,), positions)
            _check_text(item, path + (item_key,), positions, multiline)
    elif dataclasses.is_dataclass(value):
        for f in dataclasses.fields(value):
            _check_text(getattr(value, f.name), path + (f.name,), positions,
                        (type(value).__name__, f.name) in MULTILINE)


def _check_relative_file(value: str, path: KeyPath, positions: Positions, checkout: _Checkout,
                         directory: bool = False) -> None:
    if not REL_PATH_RE.match(value) or ".." in value.split("/"):
        raise SchemaError(positions, path, f"'{value}' must be a path inside this repository",
                          "relative to the manifest, no leading '/', no '..'")
    target = checkout.root / value
    if not (target.is_dir() if directory else target.is_file()):
        raise SchemaError(positions, path, f"'{value}' does not exist",
                          f"create {'directory' if directory else 'file'} {target}")
    checkout.found.append((str(target), directory))


def _check_cross_references(packages: dict[str, Package], positions: Positions,
                            known_dependencies: dict[str, set[str]]) -> None:
    """What one package says about the others: names, dependencies, accounts, claimed paths."""
    rpm_names = _rpm_names(packages, positions)
    users, groups = _declared_accounts(packages, positions)
    seen: dict[str, KeyPath] = {}
    for name, package in packages.items():
        path = ("packages", name)
        _check_config_targets(package, path, positions, known_dependencies)
        _check_internal_dependencies(packages, package, path, rpm_names, positions,
                                     known_dependencies)
        _check_accounts_exist(package, path, users, groups, positions)
        _check_unique_claims(package, path, seen, positions)


def _rpm_names(packages: dict[str, Package], positions: Positions) -> dict[str, str]:
    """Every RPM name (packages and subpackages) -> the package that builds it; no name twice."""
    rpm_names: dict[str, str] = {}
    for name, package in packages.items():
        for i, sub in enumerate(package.subpackages):
            if sub.name in packages or sub.name in rpm_names:
                raise SchemaError(positions, ("packages", name, "subpackages", i, "name"),
                                  f"'{sub.name}' is already a package name")
            rpm_names[sub.name] = name
        rpm_names[name] = name
    return rpm_names


def _declared_accounts(packages: dict[str, Package],
                       positions: Positions) -> tuple[dict[str, str], set[str]]:
    """Users (-> the package declaring them) and groups the packages create, root included."""
    users: dict[str, str] = {"root": "root"}
    groups = {"root"}
    for name, package in packages.items():
        for i, user in enumerate(package.users):
            if user.name in users:
                raise SchemaError(positions, ("packages", name, "users", i, "name"),
                                  f"user '{user.name}' is declared twice",
                                  f"it is already declared by {users[user.name]}")
            users[user.name] = name
            groups.add(user.primary_group)
    return users, groups


def _check_config_targets(package: Package, path: KeyPath, positions: Positions,
                          known_dependencies: dict[str, set[str]]) -> None:
    for i, config in enumerate(package.config_files):
        for j, target in enumerate(config.targets):
            if known_dependencies and target not in known_dependencies:
                raise SchemaError(positions, path + ("config_files", i, "targets", j),
                                  f"unknown target '{target}'",
                                  f"known targets: {', '.join(sorted(known_dependencies))}")


def _check_internal_dependencies(packages: dict[str, Package], package: Package, path: KeyPath,
                                 rpm_names: dict[str, str], positions: Positions,
                                 known_dependencies: dict[str, set[str]]) -> None:
    """Each dependency is a package here or mapped by the targets, and a default-profile
    package needs nothing from another profile."""
    for key in ("build_requires", "requires"):
        for i, dep in enumerate(getattr(package, key)):
            match = DEP_RE.match(dep)
            assert match is not None, "_check_package validated it"
            _check_dependency(match.group(1), path + (key, i), rpm_names,
                              positions, known_dependencies)
            owner = packages.get(rpm_names.get(match.group(1), ""))
            if owner and owner.profile != DEFAULT_PROFILE and package.profile == DEFAULT_PROFILE:
                raise SchemaError(positions, path + (key, i),
                                  f"'{dep}' is in profile '{owner.profile}' but {package.name} "
                                  "is not", f"move {package.name} to profile '{owner.profile}'")


def _check_accounts_exist(package: Package, path: KeyPath, users: dict[str, str],
                          groups: set[str], positions: Positions) -> None:
    """Every user and group the package names is created by some package."""
    owned: list[tuple[KeyPath, str]]
    owned = [(("services", i, "user"), s.user) for i, s in enumerate(package.services)]
    owned += [(("config_files", i, "owner"), c.owner) for i, c in enumerate(package.config_files)]
    owned += [(("directories", i, "owner"), d.owner) for i, d in enumerate(package.directories)]
    grouped: list[tuple[KeyPath, str | None]]
    grouped = [(("services", i, "group"), s.group) for i, s in enumerate(package.services)]
    grouped += [(("config_files", i, "group"), c.group) for i, c in enumerate(package.config_files)]
    grouped += [(("directories", i, "group"), d.group) for i, d in enumerate(package.directories)]
    for i, line in enumerate(package.tmpfiles):
        entry = policy.parse_tmpfiles(line)
        owned += [(("tmpfiles", i), entry.user)] if entry.user != "-" else []
        grouped += [(("tmpfiles", i), entry.group)] if entry.group != "-" else []
    for i, rotate in enumerate(package.logrotate):
        if rotate.su is not None:
            su_user, su_group = policy.parse_su(rotate.su)
            if su_user == "root":
                raise SchemaError(positions, path + ("logrotate", i, "su"),
                                  "su names root, which logrotate uses anyway",
                                  "name the user that owns the log directory, or leave su out")
            owned.append((("logrotate", i, "su"), su_user))
            grouped.append((("logrotate", i, "su"), su_group))
    for subpath, account in owned:
        if account not in users:
            raise SchemaError(positions, path + subpath, f"user '{account}' is not created by any package",
                              _suggest(account, users) or "declare it under some package's users:")
    for subpath, group in grouped:
        if group is not None and group not in groups:
            raise SchemaError(positions, path + subpath, f"group '{group}' is not created by any package",
                              _suggest(group, groups) or "declare a user with that group")


def _check_unique_claims(package: Package, path: KeyPath, seen: dict[str, KeyPath],
                         positions: Positions) -> None:
    """A unit name or an installed path belongs to one declaration across the manifest."""
    claims: list[tuple[KeyPath, str]]
    claims = [(("services", i, "name"), f"unit:{s.name}") for i, s in enumerate(package.services)]
    claims += [(("config_files", i, "dest"), c.dest) for i, c in enumerate(package.config_files)]
    claims += [(("install", i, "dest"), f.dest) for i, f in enumerate(package.install)]
    for subpath, claim in claims:
        if claim in seen:
            where = ".".join(str(p) for p in seen[claim])
            raise SchemaError(positions, path + subpath,
                              f"'{claim.removeprefix('unit:')}' is also declared at {where}")
        seen[claim] = path + subpath


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


def _suggest(name: str, candidates: Iterable[str]) -> str | None:
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
