"""The Fuel manifest (fuel.yaml) as a specification: services done right, names mapped per target.

Fast: these read the manifest and the rendered specs; the RPMs are checked in test_fuel_packages.py
and test_upstream_profile.py.
"""

from __future__ import annotations

import re

import pytest

from buildtool import pipeline
from buildtool.manifest import DEP_RE
from buildtool.render import render_package, template_environment
from buildtool.targets import available_targets, load_target

ROOT = pipeline.PROJECT_ROOT
TARGETS = available_targets(ROOT)
DISTRO_SERVICES = {"postgresql-server", "rabbitmq-server", "nginx", "uwsgi", "uwsgi-plugin-python3",
                   "rsync-daemon", "rsyslog", "dnsmasq", "puppet"}
UPSTREAM = {"fuel-nailgun", "fuel-ostf", "astute", "fuel-ui", "fuelmenu", "shotgun",
            "network-checker"}


def load(*profiles):
    settings = pipeline.Settings(targets=["el9"], profiles=list(profiles))
    manifest, _ = pipeline.load(settings)
    return manifest


@pytest.fixture(scope="module")
def full():
    return load("upstream")


def test_default_profile_is_what_make_repo_builds():
    assert set(load().packages) == {"fuel", "fuel-release", "fuel-setup", "fuel-puppet",
                                    "python3-fuelclient", "python3-packetary"}


def test_upstream_profile_adds_fuels_git_services(full):
    assert set(full.packages) - set(load().packages) == UPSTREAM
    for name in UPSTREAM:
        source = full.packages[name].source
        assert source.git.startswith("https://opendev.org/openstack/"), name
        assert source.ref == "11.0.0", name


def test_fuel_meta_requires_every_package_and_the_distribution_services(full):
    fuel = full.packages["fuel"]
    assert fuel.kind == "meta" and fuel.requires_all_packages
    assert DISTRO_SERVICES <= set(fuel.requires)


def test_pypi_sources_are_pinned_and_fuelclient_is_patched(full):
    client = full.packages["python3-fuelclient"]
    assert (client.source.pypi, client.version) == ("python-fuelclient", "11.0.0")
    assert re.fullmatch(r"[0-9a-f]{64}", client.source.sha256)
    assert client.patches == ["patches/python-fuelclient-pyyaml6.patch"]
    patch = (ROOT / client.patches[0]).read_text()
    assert "+                yaml.safe_load(custom_config.read())" in patch
    assert "-                yaml.load(custom_config.read())" in patch
    packetary = full.packages["python3-packetary"]
    assert (packetary.source.pypi, packetary.version) == ("packetary", "0.1.0")
    assert re.fullmatch(r"[0-9a-f]{64}", packetary.source.sha256)


@pytest.mark.parametrize("target", TARGETS)
def test_every_abstract_dependency_is_mapped_for_every_target(full, target):
    profile = load_target(ROOT, target)
    internal = set(full.packages)
    used = {DEP_RE.match(dep).group(1) for pkg in full.packages.values()
            for dep in pkg.requires + pkg.build_requires} - internal
    assert used, "the manifest uses abstract dependencies"
    assert not {name for name in used if not profile.knows_dependency(name)}, \
        f"unmapped on {target}"


@pytest.mark.parametrize("target, name, expected", [
    ("el9", "python3-yaml", ["python3-pyyaml"]),
    ("el9", "uwsgi-plugin-python3", ["uwsgi-plugin-python3"]),
    ("el9", "rsync-daemon", ["rsync-daemon"]),
    ("el9", "puppet", ["puppet"]),
    ("el9", "thirdparty-repositories",
     ["epel-release", "centos-release-openstack-epoxy", "centos-release-rabbitmq-38"]),
    ("el10", "puppet", ["openvox-agent"]),
    ("el10", "thirdparty-repositories", ["epel-release"]),
    ("fedora-44", "thirdparty-repositories", []),
    ("fedora-45", "puppet", ["puppet"]),
    ("leap-16", "python3-yaml", ["python313-PyYAML"]),
    ("leap-16", "puppet", ["openvox-agent"]),
])
def test_distribution_names(target, name, expected):
    assert load_target(ROOT, target).map_dependency(name) == expected


