"""The one interface every build backend implements."""

from __future__ import annotations

import shutil
import subprocess
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

from .. import runner
from ..errors import ToolMissing
from ..sandbox import Sandbox
from ..targets import TargetProfile
from ..tooloutput import is_noise


@dataclass(frozen=True)
class BuildRequest:
    name: str  # the manifest package
    srpm: Path | None  # None for a backend that makes it itself (makes_srpm)
    spec: Path
    sources_dir: Path
    target: TargetProfile
    result_dir: Path  # where the binary RPMs must end up
    log: Path
    source_date_epoch: int
    local_repo: Path | None  # RPMs built earlier in this run, for internal BuildRequires


@dataclass(frozen=True)
class BuildResult:
    ok: bool
    rpms: tuple[Path, ...]
    log: Path
    srpm: Path | None = None  # made by the build itself (makes_srpm), in result_dir


class Backend(ABC):
    name: str = ""
    clean_room: bool = False
    makes_srpm: bool = False  # True: build() makes the SRPM with the RPMs; no SRPM step before
    required_tools: tuple[str, ...] = ()
    # Where package code runs; None only when the run passed --no-sandbox (see sandbox.create).
    sandbox: Sandbox | None = None

    def check_available(self) -> None:
        for tool in self.required_tools:
            if shutil.which(tool) is None:
                raise ToolMissing(f"{tool} is not installed (needed by the {self.name} backend)",
                                  "run 'make tools' or install it with your package manager")

    @abstractmethod
    def build(self, request: BuildRequest) -> BuildResult:
        """Build the SRPM into binary RPMs in request.result_dir, writing request.log."""

    def prepare_run(self, target: TargetProfile, build_root: Path, local_repo: Path) -> None:
        """Called once per run before any build (e.g. to write configuration)."""

    def package_built(self, local_repo: Path) -> None:
        """Called after each successful build, before dependents start."""


def run_logged(args: list[str], log: Path, env: dict[str, str], cwd: Path | None = None) -> int:
    """Run a command with its output appended to `log`, dropping the host's rpm noise."""
    log.parent.mkdir(parents=True, exist_ok=True)
    process = runner.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                             cwd=cwd, text=True, errors="replace")
    with log.open("a") as handle:
        handle.write("$ " + " ".join(args) + "\n")
        for line in process.stdout.splitlines(keepends=True):
            if not is_noise(line):
                handle.write(line)
        handle.write(f"[exit status {process.returncode}]\n")
    return process.returncode
