"""Throwaway roots with a real shell for install tests: a debootstrap minbase root, built once.

rpm runs scriptlets with the root's /bin/sh (chrooted), so an empty directory cannot run them. A
Debian minbase root has sh, getent, useradd and groupadd: enough for real %pre/%post scriptlets.
The pristine root is cached (under the buildtool cache directory) and copied for every run.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
from pathlib import Path

from ..errors import StageFailed
from ..locations import default_cache_dir
from .tools import require_tool, run

ROOT_LAYOUT_VERSION = "1"  # bump when the way a root is prepared changes
APT_SOURCES = Path("/etc/apt/sources.list")
APT_SOURCES_DIR = Path("/etc/apt/sources.list.d")
HOST_UNIT_DIR = Path("/lib/systemd/system")
# Standard units of a systemd base (sysinit.target, basic.target, ...): a root needs them for
# `systemd-analyze verify --root`; minbase has no systemd, the target distributions all do.
BASE_UNIT_GLOBS = ("*.target", "*.slice", "*.socket")


def host_codename() -> str:
    text = Path("/etc/os-release").read_text() if Path("/etc/os-release").is_file() else ""
    match = re.search(r"^VERSION_CODENAME=\"?([a-z]+)", text, re.MULTILINE)
    return match.group(1) if match else "stable"


def host_mirror(suite: str) -> str | None:
    """The Debian mirror this machine's apt uses for `suite` (None: debootstrap's default)."""
    for path in [APT_SOURCES, *sorted(APT_SOURCES_DIR.glob("*.sources"))]:
        if not path.is_file():
            continue
        text = path.read_text()
        if path.suffix == ".sources":
            for stanza in re.split(r"\n\s*\n", text):
                fields: dict[str, str] = dict(re.findall(r"^([A-Za-z-]+):\s*(.+)$", stanza,
                                                         re.MULTILINE))
                if "deb" in fields.get("Types", "").split() and suite in fields.get("Suites", "").split():
                    return fields["URIs"].split()[0]
        else:
            for line in text.splitlines():
                words = line.split("#")[0].split()
                urls = [w for w in words[1:] if "://" in w]
                if words[:1] == ["deb"] and urls and suite in words:
                    return urls[0]
    return None


def pristine_root(cache_dir: Path | None = None) -> Path:
    """The cached minbase root, created on first use (about 45 s), shared by later runs."""
    suite = host_codename()
    base = (cache_dir or default_cache_dir()) / "verify-root"
    root = base / f"{suite}-minbase-v{ROOT_LAYOUT_VERSION}"
    if (root / "bin" / "sh").exists():
        return root
    base.mkdir(parents=True, exist_ok=True)
    with open(base / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a concurrent first run waits instead of bootstrapping too
        if not (root / "bin" / "sh").exists():
            _bootstrap(root, suite)
    return root


def _bootstrap(root: Path, suite: str) -> None:
    debootstrap = require_tool("debootstrap", "debootstrap")
    staging = root.with_name(f".tmp-{root.name}-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    mirror = host_mirror(suite)
    result = run([debootstrap, "--variant=minbase", suite, str(staging), *([mirror] if mirror else [])])
    if result.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        tail = " ".join(result.stdout.strip().splitlines()[-2:] + result.stderr.strip().splitlines()[-2:])
        raise StageFailed(f"debootstrap of the {suite} test root failed: {tail}",
                          "the install test needs a Debian mirror (see /etc/apt/sources.list*)")
    _add_base_units(staging)
    staging.rename(root)


def _add_base_units(root: Path) -> None:
    unit_dir = root / "usr" / "lib" / "systemd" / "system"
    unit_dir.mkdir(parents=True, exist_ok=True)
    for pattern in BASE_UNIT_GLOBS:
        for unit in HOST_UNIT_DIR.glob(pattern):
            if unit.is_file() and not (unit_dir / unit.name).exists():
                shutil.copy2(unit, unit_dir / unit.name)


def fresh_root(destination: Path, cache_dir: Path | None = None) -> Path:
    """A private copy of the pristine root at `destination` (under a second)."""
    source = pristine_root(cache_dir)
    if destination.exists():
        shutil.rmtree(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    result = run(["cp", "-a", "--reflink=auto", str(source), str(destination)])
    if result.returncode != 0:
        raise StageFailed(f"copying the test root to {destination} failed: {result.stderr.strip()}")
    return destination
