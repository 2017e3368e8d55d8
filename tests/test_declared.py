"""What an upstream tree's build metadata declares it installs, read without running it (fast)."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from buildtool.declared import (
    MODULE_PREFIX,
    Declared,
    declared_installs,
    problem,
    unpackaged,
    unpackaged_in_log,
)
from buildtool.errors import UserError
from conftest import FIXTURES

UPSTREAM = FIXTURES / "upstream"


def tarball(tmp_path: Path, tree: Path, top: str) -> Path:
    archive = tmp_path / f"{top}.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tree, arcname=top)
    return archive


def archive_of(tmp_path: Path, files: dict[str, str], top: str = "x-1") -> Path:
    archive = tmp_path / "x.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"{top}/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return archive


def paths(declared: list[Declared]) -> set[str]:
    """Installed files (commands, units, data files), without the entry points' modules."""
    return {item.path for item in declared if not item.path.startswith(MODULE_PREFIX)}


def test_nailgun_setup_py_scripts_entry_points_and_the_repositorys_units(tmp_path):
    archive = tarball(tmp_path, UPSTREAM / "fuel-web", "fuel-nailgun-11.0.0")
    declared = declared_installs(archive, "fuel-nailgun-11.0.0", "nailgun")
    commands = {"manage.py", "nailgun_syncdb", "nailgun_fixtures", "nailgund", "assassind",
                "receiverd", "statsenderd", "oswl_collectord", "oswl_cleaner"}
    units = {"nailgun", "receiverd", "assassind", "statsenderd",
             *(f"oswl_{r}_collectord" for r in ("flavor", "image", "keystone_user", "tenant",
                                                 "vm", "volume"))}
    assert paths(declared) == {*(f"/usr/bin/{c}" for c in commands),
                               *(f"/usr/lib/systemd/system/{u}.service" for u in units)}
    assert Declared("/usr/bin/manage.py", "setup.py scripts") in declared
    assert Declared("/usr/bin/oswl_cleaner", "setup.py entry_points console_scripts") in declared


@pytest.mark.parametrize(("repository", "expected"), [
    ("shotgun", {"/usr/bin/shotgun", "/usr/bin/shotgun2"}),
    ("fuel-ostf", {"/usr/bin/ostf-server", "/usr/lib/systemd/system/ostf.service"}),
    ("network-checker", {"/usr/bin/net_probe.py", "/usr/bin/fuel-netcheck", "/usr/bin/dhcpcheck",
                         "/usr/bin/urlaccesscheck"}),
    ("fuel-menu", {"/usr/bin/fuelmenu"}),
    ("fuel-astute", {"/usr/bin/astuted", "/usr/bin/astute-simulator",
                     "/usr/lib/systemd/system/astute.service"}),
])
def test_each_upstream_trees_declared_installs(repository, expected, tmp_path):
    archive = tarball(tmp_path, UPSTREAM / repository, "top")
    assert paths(declared_installs(archive, "top", None)) == expected


def test_every_entry_points_module_must_be_in_the_package(tmp_path):
    archive = tarball(tmp_path, UPSTREAM / "network-checker", "top")
    declared = declared_installs(archive, "top", None)
    simple = Declared("site-packages/network_checker/tests/simple.py",
                      "setup.py entry point network_checker: simple")
    assert simple in declared
    sitelib = "/usr/lib/python3.9/site-packages"
    packaged = {f"{sitelib}/{item.path.removeprefix(MODULE_PREFIX)}" for item in declared} | \
        {"/usr/bin/net_probe.py", "/usr/bin/fuel-netcheck", "/usr/bin/dhcpcheck",
         "/usr/bin/urlaccesscheck"}
    assert unpackaged(declared, packaged) == []
    without_tests = {p for p in packaged if "/tests/" not in p}
    assert unpackaged(declared, without_tests) == [simple]
    assert "keep_tests: true in packages.network-checker" in problem("network-checker", simple)


def test_setup_cfg_scripts_and_data_files_as_pbr_reads_them(tmp_path):
    archive = archive_of(tmp_path, {"setup.cfg": (
        "[files]\nscripts =\n    bin/tool-a\ndata_files =\n    etc/x = etc/x.conf etc/y.conf\n"
        "    /etc/abs = z.conf\n")})
    assert paths(declared_installs(archive, "x-1", None)) == {
        "/usr/bin/tool-a", "/usr/etc/x/x.conf", "/usr/etc/x/y.conf", "/etc/abs/z.conf"}


def test_a_computed_entry_points_argument_is_named_with_its_line(tmp_path):
    archive = archive_of(tmp_path, {"setup.py": "import setuptools\n\nEP = {}\n"
                                                "setuptools.setup(name='x',\n    entry_points=EP)\n"})
    with pytest.raises(UserError, match=r"^x-1/setup.py:5: entry_points is computed at run time"):
        declared_installs(archive, "x-1", None)


def test_rpmbuilds_unpackaged_files_are_read_from_its_log():
    log = ("RPM build errors:\n    Installed (but unpackaged) file(s) found:\n"
           "   /usr/bin/shotgun2\n   /usr/lib/x\n# declared-files check: ...\n")
    assert unpackaged_in_log(log) == {"/usr/bin/shotgun2", "/usr/lib/x"}


def test_a_problem_names_package_file_origin_and_the_manifest_key():
    missing = unpackaged([Declared("/usr/bin/shotgun2", "setup.cfg [entry_points] console_scripts"),
                          Declared("/usr/bin/shotgun", "setup.cfg [entry_points] console_scripts")],
                         {"/usr/bin/shotgun"})
    assert [problem("shotgun", item) for item in missing] == [
        "shotgun: /usr/bin/shotgun2 (setup.cfg [entry_points] console_scripts) is not packaged: "
        "add 'shotgun2' to packages.shotgun.commands (or an install: entry) in fuel.yaml"]
