"""The upstream profile built from local git checkouts laid out like Fuel's upstream repositories.

The fixture trees under tests/fixtures/upstream/ become git repositories (tag 11.0.0) at test time;
`--source NAME=PATH` points each upstream package at its checkout, as a release engineer would.
Daemon units are checked with systemd-analyze verify, users and owners against the package set.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from npmregistry import NpmRegistry
from test_fuel_packages import file_table, query, requires, rpms, unpack

from conftest import FIXTURES, ROOT, require_tools, run_buildtool

pytestmark = pytest.mark.integration

CHECKOUTS = {  # package -> upstream repository name
    "fuel-nailgun": "fuel-web", "fuel-ostf": "fuel-ostf", "astute": "fuel-astute",
    "fuel-ui": "fuel-ui", "fuelmenu": "fuel-menu", "shotgun": "shotgun",
    "network-checker": "network-checker",
}
DAEMON_PACKAGES = {"fuel-nailgun": "nailgun", "fuel-ostf": "ostf", "astute": "astute"}


def git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", "-c", "user.name=Fuel Tests", "-c", "user.email=tests@localhost",
                    "-c", "init.defaultBranch=master", *args], cwd=cwd, check=True,
                   capture_output=True)


def make_checkouts(dest: Path) -> dict[str, Path]:
    """Each fixture tree as a git repository with the release tag the manifest names."""
    checkouts = {}
    for package, repository in CHECKOUTS.items():
        checkout = dest / repository
        shutil.copytree(FIXTURES / "upstream" / repository, checkout)
        git("init", "-q", cwd=checkout)
        git("add", "-A", cwd=checkout)
        git("commit", "-q", "-m", "fixture", cwd=checkout)
        git("tag", "11.0.0", cwd=checkout)
        checkouts[package] = checkout
    return checkouts


@pytest.fixture(scope="module")
def checkouts(tmp_path_factory) -> dict[str, Path]:
    require_tools("git")
    return make_checkouts(tmp_path_factory.mktemp("checkouts"))


def source_args(checkouts: dict[str, Path]) -> list[str]:
    return [arg for package, path in checkouts.items() for arg in ("--source", f"{package}={path}")]


@pytest.fixture(scope="module")
def upstream_run(tmp_path_factory, checkouts) -> tuple[Path, dict]:
    """`buildtool repo --profile upstream` for el9: (its build directory, its --json summary)."""
    require_tools("rpmbuild", "rpm", "createrepo_c", "rpm2cpio", "cpio", "npm", "node")
    tmp = tmp_path_factory.mktemp("upstream")
    with NpmRegistry(FIXTURES / "npm-registry") as registry:  # fuel-ui's node_modules
        result = run_buildtool("repo", "--profile", "upstream", *source_args(checkouts), "-j", "2",
                               "--json", "--build-dir", str(tmp / "build"),
                               "--dist-dir", str(tmp / "dist"),
                               env=dict(os.environ, npm_config_registry=registry.url))
    summary = json.loads(result.stdout)
    built = summary["targets"]["el9"]["packages"]
    assert all(p["status"] == "built" for p in built.values()), result.stderr[-3000:]
    # Every package builds; publishing holds back what el9 cannot install (exit status 1).
    assert result.status == (1 if summary["targets"]["el9"]["held_back"] else 0)
    return tmp / "build" / "el9", summary


@pytest.fixture(scope="module")
def built(upstream_run) -> dict[str, Path]:
    """Every RPM the build made, published or held back."""
    build_dir, _ = upstream_run
    return {name: path for directory in (build_dir / "rpms").iterdir()
            for name, path in rpms(directory).items()}


@pytest.fixture(scope="module")
def payload(built, tmp_path_factory) -> Path:
    """Every RPM of the set unpacked into one tree, as if installed."""
    root = tmp_path_factory.mktemp("root")
    for rpm in built.values():
        unpack(rpm, root)
    return root


def created_users(payload: Path) -> set[str]:
    users = {"root"}
    for conf in (payload / "usr/lib/sysusers.d").glob("*.conf"):
        users |= {line.split()[1] for line in conf.read_text().splitlines()
                  if line.startswith(("u ", "g "))}
    return users


def test_fuel_requires_the_upstream_packages(built):
    assert set(CHECKOUTS) <= set(built)
    assert set(CHECKOUTS) <= set(requires(built["fuel"]))


def test_without_the_profile_fuel_does_not_require_them(tmp_path):
    result = run_buildtool("render", "--build-dir", str(tmp_path))
    assert result.status == 0, result.stderr
    spec = (tmp_path / "el9" / "SPECS" / "fuel.spec").read_text()
    assert "Requires:       python3-fuelclient" in spec
    assert not [p for p in CHECKOUTS if f"Requires:       {p}\n" in spec]


def test_every_files_owner_is_created_by_the_package_set(built, payload):
    users = created_users(payload)
    assert {"nailgun", "ostf", "astute"} <= users
    for name, rpm in built.items():
        for path, _, user, group in file_table(rpm):
            assert user in users and group in users, f"{name}: {path} owned by {user}:{group}"


def test_every_config_is_noreplace_and_secrets_are_0640_root_service(built):
    secrets = {}
    for name, rpm in built.items():
        out = query(rpm, "[%{FILENAMES} %{FILEFLAGS:fflags} %{FILEMODES:octal} "
                         "%{FILEUSERNAME} %{FILEGROUPNAME}\n]")
        for line in out.splitlines():
            path, flags, mode, user, group = line.split(" ")
            if "c" in flags:
                assert "n" in flags, f"{name}: {path}"
                assert not path.startswith("/usr/"), f"{name}: {path}"
                if group != "root":
                    secrets[path] = (mode[-4:], user, group)
    assert secrets["/etc/nailgun/settings.yaml"] == ("0640", "root", "nailgun")
    assert secrets["/etc/ostf/ostf.conf"] == ("0640", "root", "ostf")
    assert secrets["/etc/astute/astuted.conf"] == ("0640", "root", "astute")


def units_of(payload: Path, package_files: list[str]) -> list[Path]:
    return [payload / p.lstrip("/") for p in package_files
            if p.startswith("/usr/lib/systemd/system/") and p.endswith(".service")]


def stubbed_copy(unit: Path, payload: Path, work: Path) -> Path:
    """The unit with its ExecStart binary pointed at the unpacked payload, or at a stub when the
    binary is a distribution's (uwsgi): systemd-analyze verify checks that it is executable."""
    text = unit.read_text()
    binary = re.search(r"^ExecStart=(\S+)", text, re.M).group(1)
    local = payload / binary.lstrip("/")
    if not local.exists():
        local = work / "stubs" / binary.lstrip("/")
        local.parent.mkdir(parents=True, exist_ok=True)
        local.write_text("#!/bin/sh\nexit 0\n")
        local.chmod(0o755)
    copy = work / "units" / unit.name
    copy.parent.mkdir(parents=True, exist_ok=True)
    copy.write_text(text.replace(f"ExecStart={binary}", f"ExecStart={local}", 1))
    return copy


