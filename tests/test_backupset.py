"""The backup set is derived from the manifest and shipped in fuel-setup: state directories,
config and secret files, databases with their owners, the services to quiesce. Adding a state
directory to the manifest adds it to the backup with no other edit."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from buildtool import pipeline
from buildtool.backupset import backup_set
from buildtool.errors import UserError
from buildtool.manifest import load_manifest
from buildtool.render import spec_digest
from conftest import ROOT, require_tools

BACKUP_SET_DEST = "/usr/share/fuel/backup-set.json"


def paths_of(the_set) -> dict[str, object]:
    return {p.path: p for p in the_set.paths}


def test_backup_set_of_fuel_yaml_holds_state_config_secrets_and_databases():
    the_set = backup_set(load_manifest(ROOT / "fuel.yaml", profiles=["upstream"]), "el9")
    paths = paths_of(the_set)
    for directory in ("/etc/fuel", "/var/lib/fuel", "/var/lib/nailgun", "/var/www/nailgun/plugins",
                      "/var/lib/astute/graphs", "/var/lib/ostf"):
        assert paths[directory].type == "directory"
    assert paths["/var/lib/fuel"].package == "fuel-setup"  # the keys Puppet keeps live there
    settings = paths["/etc/nailgun/settings.yaml"]
    assert (settings.type, settings.secret, settings.group, settings.mode) == \
        ("file", True, "nailgun", "0640")
    assert paths["/etc/yum.repos.d/fuel.repo"].secret is False  # install: config: true
    assert not any(p.startswith("/var/log") for p in paths), "logs are not state"
    assert [(d.name, d.owner) for d in the_set.databases] == \
        [("keystone", "keystone"), ("nailgun", "nailgun"), ("ostf", "ostf")]
    assert "nailgun.service" in the_set.services and "astute.service" in the_set.services
    assert "fuel-setup" in the_set.packages


def test_default_profile_backs_up_only_what_it_installs():
    the_set = backup_set(load_manifest(ROOT / "fuel.yaml"), "el9")
    assert [d.name for d in the_set.databases] == ["keystone"]
    assert "/var/lib/nailgun" not in paths_of(the_set)
    assert the_set.services == []


def test_json_is_stable_and_self_describing():
    manifest = load_manifest(ROOT / "fuel.yaml")
    text = backup_set(manifest, "el9").to_json()
    assert text == backup_set(manifest, "el9").to_json()
    data = json.loads(text)
    assert (data["format"], data["version"]) == ("fuel-backup-set", 1)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """fuel.yaml in a scratch project whose sources are the repository's."""
    for name in ("packages", "puppet", "patches"):
        (tmp_path / name).symlink_to(ROOT / name)
    (tmp_path / "fuel.yaml").write_text((ROOT / "fuel.yaml").read_text())
    return tmp_path


def render_fuel_setup(project: Path):
    settings = pipeline.Settings(manifest=project / "fuel.yaml", targets=["el9"],
                                 build_dir=project / "build", only=["fuel-setup"])
    manifest, targets = pipeline.load(settings)
    rendered = pipeline.render(manifest, targets[0], settings,
                               pipeline.plan_graph(manifest, settings))["fuel-setup"]
    generated = [name for name in rendered.generated if name.endswith("backup-set.json")]
    assert len(generated) == 1
    return rendered, json.loads((rendered.sources_dir / generated[0]).read_text())


def test_a_state_directory_added_to_the_manifest_is_backed_up_with_no_other_edit(project):
    rendered, shipped = render_fuel_setup(project)
    assert "%{_datadir}/fuel/backup-set.json" in rendered.spec.read_text()  # path macros
    assert "/var/lib/fuel-new-state" not in {p["path"] for p in shipped["paths"]}
    key_before = spec_digest(rendered)

    manifest = project / "fuel.yaml"
    text = manifest.read_text()
    anchor = '      - {path: /var/lib/fuel, mode: "0750", kind: state}\n'
    assert anchor in text
    manifest.write_text(text.replace(anchor, anchor + (
        '      - {path: /var/lib/fuel-new-state, mode: "0700", kind: state}\n')))

    rendered, shipped = render_fuel_setup(project)
    added = [p for p in shipped["paths"] if p["path"] == "/var/lib/fuel-new-state"]
    assert added == [{"path": "/var/lib/fuel-new-state", "type": "directory",
                      "package": "fuel-setup", "owner": "root", "group": "root",
                      "mode": "0700", "secret": False}]
    assert spec_digest(rendered) != key_before, "fuel-setup must rebuild"


