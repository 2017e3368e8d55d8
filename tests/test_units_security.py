"""Generated systemd units are sandboxed: `systemd-analyze security --offline=yes` scores every one.

systemd scores a unit's exposure from 0 (locked down) to 10 (nothing restricted); before the
sandbox was completed all 12 units of fuel.yaml scored 7.0 MEDIUM. Every unit buildtool renders
from fuel.yaml (upstream profile included) and from the test fixtures must stay at or below 2.5.
"""

from __future__ import annotations

import dataclasses
import re
import subprocess
from pathlib import Path

import pytest

from buildtool import pipeline, units
from buildtool.manifest import Directory, Package, Service
from conftest import FIXTURES, ROOT, require_tools

MAX_EXPOSURE = 2.5
EXPOSURE_RE = re.compile(r"Overall exposure level for (?P<unit>\S+): (?P<score>\d+\.\d+) ")


def rendered_units(manifest: Path, build_dir: Path, profiles: list[str]) -> list[Path]:
    """Run the render stage for el9; return the unit files it wrote next to the specs."""
    settings = pipeline.Settings(manifest=manifest, targets=["el9"], profiles=profiles,
                                 build_dir=build_dir)
    loaded, targets = pipeline.load(settings)
    pipeline.render(loaded, targets[0], settings, pipeline.plan_graph(loaded, settings))
    return sorted((build_dir / "el9" / "SOURCES").glob("*/*.service"))


def exposure(unit: Path) -> float:
    result = subprocess.run(["systemd-analyze", "security", "--offline=yes", "--no-pager",
                             str(unit)], capture_output=True, text=True)
    match = EXPOSURE_RE.search(result.stdout)
    assert match, f"no exposure level for {unit.name}: {result.stdout[-300:]}{result.stderr}"
    assert match["unit"] == unit.name
    return float(match["score"])


@pytest.fixture(scope="module")
def every_unit(tmp_path_factory) -> list[Path]:
    build = tmp_path_factory.mktemp("units")
    fuel = rendered_units(ROOT / "fuel.yaml", build / "fuel", ["upstream"])
    chain = rendered_units(FIXTURES / "chain" / "manifest.yaml", build / "chain", [])
    assert len(fuel) == 12, [u.name for u in fuel]  # nailgun and its 9 workers, ostf, astute
    assert len(chain) == 1
    return fuel + chain


@pytest.mark.integration
def test_every_generated_unit_scores_at_most_2_5(every_unit):
    require_tools("systemd-analyze")
    scores = {unit.name: exposure(unit) for unit in every_unit}
    too_exposed = {name: score for name, score in scores.items() if score > MAX_EXPOSURE}
    assert not too_exposed, f"exposure above {MAX_EXPOSURE}: {too_exposed} (all: {scores})"


@pytest.mark.integration
def test_the_score_check_can_fail(every_unit, tmp_path):
    """The same unit without the sandbox scores high: the parsing and the threshold are real."""
    require_tools("systemd-analyze")
    nailgun = next(unit for unit in every_unit if unit.name == "nailgun.service")
    bare = tmp_path / "nailgun.service"
    bare.write_text("\n".join(line for line in nailgun.read_text().splitlines()
                              if line.split("=", 1)[0] not in _sandbox_keys()) + "\n")
    assert exposure(bare) > 7.0
    assert exposure(nailgun) <= MAX_EXPOSURE


def _sandbox_keys() -> set[str]:
    return {key for key, _ in units.SANDBOX + units.UNPRIVILEGED_SANDBOX} | {"UMask"}


def test_units_carry_the_directives_the_issue_asks_for(every_unit):
    for unit in every_unit:
        text = unit.read_text()
        for directive in ("CapabilityBoundingSet=\n", "SystemCallFilter=@system-service",
                          "SystemCallFilter=~@privileged @resources",
                          "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6",
                          "ProtectKernelLogs=yes", "ProtectClock=yes", "ProtectHostname=yes",
                          "ProtectProc=invisible", "RestrictNamespaces=yes", "UMask=0"):
            assert directive in text, f"{unit.name}: {directive!r} missing"
        assert "# Not set:" in text and "PrivateNetwork=" in text  # what it cannot take, and why


def _package(**changes) -> tuple[Package, Service]:
    service = Service(name="svc", description="A service", exec_start="/usr/bin/svc", user="svc")
    package = Package(version="1", summary="s", description="d", kind="files", name="pkg",
                      services=[service],
                      directories=[Directory(path="/var/lib/svc", owner="svc", mode="0750")])
    package = dataclasses.replace(package, **changes)
    return package, package.services[0]


def test_private_umask_unless_the_service_shares_a_world_readable_directory():
    package, service = _package()
    assert "UMask=0027" in units.render_unit(package, service)
    shared = [Directory(path="/var/www/svc", owner="svc", mode="0755")]
    package, service = _package(directories=shared)
    text = units.render_unit(package, service)
    assert "UMask=0022" in text and "read by others" in text
    others = [Directory(path="/var/www/svc", owner="root", mode="0755")]
    package, service = _package(directories=others)
    assert "UMask=0027" in units.render_unit(package, service)


def test_a_root_service_keeps_its_capabilities():
    root = Service(name="svc", description="d", exec_start="/usr/bin/svc", user="root",
                   root_reason="binds a raw socket")
    package, _ = _package(services=[root])
    text = units.render_unit(package, root)
    assert "CapabilityBoundingSet" not in text and "~@privileged" not in text
    assert "NoNewPrivileges=yes" in text and "SystemCallFilter=@system-service" in text


def test_hardening_off_means_no_sandbox():
    package, service = _package()
    plain = dataclasses.replace(service, hardening=False)
    text = units.render_unit(package, plain)
    assert "ProtectSystem" not in text and "CapabilityBoundingSet" not in text
