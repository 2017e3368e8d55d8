"""fuel-backup and fuel-restore: save Fuel's data into one archive, put it back.

What is saved is the backup set that buildtool derives from the service manifest and fuel-setup
installs as /usr/share/fuel/backup-set.json: state directories, config and secret files,
PostgreSQL databases (with their owners), the services to quiesce and the packages whose versions
an archive records. Python 3 standard library only (EL9: 3.9).

The archive (.tar.gz) holds data/<path> for every saved file and directory, databases/<name>.dump
(pg_dump custom format) and, last, backup.json: versions, the backup set, every entry with its
owner, mode, SELinux label and SHA-256.

The pieces that only exist on the EL target are each behind one function with an override, so
that tests run the rest for real on any host: `systemctl` (FUEL_SYSTEMCTL), `rpm -q`
(FUEL_RPM), fuel-deploy (FUEL_DEPLOY_COMMAND), the SELinux label (FUEL_LABEL_XATTR names the
extended attribute, default security.selinux), and every path is under --root (FUEL_ROOT).
"""

import argparse
import contextlib
import dataclasses
import datetime
import errno
import grp
import gzip
import hashlib
import io
import json
import os
import pwd
import re
import shutil
import socket
import stat
import subprocess
import sys
import tarfile
import tempfile
import zlib

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

ARCHIVE_FORMAT = "fuel-backup"
ARCHIVE_VERSION = 1
SET_FORMAT = "fuel-backup-set"
DEFAULT_BACKUP_SET = "/usr/share/fuel/backup-set.json"
DEFAULT_BACKUP_DIR = "/var/backups/fuel"
DEFAULT_DEPLOY = "/usr/sbin/fuel-deploy"
MANIFEST_MEMBER = "backup.json"
CHECKSUM_MEMBER = "backup.json.sha256"  # backup.json cannot hold its own checksum
DATA_PREFIX = "data/"
DB_PREFIX = "databases/"
NEW_SUFFIX = ".fuel-restore-new"
OLD_SUFFIX = ".fuel-restore-old"
DB_NEW_SUFFIX = "__fuel_restore"
DB_OLD_SUFFIX = "__fuel_previous"
PG_NAME_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
CHUNK = 1 << 20


class UserError(Exception):
    """An error the user can fix; reported as one line, no traceback."""

    def __init__(self, message, status=EXIT_FAILED):
        super().__init__(message)
        self.status = status


class Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UserError(f"{message} (see '{self.prog} --help')", EXIT_USAGE)


# --- environment: the root, the commands, the EL-only pieces ----------------------------------

@dataclasses.dataclass
class Host:
    """Where paths live and how the system commands are run (overridable for tests)."""

    root: str = "/"
    systemctl: str = "systemctl"
    rpm: str = "rpm"
    deploy: str = DEFAULT_DEPLOY
    pg_user: str = "postgres"  # OS user and PostgreSQL superuser role (peer authentication)
    label_xattr: str = "security.selinux"
    progress: object = None

    def path(self, target_path):
        """The host path of an absolute path on the target."""
        return os.path.join(self.root, target_path.lstrip("/"))

    def say(self, message):
        if self.progress:
            self.progress(message)


def host_from(args):
    env = os.environ.get
    progress = None
    if sys.stderr.isatty():
        progress = lambda message: print(f"{args.prog}: {message}", file=sys.stderr, flush=True)  # noqa: E731
    return Host(root=os.path.abspath(args.root), systemctl=env("FUEL_SYSTEMCTL", "systemctl"),
                rpm=env("FUEL_RPM", "rpm"), deploy=env("FUEL_DEPLOY_COMMAND", DEFAULT_DEPLOY),
                pg_user=args.pg_user, label_xattr=env("FUEL_LABEL_XATTR", "security.selinux"),
                progress=progress)


def run(argv, **kwargs):
    try:
        return subprocess.run(argv, capture_output=True, text=True, **kwargs)
    except OSError as exc:
        raise UserError(f"cannot run {argv[0]}: {exc.strerror}") from None


def installed_versions(host, packages):
    """{package: "epoch:version-release" or None when not installed}, from the rpm database."""
    if not packages:
        return {}
    result = run([host.rpm, "-q", "--qf", "%{NAME} %{EPOCHNUM}:%{VERSION}-%{RELEASE}\\n",
                  *packages])
    versions = dict.fromkeys(packages)
    for line in result.stdout.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] in versions:
            versions[parts[0]] = parts[1]
    return versions


def active_services(host, services):
    return [unit for unit in services
            if run([host.systemctl, "is-active", "--quiet", unit]).returncode == 0]


def systemctl(host, action, units):
    if not units:
        return
    result = run([host.systemctl, action, *units])
    if result.returncode != 0:
        raise UserError(f"systemctl {action} {' '.join(units)} failed: {last_line(result.stderr)}")


def read_label(host, path):
    """The file's SELinux label (None where the system has none)."""
    try:
        return os.getxattr(path, host.label_xattr, follow_symlinks=False).decode()
    except OSError:
        return None


