"""The Puppet tree's own checks (puppet/run-tests.sh): parser validate,
epp validate, puppet-lint --fail-on-warnings, rspec-puppet for every target
(el9, el10, fedora-44/45, leap-16), once with Puppet 7's defaults and once
with Puppet 8's; and the fuel module's PostgreSQL SQL run against a real
PostgreSQL server."""

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
RUN_TESTS = REPO / "puppet" / "run-tests.sh"
MODULES = REPO / "puppet" / "modules"
SALT = "fuel-salt-0123456789"

needs_puppet = pytest.mark.skipif(
    shutil.which("puppet") is None,
    reason="puppet is not installed (apt-get install puppet puppet-lint ruby-rspec-puppet)")


@pytest.mark.integration
@needs_puppet
def test_puppet_tree():
    r = subprocess.run(["bash", str(RUN_TESTS)], capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout[-6000:] + r.stderr[-6000:]
    assert r.stdout.count(" 0 failures") == 2, "rspec must run with Puppet 7's and Puppet 8's defaults"
    assert "== rspec-puppet with Puppet 8's defaults" in r.stdout


def test_fuel_puppet_ships_every_runtime_part_of_the_module():
    """fuel-puppet installs the module's runtime directories (not spec/): a
    directory added to the module (types/, functions/, lib/...) must be
    added to fuel.yaml too, or Puppet fails on the master node."""
    manifest = yaml.safe_load((REPO / "fuel.yaml").read_text())
    installed = {entry["src"] for entry in manifest["packages"]["fuel-puppet"]["install"]}
    module = MODULES / "fuel"
    runtime = {f"modules/fuel/{p.name}" for p in module.iterdir()
               if p.name not in {"spec", ".rspec", "REFERENCE.md"} and not p.name.startswith(".")}
    assert runtime - installed == set()


def test_fuel_puppet_requires_no_puppet_module():
    """The fuel module uses Puppet core only (metadata.json: no dependencies)."""
    manifest = yaml.safe_load((REPO / "fuel.yaml").read_text())
    requires = manifest["packages"]["fuel-puppet"]["requires"]
    assert [r for r in requires if r.startswith("puppet-")] == []
    assert "puppet" in requires


# ---------------------------------------------------------------- real PostgreSQL

def render(template: str, values: str) -> str:
    """Render one of the fuel module's templates with the module's own functions."""
    return render_inline(f"<%= epp('fuel/postgresql/{template}', $values) %>", values)


def render_inline(epp: str, values: str) -> str:
    r = subprocess.run(["puppet", "epp", "render", "--color=false", "--modulepath", str(MODULES),
                        "--values", f"{{values => {values}}}", "-e", epp],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return r.stdout


def database_sql(password: str) -> tuple[str, str]:
    """The role/database SQL and its check, as fuel::postgresql writes them (one puppet run)."""
    values = ("{database => 'nailgun', role => 'nailgun', "
              f"verifier => fuel::scram_sha256(Sensitive('{password}'), '{SALT}')}}")
    both = render_inline("<%= epp('fuel/postgresql/database.sql.epp', $values) %>\f"
                         "<%= epp('fuel/postgresql/database.check.sql.epp', $values) %>", values)
    sql, check = both.split("\f")
    return sql, check


def postgres_bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """A throwaway PostgreSQL cluster run by the postgres user."""

    def __init__(self, bindir: Path, root: Path):
        self.bindir, self.root, self.port = bindir, root, free_port()
        self.data = root / "data"

    def as_postgres(self, *args: str, stdin=None, check=True) -> subprocess.CompletedProcess:
        return subprocess.run(["runuser", "-u", "postgres", "--", *args], stdin=stdin,
                              capture_output=True, text=True, timeout=120, check=check)

    def start(self, pg_hba: str) -> None:
        self.as_postgres(str(self.bindir / "initdb"), "-D", str(self.data), "-E", "UTF8",
                         "--auth-local=peer", "--auth-host=scram-sha-256")
        hba = self.data / "pg_hba.conf"
        hba.write_text(pg_hba)
        postgres = pwd.getpwnam("postgres")
        os.chown(hba, postgres.pw_uid, postgres.pw_gid)
        self.as_postgres(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-w", "-l",
                         str(self.root / "log"), "-o",
                         f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1", "start")

    def stop(self) -> None:
        self.as_postgres(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "stop",
                         check=False)

    def psql_file(self, sql: Path, *options: str) -> subprocess.CompletedProcess:
        """What fuel::postgresql's exec does: root opens the 0600 file, psql reads stdin."""
        with sql.open() as stdin:
            return self.as_postgres(str(self.bindir / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1",
                                    "-h", str(self.root), "-p", str(self.port), "-d", "postgres",
                                    *options, stdin=stdin, check=False)

    def login(self, password: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(self.bindir / "psql"), "-X", "-h", "127.0.0.1", "-p", str(self.port),
                               "-U", "nailgun", "-d", "nailgun", "-tAc",
                               "SELECT current_user || ' ' || pg_catalog.pg_get_userbyid(datdba) "
                               "FROM pg_database WHERE datname = 'nailgun'"],
                              env={**os.environ, "PGPASSWORD": password},
                              capture_output=True, text=True, timeout=60)


def root_only(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(0o600)
    return path


@pytest.fixture
def cluster():
    bindir = postgres_bindir()
    if bindir is None or os.geteuid() != 0:
        pytest.skip("needs root and a PostgreSQL server (apt-get install postgresql)")
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("needs the postgres user")
    root = Path(tempfile.mkdtemp(prefix="fuel-pg-"))
    postgres = pwd.getpwnam("postgres")
    os.chown(root, postgres.pw_uid, postgres.pw_gid)
    db = Cluster(bindir, root)
    secrets_dir = Path(tempfile.mkdtemp(prefix="fuel-pg-sql-"))  # root only (0700)
    try:
        yield db, secrets_dir
    finally:
        db.stop()
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(secrets_dir, ignore_errors=True)


@pytest.mark.integration
@needs_puppet
def test_postgresql_sql_creates_role_and_database_idempotently(cluster):
    db, secrets_dir = cluster
    db.start(render("pg_hba.conf.epp", "{databases => [['nailgun', 'nailgun']]}"))
    sql, check = database_sql("S3cret pass")
    assert "S3cret pass" not in sql + check
    sql_file = root_only(secrets_dir / "nailgun.sql", sql)
    check_file = root_only(secrets_dir / "nailgun.check.sql", check)

    assert db.psql_file(check_file, "-tA").stdout.strip() == "f"
    for _ in range(2):  # the second run changes nothing and does not fail
        r = db.psql_file(sql_file)
        assert r.returncode == 0, r.stderr
        assert db.psql_file(check_file, "-tA").stdout.strip() == "t"

    # pg_hba's md5 method accepts the stored SCRAM verifier over loopback TCP
    ok = db.login("S3cret pass")
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip() == "nailgun nailgun"
    assert db.login("wrong").returncode != 0


@pytest.mark.integration
@needs_puppet
def test_postgresql_sql_applies_a_changed_password(cluster):
    db, secrets_dir = cluster
    db.start(render("pg_hba.conf.epp", "{databases => [['nailgun', 'nailgun']]}"))
    first, _ = database_sql("First pass1")
    assert db.psql_file(root_only(secrets_dir / "first.sql", first)).returncode == 0

    sql, check = database_sql("Second pass2")
    check_file = root_only(secrets_dir / "nailgun.check.sql", check)
    assert db.psql_file(check_file, "-tA").stdout.strip() == "f"
    assert db.psql_file(root_only(secrets_dir / "nailgun.sql", sql)).returncode == 0
    assert db.psql_file(check_file, "-tA").stdout.strip() == "t"
    assert db.login("Second pass2").returncode == 0
    assert db.login("First pass1").returncode != 0
