"""Build backends: turn one SRPM into binary RPMs for one target. See base.Backend."""

from __future__ import annotations

import shutil
import sys

from ..errors import UserError
from ..sandbox import Sandbox
from .base import Backend, BuildRequest, BuildResult
from .mock import MockBackend
from .rpmbuild import RpmbuildBackend

BACKENDS = {"mock": MockBackend, "rpmbuild": RpmbuildBackend}


def select_backend(name: str, *, warn=lambda message: print(message, file=sys.stderr),
                   sandbox: Sandbox | None = None) -> Backend:
    """`auto` picks mock where it is installed, else host rpmbuild with a one-line warning.

    `sandbox` confines host rpmbuild builds (and the SRPM step); mock confines its builds
    itself (chroot, no network, unprivileged mockbuild user)."""
    if name == "auto":
        if shutil.which("mock"):
            name = "mock"
        else:
            warn("buildtool: warning: mock not found; building with host rpmbuild "
                 "(not a clean-room build)")
            name = "rpmbuild"
    if name not in BACKENDS:
        raise UserError(f"unknown backend '{name}'", "use auto, mock or rpmbuild")
    backend = BACKENDS[name]()
    backend.check_available()
    backend.sandbox = sandbox
    return backend


__all__ = ["Backend", "BuildRequest", "BuildResult", "select_backend", "BACKENDS"]