def write_label(host, path, label):
    """Put a saved SELinux label back; a system without SELinux keeps its own labels."""
    if label is None:
        return
    try:
        os.setxattr(path, host.label_xattr, label.encode(), follow_symlinks=False)
    except OSError as exc:
        if exc.errno not in (errno.ENOTSUP, errno.EOPNOTSUPP):
            raise


def last_line(text):
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


# --- PostgreSQL: peer authentication as the postgres OS user, never a password on a command line

def pg_command(host, argv):
    """Run a PostgreSQL client as host.pg_user (runuser when we are root and someone else)."""
    if os.geteuid() == 0 and host.pg_user != "root":
        return ["runuser", "-u", host.pg_user, "--", *argv]
    return argv


def psql(host, sql, database="postgres"):
    result = run(pg_command(host, ["psql", "-X", "-q", "-A", "-t", "-w", "-v", "ON_ERROR_STOP=1",
                                   "-d", database, "-c", sql]))
    if result.returncode != 0:
        raise UserError(f"PostgreSQL: {last_line(result.stderr)}")
    return result.stdout.strip()


def quote_ident(name):
    if not PG_NAME_RE.match(name):
        raise UserError(f"'{name}' is not a PostgreSQL name this tool handles")
    return f'"{name}"'


def quote_literal(text):
    return "'" + text.replace("'", "''") + "'"


def database_exists(host, name):
    return psql(host, f"SELECT 1 FROM pg_database WHERE datname = {quote_literal(name)}") == "1"


def role_exists(host, name):
    return psql(host, f"SELECT 1 FROM pg_roles WHERE rolname = {quote_literal(name)}") == "1"


def dump_database(host, name, out_file):
    with open(out_file, "wb") as out:
        try:
            result = subprocess.run(pg_command(host, ["pg_dump", "-w", "-Fc", "-d", name]),
                                    stdout=out, stderr=subprocess.PIPE, text=False)
        except OSError as exc:
            raise UserError(f"cannot run pg_dump: {exc.strerror}") from None
    if result.returncode != 0:
        raise UserError(f"pg_dump of database {name} failed: "
                        f"{last_line(result.stderr.decode(errors='replace'))}")


def database_encoding(host, name):
    return psql(host, "SELECT pg_encoding_to_char(encoding) FROM pg_database "
                      f"WHERE datname = {quote_literal(name)}")


def restore_database(host, dump_file, name, owner, encoding):
    """Create `name` owned by `owner` and pg_restore the dump into it, in one transaction."""
    psql(host, f"CREATE DATABASE {quote_ident(name)} OWNER {quote_ident(owner)} "
               f"TEMPLATE template0 ENCODING {quote_literal(encoding)}")
    with open(dump_file, "rb") as dump:
        try:
            result = subprocess.run(
                pg_command(host, ["pg_restore", "-w", "--exit-on-error", "--single-transaction",
                                  "-d", name]),
                stdin=dump, capture_output=True, text=True)
        except OSError as exc:
            raise UserError(f"cannot run pg_restore: {exc.strerror}") from None
    if result.returncode != 0:
        raise UserError(f"pg_restore of database {name} failed: {last_line(result.stderr)}")


def drop_database(host, name):
    disconnect(host, name)
    psql(host, f"DROP DATABASE IF EXISTS {quote_ident(name)}")


def disconnect(host, name):
    psql(host, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
               f"WHERE datname = {quote_literal(name)} AND pid <> pg_backend_pid()")


# --- the backup set ------------------------------------------------------------------------

