"""The build sandbox: package code runs inside bubblewrap, never on the host as it is.

Inside: its own network namespace (no network unless the step is a download), a read-only view
of the host's /usr and /etc only (no $HOME, no /root, no /var, no /run, no project tree, no
lookaside cache, no signing keys), private /tmp and /var/tmp, and only the package's own build
tree writable. When buildtool runs as root, the build runs as the unprivileged system user
`buildtool-build` (a uid mapped inside a user namespace would still be root on the host and read
/etc/shadow); otherwise as the invoking user inside a user namespace.
"""

from __future__ import annotations

import os
import pwd
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from . import runner
from .errors import ToolMissing, UserError

BUILD_USER = "buildtool-build"
# Host directories a build may read; the rest of / does not exist inside.
READABLE_ROOTS = ("/usr", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# Secrets under /etc: masked even though the unprivileged build user could not read them anyway.
MASKED_FILES = ("/etc/shadow", "/etc/shadow-", "/etc/gshadow", "/etc/gshadow-",
                "/etc/security/opasswd", "/etc/sudoers")
MASKED_DIRS = ("/etc/ssh", "/etc/ssl/private", "/etc/sudoers.d", "/etc/buildtool")
NO_SANDBOX_WARNING = ("buildtool: warning: --no-sandbox: package code (setup.py, %prep, %build, "
                      "%install, %check) runs unconfined on this host")


@dataclass(frozen=True)
class BuildUser:
    """The real unprivileged account builds run as when buildtool itself runs as root."""

    name: str
    uid: int
    gid: int


@dataclass(frozen=True)
class Mount:
    """A host path shown inside the sandbox at another place."""

    host: Path
    inside: str
    writable: bool = False


@dataclass(frozen=True)
class Sandbox:
    bwrap: str
    user: BuildUser | None  # None: not root; bwrap maps the invoking user in a user namespace

    def command(self, args: list[str], *, writable: tuple[Path, ...] = (),
                readable: tuple[Path, ...] = (), network: bool = False,
                mounts: tuple[Mount, ...] = ()) -> list[str]:
        """`args` wrapped so that they run confined; only `writable` (and private temp
        directories) can be written, `readable` paths are visible read-only at the same place,
        `mounts` at a place of their own."""
        wrapped = [self.bwrap, "--die-with-parent", "--new-session", "--unshare-ipc",
                   "--unshare-pid", "--unshare-uts", "--unshare-cgroup-try",
                   "--hostname", "buildtool-sandbox"]
        if not network:
            wrapped.append("--unshare-net")
        if self.user is None:
            wrapped.append("--unshare-user")
        wrapped += _root_binds(network)
        binds = [*(Mount(path, str(path)) for path in readable),
                 *(Mount(path, str(path), writable=True) for path in writable), *mounts]
        wrapped += _parent_dirs([Path(bind.inside) for bind in binds])
        for bind in binds:
            wrapped += ["--bind" if bind.writable else "--ro-bind", str(bind.host), bind.inside]
        workdir = next((bind.inside for bind in binds if bind.writable), "/tmp")
        wrapped += ["--remount-ro", "/", "--chdir", workdir, "--"]
        if self.user is not None:
            wrapped += ["setpriv", f"--reuid={self.user.uid}", f"--regid={self.user.gid}",
                        "--clear-groups", "--inh-caps=-all", "--bounding-set=-all",
                        "--no-new-privs", "--"]
        return wrapped + args

    def environment(self, env: dict[str, str]) -> dict[str, str]:
        """The build's environment as seen from inside: a home that is its private /tmp."""
        user = self.user.name if self.user else env.get("USER", "build")
        return dict(env, HOME="/tmp", TMPDIR="/tmp", USER=user, LOGNAME=user)

    def give(self, tree: Path) -> None:
        """Hand `tree` (the package's build tree) to the build user."""
        if self.user is not None:
            _chown_tree(tree, self.user.uid, self.user.gid)

    def take_back(self, tree: Path) -> None:
        """Make the build's outputs ours again before they leave the build tree."""
        if self.user is not None:
            _chown_tree(tree, os.getuid(), os.getgid())


def create(enabled: bool, warn: Callable[[str], None]) -> Sandbox | None:
    """The sandbox for this run, or None (with a warning) when the user opted out."""
    if not enabled:
        warn(NO_SANDBOX_WARNING)
        return None
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise ToolMissing("bwrap is not installed: builds run package code in a bubblewrap sandbox",
                          "install the package 'bubblewrap' (make tools), or pass --no-sandbox "
                          "to build unconfined")
    if shutil.which("setpriv") is None and os.geteuid() == 0:
        raise ToolMissing("setpriv is not installed: root builds drop to an unprivileged user "
                          "with it", "install util-linux (setpriv)")
    return Sandbox(bwrap, ensure_build_user() if os.geteuid() == 0 else None)


def ensure_build_user(name: str = BUILD_USER) -> BuildUser:
    """The dedicated system user builds run as; created (no home, no shell) when missing."""
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        result = runner.run(["useradd", "--system", "--user-group", "--no-create-home",
                                 "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin",
                                 "--comment", "buildtool sandboxed builds", name],
                                capture_output=True, text=True)
        try:
            entry = pwd.getpwnam(name)  # another run may have created it meanwhile
        except KeyError:
            raise UserError(f"cannot create the build user {name}: "
                            f"{result.stderr.strip() or 'useradd failed'}",
                            f"create it with 'useradd --system --user-group {name}'") from None
    if entry.pw_uid == 0 or entry.pw_gid == 0:
        raise UserError(f"the build user {name} has uid or gid 0",
                        "it must be an unprivileged account")
    return BuildUser(name, entry.pw_uid, entry.pw_gid)


def _root_binds(network: bool) -> list[str]:
    args = ["--tmpfs", "/", "--dev", "/dev", "--proc", "/proc"]
    for root in READABLE_ROOTS:
        if os.path.islink(root):
            args += ["--symlink", os.readlink(root), root]
        elif os.path.isdir(root):
            args += ["--ro-bind", root, root]
    for path in MASKED_FILES:
        if os.path.exists(path):
            args += ["--ro-bind", "/dev/null", path]
    for path in MASKED_DIRS:
        if os.path.isdir(path):
            args += ["--tmpfs", path]
    args += ["--perms", "1777", "--tmpfs", "/tmp", "--perms", "1777", "--tmpfs", "/var/tmp"]
    if network:
        args += _resolver_binds()
    return args


def _parent_dirs(paths: list[Path]) -> list[str]:
    """Traversable (0755) directories above each bound path: bwrap would make them 0700, which
    the unprivileged build user cannot enter. They exist only inside the sandbox."""
    parents = sorted({str(parent) for path in paths for parent in Path(path).parents}
                     - {"/", "/tmp", "/var", "/var/tmp", *READABLE_ROOTS})
    parents = [p for p in parents if not p.startswith(tuple(f"{r}/" for r in READABLE_ROOTS))]
    return [arg for parent in parents for arg in ("--perms", "0755", "--dir", parent)]


def _resolver_binds() -> list[str]:
    """/etc/resolv.conf often points into /run, which the sandbox does not show."""
    resolv = Path("/etc/resolv.conf")
    if resolv.is_symlink() and resolv.exists():
        target = str(resolv.resolve())
        if not target.startswith("/etc/"):
            return ["--ro-bind", target, target]
    return []


def _chown_tree(tree: Path, uid: int, gid: int) -> None:
    os.chown(tree, uid, gid, follow_symlinks=False)
    for directory, dirs, files in os.walk(tree):
        for name in dirs + files:
            os.chown(os.path.join(directory, name), uid, gid, follow_symlinks=False)
