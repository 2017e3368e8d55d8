"""Target distributions: dist tag, macros, Python version and dependency names per target."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from .errors import UserError
from .schema import build


@dataclass(frozen=True)
class MockSettings:
    base_config: str  # a config shipped with mock, e.g. centos-stream+epel-9-x86_64
    extra_packages: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class CoprSettings:
    """How a Copr build farm builds this target (--backend copr)."""

    chroot: str  # Copr's name for the distribution, e.g. epel-9-x86_64
    # baseurls the chroot's buildroot adds (--create-project writes them into the project)
    external_repos: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ExtraRepository:
    """A third-party repository no release package of the distribution enables (e.g. OpenVox):
    fuel-release writes it into the target's .repo file."""

    id: str
    name: str
    baseurl: str
    gpgkey: str
    provides: list[str] = field(default_factory=list)  # the packages Fuel takes from it


@dataclass(frozen=True)
class TargetProfile:
    description: str
    dist: str  # the %{dist} tag, e.g. .el9
    python_version: str  # the target's python3, e.g. "3.9": sets sitelib and python(abi)
    scriptlets: Literal["redhat", "suse"]  # which systemd scriptlet macros the distro uses
    mock: MockSettings
    python_package_prefix: str = "python3"  # python3-X on Fedora/EL, python313-X on Leap 16
    defines: dict[str, str] = field(default_factory=dict)  # e.g. rhel: "9"
    deps: dict[str, list[str]] = field(default_factory=dict)  # abstract name -> distro names
    # abstract dependency or manifest package -> why no repository of this target has it
    unavailable: dict[str, str] = field(default_factory=dict)
    repositories: list[ExtraRepository] = field(default_factory=list)
    # repository name -> URL, for scripts/refresh-distro-data (dnf repoquery on live mirrors)
    mirrors: dict[str, str] = field(default_factory=dict)
    copr: CoprSettings | None = None
    name: str = ""
    macros_files: tuple[Path, ...] = ()

    def rpm_defines(self) -> dict[str, str]:
        """Macros to define on top of the macros file, for rpmbuild and rpmspec alike."""
        python_version = self.python_version
        return {
            "dist": self.dist,
            # where host-build helpers named by the macros files live (repo-config/)
            "_buildtool_configdir": str(self.macros_files[0].parent) if self.macros_files else "",
            **self.defines,
            "python3_version": python_version,
            "python3_version_nodots": python_version.replace(".", ""),
            "python3_sitelib": f"/usr/lib/python{python_version}/site-packages",
            "python3_sitearch": f"/usr/lib64/python{python_version}/site-packages",
        }

    def rpm_args(self) -> list[str]:
        """Command-line arguments that make rpmbuild/rpmspec on this host behave like the target."""
        args = [arg for path in self.macros_files for arg in ("--load", str(path))]
        for key, value in self.rpm_defines().items():
            args += ["--define", f"{key} {value}"]
        return args

    def map_dependency(self, name: str) -> list[str]:
        return [] if name in self.unavailable else self.deps[name]

    def knows_dependency(self, name: str) -> bool:
        return name in self.deps or name in self.unavailable

    def distro_data_file(self, repo_root: Path) -> Path:
        return repo_root / "repo-config" / "distro-data" / f"{self.name}.tsv"


def targets_dir(repo_root: Path) -> Path:
    return repo_root / "repo-config" / "targets"


def available_targets(repo_root: Path) -> list[str]:
    return sorted(p.stem for p in targets_dir(repo_root).glob("*.yaml"))


def load_all_targets(repo_root: Path, cache_dir: Path | None = None) -> dict[str, TargetProfile]:
    """Every target profile by name; with `cache_dir`, kept parsed while their files are
    unchanged (validated.py)."""
    from . import validated

    names = available_targets(repo_root)

    def load_all() -> tuple[dict[str, TargetProfile], validated.References]:
        profiles = {name: load_target(repo_root, name) for name in names}
        return profiles, tuple((str(path), False) for profile in profiles.values()
                               for path in profile.macros_files)
    return validated.kept(cache_dir, "targets", str(repo_root),
                          [targets_dir(repo_root) / f"{name}.yaml" for name in names],
                          repr(names), load_all)


def load_target(repo_root: Path, name: str) -> TargetProfile:
    from .yamlpos import load_yaml  # here: kept profiles need no YAML parser

    directory = targets_dir(repo_root)
    path = directory / f"{name}.yaml"
    if not path.is_file():
        raise UserError(f"unknown target '{name}'",
                        f"known targets: {', '.join(available_targets(repo_root)) or 'none'}")
    data, positions = load_yaml(path)
    if isinstance(data, dict) and isinstance(data.get("deps"), dict):
        # a dependency maps to one name, several names, or nothing (null: the distro base has it)
        data = dict(data, deps={key: ([] if value is None else [value] if isinstance(value, str)
                                      else value) for key, value in data["deps"].items()})
    profile = build(TargetProfile, data, (), positions)
    twice = sorted(set(profile.deps) & set(profile.unavailable))
    if twice:
        raise UserError(f"{path}: '{twice[0]}' is both mapped under deps: and listed as unavailable:",
                        "keep one: a package name under deps: or the reason under unavailable:")
    macros = directory / f"{name}.macros"
    if not macros.is_file():
        raise UserError(f"target '{name}' has no macros file", f"create {macros}")
    common = directory.parent / "macros.common"
    return dataclasses.replace(profile, name=name, macros_files=(common, macros))
