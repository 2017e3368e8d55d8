"""Where buildtool finds its data (specs/, repo-config/) and where it works by default.

In a source checkout both are the checkout itself. An installed buildtool carries specs/ and
repo-config/ as package data (buildtool/_data/, see pyproject.toml) and works in the current
directory: fuel.yaml, build/ and dist/ there unless the options say otherwise.
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
CHECKOUT = PACKAGE_DIR.parent
INSTALLED_DATA = PACKAGE_DIR / "_data"


def is_checkout() -> bool:
    return all((CHECKOUT / name).exists() for name in ("pyproject.toml", "specs", "repo-config"))


def data_root() -> Path:
    """The directory holding specs/ and repo-config/ (what --config-dir defaults to)."""
    return CHECKOUT if is_checkout() else INSTALLED_DATA


def work_root() -> Path:
    """Where fuel.yaml, build/ and dist/ are by default."""
    return CHECKOUT if is_checkout() else Path.cwd()


def default_cache_dir() -> Path:
    """The lookaside cache of downloaded sources (and verify's install roots)."""
    if os.environ.get("BUILDTOOL_CACHE"):
        return Path(os.environ["BUILDTOOL_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "buildtool"