def load_backup_set(path):
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except OSError as exc:
        raise UserError(f"{path}: {exc.strerror} (is fuel-setup installed? "
                        "give --backup-set FILE)") from None
    except ValueError as exc:
        raise UserError(f"{path}: not JSON: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != SET_FORMAT:
        raise UserError(f"{path}: not a Fuel backup set (format '{SET_FORMAT}' expected)")
    for key in ("packages", "services", "paths", "databases"):
        if not isinstance(data.get(key), list):
            raise UserError(f"{path}: '{key}' must be a list")
    for item in data["paths"]:
        check_target_path(item.get("path"), path)
    for item in data["databases"]:
        quote_ident(item.get("name", "")), quote_ident(item.get("owner", ""))
    return data


def check_target_path(value, where):
    if (not isinstance(value, str) or not value.startswith("/") or value == "/"
            or ".." in value.split("/") or "//" in value or "\0" in value):
        raise UserError(f"{where}: '{value}' is not a clean absolute path")


def saved_roots(backup_set):
    """The paths to archive: every declared path not already inside another declared directory."""
    directories = [p["path"] for p in backup_set["paths"] if p["type"] == "directory"]
    roots = []
    for item in sorted(backup_set["paths"], key=lambda p: p["path"]):
        inside = [d for d in directories if item["path"].startswith(d + "/")]
        if not inside:
            roots.append(item)
    return roots


# --- fuel-backup ------------------------------------------------------------------------------

class HashingReader:
    """A file object that hashes what tarfile reads from it."""

    def __init__(self, handle):
        self.handle = handle
        self.digest = hashlib.sha256()

    def read(self, size=-1):
        data = self.handle.read(size)
        self.digest.update(data)
        return data


def owner_names(st):
    try:
        owner = pwd.getpwuid(st.st_uid).pw_name
    except KeyError:
        owner = str(st.st_uid)
    try:
        group = grp.getgrgid(st.st_gid).gr_name
    except KeyError:
        group = str(st.st_gid)
    return owner, group


def entry_for(host, target_path, host_path, st):
    owner, group = owner_names(st)
    return {"path": target_path, "mode": f"{stat.S_IMODE(st.st_mode):04o}", "owner": owner,
            "group": group, "uid": st.st_uid, "gid": st.st_gid, "mtime": int(st.st_mtime),
            "label": read_label(host, host_path)}


def walk(host_path):
    """host_path and everything below it, parents before children, in a stable order."""
    yield host_path
    if os.path.isdir(host_path) and not os.path.islink(host_path):
        for name in sorted(os.listdir(host_path)):
            if name not in (NEW_SUFFIX, OLD_SUFFIX):  # an interrupted restore's leftovers
                yield from walk(os.path.join(host_path, name))


def archive_tree(host, tar, root_item, skip, warnings):
    """Add one saved root to the archive; return its entries for backup.json."""
    entries = []
    top = host.path(root_item["path"])
    for host_path in walk(top):
        if os.path.realpath(host_path) in skip:
            continue
        target_path = root_item["path"] + host_path[len(top):]
        st = os.lstat(host_path)
        entry = entry_for(host, target_path, host_path, st)
        info = tarfile.TarInfo(DATA_PREFIX + target_path.lstrip("/"))
        info.mode, info.uid, info.gid = stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid
        info.uname, info.gname, info.mtime = entry["owner"], entry["group"], entry["mtime"]
        if stat.S_ISDIR(st.st_mode):
            entry["type"], info.type = "directory", tarfile.DIRTYPE
            tar.addfile(info)
        elif stat.S_ISLNK(st.st_mode):
            entry["type"], info.type = "symlink", tarfile.SYMTYPE
            entry["target"] = info.linkname = os.readlink(host_path)
            tar.addfile(info)
        elif stat.S_ISREG(st.st_mode):
            entry["type"], info.size = "file", st.st_size
            with open(host_path, "rb") as handle:
                reader = HashingReader(handle)
                tar.addfile(info, reader)
            entry["sha256"], entry["size"] = reader.digest.hexdigest(), st.st_size
        else:
            warnings.append(f"{target_path}: skipped (not a file, directory or symlink)")
            continue
        entries.append(entry)
    return entries


def add_bytes(tar, name, data):
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), 0o600, int(datetime.datetime.now().timestamp())
    tar.addfile(info, io.BytesIO(data))


def add_file(tar, name, path):
    info = tar.gettarinfo(path, arcname=name)
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    with open(path, "rb") as handle:
        reader = HashingReader(handle)
        tar.addfile(info, reader)
    return reader.digest.hexdigest(), info.size


def default_output(host):
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    return os.path.join(host.path(DEFAULT_BACKUP_DIR), f"fuel-backup-{stamp}.tar.gz")


def check_output(host, output, roots):
    if os.path.lexists(output):
        raise UserError(f"{output} already exists: fuel-backup never overwrites a backup "
                        "(give another --output)")
    real = os.path.realpath(output)
    for item in roots:
        top = os.path.realpath(host.path(item["path"]))
        if real == top or real.startswith(top + "/"):
            raise UserError(f"{output} is inside the backed-up path {item['path']} "
                            "(write the archive elsewhere, e.g. under /var/backups)")


def create_backup(host, backup_set, output):
    """Write the archive; return its summary. Services are stopped meanwhile, then restarted."""
    roots = saved_roots(backup_set)
    check_output(host, output, roots)
    out_dir = os.path.dirname(output) or "."
    os.makedirs(out_dir, mode=0o700, exist_ok=True)
    versions = installed_versions(host, backup_set["packages"])
    for db in backup_set["databases"]:
        if not database_exists(host, db["name"]):
            raise UserError(f"database {db['name']} (declared by {db['package']}) does not exist; "
                            "run fuel-deploy first, or check PGHOST/PGPORT")
    stopped = active_services(host, backup_set["services"])
    fd, partial = tempfile.mkstemp(prefix=".fuel-backup-", suffix=".partial", dir=out_dir)
    try:
        host.say(f"stopping {len(stopped)} services")
        systemctl(host, "stop", stopped)
        with tempfile.TemporaryDirectory(prefix=".fuel-backup-", dir=out_dir) as work:
            with os.fdopen(fd, "wb") as raw:
                summary = write_archive(host, backup_set, roots, versions, raw, work,
                                        skip={os.path.realpath(partial)})
                raw.flush()
                os.fsync(raw.fileno())
        try:
            os.link(partial, output)  # fails if output appeared meanwhile: never overwrite
        except FileExistsError:
            raise UserError(f"{output} already exists: fuel-backup never overwrites a backup") from None
        fsync_dir(out_dir)
    except OSError as exc:
        raise UserError(disk_message(exc, f"writing {output}") + "; no backup was written") from None
    except UserError as exc:
        raise UserError(f"{exc}; no backup was written") from None
    finally:
        if os.path.lexists(partial):
            os.unlink(partial)
        host.say(f"starting {len(stopped)} services")
        systemctl(host, "start", stopped)
    summary.update({"archive": output, "size": os.path.getsize(output),
                    "restarted_services": stopped})
    return summary


