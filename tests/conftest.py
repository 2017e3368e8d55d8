"""Shared helpers: run the CLI in-process, copy fixture manifests, find the real tools."""

from __future__ import annotations

import cProfile
import json
import pstats
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
OUTPUT_SCHEMA = ROOT / "docs" / "buildtool-output.schema.json"


@dataclass
class CliResult:
    status: int
    stdout: str
    stderr: str


def run_buildtool(*args: str, cwd: Path | None = None, env: dict | None = None) -> CliResult:
    """Run buildtool as a user would, in a subprocess (so tracebacks would really show)."""
    process = subprocess.run([sys.executable, "-m", "buildtool", *args], cwd=cwd or ROOT,
                             capture_output=True, text=True, env=env)
    return CliResult(process.returncode, process.stdout, process.stderr)


@pytest.fixture
def chain(tmp_path: Path) -> Path:
    """A private copy of the chain fixture manifest (a <- b <- meta) with its sources."""
    target = tmp_path / "chain"
    shutil.copytree(FIXTURES / "chain", target)
    return target / "manifest.yaml"


@pytest.fixture
def workdirs(tmp_path: Path, monkeypatch) -> list[str]:
    """--build-dir/--dist-dir in a temp dir and a private source cache."""
    monkeypatch.setenv("BUILDTOOL_CACHE", str(tmp_path / "cache"))
    return ["--build-dir", str(tmp_path / "build"), "--dist-dir", str(tmp_path / "dist")]


def require_tools(*tools: str) -> None:
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (run 'make tools-test')")


def repoquery(repo: Path) -> list[str]:
    """name-version-release of every package of a published repository, sorted."""
    require_tools("dnf")
    out = subprocess.run(["dnf", "-q", "--releasever=9", f"--repofrompath=t,{repo.as_uri()}",
                          "--repo=t", "repoquery", "--qf", "%{name}-%{version}-%{release}"],
                         capture_output=True, text=True, check=True).stdout
    return sorted(out.split())


def function_calls(function, *args) -> int:
    """How many Python function calls `function(*args)` makes: work counted, not timed.

    Deterministic where time is not (a shared CI machine, garbage collection), so scaling tests
    compare these counts between input sizes instead of seconds.
    """
    profile = cProfile.Profile()
    profile.runcall(function, *args)
    return pstats.Stats(profile).total_calls


def assert_output_schema(document: dict, command: str) -> None:
    """`document` is what `buildtool COMMAND --json` may print, by docs/'s JSON Schema (and by
    the schema's own anyOf of every document, as a consumer without the command would check)."""
    import jsonschema

    schema = json.loads(OUTPUT_SCHEMA.read_text())
    jsonschema.validate(document, {"$defs": schema["$defs"], "$ref": f"#/$defs/{command}"},
                        cls=jsonschema.Draft202012Validator)
    jsonschema.validate(document, schema, cls=jsonschema.Draft202012Validator)
