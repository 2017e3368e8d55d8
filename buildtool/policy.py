"""What manifest text may say once it leaves YAML: paths, accounts, unit lines, tmpfiles, logrotate.

The manifest is untrusted: packages install as root and their scriptlets, units, tmpfiles and
logrotate entries run as root. Each check raises `Refused(message, hint)`; manifest.py turns it into
a located error. The lists are deliberately explicit: read them to know what a manifest can claim.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass

CLEAN_PATH_RE = re.compile(r"^/[A-Za-z0-9._+@:,=/-]*$")
GLOB_RE = re.compile(r"^/[A-Za-z0-9._+@:,=/*?-]*$")
ACCOUNT_RE = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
ENV_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
UNIT_NAME_RE = re.compile(
    r"^[A-Za-z0-9:_.-]+(@[A-Za-z0-9:_.-]*)?"
    r"\.(service|socket|target|mount|automount|timer|path|slice|scope|device|swap)$")
MODE_RE = re.compile(r"^0?[0-7]{3}$")
AGE_RE = re.compile(r"^~?[0-9]+(us|ms|s|min|m|h|d|w)?$")

# Where each kind of path may live (strictly below one of these).
ALLOWED_ROOTS = {
    "install": ("/usr/bin", "/usr/sbin", "/usr/lib", "/usr/lib64", "/usr/libexec", "/usr/share",
                "/etc", "/opt", "/var/lib", "/var/www", "/srv"),
    "config": ("/etc",),
    "state": ("/var/lib", "/var/www", "/var/cache", "/var/spool", "/srv", "/opt", "/etc"),
    "log": ("/var/log",),
    "runtime": ("/run",),
    "data": ("/usr/share", "/var/lib", "/var/www", "/srv", "/opt"),
    "writable": ("/var/lib", "/var/log", "/var/cache", "/var/spool", "/var/www", "/var/tmp",
                 "/srv", "/run"),
    "environment_file": ("/etc", "/run"),
    "logrotate": ("/var/log",),
    "tmpfiles": ("/run", "/var/lib", "/var/log", "/var/cache", "/var/spool", "/var/tmp", "/tmp"),
}
# tmpfiles may expire or empty contents only where nothing persistent lives.
VOLATILE_ROOTS = ("/run", "/tmp", "/var/tmp", "/var/cache")

# Files and trees that belong to the system: no manifest path may be one of them or below them.
PROTECTED = (
    "/etc/passwd", "/etc/shadow", "/etc/group", "/etc/gshadow", "/etc/subuid", "/etc/subgid",
    "/etc/sudoers", "/etc/sudoers.d", "/etc/ssh", "/etc/pam.d", "/etc/security", "/etc/shells",
    "/etc/login.defs", "/etc/securetty", "/etc/ld.so.preload", "/etc/ld.so.conf",
    "/etc/ld.so.conf.d", "/etc/ld.so.cache", "/etc/profile", "/etc/profile.d", "/etc/bashrc",
    "/etc/environment", "/etc/crontab", "/etc/cron.d", "/etc/cron.hourly", "/etc/cron.daily",
    "/etc/cron.weekly", "/etc/cron.monthly", "/etc/anacrontab", "/etc/systemd", "/etc/udev",
    "/etc/modprobe.d", "/etc/modules-load.d", "/etc/sysctl.conf", "/etc/sysctl.d",
    "/etc/tmpfiles.d", "/etc/sysusers.d", "/etc/logrotate.conf", "/etc/logrotate.d",
    "/etc/fstab", "/etc/hosts", "/etc/resolv.conf", "/etc/nsswitch.conf", "/etc/polkit-1",
    "/etc/dbus-1", "/etc/selinux", "/etc/rc.d", "/etc/init.d", "/etc/machine-id",
    "/etc/os-release", "/etc/rpm", "/etc/dnf", "/etc/yum.conf", "/etc/ssl", "/etc/pki/tls",
    "/etc/pki/ca-trust", "/etc/krb5.conf", "/etc/krb5.conf.d", "/etc/audit",
    "/usr/lib/systemd", "/usr/lib/sysusers.d", "/usr/lib/tmpfiles.d", "/usr/lib/udev",
    "/usr/lib/modules", "/usr/lib/modprobe.d", "/usr/lib/modules-load.d", "/usr/lib/sysctl.d",
    "/usr/lib/binfmt.d", "/usr/lib/environment.d", "/usr/lib/rpm", "/usr/lib/os-release",
    "/usr/lib/security", "/usr/lib64/security", "/usr/lib/pam.d", "/usr/lib/firmware",
    "/usr/bin/sudo", "/usr/bin/su", "/usr/bin/sh", "/usr/bin/bash", "/usr/bin/env",
    "/usr/bin/python3", "/usr/bin/ruby", "/usr/bin/passwd", "/usr/bin/rpm", "/usr/bin/dnf",
    "/usr/bin/systemctl", "/usr/sbin/init", "/usr/sbin/useradd", "/usr/sbin/groupadd",
    "/var/lib/rpm", "/var/lib/dnf", "/var/lib/systemd", "/var/spool/cron", "/var/log/journal",
    "/root", "/boot", "/proc", "/sys", "/dev", "/home",
)

# Directories of the base system: a manifest path may live below some of them, never be one.
SYSTEM_DIRS = {
    "/", "/bin", "/sbin", "/lib", "/lib64", "/usr", "/usr/bin", "/usr/sbin", "/usr/lib",
    "/usr/lib64", "/usr/libexec", "/usr/share", "/usr/include", "/usr/local", "/usr/src", "/etc",
    "/etc/sysconfig", "/etc/default", "/etc/pki", "/etc/yum.repos.d", "/opt", "/srv", "/var",
    "/var/lib", "/var/log", "/var/cache", "/var/spool", "/var/tmp", "/var/www", "/var/run",
    "/run", "/tmp", "/mnt", "/media",
}

# Accounts of the base system: a manifest creates its own, it does not redeclare these.
SYSTEM_ACCOUNTS = {
    "root", "bin", "daemon", "adm", "lp", "sync", "shutdown", "halt", "mail", "operator",
    "games", "ftp", "nobody", "sshd", "dbus", "polkitd", "tss", "wheel", "sys", "disk", "kmem",
    "tty", "shadow", "utmp", "video", "audio", "input", "kvm", "render", "users", "mem",
}

# tmpfiles.d types a package may use: create, adjust, exclude. Never remove (r/R), write to
# kernel files (w), make devices (b/c), copy (C), or change ownership recursively (Z).
TMPFILES_TYPES = {"d": "create a directory", "D": "create a directory emptied at boot",
                  "e": "adjust a directory", "f": "create a file", "L": "create a symlink",
                  "z": "adjust the mode of a path", "x": "exclude from cleaning",
                  "X": "exclude from cleaning"}
TMPFILES_MODIFIERS = "-!"  # ignore errors, boot only; never + (replace) or = (remove mismatch)


class Refused(Exception):
    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint


def _below(path: str, roots: Iterable[str]) -> bool:
    return any(path.startswith(root + "/") for root in roots)


def _protecting(path: str, roots: frozenset[str]) -> str | None:
    """The root among `roots` that `path` is or lies below: its ancestors looked up one by one
    (a handful) instead of every root compared with it (a hundred, for every path)."""
    ancestor = path
    while ancestor:
        if ancestor in roots:
            return ancestor
        ancestor = ancestor.rpartition("/")[0]
    return None


PROTECTED_SET = frozenset(PROTECTED)


def check_clean(path: str, glob: bool = False) -> None:
    """An absolute path in normal form: no `..`, `.`, `//`, trailing `/`, spaces or shell text."""
    if not (GLOB_RE if glob else CLEAN_PATH_RE).match(path):
        raise Refused(f"'{path}' is not a clean absolute path",
                      "start with '/', no spaces, quotes or shell characters")
    normal = posixpath.normpath(path)
    if normal.startswith("//"):
        normal = normal[1:]
    if normal != path or ".." in path.split("/"):
        raise Refused(f"'{path}' is not a clean absolute path",
                      f"write it in normal form: '{normal}'" if ".." not in path else "no '..'")


def check_path(path: str, kind: str | None, glob: bool = False) -> None:
    """A clean path, not a system file or tree; for a `kind`, below its roots (a home, a working
    directory or a shell may be anywhere else, "/" included)."""
    check_clean(path, glob)
    if kind is not None and path in SYSTEM_DIRS:
        raise Refused(f"'{path}' is a system directory",
                      "name the package's own directory below it, e.g. /var/lib/<package>")
    owner = _protecting(path, PROTECTED_SET)
    if owner is not None:
        raise Refused(f"'{path}' belongs to the system ({owner})",
                      "a package ships its own files; it may not replace or add to this")
    roots = ALLOWED_ROOTS.get(kind or "", ())
    if roots and not _below(path, roots):
        raise Refused(f"'{path}' is not a place for a {kind} path",
                      f"use a path below {', '.join(roots)}")


def check_mode(mode: str) -> None:
    if not MODE_RE.match(mode):
        raise Refused(f"'{mode}' is not a file mode", 'quote an octal mode, e.g. "0640"')
    if int(mode, 8) & 0o002:
        raise Refused(f"mode {mode} is world-writable", "drop the o+w bit, e.g. 0755 or 0775")


def check_account(name: str) -> None:
    """A name for an account the manifest creates."""
    if not ACCOUNT_RE.match(name):
        raise Refused(f"'{name}' is not a valid user or group name",
                      "lower-case letters, digits, _ and -, at most 32 characters")
    if name in SYSTEM_ACCOUNTS or name.startswith("systemd-"):
        raise Refused(f"'{name}' is a system account", "create the service's own user instead")


def check_environment_key(key: str) -> None:
    if not ENV_KEY_RE.match(key):
        raise Refused(f"'{key}' is not an environment variable name",
                      "letters, digits and _, not starting with a digit")


def check_unit_name(name: str) -> None:
    if not UNIT_NAME_RE.match(name):
        raise Refused(f"'{name}' is not a unit name", "e.g. postgresql.service, network-online.target")


def check_unit_value(value: str) -> None:
    """One line of a unit file: a trailing backslash would swallow the next generated line."""
    if value.rstrip().endswith("\\"):
        raise Refused("ends with a backslash, which continues a unit file line",
                      "remove the trailing '\\'")


def check_command(value: str) -> None:
    """ExecStart=/ExecReload=: one command, run as the service user, from an absolute path.

    `+`, `!`, `-`, `@`, `:` prefixes change how systemd runs a command (`+` as full root), and a
    lone `;` starts another command line: both are refused.
    """
    if not value.startswith("/"):
        raise Refused("must start with an absolute path",
                      "systemd needs e.g. /usr/bin/astuted --config ...; no +, !, - or @ prefix")
    if ";" in value.split():
        raise Refused("a lone ';' starts a second command", "give one command; escape it as \\;")
    check_unit_value(value)


def parse_su(value: str) -> tuple[str, str]:
    """logrotate's `su USER GROUP`."""
    words = value.split(" ")
    if len(words) != 2 or not all(ACCOUNT_RE.match(word) for word in words):
        raise Refused(f"'{value}' is not 'USER GROUP'", "e.g. su: nailgun nailgun")
    return words[0], words[1]


