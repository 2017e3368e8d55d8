"""Render stage: manifest + target profile + Jinja2 templates -> build/<target>/SPECS/*.spec.

Every value a template prints is escaped for spec context by the environment's `finalize` hook, so
manifest text can never become a macro, a section or a shell command. Generated files (units,
sysusers, tmpfiles, logrotate, configs, patches) are written next to the spec as its sources.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import posixpath
import re
import shlex
import shutil
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import backupset, locations, runner, units
from .errors import UserError
from .graph import Graph, unavailable_on
from .layout import BuildLayout, template_cache
from .manifest import DEP_RE, Manifest, Package, internal_dependencies
from .nodemodules import modules_filename
from .releases import RELEASE_LINE_RE
from .sources import source_filename, unpack_dir
from .targets import TargetProfile
from .tooloutput import last_line

if TYPE_CHECKING:  # jinja2 costs ~25 ms to import: only the commands that render pay it
    import jinja2

SPECS_DIR = locations.data_root() / "specs"

# Directories that the distribution owns; a package owns only the directories below these.
SYSTEM_DIRS = {
    "/", "/etc", "/etc/sysconfig", "/etc/logrotate.d", "/etc/nginx", "/etc/nginx/conf.d",
    "/etc/yum.repos.d", "/etc/pki", "/etc/pki/rpm-gpg", "/etc/rsyslog.d", "/etc/dnsmasq.d",
    "/usr", "/usr/bin", "/usr/sbin", "/usr/lib", "/usr/libexec", "/usr/share", "/usr/share/doc",
    "/usr/lib/systemd", "/usr/lib/systemd/system", "/usr/lib/sysusers.d", "/usr/lib/tmpfiles.d",
    "/var", "/var/lib", "/var/log", "/var/www", "/run", "/srv", "/opt",
}


class Raw(str):
    """Text that is already spec syntax (a macro we generate) and must not be escaped."""


def spec_escape(value: object) -> str:
    if isinstance(value, Raw) or value is None:
        return "" if value is None else value
    text = str(value).replace("%", "%%")
    # rpm recognises a section (%post, %files...) after macro expansion at the start of a line,
    # so "%%post" would still open one; indenting the line keeps it plain text.
    return "\n".join(" " + line if line.startswith("%") else line for line in text.split("\n"))


@dataclass(frozen=True)
class SourceFile:
    number: int
    filename: str
    value: str = ""  # what the SourceN: line says (a URL or macro); the file name if empty

    def __post_init__(self) -> None:
        if not self.value:
            object.__setattr__(self, "value", self.filename)


# Path prefixes the targets name by macro (longest first): specs say %{_unitdir}, not the path.
PATH_MACROS = (
    ("/usr/lib/systemd/system", "%{_unitdir}"),
    ("/usr/lib/sysusers.d", "%{_sysusersdir}"),
    ("/usr/lib/tmpfiles.d", "%{_tmpfilesdir}"),
    ("/usr/bin", "%{_bindir}"),
    ("/usr/sbin", "%{_sbindir}"),
    ("/usr/share", "%{_datadir}"),
    ("/etc", "%{_sysconfdir}"),
    ("/var/lib", "%{_sharedstatedir}"),
    ("/var", "%{_localstatedir}"),
)


def spec_path(path: str) -> str:
    """A manifest path in spec terms: its known prefix as the target's macro, the rest escaped."""
    if isinstance(path, Raw):
        return path
    for prefix, macro in PATH_MACROS:
        if path == prefix or path.startswith(prefix + "/"):
            return Raw(macro + spec_escape(path[len(prefix):]))
    return path


def shell_quote(value: object) -> str:
    """Shell-quote a word; generated spec text (Raw) stays spec text after quoting."""
    quoted = shlex.quote(str(value))
    return Raw(quoted) if isinstance(value, Raw) else quoted


@dataclass(frozen=True)
class RenderedPackage:
    name: str
    spec: Path
    sources_dir: Path
    generated: tuple[str, ...]  # files this stage wrote into sources_dir
    upstream_source: str | None  # the Source0 tarball the fetch stage must supply


