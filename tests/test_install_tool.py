"""An installed buildtool (a wheel in a fresh venv) works outside the source checkout: specs/
and repo-config/ travel as package data, build/ and dist/ go to the current directory."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from conftest import FIXTURES, ROOT, require_tools

# What a source distribution of buildtool holds (the rest of the checkout is not the tool).
PROJECT_FILES = ["pyproject.toml", "LICENSE", "README.md", "buildtool", "specs", "repo-config"]
# buildtool's runtime dependencies, taken from this test's environment (no index is reached)
DEPENDENCIES = ["jinja2", "markupsafe", "yaml", "_yaml"]


def copy_project(dest: Path) -> Path:
    dest.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in PROJECT_FILES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, dest / name, ignore=ignore)
        else:
            shutil.copy2(source, dest / name)
    return dest


def build_wheel(project: Path, out: Path) -> Path:
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                            "--no-build-isolation", "--no-index", "--verbose", "--wheel-dir",
                            str(out), str(project)], check=True, capture_output=True, text=True)
    warnings = [line for line in (built.stdout + built.stderr).splitlines()
                if "Warning" in line and "Location" not in line]
    assert warnings == [], "\n".join(warnings)  # no licence-metadata or packaging warnings
    return next(out.glob("buildtool-*.whl"))


def fresh_venv(path: Path) -> Path:
    """A new venv without this checkout on its path; the dependencies linked from ours."""
    base_python = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base_python, "-m", "venv", str(path)], check=True)
    site = Path(subprocess.run([path / "bin" / "python", "-c",
                                "import sysconfig; print(sysconfig.get_path('purelib'))"],
                               check=True, capture_output=True, text=True).stdout.strip())
    ours = Path(sysconfig.get_path("purelib"))
    deps = path / "deps"
    deps.mkdir()
    for name in DEPENDENCIES:
        for entry in ours.glob(f"{name}*"):
            if entry.is_dir() or entry.suffix in (".so", ".py"):
                (deps / entry.name).symlink_to(entry)
    (site / "buildtool-test-deps.pth").write_text(f"{deps}\n")
    return path


@pytest.mark.integration
def test_installed_tool_builds_a_repository_from_another_directory(tmp_path):
    require_tools("rpmbuild", "rpmspec", "createrepo_c")
    wheel = build_wheel(copy_project(tmp_path / "src"), tmp_path / "wheels")
    venv = fresh_venv(tmp_path / "venv")
    subprocess.run([venv / "bin" / "python", "-m", "pip", "install", "--no-deps", "--no-index",
                    "--quiet", str(wheel)], check=True, capture_output=True, text=True)
    work = tmp_path / "work"
    shutil.copytree(FIXTURES / "chain", work / "chain")
    env = {**os.environ, "BUILDTOOL_CACHE": str(tmp_path / "cache")}
    env.pop("PYTHONPATH", None)

    where = subprocess.run([venv / "bin" / "python", "-c",
                            "from buildtool import locations; print(locations.data_root())"],
                           cwd=work, env=env, capture_output=True, text=True, check=True)
    data_root = Path(where.stdout.strip())
    assert data_root.is_relative_to(venv) and (data_root / "specs" / "base.spec.j2").is_file()
    assert (data_root / "repo-config" / "targets" / "el9.macros").is_file()

    result = subprocess.run([venv / "bin" / "buildtool", "repo", "-m",
                             str(work / "chain" / "manifest.yaml"), "--target", "el9", "-j", "2"],
                            cwd=work, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    rpms = sorted(p.name for p in (work / "dist/repos/el9/current/Packages").glob("*.rpm"))
    assert rpms == ["chain-a-1.0-1.el9.noarch.rpm", "chain-b-2.0-1.el9.noarch.rpm",
                    "chain-meta-3.0-1.el9.noarch.rpm"]
    assert (work / "build" / "el9" / "SPECS" / "chain-b.spec").is_file()
    assert not (ROOT / "src").exists()