def write_archive(host, backup_set, roots, versions, raw, work, skip):
    warnings, entries, absent, databases = [], [], [], []
    steps = len(roots) + len(backup_set["databases"])
    with gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=6) as gz, \
            tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for number, db in enumerate(backup_set["databases"], 1):
            host.say(f"[{number}/{steps}] pg_dump {db['name']}")
            dump = os.path.join(work, f"{db['name']}.dump")
            dump_database(host, db["name"], dump)
            digest, size = add_file(tar, f"{DB_PREFIX}{db['name']}.dump", dump)
            databases.append({**db, "sha256": digest, "size": size,
                              "encoding": database_encoding(host, db["name"])})
            os.unlink(dump)
        for number, item in enumerate(roots, len(databases) + 1):
            host.say(f"[{number}/{steps}] {item['path']}")
            if not os.path.lexists(host.path(item["path"])):
                absent.append(item["path"])
                continue
            entries += archive_tree(host, tar, item, skip, warnings)
        manifest = {
            "format": ARCHIVE_FORMAT, "version": ARCHIVE_VERSION,
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "hostname": socket.gethostname(), "versions": versions, "backup_set": backup_set,
            "roots": [item["path"] for item in roots], "absent": absent,
            "entries": entries, "databases": databases,
        }
        text = (json.dumps(manifest, indent=1, sort_keys=True) + "\n").encode()
        add_bytes(tar, MANIFEST_MEMBER, text)
        add_bytes(tar, CHECKSUM_MEMBER, hashlib.sha256(text).hexdigest().encode())
    return {"files": sum(1 for e in entries if e["type"] == "file"),
            "bytes": sum(e.get("size", 0) for e in entries),
            "databases": [db["name"] for db in databases], "absent": absent,
            "warnings": warnings, "versions": versions}


