"""python3-packetary needs nothing that no distribution has (no bintrees, no jsonschema < 3).

The el9 RPM is built and published with buildtool, then its payload runs against that real
repository in a throwaway venv that holds packetary's requirements at their current versions
(jsonschema 4, no bintrees) under the newest python3 this machine has (3.12+ where pyenv has one).
The upstream sdist, run the same way, fails: it imports bintrees, and with bintrees its package
versions are unhashable on Python 3.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from conftest import require_tools, run_buildtool

pytestmark = pytest.mark.integration

SITELIB = "usr/lib/python3.9/site-packages"
# What packetary imports at run time (requirements.txt after the patches, less Babel and
# chardet that it never imports, plus PyYAML that its CLI imports), at today's versions.
RUNTIME = ["jsonschema>=4", "six", "pbr", "eventlet", "stevedore", "cliff", "lxml",
           "python-debian", "PyYAML"]
REQUIREMENTS = """\
- name: python3-packetary
  versions: [">= 0.1.0-1"]
"""

# The same random packages go into the patched Index and into one backed by bintrees'
# FastRBTree; every operator is asked about every version seen (and some never added).
# Parts like 0/00 and 1/01 make distinct strings compare equal.
SAME_AS_FASTRBTREE = r"""
import random
from collections import defaultdict
from bintrees import FastRBTree
from packetary.objects import Index, Package, PackageVersion, VersionRange

rng = random.Random(4)
def version():
    parts = lambda n: ".".join(rng.choice(["0", "00", "1", "01", "2", "10", "a", "b1"])
                               for _ in range(rng.randint(1, n)))
    return PackageVersion(rng.choice([0, 0, 1]), parts(3), parts(2))

patched, reference = Index(), Index()
reference.packages = defaultdict(FastRBTree)
edges = []
for i in range(400):
    package = Package(repository=None, name=rng.choice("abc"), version=version(),
                      filename="p%d.rpm" % i, filesize=1, checksum=None)
    patched.add(package)
    reference.add(package)
    edges.append(package.version)
edges += [version() for _ in range(100)]
assert len(patched) == len(reference) and list(patched) == list(reference)
checks = 0
for name in "abcd":
    for op in (None, "<", "<=", ">", ">=", "="):
        for edge in edges:
            got = patched.find_all(name, VersionRange(op, edge))
            want = reference.find_all(name, VersionRange(op, edge))
            assert [id(p) for p in got] == [id(p) for p in want], (name, op, str(edge))
            checks += 1
pairs = [(a, b) for a in edges[:150] for b in edges[:150] if a == b and a is not b]
assert all(hash(a) == hash(b) for a, b in pairs)  # the python3 patch's __hash__ agrees with ==
print("%d queries, %d packages: same answers; %d equal pairs hash alike"
      % (checks, len(patched), len(pairs)))
