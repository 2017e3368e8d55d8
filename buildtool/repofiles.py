"""Client-side repository files from repo-config/repos/: the .repo file per target, the comps
group, /etc/fuel_release, and the set of files the fuel-release package ships."""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import UserError
from .layout import published_repos
from .schema import build
from .targets import TargetProfile

RELEASE_FILE = "fuel_release"
REPO_TEMPLATE = "fuel.repo.j2"
INSTALLED_KEY_DIR = "/etc/pki/rpm-gpg"
UNSIGNED_KEY_TEXT = "# This repository is published unsigned (local work): there is no key.\n"


@dataclass(frozen=True)
class Group:
    id: str
    name: str
    description: str
    packages: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RepoConfig:
    repo_id: str
    name: str
    release: str
    group: Group
    key_name: str = "RPM-GPG-KEY-fuel"
    base_url: str | None = None
    directory: Path = Path()  # repo-config/repos, where the templates live

    @property
    def repo_file_name(self) -> str:
        return f"{self.repo_id}.repo"


def repos_dir(config_root: Path) -> Path:
    return config_root / "repo-config" / "repos"


def load_repo_config(config_root: Path, cache_dir: Path | None = None) -> RepoConfig:
    """repo-config/repos/repo.yaml; with `cache_dir`, kept parsed while it is unchanged."""
    from . import validated

    path = repos_dir(config_root) / "repo.yaml"
    if not path.is_file():
        raise UserError(f"{path} is missing", "restore repo-config/repos/ from the repository")

    def parse() -> tuple[RepoConfig, validated.References]:
        from .yamlpos import load_yaml  # here: a kept configuration needs no YAML parser

        data, positions = load_yaml(path)
        config = build(RepoConfig, data, (), positions)
        return dataclasses.replace(config, directory=path.parent), ()
    return validated.kept(cache_dir, "repo-config", str(path), [path], "", parse)


def base_url_for(config: RepoConfig, dist_dir: Path, override: str | None = None) -> str:
    """Where dist/repos/ is reachable: the --base-url, else the config's, else a local file URL."""
    url = override or config.base_url or published_repos(dist_dir.resolve()).as_uri()
    return url.rstrip("/")


def repo_file_text(config: RepoConfig, target: TargetProfile, base_url: str, signed: bool,
                   gpgkey: str | None = None) -> str:
    """The .repo section for `target`; gpgkey defaults to the key published in the repository."""
    baseurl = f"{base_url}/{target.name}/current"
    return _render(config.directory, REPO_TEMPLATE, config=config, target=target, baseurl=baseurl,
                   signed=signed, gpgkey=gpgkey or f"{baseurl}/{config.key_name}")


def repo_file_identity(config: RepoConfig, target: TargetProfile, base_url: str) -> str:
    """A digest of everything repo_file_text renders from, without rendering (or importing
    Jinja): a publish that changes nothing else compares this to decide it is a no-op."""
    template = config.directory / REPO_TEMPLATE
    try:
        text = template.read_bytes()
    except OSError:
        raise UserError(f"{template} is missing",
                        "restore repo-config/repos/ from the repository") from None
    return hashlib.sha256(text + repr((config, target, base_url)).encode()).hexdigest()


def comps_xml(config: RepoConfig, available: set[str]) -> str:
    """The comps group, listing only the group's packages that the repository carries."""
    packages = [name for name in config.group.packages if name in available]
    return _render(config.directory, "comps.xml.j2", group=config.group, packages=packages)


def release_text(config: RepoConfig) -> str:
    return f"{config.release}\n"


def write_release_files(out: Path, config: RepoConfig, target: TargetProfile, base_url: str,
                        public_key: str | None) -> list[Path]:
    """The fuel-release package's sources: <repo_id>.repo (gpgkey is the installed key file),
    the public key, and fuel_release. Unsigned: gpgcheck=0 and a key file that says so."""
    out.mkdir(parents=True, exist_ok=True)
    installed_key = f"file://{INSTALLED_KEY_DIR}/{config.key_name}"
    contents = {
        config.repo_file_name: repo_file_text(config, target, base_url, public_key is not None,
                                              gpgkey=installed_key),
        config.key_name: public_key or UNSIGNED_KEY_TEXT,
        RELEASE_FILE: release_text(config),
    }
    written = []
    for name, text in contents.items():
        path = out / name
        if not path.is_file() or path.read_text() != text:  # unchanged files keep their mtime
            path.write_text(text)
        written.append(path)
    return written


def _render(directory: Path, template: str, **context: Any) -> str:
    import jinja2  # here: commands that write no repository files do not pay for it

    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(str(directory)),
                                     undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    try:
        return environment.get_template(template).render(**context)
    except jinja2.TemplateNotFound:
        raise UserError(f"{directory / template} is missing",
                        "restore repo-config/repos/ from the repository") from None