def fsync_dir(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def disk_message(exc, doing):
    if exc.errno == errno.ENOSPC:
        return f"no space left on device while {doing}"
    return f"{doing}: {exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else "")


# --- reading and verifying an archive -------------------------------------------------------

def open_archive(path):
    try:
        return tarfile.open(path, mode="r:gz")
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except OSError as exc:
        raise UserError(f"{path}: {exc.strerror or exc}") from None
    except (tarfile.TarError, EOFError, zlib.error) as exc:
        raise UserError(f"{path}: not a readable fuel-backup archive ({exc})") from None


def read_verified(path):
    """Read the whole archive once, check every member against backup.json; return it.

    Nothing on the system is touched before this succeeds."""
    digests, kinds, small = {}, {}, {MANIFEST_MEMBER: None, CHECKSUM_MEMBER: None}
    try:
        with open_archive(path) as tar:
            for member in tar:
                kinds[member.name] = member
                if member.isfile():
                    handle = tar.extractfile(member)
                    digest = hashlib.sha256()
                    data = bytearray() if member.name in small else None
                    for chunk in chunks(handle):
                        digest.update(chunk)
                        if data is not None:
                            data += chunk
                    digests[member.name] = digest.hexdigest()
                    if data is not None:
                        small[member.name] = bytes(data)
            tar.fileobj.read()  # to the end of the gzip stream, so that its CRC is checked
    except EOFError:
        raise UserError(f"{path}: the archive is truncated (it ends early); use a complete "
                        "copy of the backup") from None
    except (tarfile.TarError, zlib.error, gzip.BadGzipFile) as exc:
        raise UserError(f"{path}: the archive is corrupted ({exc}); use another copy") from None
    except OSError as exc:
        raise UserError(f"{path}: {exc.strerror or exc}") from None
    manifest_bytes, checksum = small[MANIFEST_MEMBER], small[CHECKSUM_MEMBER]
    if manifest_bytes is None or checksum is None:
        raise UserError(f"{path}: no {MANIFEST_MEMBER} inside: truncated, or not made by fuel-backup")
    if digests[MANIFEST_MEMBER] != checksum.decode(errors="replace").strip():
        raise UserError(f"{path}: checksum mismatch for {MANIFEST_MEMBER}: the archive is "
                        "corrupted; use another copy")
    try:
        manifest = json.loads(manifest_bytes)
    except ValueError:
        raise UserError(f"{path}: {MANIFEST_MEMBER} is corrupted") from None
    if manifest.get("format") != ARCHIVE_FORMAT or manifest.get("version") != ARCHIVE_VERSION:
        raise UserError(f"{path}: not a version {ARCHIVE_VERSION} fuel-backup archive")
    try:
        check_members(path, manifest, digests, kinds)
    except (KeyError, TypeError, AttributeError) as exc:
        raise UserError(f"{path}: {MANIFEST_MEMBER} is malformed ({exc!r})") from None
    return manifest


def check_members(path, manifest, digests, kinds):
    expected = {MANIFEST_MEMBER, CHECKSUM_MEMBER}
    for db in manifest["databases"]:
        quote_ident(db["name"]), quote_ident(db["owner"])
        name = f"{DB_PREFIX}{db['name']}.dump"
        expected.add(name)
        if digests.get(name) != db["sha256"]:
            raise UserError(f"{path}: checksum mismatch for the dump of database {db['name']}: "
                            "the archive is corrupted; use another copy")
    roots = manifest["roots"]
    symlinks = set()
    for entry in manifest["entries"]:
        check_target_path(entry["path"], path)
        if not any(entry["path"] == r or entry["path"].startswith(r + "/") for r in roots):
            raise UserError(f"{path}: entry {entry['path']} is outside the backup set")
        if any(entry["path"].startswith(link + "/") for link in symlinks):
            raise UserError(f"{path}: entry {entry['path']} is below a symlink")
        if entry["type"] == "symlink":
            symlinks.add(entry["path"])
        name = DATA_PREFIX + entry["path"].lstrip("/")
        expected.add(name)
        member = kinds.get(name)
        kind_ok = member is not None and {"file": member.isfile, "directory": member.isdir,
                                          "symlink": member.issym}[entry["type"]]()
        if not kind_ok:
            raise UserError(f"{path}: {entry['path']} is missing or changed type in the archive")
        if entry["type"] == "file" and digests.get(name) != entry["sha256"]:
            raise UserError(f"{path}: checksum mismatch for {entry['path']}: the archive is "
                            "corrupted; use another copy")
    extra = sorted(set(kinds) - expected)
    if extra:
        raise UserError(f"{path}: unexpected member {extra[0]} in the archive")


def chunks(handle):
    while True:
        chunk = handle.read(CHUNK)
        if not chunk:
            return
        yield chunk


# --- versions -------------------------------------------------------------------------------

def rpmvercmp(a, b):
    """rpm's version comparison (segments of digits or letters; ~ sorts first, ^ after end)."""
    if a == b:
        return 0
    i = j = 0
    while i < len(a) or j < len(b):
        while i < len(a) and not a[i].isalnum() and a[i] not in "~^":
            i += 1
        while j < len(b) and not b[j].isalnum() and b[j] not in "~^":
            j += 1
        ta, tb = a[i:i + 1], b[j:j + 1]
        if ta == "~" or tb == "~":
            if ta != "~":
                return 1
            if tb != "~":
                return -1
            i, j = i + 1, j + 1
            continue
        if ta == "^" or tb == "^":
            if not ta:
                return -1
            if not tb:
                return 1
            if ta != "^":
                return 1
            if tb != "^":
                return -1
            i, j = i + 1, j + 1
            continue
        if not ta or not tb:
            break
        pattern = r"[0-9]+" if ta.isdigit() else r"[A-Za-z]+"
        sa = re.match(pattern, a[i:]).group()
        mb = re.match(pattern, b[j:])
        if not mb:
            return 1 if ta.isdigit() else -1
        sb = mb.group()
        i, j = i + len(sa), j + len(sb)
        if ta.isdigit():
            sa, sb = sa.lstrip("0"), sb.lstrip("0")
            if len(sa) != len(sb):
                return 1 if len(sa) > len(sb) else -1
        if sa != sb:
            return 1 if sa > sb else -1
    if i >= len(a) and j >= len(b):
        return 0
    return -1 if i >= len(a) else 1


def split_evr(evr):
    epoch, _, rest = evr.rpartition(":")
    version, _, release = rest.partition("-")
    return int(epoch or 0), version, release


def compare_evr(a, b):
    ea, va, ra = split_evr(a)
    eb, vb, rb = split_evr(b)
    if ea != eb:
        return 1 if ea > eb else -1
    return rpmvercmp(va, vb) or rpmvercmp(ra, rb)


def version_problems(saved, installed):
    """Why restoring `saved` onto `installed` is refused (empty: allowed)."""
    problems = []
    for package, version in sorted(saved.items()):
        if version is None:
            continue
        now = installed.get(package)
        if now is None:
            problems.append(f"{package} {version} is in the backup but not installed "
                            f"(install it first)")
        elif compare_evr(now, version) < 0:
            problems.append(f"{package} {now} is older than the backup's {version}")
    return problems


# --- fuel-restore ---------------------------------------------------------------------------

def owner_ids(entry):
    try:
        uid = pwd.getpwnam(entry["owner"]).pw_uid
    except KeyError:
        uid = entry["uid"]
    try:
        gid = grp.getgrnam(entry["group"]).gr_gid
    except KeyError:
        gid = entry["gid"]
    return uid, gid


def apply_metadata(host, path, entry):
    uid, gid = owner_ids(entry)
    if os.geteuid() == 0:
        os.chown(path, uid, gid, follow_symlinks=False)
    if entry["type"] != "symlink":
        os.chmod(path, int(entry["mode"], 8))
        os.utime(path, (entry["mtime"], entry["mtime"]))
    write_label(host, path, entry.get("label"))


@dataclasses.dataclass
class Swap:
    """How one saved root is put in place: its restored copy is written next to it (PATH.new)
    and renamed over it at the end. A mount point cannot be renamed, so there the copy goes
    inside it (PATH/.new) and the switch moves its entries."""

    real: str
    mounted: bool
    moved_in: list = dataclasses.field(default_factory=list)  # mount point: entries switched in

    @classmethod
    def of(cls, host, root):
        real = host.path(root)
        return cls(real, os.path.isdir(real) and os.path.ismount(real))

    @property
    def new(self):
        return os.path.join(self.real, NEW_SUFFIX) if self.mounted else self.real + NEW_SUFFIX

    @property
    def old(self):
        return os.path.join(self.real, OLD_SUFFIX) if self.mounted else self.real + OLD_SUFFIX

    def staged(self, root, target_path):
        return self.new + target_path[len(root):]

    def switch(self):
        if not self.mounted:
            if os.path.lexists(self.real):
                os.rename(self.real, self.old)
            os.rename(self.new, self.real)
            return
        os.mkdir(self.old, 0o700)
        move_entries(self.real, self.old, [])
        move_entries(self.new, self.real, self.moved_in)
        copy_metadata(self.new, self.real)
        os.rmdir(self.new)

    def undo(self):
        """Put the previous data back after a (possibly partial) switch."""
        if not self.mounted:
            if os.path.lexists(self.real) and not os.path.lexists(self.new):
                os.rename(self.real, self.new)
            if os.path.lexists(self.old):
                os.rename(self.old, self.real)
            return
        if os.path.isdir(self.old):
            os.makedirs(self.new, mode=0o700, exist_ok=True)
            for name in self.moved_in:
                os.rename(os.path.join(self.real, name), os.path.join(self.new, name))
            move_entries(self.old, self.real, [])
            os.rmdir(self.old)

    def clear(self):
        """Leftovers of an interrupted run: the staged copy goes, a previous copy comes back
        where its path is missing."""
        remove_path(self.new)
        if not os.path.lexists(self.old):
            return
        if not self.mounted and not os.path.lexists(self.real):
            os.rename(self.old, self.real)
            return
        if self.mounted:
            for name in os.listdir(self.old):
                if not os.path.lexists(os.path.join(self.real, name)):
                    os.rename(os.path.join(self.old, name), os.path.join(self.real, name))
        remove_path(self.old)


def move_entries(source, dest, moved):
    for name in sorted(os.listdir(source)):
        if name not in (NEW_SUFFIX, OLD_SUFFIX):
            os.rename(os.path.join(source, name), os.path.join(dest, name))
            moved.append(name)


def copy_metadata(source, dest):
    st = os.stat(source)
    if os.geteuid() == 0:
        os.chown(dest, st.st_uid, st.st_gid)
    os.chmod(dest, stat.S_IMODE(st.st_mode))
    os.utime(dest, (st.st_atime, st.st_mtime))
    for name in os.listxattr(source):
        with contextlib.suppress(OSError):
            os.setxattr(dest, name, os.getxattr(source, name))


def stage_files(host, archive, manifest, swaps):
    """Extract every saved path into its root's staging place (see Swap)."""
    entries = {DATA_PREFIX + e["path"].lstrip("/"): e for e in manifest["entries"]}
    root_of = {}
    for entry in manifest["entries"]:
        root_of[entry["path"]] = next(r for r in manifest["roots"]
                                      if entry["path"] == r or entry["path"].startswith(r + "/"))
    for root in swaps:
        os.makedirs(os.path.dirname(host.path(root)), exist_ok=True)
    directories = []
    with open_archive(archive) as tar:
        for member in tar:
            entry = entries.get(member.name)
            if entry is None:
                continue
            root = root_of[entry["path"]]
            dest = swaps[root].staged(root, entry["path"])
            if entry["type"] == "directory":
                os.mkdir(dest, 0o700)
                directories.append((dest, entry))
                continue
            if entry["type"] == "symlink":
                os.symlink(entry["target"], dest)
            else:
                write_member(tar, member, dest, entry)
            apply_metadata(host, dest, entry)
    for dest, entry in reversed(directories):  # after their content: mtimes and modes stick
        apply_metadata(host, dest, entry)


def write_member(tar, member, dest, entry):
    handle = tar.extractfile(member)
    digest = hashlib.sha256()
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "wb") as out:
        for chunk in chunks(handle):
            digest.update(chunk)
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    if digest.hexdigest() != entry["sha256"]:  # the archive changed since it was verified
        raise UserError(f"checksum mismatch for {entry['path']} while restoring")