@pytest.mark.parametrize("package", sorted(DAEMON_PACKAGES))
def test_daemon_units_verify_and_run_as_a_created_system_user(package, built, payload, tmp_path):
    require_tools("systemd-analyze")
    units = units_of(payload, [row[0] for row in file_table(built[package])])
    assert any(u.name == f"{DAEMON_PACKAGES[package]}.service" for u in units)
    users = created_users(payload)
    for unit in units:
        text = unit.read_text()
        user = re.search(r"^User=(\S+)$", text, re.M).group(1)
        assert user != "root" and user in users, unit.name
        assert "Restart=on-failure" in text.splitlines()
        # As shipped, the only complaint on this host is the binary it does not have installed.
        as_shipped = subprocess.run(["systemd-analyze", "verify", str(unit)],
                                    capture_output=True, text=True)
        complaints = [line for line in as_shipped.stderr.splitlines() if line.strip()]
        assert all("is not executable: No such file or directory" in line
                   for line in complaints), complaints
        stubbed = subprocess.run(["systemd-analyze", "verify",
                                  str(stubbed_copy(unit, payload, tmp_path))],
                                 capture_output=True, text=True)
        assert stubbed.returncode == 0 and not stubbed.stderr.strip(), stubbed.stderr


def test_upgrade_restarts_only_own_units_and_no_scriptlet_removes_state(built):
    for name in DAEMON_PACKAGES:
        scripts = subprocess.run(["rpm", "-qp", "--scripts", str(built[name])],
                                 capture_output=True, text=True, check=True).stdout
        own = {Path(p).name for p in query(built[name], "[%{FILENAMES}\n]").splitlines()
               if p.endswith(".service")}
        restarted = re.findall(r"mark-restart-system-units (.*?) \|\|", scripts)
        assert len(restarted) == 1 and set(restarted[0].split()) == own
        assert "useradd -r" in scripts
        assert not re.search(r"\brm\b", scripts)