@dataclass
class _SpecContext:
    """Everything the templates see about one package, computed once, in spec terms."""

    pkg: Package
    target: TargetProfile
    sources: list[SourceFile] = field(default_factory=list)
    installs: list[tuple[str, str, str]] = field(default_factory=list)  # (source ref, dest, mode)
    files: list[str] = field(default_factory=list)
    sysusers_source: str | None = None  # %{SOURCEn} of the sysusers.d file, when there are users
    license_source: str | None = None  # %{SOURCEn} of the project's licence text, when shipped
    docs: list[str] = field(default_factory=list)  # README files of the source tree, for %doc
    source_note: str | None = None  # how Source0 was made, when it is no upstream download


ENVIRONMENT_OPTIONS: dict[str, Any] = dict(keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True,
                           autoescape=False)


def template_environment(cache_dir: Path | None = None) -> jinja2.Environment:
    """The spec templates' environment; with `cache_dir`, compiled templates are kept there."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(SPECS_DIR)),
        undefined=jinja2.StrictUndefined,
        finalize=spec_escape,
        bytecode_cache=_bytecode_cache(cache_dir) if cache_dir else None,
        **ENVIRONMENT_OPTIONS,
    )
    env.filters["sh"] = shell_quote
    env.filters["path"] = spec_path
    return env


def _bytecode_cache(directory: Path) -> jinja2.BytecodeCache:
    """Compiled templates keyed by content: the sha256 of the template's text, of the options
    that shape the compiled code and of the Jinja version. An edited template, option or Jinja
    gets a new key, so a stale compile is never loaded (Jinja also checks its own magic)."""
    import jinja2

    fingerprint = hashlib.sha256(
        repr((jinja2.__version__, sorted(ENVIRONMENT_OPTIONS.items()), spec_escape.__name__))
        .encode()).hexdigest()

    class ContentKeyedCache(jinja2.FileSystemBytecodeCache):
        def get_bucket(self, environment: jinja2.Environment, name: str, filename: str | None,
                       source: str) -> jinja2.bccache.Bucket:
            key = hashlib.sha256(f"{fingerprint}\0{name}\0{source}".encode()).hexdigest()
            bucket = jinja2.bccache.Bucket(environment, key, key)
            self.load_bytecode(bucket)
            return bucket

    directory.mkdir(parents=True, exist_ok=True)
    return ContentKeyedCache(str(directory), "%s.jinja")


def render_all(manifest: Manifest, target: TargetProfile, build_root: Path,
               names: list[str] | None = None) -> dict[str, RenderedPackage]:
    env = template_environment(template_cache(build_root.parent))
    all_rpm_names = {n for p in manifest.packages.values() for n in [p.name, *(s.name for s in p.subpackages)]}
    dropped = unavailable_on(Graph(internal_dependencies(manifest)), target.unavailable)
    return {name: render_package(env, manifest, manifest.packages[name], target, build_root,
                                 all_rpm_names, set(dropped))
            for name in (names or list(manifest.packages)) if name not in dropped}


def render_package(env: jinja2.Environment, manifest: Manifest, package: Package,
                   target: TargetProfile, build_root: Path, internal: set[str],
                   not_on_target: AbstractSet[str] = frozenset()) -> RenderedPackage:
    layout = BuildLayout(build_root)
    specs_dir, sources_dir = layout.specs, layout.sources(package.name)
    specs_dir.mkdir(parents=True, exist_ok=True)
    sources_dir.mkdir(parents=True, exist_ok=True)
    package = for_target(package, target)
    own = in_manifest_repository(manifest, package)  # resolves paths: once per package
    generated = _write_generated_files(manifest, package, sources_dir, target, own)
    context = _context(manifest, package, target, generated, own)
    import jinja2

    try:
        template = env.get_template(f"{package.kind}.spec.j2")
        text = template.render(
            pkg=package, target=target, sources=context.sources, installs=context.installs,
            files=context.files, sysusers_source=context.sysusers_source,
            license_source=context.license_source, source_note=context.source_note,
            docs=context.docs,
            patches=[posixpath.basename(p) for p in package.patches],
            build_requires=_map_deps(build_requires(package, target), target, internal, package.name),
            requires=_requires(manifest, package, target, internal, not_on_target),
            provides=package.provides, conflicts=package.conflicts, obsoletes=package.obsoletes,
            systemd_requires=_map_deps(["systemd"], target, internal, package.name) if package.services else [],
            subpackages=[(sub, _map_deps(sub.requires, target, internal, package.name))
                         for sub in package.subpackages],
            units=[Raw(units.unit_file_name(s)) for s in package.services],
            tmpfiles=units.needs_tmpfiles(package),
            unpack_dir=unpack_dir(package) if package.source else None,
            changelog_date=_changelog_date(package.source_date_epoch),
            packager=manifest.defaults.packager,
            owned_dirs=owned_parent_dirs(package),
            subpackage_files={path for sub in package.subpackages for path in sub.files},
        )
    except jinja2.TemplateSyntaxError as exc:
        raise UserError(f"template syntax error: {exc.message}", "fix the template",
                        location=f"{exc.filename or exc.name}:{exc.lineno}") from None
    except jinja2.TemplateNotFound as exc:
        raise UserError(f"no template for kind '{package.kind}' ({exc.name})",
                        f"create {SPECS_DIR}/{exc.name}") from None
    except jinja2.UndefinedError as exc:
        raise UserError(f"template error while rendering {package.name}: {exc.message}",
                        f"check the templates in {SPECS_DIR}") from None
    spec = specs_dir / f"{package.name}.spec"
    _write_spec(spec, text)
    return RenderedPackage(package.name, spec, sources_dir, tuple(generated),
                           source_filename(package) if package.source else None)


def for_target(package: Package, target: TargetProfile) -> Package:
    """The package as it is built for `target`: target-specific config files filtered."""
    configs = [c for c in package.config_files if not c.targets or target.name in c.targets]
    return dataclasses.replace(package, config_files=configs)


def build_requires(package: Package, target: TargetProfile) -> list[str]:
    """What a clean build root needs besides rpm-build: the manifest's list plus the tools and
    macro packages the package's kind and contents use (abstract names, mapped per target)."""
    needs = list(package.build_requires)
    if package.kind == "python":
        needs += ["python3-devel"]
        if target.scriptlets == "suse":  # no %pyproject_buildrequires generator on openSUSE
            needs += ["python3-pip", "python3-setuptools"]
    if package.nodejs is not None:
        needs.append("nodejs")  # %build runs the JavaScript build with node
    if package.services or package.users or units.needs_tmpfiles(package):
        needs.append("systemd-rpm-macros")  # %_unitdir, %systemd_*, %sysusers_*, %tmpfiles_*
    return list(dict.fromkeys(needs))


