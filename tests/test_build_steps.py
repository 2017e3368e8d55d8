"""The steps of one package's build: the SRPM step runs before the build only for a backend that
does not make the SRPM itself, and its failure fails the package without starting the build."""

from __future__ import annotations

from pathlib import Path

import pytest

from buildtool import build
from buildtool.backends.base import Backend, BuildRequest, BuildResult
from buildtool.build import FAILED, BuildLayout, PackageInput
from buildtool.render import RenderedPackage
from buildtool.targets import load_target
from conftest import ROOT


class _Recording(Backend):
    """Records the SRPM each build was given; every build fails (nothing needs to be made)."""

    name = "recording"

    def __init__(self, makes_srpm: bool):
        self.makes_srpm = makes_srpm
        self.given: list[Path | None] = []

    def build(self, request: BuildRequest) -> BuildResult:
        self.given.append(request.srpm)
        return BuildResult(False, (), request.log)


def _build_one(tmp_path: Path, backend: Backend):
    layout = BuildLayout(tmp_path / "el9")
    layout.rpms("").mkdir(parents=True)
    item = PackageInput(RenderedPackage("pkg", tmp_path / "pkg.spec", tmp_path / "SOURCES",
                                        (), None), None, 1700000000)
    return build._build_one("pkg", item, "key", load_target(ROOT, "el9"), backend, layout)


def test_a_failed_srpm_step_fails_the_package_before_its_build(tmp_path, monkeypatch):
    monkeypatch.setattr(build, "build_srpm", lambda *args: None)
    backend = _Recording(makes_srpm=False)
    outcome = _build_one(tmp_path, backend)
    assert (outcome.status, outcome.reason) == (FAILED, "SRPM failed")
    assert backend.given == []


def test_the_srpm_step_hands_its_srpm_to_the_build(tmp_path, monkeypatch):
    srpm = tmp_path / "pkg-1-1.src.rpm"
    monkeypatch.setattr(build, "build_srpm", lambda *args: srpm)
    backend = _Recording(makes_srpm=False)
    assert _build_one(tmp_path, backend).reason == "build failed"
    assert backend.given == [srpm]


def test_a_backend_that_makes_the_srpm_gets_no_srpm_step(tmp_path, monkeypatch):
    def no_srpm_step(*args):
        pytest.fail("the SRPM step ran for a backend that makes the SRPM itself")
    monkeypatch.setattr(build, "build_srpm", no_srpm_step)
    backend = _Recording(makes_srpm=True)
    assert _build_one(tmp_path, backend).reason == "build failed"
    assert backend.given == [None]
