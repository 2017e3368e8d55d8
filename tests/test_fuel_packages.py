"""The default Fuel package set, built for real with rpmbuild and queried with rpm.

One build per target (module fixtures, private build/dist dirs, the shared source cache). The
python packages are checked for the target's python(abi) and generated python3.Xdist() requires;
python3-fuelclient's payload is unpacked and `fuel --help` run against it with PyYAML 6.
"""

from __future__ import annotations

import os
import subprocess
import venv
from pathlib import Path

import pytest

from conftest import require_tools, run_buildtool

pytestmark = pytest.mark.integration

DEFAULT_PACKAGES = {"fuel", "fuel-release", "fuel-setup", "fuel-puppet", "python3-fuelclient",
                    "python3-packetary"}
FUELCLIENT_RUNTIME = ["cliff", "oslo.utils", "python-keystoneclient", "PyYAML>=6", "requests",
                      "six", "pbr", "setuptools"]


def build_repo(tmp: Path, *args: str) -> Path:
    """`buildtool repo` into tmp; the published repository's Packages directory."""
    result = run_buildtool("repo", "--build-dir", str(tmp / "build"), "--dist-dir",
                           str(tmp / "dist"), "-j", "2", *args)
    assert result.status == 0, result.stderr[-3000:]
    target = args[args.index("--target") + 1] if "--target" in args else "el9"
    return tmp / "dist" / "repos" / target / "current" / "Packages"


def rpms(packages: Path) -> dict[str, Path]:
    found = {}
    for path in packages.glob("*.noarch.rpm"):
        found[query(path, "%{NAME}")] = path
    return found


def query(rpm: Path, fmt: str) -> str:
    return subprocess.run(["rpm", "-qp", "--qf", fmt, str(rpm)], capture_output=True, text=True,
                          check=True).stdout


def requires(rpm: Path) -> list[str]:
    return subprocess.run(["rpm", "-qp", "--requires", str(rpm)], capture_output=True, text=True,
                          check=True).stdout.splitlines()


def file_table(rpm: Path) -> list[tuple[str, str, str, str]]:
    out = query(rpm, "[%{FILENAMES} %{FILEFLAGS:fflags} %{FILEUSERNAME} %{FILEGROUPNAME}\n]")
    rows = []
    for line in out.splitlines():
        name, flags, user, group = line.rsplit(" ", 3) if line.count(" ") >= 3 else (line, "", "", "")
        rows.append((name, flags.strip(), user, group))
    return rows