def extract_dumps(archive, manifest, work):
    dumps = {}
    with open_archive(archive) as tar:
        for db in manifest["databases"]:
            member = tar.getmember(f"{DB_PREFIX}{db['name']}.dump")
            path = os.path.join(work, f"{db['name']}.dump")
            write_member(tar, member, path, {"path": db["name"], "sha256": db["sha256"]})
            dumps[db["name"]] = path
    return dumps


def clear_debris(host, manifest, swaps):
    for swap in swaps.values():
        swap.clear()
    for db in manifest["databases"]:
        drop_database(host, db["name"] + DB_NEW_SUFFIX)


def remove_path(path):
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.unlink(path)


def switch_databases(host, databases):
    """Rename old -> NAME__fuel_previous and staged -> NAME in one transaction."""
    statements = []
    for db in databases:
        name = db["name"]
        disconnect(host, name)
        if database_exists(host, name):
            drop_database(host, name + DB_OLD_SUFFIX)
            statements.append(f"ALTER DATABASE {quote_ident(name)} RENAME TO "
                              f"{quote_ident(name + DB_OLD_SUFFIX)}")
        statements.append(f"ALTER DATABASE {quote_ident(name + DB_NEW_SUFFIX)} RENAME TO "
                          f"{quote_ident(name)}")
    if statements:
        psql(host, "BEGIN; " + "; ".join(statements) + "; COMMIT;")