def in_manifest_repository(manifest: Manifest, package: Package) -> bool:
    """Whether the package's source is the manifest's own (generated, or a directory of its
    repository) rather than an upstream's (a download, or a checkout given with --source)."""
    source = package.source
    if source is None:
        return False
    if source.generated is not None:
        return True
    root = manifest.resolved_root
    return source.path is not None and (root / source.path).resolve().is_relative_to(root)


def ships_project_license(manifest: Manifest, own: bool) -> bool:
    """Fuel's own packages (sources in this repository or generated) carry its licence text."""
    return own and (manifest.root / "LICENSE").is_file()


def _write_generated_files(manifest: Manifest, package: Package, sources_dir: Path,
                           target: TargetProfile, own: bool) -> list[str]:

    """Write units, sysusers, tmpfiles, logrotate, configs and patches; return their names."""
    files: dict[str, bytes] = {}
    if ships_project_license(manifest, own):
        files["LICENSE"] = (manifest.root / "LICENSE").read_bytes()
    for service in package.services:
        files[units.unit_file_name(service)] = units.render_unit(package, service).encode()
    if package.users:
        files[f"{package.name}.sysusers"] = units.render_sysusers(package).encode()
    if units.needs_tmpfiles(package):
        files[f"{package.name}.tmpfiles"] = units.render_tmpfiles(package).encode()
    if package.logrotate:
        files[f"{package.name}.logrotate"] = units.render_logrotate(package).encode()
    for index, config in enumerate(package.config_files):
        if config.content is not None:
            content = config.content.encode()
        else:
            assert config.source is not None, "load_manifest: exactly one of source and content"
            content = (manifest.root / config.source).read_bytes()
        files[_config_source_name(index, config.dest)] = content
    for index, item in enumerate(package.install):
        if item.content is not None:
            files[_install_source_name(index, item.dest)] = item.content.encode()
        elif item.generated == "backup-set":
            text = backupset.backup_set(manifest, target.name).to_json()
            files[_install_source_name(index, item.dest)] = text.encode()
    for patch in package.patches:
        files[posixpath.basename(patch)] = (manifest.root / patch).read_bytes()
    for name, content in files.items():
        _write_if_changed(sources_dir / name, content)
    upstream = {source_filename(package)} if package.source else set()
    if package.nodejs is not None:
        upstream.add(modules_filename(package))
    for stale in sources_dir.iterdir():
        if stale.name not in files and stale.name not in upstream:
            stale.unlink()
    return list(files)


