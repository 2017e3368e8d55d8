"""Finding and running the external programs the checks need."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from .. import runner
from ..errors import ToolMissing


def require_tool(program: str, package: str) -> str:
    path = shutil.which(program)
    if path is None:
        raise ToolMissing(f"{program} is not installed", f"run 'make tools' (package {package})")
    return path


def run(args: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run a program, capture its text output, never raise on a non-zero status."""
    return runner.run(args, capture_output=True, text=True, cwd=cwd,
                          env={"LC_ALL": "C.UTF-8", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})