def restore_backup(host, archive, force=False, deploy=True):
    manifest = read_verified(archive)
    host.say("archive verified")
    installed = installed_versions(host, list(manifest["versions"]))
    problems = version_problems(manifest["versions"], installed)
    if problems and not force:
        raise UserError(f"{archive}: refusing to restore onto an older or incomplete installation: "
                        f"{problems[0]}" + (f" (and {len(problems) - 1} more)" if problems[1:] else "")
                        + "; install the release the backup was made on or a newer one, "
                        "or give --force")
    for db in manifest["databases"]:
        if not role_exists(host, db["owner"]):
            raise UserError(f"PostgreSQL role {db['owner']} (owner of {db['name']}) does not "
                            "exist: run fuel-deploy once before restoring")
    for root in manifest["roots"]:
        top = os.path.realpath(host.path(root))
        if os.path.realpath(archive).startswith(top + "/"):
            raise UserError(f"{archive} is inside {root}, which the restore replaces: "
                            "copy it elsewhere (e.g. /var/backups/fuel) and restore from there")
    check_space(host, manifest)
    swaps = {root: Swap.of(host, root) for root in manifest["roots"]
             if root not in manifest["absent"]}
    stopped = active_services(host, manifest["backup_set"]["services"])
    try:
        host.say(f"stopping {len(stopped)} services")
        systemctl(host, "stop", stopped)
        stage(host, archive, manifest, swaps)
        switch(host, archive, manifest, swaps)
    except UserError:
        systemctl(host, "start", stopped)
        raise
    summary = {"archive": archive, "restored": list(swaps),
               "databases": [db["name"] for db in manifest["databases"]],
               "versions": manifest["versions"], "installed": installed,
               "forced": bool(problems), "deployed": False, "started_services": stopped}
    if deploy:
        host.say(f"running {host.deploy} (migrations)")
        result = run([host.deploy])
        if result.returncode != 0:
            systemctl(host, "start", stopped)
            raise UserError(f"the data is restored but {host.deploy} failed "
                            f"({last_line(result.stdout + result.stderr)}); fix that and run "
                            f"{host.deploy} again")
        summary["deployed"] = True
    host.say(f"starting {len(stopped)} services")
    systemctl(host, "start", stopped)
    return summary


def stage(host, archive, manifest, swaps):
    """Files into their staging places, databases into NAME__fuel_restore; all or nothing."""
    work_parent = host.path("/var/tmp") if os.path.isdir(host.path("/var/tmp")) else None
    try:
        clear_debris(host, manifest, swaps)
        with tempfile.TemporaryDirectory(prefix=".fuel-restore-", dir=work_parent) as work:
            host.say("restoring files into new paths")
            stage_files(host, archive, manifest, swaps)
            dumps = extract_dumps(archive, manifest, work)
            for db in manifest["databases"]:
                host.say(f"pg_restore {db['name']}")
                restore_database(host, dumps[db["name"]], db["name"] + DB_NEW_SUFFIX,
                                 db["owner"], db.get("encoding") or "UTF8")
    except (OSError, UserError) as exc:
        clear_debris(host, manifest, swaps)
        message = disk_message(exc, "restoring") if isinstance(exc, OSError) else str(exc)
        raise UserError(f"{message}; nothing was changed (the previous data is in place); "
                        f"fix that and run 'fuel-restore {archive}' again") from None


def switch(host, archive, manifest, swaps):
    """Staged files and databases replace the current ones; a failure puts the previous back."""
    host.say("switching to the restored data")
    done = []
    try:
        for swap in swaps.values():
            done.append(swap)
            swap.switch()
        switch_databases(host, manifest["databases"])
    except (OSError, UserError) as exc:
        for swap in reversed(done):
            swap.undo()
        clear_debris(host, manifest, swaps)
        message = disk_message(exc, "switching") if isinstance(exc, OSError) else str(exc)
        raise UserError(f"{message}; the previous files and databases are back in place; "
                        f"run 'fuel-restore {archive}' again") from None
    for swap in swaps.values():
        remove_path(swap.old)
    for db in manifest["databases"]:
        drop_database(host, db["name"] + DB_OLD_SUFFIX)