MANIFEST = """\
schema: 1
packages:
  app:
    version: "1.0"
    kind: files
    summary: An app
    description: An app.
    install:
{install}
    databases:
{databases}
"""


def load_text(tmp_path: Path, install: str = "      - {content: x, dest: /usr/bin/x}",
              databases: str = "      - {name: app, owner: app}") -> None:
    path = tmp_path / "fuel.yaml"
    path.write_text(MANIFEST.format(install=install, databases=databases))
    load_manifest(path)


def test_valid_declarations_load(tmp_path):
    load_text(tmp_path, install="      - {generated: backup-set, dest: /usr/share/x.json}")


@pytest.mark.parametrize("install, databases, expected", [
    ("      - {content: x, dest: /usr/bin/x}", "      - {name: App-DB, owner: app}",
     "fuel.yaml:11:10: packages.app.databases[0].name: 'App-DB' is not a PostgreSQL name"),
    ("      - {content: x, dest: /usr/bin/x}", "      - {name: app, owner: \"app; DROP\"}",
     "packages.app.databases[0].owner: 'app; DROP' is not a PostgreSQL name"),
    ("      - {content: x, dest: /usr/bin/x}",
     "      - {name: app, owner: a}\n      - {name: app, owner: b}",
     "packages.app.databases[1].name: database 'app' is declared twice"),
    ("      - {generated: backup-set, src: x, dest: /usr/share/x.json}",
     "      - {name: app, owner: app}",
     "packages.app.install[0]: give exactly one of 'src', 'content' or 'generated'"),
    ("      - {generated: other-set, dest: /usr/share/x.json}", "      - {name: app, owner: app}",
     "packages.app.install[0].generated"),
])
def test_bad_declarations_are_one_located_line(tmp_path, install, databases, expected):
    with pytest.raises(UserError) as error:
        load_text(tmp_path, install, databases)
    assert expected in str(error.value)


@pytest.mark.integration
def test_fuel_setup_rpm_ships_the_commands_and_the_set(tmp_path, monkeypatch):
    require_tools("rpmbuild", "rpm2cpio", "cpio")
    monkeypatch.setenv("BUILDTOOL_CACHE", str(tmp_path / "cache"))
    built = subprocess.run(
        [str(ROOT / ".venv/bin/python"), "-m", "buildtool", "build", "--only", "fuel-setup",
         "--target", "el9", "--build-dir", str(tmp_path / "build")],
        cwd=ROOT, capture_output=True, text=True)
    assert built.returncode == 0, built.stderr
    rpm = next((tmp_path / "build/el9/rpms/fuel-setup").glob("fuel-setup-*.noarch.rpm"))
    files = subprocess.run(["rpm", "-qlp", str(rpm)], capture_output=True, text=True).stdout.split()
    for path in ("/usr/sbin/fuel-backup", "/usr/sbin/fuel-restore", BACKUP_SET_DEST,
                 "/usr/share/fuel/lib/fuelbackup.py"):
        assert path in files
    payload = subprocess.Popen(["rpm2cpio", str(rpm)], stdout=subprocess.PIPE)
    shipped = subprocess.run(["cpio", "-i", "--quiet", "--to-stdout", "." + BACKUP_SET_DEST],
                             stdin=payload.stdout, capture_output=True).stdout
    payload.stdout.close()
    payload.wait()
    assert shipped.decode() == backup_set(load_manifest(ROOT / "fuel.yaml"), "el9").to_json()