def unpack(rpm: Path, dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    payload = subprocess.run(["rpm2cpio", str(rpm)], capture_output=True, check=True).stdout
    subprocess.run(["cpio", "-idm", "--quiet"], input=payload, cwd=dest, check=True)
    return dest


@pytest.fixture(scope="module")
def el9(tmp_path_factory) -> dict[str, Path]:
    require_tools("rpmbuild", "rpm", "createrepo_c", "rpm2cpio", "cpio")
    return rpms(build_repo(tmp_path_factory.mktemp("el9")))


def test_make_repo_publishes_the_default_set(el9):
    assert set(el9) == DEFAULT_PACKAGES
    total = sum(path.stat().st_size for path in el9.values())
    print(f"\ndefault el9 Fuel RPMs: {len(el9)} packages, {total} bytes "
          f"({total / 1e6:.2f} MB) vs 300 MB for the old docker-images RPM")
    assert total < 5_000_000


def test_fuel_requires_every_package_and_the_el9_service_packages(el9):
    needed = set(requires(el9["fuel"]))
    assert DEFAULT_PACKAGES - {"fuel"} <= needed
    assert {"postgresql-server", "rabbitmq-server", "nginx", "uwsgi", "uwsgi-plugin-python3",
            "rsync-daemon", "rsyslog", "dnsmasq", "puppet"} <= needed


def test_fuel_puppet_requires_puppet_and_no_forge_module(el9):
    """No distribution packages the Forge modules for every target (puppet-postgresql for none)."""
    assert [r for r in requires(el9["fuel-puppet"]) if not r.startswith("rpmlib(")] == ["puppet"]


def test_fuel_release_ships_the_release_file_and_pulls_the_el9_repositories(el9):
    table = {name: flags for name, flags, _, _ in file_table(el9["fuel-release"])}
    assert table["/etc/yum.repos.d/fuel.repo"] == "cn"  # the operator may edit the .repo
    assert table["/etc/fuel_release"] == ""  # says which release is installed: upgrades replace it
    assert table["/etc/pki/rpm-gpg/RPM-GPG-KEY-fuel"] == ""
    assert {"epel-release", "centos-release-openstack-epoxy", "centos-release-rabbitmq-38"} <= \
        set(requires(el9["fuel-release"]))


@pytest.mark.parametrize("name, dist_requires", [
    ("python3-fuelclient", {"python3.9dist(pyyaml) >= 3.1", "python3.9dist(pbr) >= 1.6",
                            "python3.9dist(six) >= 1.9", "python3.9dist(oslo-utils) >= 3.5"}),
    ("python3-packetary", {"python3.9dist(pbr) >= 0.8", "python3.9dist(lxml) >= 3.2",
                           "python3.9dist(stevedore) >= 1.1"}),
])
def test_python_packages_target_el9_python(el9, name, dist_requires):
    needed = set(requires(el9[name]))
    assert "python(abi) = 3.9" in needed
    assert dist_requires <= needed  # the dependency generator ran (it fails silently)
    assert not [r for r in needed if "3.11" in r]  # nothing of this host's python leaked in
    files = [row[0] for row in file_table(el9[name])]
    assert all(f.startswith(("/usr/lib/python3.9/site-packages/", "/usr/bin/")) for f in files)


def test_every_config_is_noreplace_and_every_owner_exists(el9):
    for name, rpm in el9.items():
        for path, flags, user, group in file_table(rpm):
            assert (user, group) == ("root", "root"), f"{name}: {path}"  # no users in this set
            if "c" in flags:
                assert "n" in flags, f"{name}: {path} is %config without noreplace"
            if path.startswith("/usr/"):
                assert "c" not in flags, f"{name}: {path} under /usr marked %config"


def test_fuelclient_payload_is_patched_for_pyyaml6(el9, tmp_path):
    root = unpack(el9["python3-fuelclient"], tmp_path)
    settings = (root / "usr/lib/python3.9/site-packages/fuelclient/fuelclient_settings.py").read_text()
    assert "yaml.safe_load(custom_config.read())" in settings
    sitelib = root / "usr/lib/python3.9/site-packages/fuelclient"
    assert not [p for p in sitelib.rglob("*.py") if "tests" not in p.parts
                and "yaml.load(" in p.read_text()]


@pytest.fixture(scope="module")
def fuelclient_venv(tmp_path_factory) -> Path:
    """A throwaway venv with python-fuelclient's runtime requirements from PyPI (PyYAML 6)."""
    directory = tmp_path_factory.mktemp("fuelclient-venv")
    venv.EnvBuilder(with_pip=True).create(directory)
    python = directory / "bin" / "python"
    result = subprocess.run([str(python), "-m", "pip", "install", "--quiet", *FUELCLIENT_RUNTIME],
                            capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        pytest.skip(f"cannot install fuelclient's runtime requirements from PyPI: "
                    f"{result.stderr.strip().splitlines()[-1:]}")
    version = subprocess.run([str(python), "-c", "import yaml; print(yaml.__version__)"],
                             capture_output=True, text=True, check=True).stdout.strip()
    assert int(version.split(".")[0]) >= 6
    return python


def test_fuel_help_works_against_the_unpacked_payload(el9, fuelclient_venv, tmp_path):
    root = unpack(el9["python3-fuelclient"], tmp_path / "root")
    env = dict(os.environ, PYTHONPATH=str(root / "usr/lib/python3.9/site-packages"),
               HOME=str(tmp_path / "home"))
    for command in ("fuel", "fuel2"):
        result = subprocess.run([str(fuelclient_venv), str(root / "usr/bin" / command), "--help"],
                                capture_output=True, text=True, env=env, timeout=120)
        assert result.returncode == 0, result.stderr[-2000:]
        assert "usage:" in result.stdout.lower()
    assert "Loader" not in result.stderr


@pytest.mark.parametrize("target, abi, yaml_name, postgres", [
    ("fedora-45", "3.15", "python3.15dist(pyyaml) >= 3.1", "postgresql-server"),
])
def test_other_targets_build_with_their_python_and_names(tmp_path, target, abi, yaml_name,
                                                         postgres):
    require_tools("rpmbuild", "rpm", "createrepo_c")
    built = rpms(build_repo(tmp_path, "--target", target))
    assert set(built) == DEFAULT_PACKAGES
    client = set(requires(built["python3-fuelclient"]))
    assert {f"python(abi) = {abi}", yaml_name} <= client
    files = [row[0] for row in file_table(built["python3-fuelclient"])]
    assert f"/usr/lib/python{abi}/site-packages/fuelclient/__init__.py" in files
    assert postgres in requires(built["fuel"])



@pytest.mark.parametrize("target, puppet", [("el10", "openvox-agent"), ("leap-16", "openvox-agent")])
def test_targets_without_the_python_stack_build_the_rest_and_say_why(tmp_path, target, puppet):
    """EL10 and Leap 16 lack (or have no evidence for) fuelclient's and packetary's Python
    dependencies: those two are not built, `fuel` does not require them, Puppet is OpenVox."""
    require_tools("rpmbuild", "rpm", "createrepo_c")
    result = run_buildtool("repo", "--build-dir", str(tmp_path / "build"), "--dist-dir",
                           str(tmp_path / "dist"), "--target", target)
    assert result.status == 0, result.stderr[-3000:]
    built = rpms(tmp_path / "dist" / "repos" / target / "current" / "Packages")
    assert set(built) == DEFAULT_PACKAGES - {"python3-fuelclient", "python3-packetary"}
    fuel = requires(built["fuel"])
    assert "python3-fuelclient" not in fuel and puppet in fuel
    assert puppet in requires(built["fuel-puppet"])
    assert f"{target}: not built: python3-fuelclient: needs" in result.stderr