def test_nailgun_is_a_python_app_in_the_el9_sitelib(built):
    files = [row[0] for row in file_table(built["fuel-nailgun"])]
    assert "/usr/lib/python3.9/site-packages/nailgun/wsgi.py" in files
    assert {"/usr/bin/receiverd", "/usr/bin/oswl_collectord", "/usr/bin/nailgun_syncdb"} <= set(files)
    needed = set(requires(built["fuel-nailgun"]))
    assert {"python(abi) = 3.9", "uwsgi", "uwsgi-plugin-python3"} <= needed


def test_fuel_ui_ships_the_static_files_nginx_serves(built):
    files = [row[0] for row in file_table(built["fuel-ui"])]
    assert {"/usr/share/nailgun/static/index.html",
            "/usr/share/nailgun/static/build/bundle.js"} <= set(files)  # gulp's output


def test_astute_wrapper_runs_astuted_from_its_library(built, payload):
    require_tools("ruby")
    wrapper = (payload / "usr/bin/astuted").read_text()
    assert wrapper.startswith("#!/bin/sh\n")
    command = re.search(r"^exec (.*) \"\$@\"$", wrapper, re.M).group(1).split()
    local = [str(payload / a.lstrip("/")) if a.startswith("/usr/share/") else a for a in command]
    result = subprocess.run([*local, "--config", "/etc/astute/astuted.conf"], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "astuted stand-in 11.0.0 --config /etc/astute/astuted.conf"
    assert "ruby" in requires(built["astute"])


def test_git_source_at_the_release_tag_builds(checkouts, tmp_path):
    """With the manifest's git URL pointed at a local repository, the tag is fetched and built."""
    manifest = (ROOT / "fuel.yaml").read_text()
    url = "https://opendev.org/openstack/fuel-ui.git"
    assert url in manifest
    (tmp_path / "fuel.yaml").write_text(manifest.replace(url, checkouts["fuel-ui"].as_uri()))
    for item in ("packages", "puppet", "patches"):
        (tmp_path / item).symlink_to(ROOT / item)
    require_tools("npm", "node")
    with NpmRegistry(FIXTURES / "npm-registry") as registry:
        result = run_buildtool("build", "--manifest", str(tmp_path / "fuel.yaml"), "--profile",
                               "upstream", "--only", "fuel-ui", "--build-dir",
                               str(tmp_path / "build"),
                               env=dict(os.environ, BUILDTOOL_CACHE=str(tmp_path / "cache"),
                                        npm_config_registry=registry.url))
    assert result.status == 0, result.stderr[-2000:]
    assert list((tmp_path / "build" / "el9").rglob("fuel-ui-11.0.0-1.el9.noarch.rpm"))


# ---------------------------------------------------------------- fidelity to upstream 11.0.0

def test_every_command_and_unit_upstream_declares_is_packaged(built):
    """What setup.py/setup.cfg/astute.gemspec and the upstream unit files install (the check of
    buildtool/declared.py passed for each build), spot-checked in the RPMs."""
    def files(name: str) -> set[str]:
        return {row[0] for row in file_table(built[name])}

    assert {"/usr/bin/manage.py", "/usr/bin/oswl_cleaner",
            "/usr/lib/systemd/system/oswl_vm_collectord.service"} <= files("fuel-nailgun")
    assert {"/usr/bin/shotgun", "/usr/bin/shotgun2", "/etc/shotgun/report.yaml",
            "/etc/shotgun/short_report.yaml"} <= files("shotgun")
    assert {"/usr/bin/net_probe.py", "/usr/bin/fuel-netcheck", "/usr/bin/dhcpcheck",
            "/usr/bin/urlaccesscheck"} <= files("network-checker")
    assert {"/usr/bin/astuted", "/usr/bin/astute-simulator",
            "/usr/lib/systemd/system/astute.service"} <= files("astute")
    assert "/usr/bin/ostf-server" in files("fuel-ostf")
    # keep_tests: OSTF's health checks and network-checker's `simple` plugin live in tests/
    sitelib = "/usr/lib/python3.9/site-packages"
    assert f"{sitelib}/fuel_health/tests/sanity/test_sanity_identity.py" in files("fuel-ostf")
    assert f"{sitelib}/network_checker/tests/simple.py" in files("network-checker")
    assert "/usr/bin/fuelmenu" in files("fuelmenu")


def test_nailgun_units_and_uwsgi_name_the_variable_nailgun_reads(payload):
    units = list((payload / "usr/lib/systemd/system").glob("*.service"))
    nailgun_units = [u for u in units if "NAILGUN" in u.read_text()]
    assert len(nailgun_units) == 10
    for unit in nailgun_units:
        assert 'Environment="NAILGUN_CONFIG=/etc/nailgun/settings.yaml"' in unit.read_text()
        assert "NAILGUN_SETTINGS" not in unit.read_text()
    uwsgi = (payload / "etc/nailgun/uwsgi_nailgun.yaml").read_text()
    assert "env: NAILGUN_CONFIG=/etc/nailgun/settings.yaml" in uwsgi


def test_upstream_requirements_reach_the_rpms(built):
    """requirements.txt and the gemspec become the packages' requirements, in the targets' names."""
    nailgun = requires(built["fuel-nailgun"])
    assert "python3.9dist(web-py) >= 0.37" in nailgun
    assert "(python3.9dist(sqlalchemy) < 1.1 with python3.9dist(sqlalchemy) >= 0.9.9)" in nailgun
    assert "python3.9dist(fabric) >= 1.7" in requires(built["shotgun"])
    assert {"rubygem(activesupport)", "rubygem(mcollective-client)", "rubygem(raemon)"} <= \
        set(requires(built["astute"]))


def test_publish_holds_back_what_el9_cannot_install(upstream_run):
    _, summary = upstream_run
    held_back = summary["targets"]["el9"]["held_back"]
    assert {"fuel-nailgun", "fuel-ostf", "fuelmenu", "shotgun", "astute", "fuel"} <= set(held_back)
    assert "nothing provides 'rubygem(" in held_back["astute"]
    assert "python3.9dist(" in held_back["fuel-nailgun"]


def manifest_copy(tmp_path: Path, edit) -> Path:
    manifest = (ROOT / "fuel.yaml").read_text()
    edited = edit(manifest)
    assert edited != manifest
    (tmp_path / "fuel.yaml").write_text(edited)
    for item in ("packages", "puppet", "patches"):
        (tmp_path / item).symlink_to(ROOT / item)
    return tmp_path / "fuel.yaml"


@pytest.mark.parametrize(("package", "edit", "expected"), [
    # a Python command: rpmbuild stops on the unpackaged file, the check names its origin
    ("shotgun", lambda text: text.replace("commands: [shotgun, shotgun2]", "commands: [shotgun]"),
     "shotgun: /usr/bin/shotgun2 (setup.cfg [entry_points] console_scripts) is not packaged"),
    # a gem executable: the RPM builds without it, its file list is compared after the build
    ("astute", lambda text: re.sub(r"      - dest: /usr/bin/astute-simulator\n(        .*\n)+?"
                                   r"(?=    users:)", "", text),
     "astute: /usr/bin/astute-simulator (astute.gemspec executables) is not packaged"),
])
def test_a_declared_file_left_out_of_the_manifest_fails_the_build(package, edit, expected,
                                                                   checkouts, tmp_path):
    require_tools("rpmbuild", "rpm")
    manifest = manifest_copy(tmp_path, edit)
    result = run_buildtool("build", "--manifest", str(manifest), "--profile", "upstream",
                           "--only", package, "--source", f"{package}={checkouts[package]}",
                           "--build-dir", str(tmp_path / "build"))
    assert result.status == 1
    assert expected in result.stderr, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert not list((tmp_path / "build" / "el9" / "rpms").glob(f"{package}/*.rpm"))


def test_verify_says_why_each_upstream_package_cannot_run_on_el9(built, tmp_path):
    require_tools("createrepo_c", "dnf")
    repo = tmp_path / "repo"
    repo.mkdir()
    for rpm in built.values():
        shutil.copy(rpm, repo)
    subprocess.run(["createrepo_c", "--quiet", str(repo)], check=True)
    result = run_buildtool("verify", "--repo", str(repo), "--no-upgrade", "--json",
                           "--build-dir", str(tmp_path / "build"))
    assert result.status == 1
    report = json.loads(result.stdout)["targets"]["el9"]
    why = report["not_runnable"]
    assert why["fuel-nailgun"].startswith(
        "Python 2 code (imports cStringIO, Queue, StringIO, Cookie, urlparse); needs ")
    assert "web-py >= 0.37" in why["fuel-nailgun"]
    assert "sqlalchemy < 1.1, >= 0.9.9" in why["fuel-nailgun"]
    assert why["fuel-nailgun"].endswith(": nothing in el9's distribution data provides them")
    assert why["shotgun"].startswith("Python 2 code (Python 2 syntax in "
                                     "/usr/lib/python3.9/site-packages/shotgun/utils.py:5)")
    assert why["network-checker"].startswith("Python 2 code (Python 2 syntax in ")
    assert "fuelmenu" in why and "fuel-ostf" in why
    assert "rubygem(mcollective-client)" in why["astute"]
    assert "python3-fuelclient" not in why and "python3-packetary" not in why
    assert "not runnable fuel-nailgun: Python 2 code" in result.stderr