def _config_source_name(index: int, dest: str) -> str:
    return f"config{index}-{posixpath.basename(dest)}"


def _install_source_name(index: int, dest: str) -> str:
    return f"install{index}-{posixpath.basename(dest)}"


def _context(manifest: Manifest, package: Package, target: TargetProfile,
             generated: list[str], own: bool) -> _SpecContext:
    context = _SpecContext(package, target)
    if package.source:
        context.sources.append(_source0(package, target))
        context.source_note = _source_note(package, own)
        context.docs = _readme_files(manifest, package, own)
    if package.nodejs is not None:
        context.sources.append(SourceFile(1, modules_filename(package)))
        note = ("Source1 is node_modules, `npm ci --ignore-scripts` from the lock file of "
                "Source0 with the patches applied (made by buildtool)")
        context.source_note = f"{context.source_note}; {note}" if context.source_note else note
    patches = {posixpath.basename(p) for p in package.patches}  # already PatchN: lines
    first = 2 if package.nodejs is not None else 1  # after Source0 and node_modules
    numbered = {name: SourceFile(i + first, name)
                for i, name in enumerate(n for n in generated if n not in patches)}
    context.sources += list(numbered.values())

    def add(name: str, dest: str, mode: str, prefix: str = "") -> None:
        context.installs.append((Raw(f"%{{SOURCE{numbered[name].number}}}"), dest, mode))
        context.files.append(Raw(prefix + spec_escape(spec_path(dest))) if prefix else spec_path(dest))

    if "LICENSE" in numbered:
        context.license_source = Raw(f"%{{SOURCE{numbered['LICENSE'].number}}}")
    for service in package.services:
        add(units.unit_file_name(service), f"/usr/lib/systemd/system/{units.unit_file_name(service)}",
            "0644")
    if package.users:
        add(f"{package.name}.sysusers", f"/usr/lib/sysusers.d/{package.name}.conf", "0644")
        context.sysusers_source = context.installs[-1][0]
    if units.needs_tmpfiles(package):
        add(f"{package.name}.tmpfiles", f"/usr/lib/tmpfiles.d/{package.name}.conf", "0644")
    if package.logrotate:
        add(f"{package.name}.logrotate", f"/etc/logrotate.d/{package.name}", "0644",
            "%config(noreplace) ")
    for index, item in enumerate(package.install):
        if item.content is not None or item.generated is not None:
            add(_install_source_name(index, item.dest), item.dest, item.mode,
                "%config(noreplace) " if item.config else "")
    for index, config in enumerate(package.config_files):
        marker = "%config(noreplace) " if config.noreplace else "%config "
        add(_config_source_name(index, config.dest), config.dest, config.mode,
            f"{marker}%attr({config.mode},{config.owner},{config.group}) ")
    return context


