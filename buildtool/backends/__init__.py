"""Build backends: turn one SRPM into binary RPMs for one target. See base.Backend."""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Callable
from typing import Any

from ..errors import UserError
from ..sandbox import Sandbox
from .base import Backend, BuildRequest, BuildResult
from .mock import MockBackend
from .rpmbuild import RpmbuildBackend

BACKENDS = {"mock": MockBackend, "rpmbuild": RpmbuildBackend}


def select_backend(name: str, *,
                   warn: Callable[[str], None] = lambda message: print(message, file=sys.stderr),
                   sandbox: Sandbox | None = None, farm: dict[str, Any] | None = None) -> Backend:
    """`auto` picks mock where it is installed, else host rpmbuild with a one-line warning.
    `farm`: the build farms' options by backend name (see farm_options).

    `sandbox` confines host rpmbuild builds (and the SRPM step); mock confines its builds
    itself (chroot, no network, unprivileged mockbuild user), a farm on its own machines."""
    if name in ("copr", "koji"):
        # imported on use: their client libraries are optional
        if name == "copr":
            from .copr import CoprBackend, CoprOptions
            backend: Backend = CoprBackend((farm or {}).get(name) or CoprOptions(), say=warn)
        else:
            from .koji import KojiBackend, KojiOptions
            backend = KojiBackend((farm or {}).get(name) or KojiOptions(), say=warn)
        backend.check_available()
        return backend
    if name == "auto":
        if shutil.which("mock"):
            name = "mock"
        else:
            warn("buildtool: warning: mock not found; building with host rpmbuild "
                 "(not a clean-room build)")
            name = "rpmbuild"
    if name not in BACKENDS:
        raise UserError(f"unknown backend '{name}'", "use auto, mock, rpmbuild, copr or koji")
    backend = BACKENDS[name]()
    backend.check_available()
    backend.sandbox = sandbox
    return backend


__all__ = ["Backend", "BuildRequest", "BuildResult", "select_backend", "BACKENDS",
           "farm_options"]


def farm_options(args: argparse.Namespace) -> dict[str, Any]:
    """The build farms' options by backend name, from the command line (cli.add_farm_options)."""
    from .copr import CoprOptions
    from .koji import KojiOptions

    poll = max(0.0, args.poll)
    return {"copr": CoprOptions(project=args.copr_project, config=args.copr_config,
                                create_project=args.create_project,
                                download=not args.no_download, poll_seconds=poll),
            "koji": KojiOptions(profile=args.koji_profile, config=args.koji_config,
                                target=args.koji_target, poll_seconds=poll)}
