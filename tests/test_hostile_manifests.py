"""A corpus of hostile manifests (tests/hostile/): each attack is refused for the right reason.

Every file names what it attacks in its file name and what the refusal must say in `# expect:`
lines. The CLI runs in-process, so any exception other than the user-facing error would surface
here as a traceback and fail the test.
"""

from __future__ import annotations

import re
import resource
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest

from buildtool import cli, yamlpos
from buildtool.errors import UserError
from buildtool.yamlpos import MAX_BYTES, load_yaml
from conftest import ROOT, function_calls

HOSTILE = Path(__file__).resolve().parent / "hostile"
CORPUS = sorted(HOSTILE.glob("*.yaml"))
LOCATED = re.compile(r"^buildtool: error: (?P<file>[^:\n]+):(?P<line>\d+):(?P<col>\d+): \S")
LOCATION = re.compile(r"^[^:\n]+:\d+:\d+: [^\n]+$")


def expectations(path: Path) -> list[str]:
    return [line.removeprefix(b"# expect: ").decode() for line in path.read_bytes().splitlines()
            if line.startswith(b"# expect: ")]


def validate(path: Path, capsys) -> tuple[int, str]:
    status = cli.main(["validate", "-m", str(path)])
    return status, capsys.readouterr().err


def test_the_corpus_is_there():
    assert len(CORPUS) >= 90
    assert all(expectations(path) for path in CORPUS), "every hostile file says what it expects"


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_hostile_manifest_is_refused_for_the_right_reason(path, capsys):
    status, stderr = validate(path, capsys)
    assert status == 2, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, lines
    located = LOCATED.match(lines[0])
    assert located, lines[0]
    assert located["file"].endswith(path.name)
    assert 1 <= int(located["line"]) <= len(path.read_bytes().splitlines()) + 1
    for fragment in expectations(path):
        assert fragment in lines[0], lines[0]


def test_billion_laughs_is_refused_fast_with_little_memory():
    tracemalloc.start()
    started = time.perf_counter()
    with pytest.raises(UserError, match="more than 200000 values"):
        load_yaml(HOSTILE / "yaml-billion-laughs.yaml")
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert elapsed < 3, f"{elapsed:.2f} s"  # main hung; generous: CI machines are shared
    assert peak < 20 * 1024 * 1024, f"peak {peak / 2**20:.1f} MiB"


def _limit_memory():
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))


def test_billion_laughs_cli_under_a_memory_limit():
    """The whole CLI, in a process that may not grow beyond 1 GiB (main used 2.3 GB and hung)."""
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "buildtool", "validate", "-m",
                             str(HOSTILE / "yaml-billion-laughs.yaml")], cwd=ROOT,
                            capture_output=True, text=True, preexec_fn=_limit_memory, timeout=30)
    assert result.returncode == 2, result.stderr
    assert "more than 200000 values" in result.stderr and "Traceback" not in result.stderr
    assert time.perf_counter() - started < 5  # interpreter start-up included


def test_oversized_file_is_refused_before_reading(tmp_path, capsys):
    path = tmp_path / "big.yaml"
    path.write_text("schema: 1\npackages: {}\n# " + "x" * MAX_BYTES + "\n")
    status, stderr = validate(path, capsys)
    assert status == 2
    assert re.search(r"big\.yaml:1:1: file is \d+ bytes, more than a manifest may be", stderr)


def test_manifest_that_is_a_directory(tmp_path, capsys):
    status, stderr = validate(tmp_path, capsys)
    assert status == 2 and "is a directory" in stderr


def test_yaml_loading_is_linear(tmp_path):
    """Four times the packages, about four times the work (one loader per file, not per scalar).

    Counted in function calls, not seconds: a timed version failed on a loaded CI machine.
    """
    def calls(count: int) -> int:
        path = tmp_path / f"m{count}.yaml"
        path.write_text("schema: 1\npackages:\n" + "".join(
            f"  p{i}: {{version: '1.{i}', kind: meta, summary: s, description: d,"
            f" requires: [a, b, c]}}\n" for i in range(count)))
        return function_calls(load_yaml, path)

    small, large = calls(500), calls(2000)
    assert large <= small * 4.2, f"500: {small} calls, 2000: {large} calls (linear: x4)"


@pytest.mark.skipif(not yamlpos.LIBYAML, reason="PyYAML without libyaml: one loader only")
@pytest.mark.parametrize("path", [ROOT / "fuel.yaml", ROOT / "tests/fixtures/chain/manifest.yaml",
                                  *sorted((ROOT / "repo-config").rglob("*.yaml")), *CORPUS],
                         ids=lambda p: p.name)
def test_libyaml_and_pure_python_loaders_agree(path, monkeypatch):
    """libyaml parses when present; both loaders must build the same data, positions and flags."""
    results = []
    for loader in (yamlpos._LibyamlLoader, yamlpos._PurePythonLoader):
        monkeypatch.setattr(yamlpos, "_BoundedLoader", loader)
        try:
            data, positions = load_yaml(path)
            results.append((data, positions.marks, positions.not_text))
        except UserError as error:
            assert LOCATION.match(str(error)), str(error)
            results.append("refused")
    assert results[0] == results[1]