def check_space(host, manifest):
    needed = sum(e.get("size", 0) for e in manifest["entries"])
    needed += sum(db["size"] for db in manifest["databases"])
    probe = host.root
    free = shutil.disk_usage(probe).free
    if needed > free:
        raise UserError(f"not enough space under {probe}: the restore needs {human(needed)}, "
                        f"{human(free)} is free; nothing was changed")


def human(size):
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024


# --- command lines --------------------------------------------------------------------------

def common_options(parser):
    env = os.environ.get
    parser.add_argument("--root", metavar="DIR", default=env("FUEL_ROOT", "/"),
                        help="the system's root; every path of the backup set is under it "
                             "(default: %(default)s)")
    parser.add_argument("--pg-user", metavar="USER", default=env("FUEL_PG_USER", "postgres"),
                        help="OS user and PostgreSQL superuser the database tools run as, with "
                             "peer authentication (default: %(default)s); PGHOST and PGPORT are "
                             "honoured")
    parser.add_argument("--json", action="store_true", help="print a JSON summary on stdout")


ENVIRONMENT = """
environment: FUEL_ROOT, FUEL_BACKUP_SET, FUEL_PG_USER (defaults of the options); PGHOST, PGPORT
(the PostgreSQL server); for tests on hosts without systemd, rpm or SELinux: FUEL_SYSTEMCTL,
FUEL_RPM, FUEL_DEPLOY_COMMAND (commands run instead), FUEL_LABEL_XATTR (the label attribute).
"""

BACKUP_EPILOG = """\
The archive holds every path and database of the backup set (ROOT/usr/share/fuel/backup-set.json,
derived from the Fuel manifest), the installed versions of the Fuel packages and a SHA-256 of
every file. Services of the backup set are stopped while it is written and started again after.
It is written atomically (mode 0600) and never overwrites an existing file.

exit status: 0 written, 1 failed (nothing written), 2 usage error
""" + ENVIRONMENT

RESTORE_EPILOG = """\
Every checksum is verified before anything is touched. Restoring onto the same or a newer release
is allowed; onto an older one (or without some package the backup had) only with --force. Files
and databases are restored next to the current ones and switched in at the end, so a failure
leaves the previous data in place. Then fuel-deploy runs (database migrations of a newer release)
and the services are started.

exit status: 0 restored, 1 failed (see the message for what is in place), 2 usage error
""" + ENVIRONMENT


def main_backup(argv=None):
    parser = Parser(prog="fuel-backup", description="Save Fuel's data into one archive.",
                    epilog=BACKUP_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", "-o", metavar="FILE",
                        help=f"the archive to write (default: ROOT{DEFAULT_BACKUP_DIR}/"
                             "fuel-backup-DATE.tar.gz)")
    parser.add_argument("--backup-set", metavar="FILE", default=os.environ.get("FUEL_BACKUP_SET"),
                        help=f"what to save (default: ROOT{DEFAULT_BACKUP_SET}, installed by "
                             "fuel-setup)")
    common_options(parser)
    return guarded(parser, argv, lambda args, host: create_backup(
        host, load_backup_set(args.backup_set or host.path(DEFAULT_BACKUP_SET)),
        os.path.abspath(args.output) if args.output else default_output(host)), backup_lines)


def main_restore(argv=None):
    parser = Parser(prog="fuel-restore", description="Restore Fuel's data from a fuel-backup archive.",
                    epilog=RESTORE_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("archive", metavar="FILE", help="the archive fuel-backup wrote")
    parser.add_argument("--force", action="store_true",
                        help="restore even onto older or missing package versions")
    parser.add_argument("--no-deploy", action="store_true",
                        help="do not run fuel-deploy after restoring (run it yourself)")
    common_options(parser)
    return guarded(parser, argv, lambda args, host: restore_backup(
        host, os.path.abspath(args.archive), force=args.force, deploy=not args.no_deploy),
        restore_lines)


def guarded(parser, argv, action, lines):
    try:
        args = parser.parse_args(argv)
        args.prog = parser.prog
        summary = action(args, host_from(args))
    except UserError as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return exc.status
    except KeyboardInterrupt:
        print(f"{parser.prog}: interrupted", file=sys.stderr)
        return EXIT_FAILED
    if args.json:
        print(json.dumps(summary, indent=2, sort_keys=True))
    else:
        for line in lines(summary):
            print(line)
    return EXIT_OK


def backup_lines(summary):
    yield (f"fuel-backup: wrote {summary['archive']} ({human(summary['size'])}: "
           f"{summary['files']} files, databases {', '.join(summary['databases']) or 'none'})")
    for path in summary["absent"]:
        yield f"fuel-backup: note: {path} does not exist here, not saved"
    for warning in summary["warnings"]:
        yield f"fuel-backup: warning: {warning}"


def restore_lines(summary):
    yield (f"fuel-restore: restored {len(summary['restored'])} paths and databases "
           f"{', '.join(summary['databases']) or 'none'} from {summary['archive']}")
    if summary["forced"]:
        yield "fuel-restore: warning: versions were not checked (--force)"
    if not summary["deployed"]:
        yield "fuel-restore: now run fuel-deploy"
