"""Private directories for signing secrets, and the gpg-agents that live on them.

A private directory is 0700 under the temporary directory, named buildtool-sign-*, and locked
(flock) by its owner for its whole life: a directory whose lock is free belongs to a process that
is gone, whatever process now has its pid. Every run sweeps such leftovers of a SIGKILL away,
their gpg-agent included.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import socket
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from . import runner

PREFIX = "buildtool-sign-"
FRESH = ".new-"  # a directory not yet locked: invisible to the sweep until renamed
AGENT_STOP_SECONDS = 2.0


@contextmanager
def private_directory() -> Iterator[Path]:
    """A new locked 0700 directory, removed (with any gpg-agent of its gnupg/) on the way out."""
    sweep_stale()
    root = Path(tempfile.gettempdir())
    fresh = Path(tempfile.mkdtemp(prefix=f"{FRESH}{PREFIX}", dir=root))  # mkdtemp: mode 0700
    lock = os.open(fresh, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        path = root / fresh.name.removeprefix(FRESH)
        fresh.rename(path)  # the lock follows the inode
        try:
            yield path
        finally:
            remove(path)
    finally:
        os.close(lock)


def gnupghome(private: Path) -> Path:
    return private / "gnupg"


def remove(private: Path) -> None:
    stop_agent(gnupghome(private))
    shutil.rmtree(private, ignore_errors=True)


def sweep_stale(root: Path | None = None) -> list[Path]:
    """Remove the private directories (and agents) of signing processes that were killed."""
    removed = []
    for path in sorted((root or Path(tempfile.gettempdir())).glob(f"{PREFIX}*")):
        try:
            lock = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        except OSError:
            continue
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            remove(path)
            removed.append(path)
        except BlockingIOError:
            pass  # its owner is alive
        finally:
            os.close(lock)
    return removed


def stop_agent(home: Path) -> None:
    """Stop the gpg-agent of `home` and wait until it is gone (ENVIRONMENT pitfall 9)."""
    if home.is_dir():
        for action in ("--kill", "--remove-socketdir"):
            args = ["gpgconf", "--homedir", str(home), action]
            runner.run(args + (["gpg-agent"] if action == "--kill" else []),
                           capture_output=True)
    deadline = time.monotonic() + AGENT_STOP_SECONDS
    while (pids := agents_of(home)) and time.monotonic() < deadline:
        for pid in pids:  # e.g. the home is already gone, so gpgconf cannot reach its socket
            _signal(pid, signal.SIGTERM)
        time.sleep(0.05)


def agents_of(home: Path) -> list[int]:
    """Pids of the gpg-agents started for `home` (they carry --homedir HOME on their command line)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"gpg-agent") and _homedir_of(argv) == str(home).encode():
            pids.append(int(entry.name))
    return pids


def agent_running(home: Path) -> bool:
    """Is a gpg-agent answering on `home`'s socket? (Connecting starts nothing.)"""
    result = runner.run(["gpgconf", "--homedir", str(home), "--list-dirs", "agent-socket"],
                            capture_output=True, text=True)
    path = result.stdout.strip()
    if result.returncode != 0 or not path:
        return False
    with socket.socket(socket.AF_UNIX) as client:
        try:
            client.connect(path)
        except OSError:
            return False
    return True


def _homedir_of(argv: list[bytes]) -> bytes | None:
    for flag, value in zip(argv, argv[1:], strict=False):
        if flag == b"--homedir":
            return value
    return None


def _signal(pid: int, number: int) -> None:
    try:
        os.kill(pid, number)
    except ProcessLookupError:
        pass
