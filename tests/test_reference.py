"""The manifest reference (docs/manifest.md) is generated from the schema and cannot go stale:
it is current, complete, every example in it validates and the path rules it states are enforced."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from buildtool import reference
from buildtool.manifest import load_manifest
from buildtool.schema import SchemaError
from conftest import ROOT, run_buildtool

FUEL_YAML = ROOT / "fuel.yaml"
ENTRIES = reference.entries(FUEL_YAML)


def test_committed_reference_is_current():
    committed = (ROOT / "docs" / "manifest.md").read_text()
    assert committed == reference.render(FUEL_YAML), "docs/manifest.md is stale: run 'make docs'"


def test_every_key_of_the_schema_has_a_description_and_an_example():
    assert len(ENTRIES) > 90
    for entry in ENTRIES:
        assert entry.description, f"{entry.key}: add it to DESCRIPTIONS in buildtool/reference.py"
        assert entry.example, f"{entry.key}: use it in fuel.yaml or add it to EXTRA_EXAMPLES"


def test_hand_written_tables_name_real_keys():
    keys = {entry.key for entry in ENTRIES}
    for table in (reference.DESCRIPTIONS, reference.RULES, reference.EXTRA_EXAMPLES,
                  reference.PATH_KINDS):
        assert set(table) <= keys, set(table) - keys


def test_choices_ranges_and_defaults_come_from_the_schema():
    by_key = {entry.key: entry for entry in ENTRIES}
    restart = by_key["packages.*.services.restart"]
    assert restart.allowed == "`no`, `on-failure`, `on-abnormal`, `always`"
    assert restart.default == "`on-failure`"
    assert by_key["packages.*.services.restart_sec"].allowed.startswith("0 to 86400")
    assert by_key["packages.*.services.user"].default is None  # required
    assert by_key["packages.*.release"].default == "`defaults.release`"
    assert "`/var/log`" in " ".join(by_key["packages.*.logrotate.path"].rules)


def _validate(data: dict, tmp_path: Path):
    """Load `data` as a manifest next to the repository's files it refers to."""
    for name in ("packages", "patches", "puppet"):
        link = tmp_path / name
        if not link.exists():
            link.symlink_to(ROOT / name)
    path = tmp_path / "fuel.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return load_manifest(path, profiles=["upstream"])


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.key for e in ENTRIES])
def test_example_validates(entry, tmp_path):
    data = reference.apply_example(yaml.safe_load(FUEL_YAML.read_text()), entry.example)
    _validate(data, tmp_path)
    value = entry.example.shown or entry.example.patch
    assert entry.name in value


@pytest.mark.parametrize("key", sorted(reference.PATH_KINDS))
def test_stated_path_prefixes_are_enforced(key, tmp_path):
    entry = next(e for e in ENTRIES if e.key == key)
    value = entry.example.patch[entry.name]
    outside = ["/nowhere/x"] if isinstance(value, list) else "/nowhere/x"
    example = reference.Example(entry.example.location, {**entry.example.patch, entry.name: outside},
                                False)
    with pytest.raises(SchemaError) as refused:
        _validate(reference.apply_example(yaml.safe_load(FUEL_YAML.read_text()), example), tmp_path)
    assert reference.normalise(".".join(str(p) for p in refused.value.path
                                        if not isinstance(p, int))) == key
    assert "is not a place for" in refused.value.message


@pytest.mark.parametrize("asked", ["services.user", "packages.*.services.user",
                                   "packages.fuel-nailgun.services[0].user"])
def test_validate_explain_prints_the_entry(asked):
    result = run_buildtool("validate", "--explain", asked)
    assert result.status == 0, result.stderr
    assert result.stdout.startswith("### `packages.*.services.user`\n")
    assert "user: nailgun" in result.stdout


def test_validate_explain_unknown_key_is_one_line():
    result = run_buildtool("validate", "--explain", "services.usr")
    assert result.status == 2
    assert result.stderr.strip() == ("buildtool: error: --explain services.usr: no such manifest key "
                                     "(hint: did you mean packages.*.services.user?)")


def test_manifest_errors_point_at_the_reference(tmp_path):
    data = yaml.safe_load(FUEL_YAML.read_text())
    data["packages"]["fuel-nailgun"]["services"][0]["restart_sec"] = 999999
    with pytest.raises(SchemaError) as refused:
        _validate(data, tmp_path)
    assert str(refused.value).endswith(
        "(hint: use 0 to 86400 (seconds, at most a day); "
        "reference: buildtool validate --explain packages.*.services.restart_sec)")


def test_reference_script_help_writes_no_file(tmp_path):
    """`python -m buildtool.reference --help` once wrote the reference to a file named --help."""
    result = subprocess.run([sys.executable, "-m", "buildtool.reference", "--help"], cwd=tmp_path,
                            capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0 and "usage:" in result.stdout
    assert list(tmp_path.iterdir()) == []
