"""fuel-backup and fuel-restore, for real: a throwaway PostgreSQL 15 cluster started by the test
as a dedicated unprivileged user (peer authentication on a private socket, no password), data
written into the paths of the backup set derived from fuel.yaml under a temporary root, backup,
wipe, restore, everything compared byte for byte and row for row. Corrupted, truncated and
wrong-version archives and full disks must fail with one clear line and leave the data as it was.

Test doubles (the EL-only pieces, each behind one override in fuelbackup.py): `systemctl` is a
script that logs its calls (FUEL_SYSTEMCTL), `rpm -q` a script that prints versions from a file
(FUEL_RPM), fuel-deploy a script that records it ran (FUEL_DEPLOY_COMMAND), and SELinux labels
are exercised through a `user.` extended attribute (FUEL_LABEL_XATTR) since this host has no
SELinux. These prove the calls are made in the right order, not that systemd/rpm/SELinux
behave on EL.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import os
import pwd
import shutil
import socket
import stat
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import pytest

from buildtool.backupset import backup_set
from buildtool.manifest import load_manifest

REPO = Path(__file__).resolve().parents[1]
SETUP_DIR = REPO / "packages" / "fuel-setup"
sys.path.insert(0, str(SETUP_DIR))
import fuelbackup  # noqa: E402

PG_USER = "fuelpgtest"
PG_BIN = next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)),
              Path(shutil.which("initdb") or "/usr/bin/initdb").parent)
LABEL_XATTR = "user.fueltest.label"
VERSIONS = {"fuel-setup": "0:11.0.0-1.el9", "fuel-puppet": "0:11.0.0-1.el9",
            "fuel-nailgun": "0:11.0.0-1.el9"}

FAKE_SYSTEMCTL = """#!/bin/sh
echo "$*" >> "$FAKE_LOG"
if [ "$1" = is-active ]; then
    case " $* " in *" nailgun.service "*|*" astute.service "*) exit 0 ;; esac
    exit 3
fi
exit 0
"""
FAKE_RPM = """#!/usr/bin/python3
import json, os, sys
versions = json.load(open(os.environ["FAKE_VERSIONS"]))
for name in sys.argv[4:]:
    if name in versions:
        epoch, rest = versions[name].split(":", 1)
        print(name, f"{epoch}:{rest}")
    else:
        print(f"package {name} is not installed")
