"""dnf and rpm pointed at one root and a fixed set of local repositories, nothing from the host."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from ..tooloutput import clean_lines
from .tools import require_tool, run

DNF_CONF = """\
[main]
gpgcheck=0
reposdir=
install_weak_deps=0
clean_requirements_on_remove=0
keepcache=0
skip_if_unavailable=0
"""


@dataclass(frozen=True)
class DnfRoot:
    root: Path  # the installroot (an empty directory is fine for queries)
    work: Path  # where the private dnf.conf lives
    repos: dict[str, Path]  # repo id -> directory with repodata/

    def config(self) -> Path:
        path = self.work / "dnf.conf"
        if not path.is_file():
            self.work.mkdir(parents=True, exist_ok=True)
            path.write_text(DNF_CONF)
        return path

    def dnf_args(self, *args: str) -> list[str]:
        dnf = require_tool("dnf", "dnf")
        base = [dnf, "-y", "--config", str(self.config()), "--installroot", str(self.root),
                "--releasever", "buildtool", f"--setopt=cachedir={self.work / 'dnf-cache'}",
                "--disableplugin=local"]
        for repo_id, directory in self.repos.items():
            base.append(f"--repofrompath={repo_id},{directory.resolve()}")
            base.append(f"--setopt={repo_id}.gpgcheck=0")
        return [*base, *args]

    def dnf(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run(self.dnf_args(*args))

    def rpm(self, *args: str) -> subprocess.CompletedProcess[str]:
        # No --dbpath: dnf and rpm on this host agree on rpm's own default inside the root.
        return run([require_tool("rpm", "rpm"), "--root", str(self.root), *args])

    def installed(self) -> dict[str, str]:
        """name -> version-release of every package in the root's rpm database."""
        result = self.rpm("-qa", "--qf", "%{NAME} %{VERSION}-%{RELEASE}\\n")
        pairs = [line.split() for line in clean_lines(result.stdout)]
        return {pair[0]: pair[1] for pair in pairs if len(pair) == 2}


def error_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    """The lines of a dnf/rpm run worth showing: errors, problems and scriptlet failures."""
    keys = ("error", "problem", "nothing provides", "scriptlet", "failed", "conflict", "warning:")
    return [line.strip() for line in clean_lines(result.stdout + "\n" + result.stderr)
            if any(key in line.lower() for key in keys)]