@dataclass(frozen=True)
class TmpfilesEntry:
    type: str
    path: str
    mode: str
    user: str
    group: str
    age: str
    argument: str


def parse_tmpfiles(line: str) -> TmpfilesEntry:
    """One tmpfiles.d line a package may ship; see TMPFILES_TYPES for what it may do."""
    fields = line.split(None, 6)
    if len(fields) < 2:
        raise Refused(f"'{line}' is not a tmpfiles.d line", "TYPE PATH [MODE USER GROUP AGE ARG]")
    entry = TmpfilesEntry(*(fields + ["-"] * (7 - len(fields))))
    kind, modifiers = entry.type[0], entry.type[1:]
    if kind not in TMPFILES_TYPES or any(m not in TMPFILES_MODIFIERS for m in modifiers) \
            or len(set(modifiers)) != len(modifiers):
        raise Refused(f"tmpfiles type '{entry.type}' is not allowed",
                      f"types {' '.join(TMPFILES_TYPES)} with modifiers {' '.join(TMPFILES_MODIFIERS)};"
                      " a package never removes, writes kernel files or makes devices")
    check_path(entry.path, "tmpfiles", glob=kind in "zxX")
    if entry.mode != "-":
        check_mode(entry.mode)
    for account in (entry.user, entry.group):
        if account != "-" and not ACCOUNT_RE.match(account):
            raise Refused(f"'{account}' is not a user or group name", "or '-'")
    if entry.age != "-" and not AGE_RE.match(entry.age):
        raise Refused(f"'{entry.age}' is not a tmpfiles age", "e.g. 10d, or '-'")
    if (entry.age != "-" or kind == "D") and not _below(entry.path, VOLATILE_ROOTS):
        raise Refused(f"'{entry.type} {entry.path}' would delete files at boot or by age",
                      f"only below {', '.join(VOLATILE_ROOTS)}: state and logs are kept")
    _check_tmpfiles_argument(kind, entry.argument)
    return entry