@pytest.mark.parametrize("target, python, dist", [
    ("el9", "3.9", ".el9"), ("el10", "3.12", ".el10"), ("fedora-44", "3.14", ".fc44"),
    ("fedora-45", "3.15", ".fc45"), ("leap-16", "3.13", ".suse.lp160")])
def test_targets_are_the_current_releases_with_their_python(target, python, dist):
    """DISTROS.md: EL9 3.9, EL10 3.12, Fedora 44 3.14, Fedora 45 3.15, Leap 16.0 3.13."""
    profile = load_target(ROOT, target)
    assert (profile.python_version, profile.dist) == (python, dist)
    assert profile.rpm_defines()["python3_sitelib"] == f"/usr/lib/python{python}/site-packages"


@pytest.mark.parametrize("target", ["el10", "fedora-44", "fedora-45", "leap-16"])
def test_keystone_is_an_explicit_absence_where_no_repository_ships_it(target):
    profile = load_target(ROOT, target)
    assert profile.map_dependency("keystone") == []
    assert "external_url" in profile.unavailable["keystone"]


def daemons(manifest):
    return [(pkg, service) for pkg in manifest.packages.values() for service in pkg.services]


def test_every_daemon_runs_as_its_own_system_user_created_by_its_package(full):
    assert {pkg.name for pkg, _ in daemons(full)} == {"fuel-nailgun", "fuel-ostf", "astute"}
    for pkg, service in daemons(full):
        assert service.user != "root", service.name
        assert service.user in {user.name for user in pkg.users}, service.name
        assert service.restart == "on-failure" and service.hardening, service.name


def test_configs_are_noreplace_and_secrets_are_0640_root_service(full):
    secrets = 0
    for pkg in full.packages.values():
        service_groups = {user.primary_group for user in pkg.users}
        for config in pkg.config_files:
            assert config.noreplace and config.owner == "root", config.dest
            if config.group in service_groups:
                assert config.mode in ("0640", "0644"), config.dest
                secrets += config.mode == "0640"
    assert secrets == 3  # settings.yaml, ostf.conf, astuted.conf


def test_logs_and_state_belong_to_the_service(full):
    for pkg, service in daemons(full):
        owned = {d.path: d for d in pkg.directories if d.owner == service.user}
        assert any(d.kind == "log" and d.path.startswith("/var/log/") for d in owned.values())
        assert any(d.kind == "state" for d in owned.values())


def test_fuel_setup_directories():
    dirs = {d.path: d for d in load().packages["fuel-setup"].directories}
    assert (dirs["/etc/fuel"].mode, dirs["/etc/fuel"].owner) == ("0750", "root")
    assert (dirs["/var/log/fuel"].mode, dirs["/var/log/fuel"].kind) == ("0750", "log")


@pytest.fixture(scope="module")
def rendered_nailgun(full, tmp_path_factory):
    target = load_target(ROOT, "el9")
    internal = set(full.packages)
    item = render_package(template_environment(), full, full.packages["fuel-nailgun"], target,
                          tmp_path_factory.mktemp("render"), internal)
    return item


def test_upgrade_restarts_only_the_packages_own_units(rendered_nailgun):
    spec = rendered_nailgun.spec.read_text()
    restarts = re.findall(r"^%systemd_postun_with_restart (.*)$", spec, re.M)
    assert len(restarts) == 1 and "\n%postun\n" in spec
    units = restarts[0].split()
    assert set(units) == {f"{s}.service" for s in (
        "nailgun", "receiverd", "assassind", "statsenderd", "oswl_flavor_collectord",
        "oswl_image_collectord", "oswl_keystone_user_collectord", "oswl_tenant_collectord",
        "oswl_vm_collectord", "oswl_volume_collectord")}


def test_unit_is_sandboxed_with_its_state_writable(rendered_nailgun):
    unit = (rendered_nailgun.sources_dir / "nailgun.service").read_text()
    for line in ("User=nailgun", "Restart=on-failure", "NoNewPrivileges=yes",
                 "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes"):
        assert line in unit.splitlines()
    writable = re.search(r"^ReadWritePaths=(.*)$", unit, re.M).group(1).split()
    assert {"-/var/lib/nailgun", "-/var/log/nailgun", "-/var/www/nailgun/plugins"} <= set(writable)