"""
FAKE_DEPLOY = """#!/bin/sh
echo deploy >> "$FAKE_LOG"
"""


# --- the PostgreSQL server ----------------------------------------------------------------

def ensure_pg_user() -> None:
    try:
        pwd.getpwnam(PG_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                        PG_USER], check=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def postgres():
    """A PostgreSQL cluster of PG_USER on a free port, socket only; stopped in teardown."""
    if os.geteuid() != 0 or not (PG_BIN / "initdb").exists() or shutil.which("runuser") is None:
        pytest.skip("needs root, runuser and PostgreSQL 15 (scripts/ensure-tools test)")
    ensure_pg_user()
    base = Path(tempfile.mkdtemp(prefix="fuel-pgtest-"))
    data, sockets = base / "data", base / "sockets"
    sockets.mkdir()
    shutil.chown(base, PG_USER)
    shutil.chown(sockets, PG_USER)
    port = free_port()
    as_pg = ["runuser", "-u", PG_USER, "--"]
    subprocess.run([*as_pg, str(PG_BIN / "initdb"), "-D", str(data), "-U", PG_USER,
                    "--auth-local=peer", "--auth-host=reject", "-E", "UTF8", "--locale=C.UTF-8"],
                   check=True, capture_output=True)
    subprocess.run([*as_pg, str(PG_BIN / "pg_ctl"), "-D", str(data), "-w", "-l",
                    str(base / "server.log"), "-o",
                    f"-p {port} -k {sockets} -c listen_addresses='' -c fsync=off "
                    "-c synchronous_commit=off -c full_page_writes=off", "start"],
                   check=True, capture_output=True)
    env = {"PGHOST": str(sockets), "PGPORT": str(port),
           "PATH": f"{PG_BIN}:{os.environ['PATH']}"}
    try:
        yield env
    finally:
        subprocess.run([*as_pg, str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "fast", "-w",
                        "stop"], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


def sql(pg_env, statement, database="postgres") -> str:
    result = subprocess.run(["runuser", "-u", PG_USER, "--", "psql", "-X", "-q", "-A", "-t",
                             "-v", "ON_ERROR_STOP=1", "-d", database, "-c", statement],
                            capture_output=True, text=True, env={**os.environ, **pg_env})
    assert result.returncode == 0, result.stderr
    return result.stdout


def databases_in(pg_env) -> set[str]:
    return set(sql(pg_env, "SELECT datname FROM pg_database").split())


def rows(pg_env, database) -> dict[str, str]:
    """Every row of every table of `database`, as text, in a stable order; plus its owner."""
    tables = sql(pg_env, "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                         "ORDER BY 1", database).split()
    result = {"__owner": sql(pg_env, "SELECT pg_get_userbyid(datdba) FROM pg_database "
                                     f"WHERE datname = '{database}'")}
    for table in tables:
        result[table] = sql(pg_env, f"SELECT * FROM {table} ORDER BY 1", database)
        result[table + ".__owner"] = sql(pg_env, "SELECT tableowner FROM pg_tables "
                                                 f"WHERE tablename = '{table}'", database)
    return result


# --- a Fuel master node under a temporary root -----------------------------------------------

@pytest.fixture
def node(tmp_path, postgres):
    """A temporary root with the backup set of fuel.yaml (upstream profile), state data in
    every declared path, three databases with rows, and the test doubles."""
    root = tmp_path / "root"
    manifest = load_manifest(REPO / "fuel.yaml", profiles=["upstream"])
    the_set = backup_set(manifest, "el9")
    set_file = root / "usr/share/fuel/backup-set.json"
    set_file.parent.mkdir(parents=True)
    set_file.write_text(the_set.to_json())
    for item in the_set.paths:
        write_state(root, item.path, item.type)
    for db in the_set.databases:
        create_database(postgres, db.name, db.owner)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, text in (("systemctl", FAKE_SYSTEMCTL), ("rpm", FAKE_RPM), ("deploy", FAKE_DEPLOY)):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    versions = tmp_path / "versions.json"
    versions.write_text(json.dumps(VERSIONS))
    env = {**os.environ, **postgres, "FUEL_ROOT": str(root), "FUEL_PG_USER": PG_USER,
           "FUEL_SETUP_LIB": str(SETUP_DIR), "FUEL_SYSTEMCTL": str(bin_dir / "systemctl"),
           "FUEL_RPM": str(bin_dir / "rpm"), "FUEL_DEPLOY_COMMAND": str(bin_dir / "deploy"),
           "FUEL_LABEL_XATTR": LABEL_XATTR, "FAKE_LOG": str(tmp_path / "calls.log"),
           "FAKE_VERSIONS": str(versions)}
    yield {"root": root, "set": the_set, "env": env, "pg": postgres, "tmp": tmp_path,
           "log": tmp_path / "calls.log", "versions": versions}
    for db in the_set.databases:
        for name in (db.name, db.name + "__fuel_restore", db.name + "__fuel_previous"):
            sql(postgres, f'DROP DATABASE IF EXISTS "{name}"')


def write_state(root: Path, target_path: str, kind: str) -> None:
    """Data an operator would care about, with owners, modes and labels worth preserving."""
    path = root / target_path.lstrip("/")
    seed = hashlib.sha256(target_path.encode()).digest()
    if kind == "file":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"# edited by the operator\n" + seed)
        os.chown(path, 0, 4243)
        path.chmod(0o640)
        return
    path.mkdir(parents=True, exist_ok=True)
    os.chown(path, 4242, 4243)
    (path / "keys").mkdir(exist_ok=True)
    (path / "keys" / "id_rsa").write_bytes(seed * 100)
    (path / "keys" / "id_rsa").chmod(0o600)
    os.chown(path / "keys" / "id_rsa", 4242, 4243)
    (path / "empty").write_bytes(b"")
    (path / "binary.dat").write_bytes(bytes(range(256)) * 40 + seed)
    (path / "setuid-like").write_text("x")
    (path / "setuid-like").chmod(0o2750)
    link = path / "current"
    if not link.is_symlink():
        link.symlink_to("keys/id_rsa")
    os.setxattr(path / "binary.dat", LABEL_XATTR, b"system_u:object_r:fuel_var_lib_t:s0")
    os.utime(path / "binary.dat", (1_600_000_000, 1_600_000_000))


def create_database(pg_env, name: str, owner: str) -> None:
    sql(pg_env, f"DO $$BEGIN CREATE ROLE {owner}; EXCEPTION WHEN duplicate_object THEN NULL; END$$")
    sql(pg_env, f"CREATE DATABASE {name} OWNER {owner} TEMPLATE template0")
    sql(pg_env, f"SET ROLE {owner}; CREATE TABLE settings (id int PRIMARY KEY, key text, "
                f"value jsonb, blob bytea); INSERT INTO settings SELECT i, 'key ' || i || ' é✓', "
                f"jsonb_build_object('n', i, 'db', '{name}'), decode(md5(i::text), 'hex') "
                f"FROM generate_series(1, 500) i; CREATE TABLE nodes (id serial PRIMARY KEY, "
                f"mac text UNIQUE); INSERT INTO nodes (mac) SELECT 'aa:bb:' || i "
                f"FROM generate_series(1, 50) i;", name)


def snapshot(root: Path) -> dict[str, tuple]:
    """Every path under the root (but the backup set file): type, mode, owner, content, label."""
    result = {}
    for path in sorted(root.rglob("*")):
        relative = str(path.relative_to(root))
        if relative.startswith("usr/share/fuel") or relative.startswith("var/backups"):
            continue
        st = os.lstat(path)
        if stat.S_ISLNK(st.st_mode):
            result[relative] = ("link", os.readlink(path), st.st_uid, st.st_gid)
            continue
        label = None
        with contextlib.suppress(OSError):
            label = os.getxattr(path, LABEL_XATTR)
        content = path.read_bytes() if path.is_file() else None
        mtime = int(st.st_mtime) if path.is_file() else None
        result[relative] = (stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), st.st_uid,
                            st.st_gid, content, label, mtime)
    return result


def all_rows(node) -> dict[str, dict]:
    return {db.name: rows(node["pg"], db.name) for db in node["set"].databases}


def tool(node, name: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SETUP_DIR / name), *args], capture_output=True,
                          text=True, env=node["env"])


def backup(node, name="backup.tar.gz") -> Path:
    archive = node["tmp"] / name
    result = tool(node, "fuel-backup", "--output", str(archive), "--json")
    assert result.returncode == 0, result.stderr
    return archive


def wipe(node) -> None:
    for item in node["set"].paths:
        path = node["root"] / item.path.lstrip("/")
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    for db in node["set"].databases:
        sql(node["pg"], f"DROP DATABASE {db.name}")
        sql(node["pg"], f"CREATE DATABASE {db.name} OWNER {db.owner}")


def assert_clean_error(result: subprocess.CompletedProcess, prog: str, *words: str) -> None:
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1, result.stderr
    assert len(lines) == 1 and lines[0].startswith(f"{prog}: error: "), result.stderr
    assert "Traceback" not in result.stderr
    for word in words:
        assert word.lower() in lines[0].lower(), lines[0]


# --- the round trip --------------------------------------------------------------------------

integration = pytest.mark.integration


@integration
def test_backup_wipe_restore_gives_back_every_byte_and_row(node):
    before, before_rows = snapshot(node["root"]), all_rows(node)
    assert len(before) > 60 and set(before_rows) == {"keystone", "nailgun", "ostf"}

    archive = node["tmp"] / "backup.tar.gz"
    result = tool(node, "fuel-backup", "--output", str(archive), "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["databases"] == ["keystone", "nailgun", "ostf"]
    assert summary["restarted_services"] == ["astute.service", "nailgun.service"]
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    assert not list(node["tmp"].glob(".fuel-backup-*")), "no partial file left"
    calls = node["log"].read_text().splitlines()
    assert "stop astute.service nailgun.service" in calls
    assert calls.index("stop astute.service nailgun.service") < \
        calls.index("start astute.service nailgun.service")

    wipe(node)
    assert snapshot(node["root"]) != before and all_rows(node) != before_rows
    node["log"].write_text("")
    result = tool(node, "fuel-restore", str(archive), "--json")
    assert result.returncode == 0, result.stderr
    assert snapshot(node["root"]) == before
    assert all_rows(node) == before_rows
    leftovers = {d for d in databases_in(node["pg"]) if "__fuel_" in d}
    assert not leftovers
    assert not list(node["root"].rglob("*.fuel-restore-*"))
    calls = node["log"].read_text().splitlines()
    assert calls.index("stop astute.service nailgun.service") < calls.index("deploy") < \
        calls.index("start astute.service nailgun.service")
    assert json.loads(result.stdout)["deployed"] is True


@integration
def test_archive_holds_versions_set_checksums_and_custom_format_dumps(node):
    archive = backup(node)
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        manifest = json.load(tar.extractfile("backup.json"))
        dump = tar.extractfile("databases/nailgun.dump").read()
    assert names[-2:] == ["backup.json", "backup.json.sha256"]
    assert dump.startswith(b"PGDMP")  # pg_dump's custom format
    assert manifest["versions"]["fuel-setup"] == "0:11.0.0-1.el9"
    assert manifest["versions"]["astute"] is None  # not installed on this node
    assert manifest["backup_set"]["paths"] == json.loads(node["set"].to_json())["paths"]
    keys = next(e for e in manifest["entries"] if e["path"] == "/var/lib/fuel/keys/id_rsa")
    data = (node["root"] / "var/lib/fuel/keys/id_rsa").read_bytes()
    assert keys["sha256"] == hashlib.sha256(data).hexdigest()
    assert (keys["mode"], keys["uid"], keys["gid"]) == ("0600", 4242, 4243)
    assert "/var/www/nailgun/plugins" not in manifest["roots"]  # inside /var/www/nailgun


@integration
def test_progress_on_a_terminal_only(node):
    if shutil.which("script") is None:
        pytest.skip("needs script (util-linux) for a pseudo-terminal")
    archive = node["tmp"] / "tty.tar.gz"
    command = f"{sys.executable} {SETUP_DIR / 'fuel-backup'} --output {archive}"
    on_tty = subprocess.run(["script", "-qec", command, "/dev/null"], capture_output=True,
                            text=True, env=node["env"])
    assert on_tty.returncode == 0, on_tty.stdout
    assert "fuel-backup: [1/" in on_tty.stdout and "pg_dump nailgun" in on_tty.stdout
    piped = tool(node, "fuel-backup", "--output", str(node["tmp"] / "piped.tar.gz"))
    assert piped.stderr == "" and piped.stdout.startswith("fuel-backup: wrote ")


@integration
def test_backup_refuses_to_overwrite(node):
    archive = node["tmp"] / "exists.tar.gz"
    archive.write_text("precious")
    result = tool(node, "fuel-backup", "--output", str(archive))
    assert_clean_error(result, "fuel-backup", "already exists")
    assert archive.read_text() == "precious"


@integration
def test_backup_refuses_an_output_inside_the_backup_set(node):
    result = tool(node, "fuel-backup", "--output", str(node["root"] / "var/lib/fuel/b.tar.gz"))
    assert_clean_error(result, "fuel-backup", "inside the backed-up path /var/lib/fuel")


# --- failures leave the data untouched -------------------------------------------------------

def changed_since_backup(node) -> tuple[dict, dict]:
    """Write something new after the backup: a failed restore must keep it."""
    (node["root"] / "var/lib/fuel/keys/new-key").write_text("made after the backup")
    sql(node["pg"], "INSERT INTO settings VALUES (9999, 'after', '{}', NULL)", "nailgun")
    return snapshot(node["root"]), all_rows(node)


@integration
def test_corrupted_archive_is_refused_before_anything_changes(node):
    archive = backup(node)
    data = bytearray(archive.read_bytes())
    # flip bytes inside the first stored file: gzip must notice, or the checksums must
    plain = bytearray(gzip.decompress(bytes(data)))
    at = plain.index(b"# edited by the operator")
    plain[at] ^= 0xFF
    corrupted = node["tmp"] / "corrupted.tar.gz"
    corrupted.write_bytes(gzip.compress(bytes(plain)))
    flipped = node["tmp"] / "flipped.tar.gz"
    data[len(data) // 2] ^= 0xFF
    flipped.write_bytes(bytes(data))
    before = changed_since_backup(node)
    node["log"].write_text("")
    result = tool(node, "fuel-restore", str(corrupted))
    assert_clean_error(result, "fuel-restore", "checksum mismatch", "corrupted")
    result = tool(node, "fuel-restore", str(flipped))
    assert_clean_error(result, "fuel-restore", "corrupted")
    assert (snapshot(node["root"]), all_rows(node)) == before
    assert node["log"].read_text() == "", "no service was touched"


@integration
def test_tampered_backup_json_is_refused(node):
    archive = backup(node)
    tampered = node["tmp"] / "tampered.tar.gz"
    with tarfile.open(archive) as source, tarfile.open(tampered, "w:gz") as out:
        for member in source:
            data = source.extractfile(member).read() if member.isfile() else None
            if member.name == "backup.json":
                data = data.replace(b'"mode": "0600"', b'"mode": "0666"')
                member.size = len(data)
            out.addfile(member, io.BytesIO(data) if data is not None else None)
    before = changed_since_backup(node)
    result = tool(node, "fuel-restore", str(tampered))
    assert_clean_error(result, "fuel-restore", "checksum mismatch for backup.json")
    assert (snapshot(node["root"]), all_rows(node)) == before


@integration
def test_truncated_archive_is_refused_before_anything_changes(node):
    archive = backup(node)
    truncated = node["tmp"] / "truncated.tar.gz"
    truncated.write_bytes(archive.read_bytes()[: archive.stat().st_size * 2 // 3])
    before = changed_since_backup(node)
    result = tool(node, "fuel-restore", str(truncated))
    assert_clean_error(result, "fuel-restore", "truncated")
    assert (snapshot(node["root"]), all_rows(node)) == before


@integration
def test_restore_onto_an_older_release_is_refused_unless_forced(node):
    archive = backup(node)
    before = changed_since_backup(node)
    node["versions"].write_text(json.dumps({**VERSIONS, "fuel-setup": "0:10.0.0-3.el9"}))
    result = tool(node, "fuel-restore", str(archive))
    assert_clean_error(result, "fuel-restore", "fuel-setup 0:10.0.0-3.el9 is older than the "
                                               "backup's 0:11.0.0-1.el9", "--force")
    assert (snapshot(node["root"]), all_rows(node)) == before
    node["versions"].write_text(json.dumps({**VERSIONS, "fuel-setup": "0:11.0.1-1.el9"}))
    newer = tool(node, "fuel-restore", str(archive))
    assert newer.returncode == 0, newer.stderr
    assert "new-key" not in {p.name for p in (node["root"] / "var/lib/fuel/keys").iterdir()}


@integration
def test_forced_restore_onto_an_older_release(node):
    archive = backup(node)
    node["versions"].write_text(json.dumps({**VERSIONS, "fuel-nailgun": "0:1.0-1"}))
    assert tool(node, "fuel-restore", str(archive)).returncode == 1
    forced = tool(node, "fuel-restore", str(archive), "--force", "--no-deploy")
    assert forced.returncode == 0, forced.stderr
    assert "versions were not checked" in forced.stdout
    assert "deploy" not in node["log"].read_text().splitlines()


@contextlib.contextmanager
def small_filesystem(path: Path, size: str):
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                             capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=True)


@integration
def test_backup_on_a_full_disk_writes_nothing_and_restarts_services(node):
    with small_filesystem(node["tmp"] / "small", "16k") as small:
        node["log"].write_text("")
        result = tool(node, "fuel-backup", "--output", str(small / "b.tar.gz"))
        assert_clean_error(result, "fuel-backup", "no space left on device", "no backup was written")
        assert list(small.iterdir()) == []
    assert "start astute.service nailgun.service" in node["log"].read_text().splitlines()


@contextlib.contextmanager
def moved_onto_small_filesystem(path: Path, size: str):
    """`path` with its content (owners, modes, labels) moved onto its own tmpfs mount."""
    aside = path.with_name(path.name + ".aside")
    path.rename(aside)
    with small_filesystem(path, size):
        subprocess.run(["cp", "-a", f"{aside}/.", str(path)], check=True)
        shutil.rmtree(aside)
        yield path


@integration
def test_restore_onto_a_full_disk_keeps_the_previous_data(node):
    var_lib = node["root"] / "var/lib"
    with moved_onto_small_filesystem(var_lib, "2m"):
        # many small files: few bytes, but a page each; a second copy does not fit
        for i in range(300):
            (var_lib / "fuel" / f"stamp-{i}").write_text(str(i))
        archive = backup(node)
        before = changed_since_backup(node)
        node["log"].write_text("")
        result = tool(node, "fuel-restore", str(archive))
        assert_clean_error(result, "fuel-restore", "no space left on device",
                           "nothing was changed", f"fuel-restore {archive}")
        assert (snapshot(node["root"]), all_rows(node)) == before
        assert not list(node["root"].rglob("*.fuel-restore-*"))
        assert not {d for d in databases_in(node["pg"]) if "__fuel_" in d}
        calls = node["log"].read_text().splitlines()
        assert calls[-1] == "start astute.service nailgun.service"


@integration
def test_a_state_directory_that_is_a_mount_point_is_restored_in_place(node):
    with moved_onto_small_filesystem(node["root"] / "var/lib/fuel", "8m") as mounted:
        before = snapshot(node["root"])
        archive = backup(node)
        for entry in mounted.iterdir():
            shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
        (mounted / "made-after").write_text("x")
        mounted.chmod(0o700)
        result = tool(node, "fuel-restore", str(archive))
        assert result.returncode == 0, result.stderr
        assert snapshot(node["root"]) == before
        assert os.path.ismount(mounted)


@integration
def test_failed_database_restore_keeps_the_previous_files_and_databases(node):
    archive = backup(node)
    before = changed_since_backup(node)
    sql(node["pg"], "ALTER ROLE ostf RENAME TO ostf_gone")
    try:
        result = tool(node, "fuel-restore", str(archive))
        assert_clean_error(result, "fuel-restore", "role ostf", "fuel-deploy")
    finally:
        sql(node["pg"], "ALTER ROLE ostf_gone RENAME TO ostf")
    assert (snapshot(node["root"]), all_rows(node)) == before


@integration
def test_restore_refuses_an_archive_inside_what_it_replaces(node):
    archive = backup(node)
    inside = node["root"] / "var/lib/fuel/backup.tar.gz"
    shutil.copy(archive, inside)
    result = tool(node, "fuel-restore", str(inside))
    assert_clean_error(result, "fuel-restore", "inside /var/lib/fuel", "copy it elsewhere")
    assert inside.exists()


@integration
def test_restore_of_a_missing_archive_is_one_line(node):
    result = tool(node, "fuel-restore", str(node["tmp"] / "nope.tar.gz"))
    assert_clean_error(result, "fuel-restore", "no such file")


# --- units: versions ------------------------------------------------------------------------

@pytest.mark.parametrize("a, b, expected", [
    ("1.0", "1.0", 0), ("1.0", "1.1", -1), ("1.10", "1.9", 1), ("1.0~rc1", "1.0", -1),
    ("1.0^git1", "1.0", 1), ("1.0^git1", "1.0.1", -1), ("2.0a", "2.0", 1), ("1.0", "1.a", 1),
    ("011", "11", 0), ("1.el9", "1.el9_2", -1), ("11.0.0", "10.0.0", 1),
])
def test_rpmvercmp_matches_rpm(a, b, expected):
    assert fuelbackup.rpmvercmp(a, b) == expected
    assert fuelbackup.rpmvercmp(b, a) == -expected


@pytest.mark.skipif(shutil.which("rpm") is None, reason="needs rpm")
def test_rpmvercmp_agrees_with_rpm_itself():
    pairs = [("1.0~rc1", "1.0"), ("1.0^git1", "1.0.1"), ("2.0a", "2.0"), ("1.el9", "1.el9_2"),
             ("10", "9"), ("1.0.0", "1.0"), ("a", "1"), ("1.01", "1.1"), ("1_2", "1.2")]
    for a, b in pairs:
        out = subprocess.run(["rpm", "--eval", f"%{{lua: print(rpm.vercmp('{a}', '{b}'))}}"],
                             capture_output=True, text=True).stdout.strip()
        assert fuelbackup.rpmvercmp(a, b) == int(out), (a, b)


def test_version_problems_allow_equal_and_newer_only():
    saved = {"fuel-setup": "0:11.0.0-1.el9", "astute": None}
    assert fuelbackup.version_problems(saved, {"fuel-setup": "0:11.0.0-1.el9"}) == []
    assert fuelbackup.version_problems(saved, {"fuel-setup": "0:11.0.0-2.el9"}) == []
    assert fuelbackup.version_problems(saved, {"fuel-setup": "1:1.0-1"}) == []
    assert fuelbackup.version_problems(saved, {"fuel-setup": "0:11.0.0-0.el9"})
    assert "not installed" in fuelbackup.version_problems(saved, {})[0]


def test_usage_error_is_one_line_exit_2(tmp_path):
    result = subprocess.run([sys.executable, str(SETUP_DIR / "fuel-restore")], capture_output=True,
                            text=True, env={**os.environ, "FUEL_SETUP_LIB": str(SETUP_DIR)})
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith("fuel-restore: error: ")


def test_commands_start_fast():
    start = time.monotonic()
    result = subprocess.run([sys.executable, str(SETUP_DIR / "fuel-backup"), "--help"],
                            capture_output=True, text=True,
                            env={**os.environ, "FUEL_SETUP_LIB": str(SETUP_DIR)})
    assert result.returncode == 0 and "--output" in result.stdout
    assert time.monotonic() - start < 5
