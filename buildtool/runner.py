"""The one door to external programs: every rpmbuild, createrepo_c, rpmsign, gpg, git, dnf,
bwrap, ... call goes through here, with one environment policy.

Policy: argument lists only (never a shell string); the environment is the caller's explicit
`env` or, by default, this process's own (from which the passphrase variable was already
removed) with a fixed C locale, so that the tools' messages, which we parse, are the same
everywhere. The build sandbox (sandbox.py) wraps the argument list before it reaches this door.
"""

from __future__ import annotations

import os
import subprocess
from typing import Any, Literal, overload

FIXED_LOCALE = {"LC_ALL": "C.UTF-8", "LANGUAGE": ""}


def environment(env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment a tool runs with: `env` as given, else ours with a fixed locale."""
    return dict(env) if env is not None else {**os.environ, **FIXED_LOCALE}


# text=True gives str output, else bytes: the overloads let mypy tell them apart.
@overload
def run(args: list[str], *, text: Literal[True], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    ...


@overload
def run(args: list[str], *, text: Literal[False] = False,
        **kwargs: Any) -> subprocess.CompletedProcess[bytes]:
    ...


def run(args: list[str], **kwargs: Any) -> subprocess.CompletedProcess[Any]:
    """subprocess.run with the policy; the same keyword arguments."""
    _refuse_shell(args, kwargs)
    kwargs["env"] = environment(kwargs.get("env"))
    return subprocess.run(args, **kwargs)  # noqa: S603 - argument list, policy applied


def popen(args: list[str], **kwargs: Any) -> subprocess.Popen[Any]:
    """subprocess.Popen with the policy, for the few callers that stream."""
    _refuse_shell(args, kwargs)
    kwargs["env"] = environment(kwargs.get("env"))
    return subprocess.Popen(args, **kwargs)  # noqa: S603


def _refuse_shell(args: list[str], kwargs: dict[str, Any]) -> None:
    if kwargs.get("shell") or isinstance(args, str):
        raise ValueError("buildtool runs programs from argument lists only, never a shell")