def _source0(package: Package, target: TargetProfile) -> SourceFile:
    """Source0 as the distribution writes it: the upstream URL where there is one to download."""
    source, filename = package.source, source_filename(package)
    assert source is not None, "_context: only packages with a source"
    if source.pypi and target.scriptlets != "suse":
        # python-srpm-macros' %pypi_source gives the sdist's URL on the package index
        version = source.version or package.version
        return SourceFile(0, filename, Raw(f"%{{pypi_source {spec_escape(source.pypi)} "
                                           f"{spec_escape(version)}}}"))
    if source.url:
        url = source.url if posixpath.basename(source.url) == filename else f"{source.url}#/{filename}"
        return SourceFile(0, filename, url)
    return SourceFile(0, filename)


def _readme_files(manifest: Manifest, package: Package, own: bool) -> list[str]:
    """The README files at the top of an in-repository source tree (upstream sdists are opened
    only at build time, so theirs are not known here)."""
    if not own or package.source is None or package.source.path is None:
        return []
    tree = manifest.root / package.source.path
    return sorted(p.name for p in tree.glob("README*") if p.is_file())


def _source_note(package: Package, own: bool) -> str | None:
    """How buildtool made Source0 when no upstream URL gives it (Fedora asks for the recipe)."""
    source = package.source
    assert source is not None, "_context: only packages with a source"
    if source.git:
        return f"Source0 is `git archive` of {source.git} at {source.ref} (made by buildtool)"
    if source.generated is not None:
        return f"Source0 holds files buildtool generates per target ({source.generated})"
    if source.path is not None and own:
        return f"Source0 is {source.path}/ of the manifest's repository (tarball made by buildtool)"
    if source.path is not None:
        return "Source0 is a local checkout given with --source (tarball made by buildtool)"
    return None


def owned_parent_dirs(package: Package) -> list[str]:
    """Directories the package must own so that erasing it leaves nothing unowned behind."""
    declared = {d.path for d in package.directories}
    dests = [c.dest for c in package.config_files] + [i.dest for i in package.install]
    owned: set[str] = set()
    for dest in dests:
        parent = posixpath.dirname(dest.rstrip("/"))
        while parent not in SYSTEM_DIRS and parent not in declared and parent != "/":
            owned.add(parent)
            parent = posixpath.dirname(parent)
    return sorted(owned)


def _map_deps(deps: list[str], target: TargetProfile, internal: set[str], owner: str) -> list[str]:
    mapped = []
    for dep in deps:
        match = DEP_RE.match(dep)
        assert match is not None, "load_manifest validated it"
        name, constraint = match.group(1), (match.group(2) or "")
        if name in internal:
            mapped.append(dep)
            continue
        if not target.knows_dependency(name):
            raise UserError(f"{owner}: dependency '{name}' has no mapping for target {target.name}",
                            f"add '{name}: <package>' under deps: in "
                            f"repo-config/targets/{target.name}.yaml")
        mapped += [f"{real}{constraint}" for real in target.map_dependency(name)]
    return list(dict.fromkeys(mapped))


def _requires(manifest: Manifest, package: Package, target: TargetProfile,
              internal: set[str], not_on_target: AbstractSet[str]) -> list[str]:
    requires = _map_deps(package.requires, target, internal, package.name)
    if package.requires_all_packages:
        others = [name for name in sorted(manifest.packages)
                  if name != package.name and name not in not_on_target]
        requires += [name for name in others if name not in requires]
    return requires


def _changelog_date(epoch: int | None) -> str:
    moment = datetime.datetime.fromtimestamp(epoch or 0, tz=datetime.timezone.utc)
    return moment.strftime("%a %b %d %Y")