def _check_tmpfiles_argument(kind: str, argument: str) -> None:
    if argument == "-":
        return
    if "%" in argument:
        raise Refused("tmpfiles expands % specifiers in the argument", "write the value out")
    if kind == "L":
        check_clean(argument)
    elif kind != "f":
        raise Refused(f"tmpfiles type '{kind}' takes no argument", "remove it or use '-'")


# Sources are fetched by git, pip and urllib with argument lists: what would still be an option
# (`--upload-pack=...`, `-r /etc/shadow`), a local file for urllib (`file:///etc/shadow`) or a
# command transport (`ext::sh -c ...`) is refused here. git may clone a file:// repository (a
# local mirror): git reads only a repository there, not any file.
GIT_URL_RE = re.compile(r"^((https?|git|ssh)://[A-Za-z0-9][A-Za-z0-9._~:@%+/=-]*|file:///[A-Za-z0-9._~@%+/=-]+"
                        r"|[A-Za-z0-9._-]+@[A-Za-z0-9][A-Za-z0-9.-]*:[A-Za-z0-9._~/+-]+)$")
DOWNLOAD_URL_RE = re.compile(r"^https?://[A-Za-z0-9][A-Za-z0-9._~:@%+/?=&,-]*$")
PYPI_NAME_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$")
GIT_REF_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._/+-]*$")
FILE_NAME_RE = re.compile(r"^[A-Za-z0-9_+][A-Za-z0-9._+@,=-]*$")


def check_git_url(url: str) -> None:
    if not GIT_URL_RE.match(url):
        raise Refused(f"'{url}' is not a git URL buildtool fetches",
                      "https://, git://, ssh://, file:/// or user@host:path; no options or ext::")


def check_download_url(url: str) -> None:
    if not DOWNLOAD_URL_RE.match(url):
        raise Refused(f"'{url}' is not an http(s) URL", "a tarball URL, e.g. https://host/x.tar.gz")


def check_pypi_name(name: str) -> None:
    if not PYPI_NAME_RE.match(name):
        raise Refused(f"'{name}' is not a PyPI project name", "letters, digits, . _ -")


def check_git_ref(ref: str) -> None:
    if not GIT_REF_RE.match(ref) or ".." in ref:
        raise Refused(f"'{ref}' is not a git tag, branch or commit", "e.g. 11.0.0 or a commit id")


def check_file_name(name: str) -> None:
    if not FILE_NAME_RE.match(name):
        raise Refused(f"'{name}' must be a plain file name", "no '/', not starting with '.' or '-'")