"""


def newest_python() -> str:
    """The newest python3 here: Fedora 44/45 and EL10 run packetary on 3.12 or later."""
    candidates = [sys.executable, *glob.glob(str(Path.home() / ".pyenv/versions/3.*/bin/python3"))]
    candidates += [path for name in ("python3.15", "python3.14", "python3.13", "python3.12")
                   if (path := shutil.which(name))]
    return max(candidates, key=python_version)


def python_version(python: str) -> tuple[int, ...]:
    out = subprocess.run([python, "-c", "import sys; print(*sys.version_info[:2])"],
                         capture_output=True, text=True).stdout.split()
    return tuple(int(part) for part in out) if out else (0,)


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> dict[str, Path]:
    """`buildtool repo --only python3-packetary` for el9: the RPM, the repository, the sdist."""
    require_tools("rpmbuild", "rpm", "createrepo_c", "rpm2cpio", "cpio")
    tmp = tmp_path_factory.mktemp("packetary-el9")
    result = run_buildtool("repo", "--only", "python3-packetary", "--build-dir", str(tmp / "build"),
                           "--dist-dir", str(tmp / "dist"))
    assert result.status == 0, result.stderr[-3000:]
    repository = tmp / "dist/repos/el9/current"
    return {"rpm": next(repository.glob("Packages/python3-packetary-*.noarch.rpm")),
            "repository": repository,
            "sdist": tmp / "build/el9/SOURCES/python3-packetary/packetary-0.1.0.tar.gz"}


@pytest.fixture(scope="module")
def payload(published, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("packetary-root")
    cpio_input = subprocess.run(["rpm2cpio", str(published["rpm"])], capture_output=True,
                                check=True).stdout
    subprocess.run(["cpio", "-idm", "--quiet"], input=cpio_input, cwd=root, check=True)
    return root


@pytest.fixture(scope="module")
def upstream(published, tmp_path_factory) -> Path:
    """The unpatched sdist, importable as it is (its egg-info carries the entry points)."""
    directory = tmp_path_factory.mktemp("packetary-upstream")
    with tarfile.open(published["sdist"]) as sdist:
        sdist.extractall(directory, filter="data")
    return directory / "packetary-0.1.0"


@pytest.fixture(scope="module")
def runtime(tmp_path_factory) -> Path:
    """A venv with packetary's requirements from PyPI (jsonschema 4, no bintrees)."""
    directory = tmp_path_factory.mktemp("packetary-venv")
    subprocess.run([newest_python(), "-m", "venv", "--without-pip", str(directory)], check=True)
    python = str(directory / "bin" / "python")
    # this test run's pip installs into it: no second pip to bootstrap
    result = subprocess.run([sys.executable, "-m", "pip", "--python", python, "install",
                             "--quiet", *RUNTIME], capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        pytest.skip(f"cannot install packetary's requirements from PyPI: "
                    f"{result.stderr.strip().splitlines()[-1:]}")
    found = subprocess.run([python, "-c", "import sys, jsonschema; from importlib.metadata import "
                            "version; print(sys.version.split()[0], version('jsonschema'))"],
                           capture_output=True, text=True, check=True).stdout.split()
    print(f"\npackaging venv: python {found[0]}, jsonschema {found[1]}")
    assert int(found[1].split(".")[0]) >= 4
    return Path(python)


@pytest.fixture(scope="module")
def bintrees(tmp_path_factory, runtime) -> Path:
    """bintrees in a directory of its own: only the tests that name it see it."""
    directory = tmp_path_factory.mktemp("bintrees")
    result = subprocess.run([sys.executable, "-m", "pip", "--python", str(runtime), "install",
                             "--quiet", "--target", str(directory), "bintrees"],
                            capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        pytest.skip(f"cannot install bintrees: {result.stderr.strip().splitlines()[-1:]}")
    return directory


def run_python(python: Path, args: list[str], pythonpath: list[Path], cwd: Path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(map(str, pythonpath)),
               PYTHONWARNINGS="ignore")
    return subprocess.run([str(python), *args], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=120)


def packetary(python: Path, root: Path, *args: str, cwd: Path, code: Path | None = None,
              extra: Path | None = None):
    """The packaged /usr/bin/packetary; code= runs another packetary tree under it."""
    pythonpath = [code or root / SITELIB] + ([extra] if extra else [])
    return run_python(python, [str(root / "usr/bin/packetary"), *args], pythonpath, cwd)


@pytest.fixture
def inputs(published, tmp_path) -> Path:
    (tmp_path / "repos.yaml").write_text(
        f"- name: fuel\n  uri: {published['repository'].as_uri()}/\n")
    (tmp_path / "requirements.yaml").write_text(REQUIREMENTS)
    (tmp_path / "bad.yaml").write_text('- name: python3-packetary\n  versions: ["~ 0.1"]\n')
    return tmp_path


def requires(rpm: Path) -> list[str]:
    return subprocess.run(["rpm", "-qp", "--requires", str(rpm)], capture_output=True,
                          text=True, check=True).stdout.splitlines()


def test_el9_rpm_requires_neither_bintrees_nor_jsonschema_below_3(published):
    needed = requires(published["rpm"])
    assert not [r for r in needed if "bintrees" in r]
    jsonschema = [r for r in needed if "jsonschema" in r]
    assert jsonschema  # the dependency generator ran (it fails silently)
    bounds = set(re.findall(r"python3\.9dist\(jsonschema\) ([<>=]+ [\d.]+)", " ".join(jsonschema)))
    assert bounds == {"< 2.5", "> 2.5", ">= 2"}  # != 2.5.0, >= 2.0.0 and no upper bound
    assert {"python(abi) = 3.9", "python3-pyyaml", "python3.9dist(lxml) >= 3.2"} <= set(needed)
    license_tag = subprocess.run(["rpm", "-qp", "--qf", "%{LICENSE}", str(published["rpm"])],
                                 capture_output=True, text=True, check=True).stdout
    assert license_tag == "GPL-2.0-or-later"


def test_upstream_sdist_asked_for_both(upstream):
    # the same check on upstream's own metadata: it would have failed the test above
    declared = (upstream / "packetary.egg-info/requires.txt").read_text()
    assert "bintrees>=2.0.2" in declared and "<3.0.0" in declared


def test_payload_has_no_bintrees_import(payload):
    sitelib = payload / SITELIB
    imports = re.compile(r"^\s*(import|from) bintrees\b", re.MULTILINE)
    assert not [p for p in sitelib.rglob("*.py") if imports.search(p.read_text())]
    assert "SortedVersions" in (sitelib / "packetary/objects/index.py").read_text()
    assert "bintrees" not in (sitelib / "packetary-0.1.0.egg-info/requires.txt").read_text()


def test_patched_index_answers_like_bintrees_fastrbtree(payload, runtime, bintrees, tmp_path):
    result = run_python(runtime, ["-c", SAME_AS_FASTRBTREE], [payload / SITELIB, bintrees],
                        tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    print(result.stdout.strip())
    assert "same answers" in result.stdout


def test_packetary_resolves_a_real_rpm_repository(payload, runtime, inputs):
    listed = packetary(runtime, payload, "packages", "-t", "rpm", "-r", "repos.yaml",
                       "-p", "requirements.yaml", "-c", "name", "version", cwd=inputs)
    assert listed.returncode == 0, listed.stderr[-3000:]
    assert "python3-packetary; 0-0.1.0-1.el9" in listed.stdout
    unresolved = packetary(runtime, payload, "unresolved", "-t", "rpm", "-r", "repos.yaml",
                           cwd=inputs)
    assert unresolved.returncode == 0, unresolved.stderr[-3000:]
    assert "python(abi); = 0-3.9-0" in unresolved.stdout
    assert "python3.9dist(jsonschema)" in unresolved.stdout


def test_jsonschema_4_still_refuses_bad_requirements(payload, runtime, inputs):
    result = packetary(runtime, payload, "packages", "-t", "rpm", "-r", "repos.yaml",
                       "-p", "bad.yaml", cwd=inputs)
    assert result.returncode != 0
    assert "Invalid data: '~ 0.1' does not match" in result.stderr + result.stdout


def test_unpatched_packetary_fails_to_list_the_repository(upstream, runtime, bintrees, payload,
                                                          inputs):
    args = ("packages", "-t", "rpm", "-r", "repos.yaml", "-c", "name")
    without = packetary(runtime, payload, *args, cwd=inputs, code=upstream)
    assert without.returncode != 0
    assert "No module named 'bintrees'" in without.stderr
    with_bintrees = packetary(runtime, payload, *args, cwd=inputs, code=upstream, extra=bintrees)
    assert with_bintrees.returncode != 0
    assert "No module named 'createrepo'" in with_bintrees.stderr  # yum's, Python 2 only


ADD_A_PACKAGE_WITH_PROVIDES = """
from packetary.objects import Package, PackageRelation, PackagesTree, PackageVersion, VersionRange
version = PackageVersion(0, "0.1.0", "1.el9")
provides = [PackageRelation("python3dist(packetary)", VersionRange("=", version))]
tree = PackagesTree()
tree.add(Package(repository=None, name="python3-packetary", version=version, filename="p.rpm",
                 filesize=1, checksum=None, provides=provides))
print(tree.find("python3dist(packetary)", VersionRange(">=", version)))
"""


def test_versions_are_hashable_on_python3_only_when_patched(upstream, payload, runtime, bintrees,
                                                           tmp_path):
    patched = run_python(runtime, ["-c", ADD_A_PACKAGE_WITH_PROVIDES], [payload / SITELIB],
                         tmp_path)
    assert patched.returncode == 0, patched.stderr[-3000:]
    assert patched.stdout.strip() == "python3-packetary (0-0.1.0-1.el9)"
    unpatched = run_python(runtime, ["-c", ADD_A_PACKAGE_WITH_PROVIDES], [upstream, bintrees],
                           tmp_path)
    assert "unhashable type: 'PackageVersion'" in unpatched.stderr