CHANGELOG = "\n%changelog\n"


def _write_spec(spec: Path, text: str) -> None:
    """Write the rendered spec, unless the one there is this very text with the Release: and
    %changelog that the release stage decided (releases.apply_release): those stay, and that
    stage rewrites them only when its decision changes. A no-op run then writes no spec."""
    try:
        current = spec.read_text()
    except OSError:
        current = None
    if current is not None and _with_release_of(current, text) == current:
        return
    _write_if_changed(spec, text, current)


def _with_release_of(decided: str, text: str) -> str | None:
    """`text` with the Release: value and %changelog of the spec `decided`."""
    release = RELEASE_LINE_RE.search(decided)
    if release is None or CHANGELOG not in decided or CHANGELOG not in text:
        return None
    text = RELEASE_LINE_RE.sub(lambda m: f"Release:{m.group(1)}{release.group(2)}%{{?dist}}",
                               text, count=1)
    return text.split(CHANGELOG, 1)[0] + CHANGELOG + decided.split(CHANGELOG, 1)[1]


def _write_if_changed(path: Path, content: str | bytes, current: str | None = None) -> None:
    """Leave unchanged files untouched so their mtimes (and anything keyed on them) stay put."""
    data = content.encode() if isinstance(content, str) else content
    if current is not None and current.encode() == data:
        return
    if current is None and path.is_file() and path.read_bytes() == data:
        return
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


MACRO_LEFT_RE = re.compile(r"%(\{[?!]*[A-Za-z_]|[A-Za-z_]{2,}|\()")


def check_spec(spec: Path, target: TargetProfile) -> None:
    """`rpmspec -P` the spec with the target's macros; refuse errors and unexpanded macros."""
    rpmspec = shutil.which("rpmspec")
    if rpmspec is None:
        raise UserError("rpmspec is not installed", "install the rpm tools (make tools)")
    # the sources sit next to the spec (build/<t>/SOURCES/<name>): parse-time macros read them
    sources = BuildLayout.of_spec(spec).sources(spec.stem)
    result = runner.run([rpmspec, "-P", "--define", f"_sourcedir {sources}",
                             *target.rpm_args(), str(spec)], capture_output=True, text=True)
    if result.returncode != 0:
        raise UserError(f"{spec}: rpmspec -P failed for target {target.name}: "
                        f"{last_line(result.stderr)}", "fix the template or manifest")
    leftover = unexpanded_macros(result.stdout)
    if leftover:
        raise UserError(f"{spec}: unexpanded macro {leftover[0]!r} for target {target.name}",
                        f"define it in {target.macros_files[-1]} or fix the template")


def unexpanded_macros(parsed_spec: str) -> list[str]:
    """Macro-looking text left in a parsed spec, outside the free-text description sections."""
    leftover = []
    in_description = False
    for line in parsed_spec.splitlines():
        if line.startswith("%description") or line.startswith("%changelog"):
            in_description = True
            continue
        if re.match(r"^%(package|prep|build|install|check|pre|post|preun|postun|files|"
                    r"pretrans|posttrans)\b", line):
            in_description = False
        if in_description or line.startswith("Summary:"):
            continue
        body = line
        if re.match(r"^%[a-z]+\b", line):
            body = re.sub(r"^%[a-z]+", "", line)  # the section keyword itself
        body = re.sub(r"^%(config|attr|dir|ghost|doc|license)\b[^ ]*( |$)", "", body)
        body = re.sub(r"%(config|attr|dir|ghost)(\([^)]*\))? ", "", body)
        leftover += MACRO_LEFT_RE.findall(body)
    return leftover


def spec_digest(rendered: RenderedPackage) -> str:
    """Digest of the rendered spec and every generated source (the fetched tarball is separate)."""
    digest = hashlib.sha256(rendered.spec.read_bytes())
    for name in sorted(rendered.generated):
        digest.update(name.encode() + b"\0" + (rendered.sources_dir / name).read_bytes())
    return digest.hexdigest()
