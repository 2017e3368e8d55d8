"""Every path buildtool writes under build/ and dist/, in one place.

    build/<target>/                 one target's build (BuildLayout)
        SPECS/<name>.spec           rendered specs
        SOURCES/<name>/             generated files and the fetched source of each package
        generated/<name>/           sources buildtool writes itself (fuel-release's files)
        SRPMS/  rpms/<name>/  logs/<name>.log
        state/<name>.json           build key and outputs; state/releases.json: releases decided
        localrepo/  mock/           this run's RPMs for internal BuildRequires; mock's config
        gate/                       the publish gate's closure check
    build/rpmlint/<target>/         verify's assembled rpmlint configuration
    build/verify/<target>/          verify's stand-in repositories and install root
    build/verify-next/<target>/     the next release verify upgrades to: its own build/ and dist/
    dist/repos/<target>/            the published repository (format: publish.py)
        snapshots/<id>/  current -> snapshots/<id>  history.json (releases published so far)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .locations import work_root

RELEASE_HISTORY = "history.json"


def default_build_dir() -> Path:
    return work_root() / "build"


def default_dist_dir() -> Path:
    return work_root() / "dist"


@dataclass
class BuildLayout:
    """Where one target's build inputs and outputs live under build/<target>/."""

    root: Path

    @classmethod
    def of_spec(cls, spec: Path) -> BuildLayout:
        """The layout a rendered spec (build/<target>/SPECS/<name>.spec) belongs to."""
        return cls(spec.parent.parent)

    @property
    def specs(self) -> Path:
        return self.root / "SPECS"

    def sources(self, name: str) -> Path:
        return self.root / "SOURCES" / name

    def generated(self, name: str) -> Path:
        return self.root / "generated" / name

    def rpms(self, name: str) -> Path:
        return Path(self.rpms_dir(name))

    def rpms_dir(self, name: str) -> str:
        """rpms(name) as text: a no-op publish asks for a thousand of them."""
        return f"{self.root}/rpms/{name}"

    def log(self, name: str) -> Path:
        return self.root / "logs" / f"{name}.log"

    def state(self, name: str) -> Path:
        return Path(self.state_file(name))

    def state_file(self, name: str) -> str:
        """state(name) as text, likewise."""
        return f"{self.root}/state/{name}.json"

    @property
    def releases_state(self) -> Path:
        return self.root / "state" / "releases.json"

    @property
    def srpms(self) -> Path:
        return self.root / "SRPMS"

    @property
    def local_repo(self) -> Path:
        return self.root / "localrepo"

    @property
    def gate(self) -> Path:
        return self.root / "gate"

    @property
    def mock(self) -> Path:
        return self.root / "mock"


def target_build(build_dir: Path, target: str) -> BuildLayout:
    return BuildLayout(build_dir / target)


def template_cache(build_dir: Path) -> Path:
    """Compiled spec templates, keyed by their content (render.py): shared by every target."""
    return build_dir / "cache" / "templates"


def parsed_inputs(build_dir: Path) -> Path:
    """Validated manifests, target profiles and repository configuration kept between runs,
    keyed by their inputs (validated.py)."""
    return build_dir / "cache" / "parsed"


def rpmlint_config_dir(build_dir: Path, target: str) -> Path:
    return build_dir / "rpmlint" / target


def verify_work(build_dir: Path, target: str) -> Path:
    return build_dir / "verify" / target


def next_release_work(build_dir: Path, target: str) -> tuple[Path, Path]:
    """The build and dist directories of the next release verify's upgrade test builds."""
    work = build_dir / "verify-next" / target
    return work / "build", work / "dist"


def published_repos(dist_dir: Path) -> Path:
    """What the .repo files' base URL points at by default: every target's repository."""
    return dist_dir / "repos"


def repo_dir(dist_dir: Path, target: str) -> Path:
    return published_repos(dist_dir) / target


def snapshots_dir(repo: Path) -> Path:
    return repo / "snapshots"


def current_link(repo: Path) -> Path:
    """The symlink to the current snapshot: what clients' baseurl points at."""
    return repo / "current"


def release_history(dist_dir: Path, target: str) -> Path:
    return repo_dir(dist_dir, target) / RELEASE_HISTORY
