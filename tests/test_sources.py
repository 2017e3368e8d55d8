"""Sources: deterministic tarballs, git archives, the lookaside cache, checksum failures."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import subprocess
import tarfile

import pytest

from buildtool.errors import StageFailed
from buildtool.manifest import Package, Source
from buildtool.sources import Lookaside, deterministic_tarball, fetch, source_filename, unpack_dir
from conftest import require_tools


def package(source: Source, name: str = "demo") -> Package:
    return Package(version="1.2", summary="s", description="d", kind="files", name=name,
                   source=source, source_date_epoch=1700000000)


def test_tarball_is_deterministic_and_content_addressed(tmp_path):
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "b.txt").write_text("b")
    (tree / "sub" / "a.sh").write_text("#!/bin/sh\n")
    os.chmod(tree / "sub" / "a.sh", 0o775)
    (tree / ".git").mkdir()
    (tree / ".git" / "HEAD").write_text("x")
    first = deterministic_tarball(tree, "demo-1.2", 1700000000)
    os.utime(tree / "b.txt", (0, 0))  # mtimes and ownership do not matter, content does
    assert deterministic_tarball(tree, "demo-1.2", 1700000000) == first
    (tree / "b.txt").write_text("changed")
    assert deterministic_tarball(tree, "demo-1.2", 1700000000) != first
    archive = tmp_path / "x.tar.gz"
    archive.write_bytes(first)
    with tarfile.open(archive) as tar:
        members = {m.name: m for m in tar.getmembers()}
    assert list(members) == ["demo-1.2", "demo-1.2/b.txt", "demo-1.2/sub", "demo-1.2/sub/a.sh"]
    assert members["demo-1.2/sub/a.sh"].mode == 0o755 and members["demo-1.2/b.txt"].mode == 0o644
    assert {m.mtime for m in members.values()} == {1700000000}


def test_names_of_pypi_and_url_sources():
    pypi = package(Source(pypi="python-fuelclient", sha256="0" * 64), "python3-fuelclient")
    assert source_filename(pypi) == "python-fuelclient-1.2.tar.gz"
    assert unpack_dir(pypi) == "python-fuelclient-1.2"
    url = package(Source(url="https://example.org/dl/tool-3.0.tar.xz?x=1", sha256="0" * 64))
    assert source_filename(url) == "tool-3.0.tar.xz" and unpack_dir(url) == "tool-3.0"


def test_cached_file_is_used_without_network(tmp_path):
    payload = tmp_path / "tool-1.2.tar.gz"
    payload.write_bytes(b"pretend tarball")
    digest = hashlib.sha256(payload.read_bytes()).hexdigest()
    cache = Lookaside(tmp_path / "cache")
    cache.store(payload, "tool-1.2.tar.gz")
    pkg = package(Source(url="http://127.0.0.1:9/tool-1.2.tar.gz", sha256=digest))
    dest = tmp_path / "sources"
    dest.mkdir()
    fetched = fetch(pkg, tmp_path, cache, dest)
    assert fetched.sha256 == digest and (dest / "tool-1.2.tar.gz").read_bytes() == b"pretend tarball"


def test_unreachable_url_names_package_and_how_to_supply_it(tmp_path):
    pkg = package(Source(url="http://127.0.0.1:9/tool-1.2.tar.gz", sha256="a" * 64))
    with pytest.raises(StageFailed) as error:
        fetch(pkg, tmp_path, Lookaside(tmp_path / "cache"), tmp_path)
    text = str(error.value)
    assert text.startswith("demo: cannot download http://127.0.0.1:9/tool-1.2.tar.gz")
    assert f"sha256/{'a' * 64}/tool-1.2.tar.gz" in text


def test_checksum_mismatch_is_refused(tmp_path):
    served = tmp_path / "served.tar.gz"
    served.write_bytes(b"not what was pinned")
    pkg = package(Source(url=served.as_uri(), sha256="b" * 64, filename="served.tar.gz"))
    with pytest.raises(StageFailed, match="checksum mismatch for served.tar.gz"):
        fetch(pkg, tmp_path, Lookaside(tmp_path / "cache"), tmp_path)
    assert not (tmp_path / "cache" / "lookaside" / "sha256" / ("b" * 64) / "served.tar.gz").exists()


@pytest.mark.integration
def test_git_source_is_archived_at_its_ref_with_commit_time(tmp_path):
    require_tools("git")
    repo = tmp_path / "upstream"
    repo.mkdir()
    env = dict(os.environ, GIT_AUTHOR_DATE="@1600000000 +0000", GIT_COMMITTER_DATE="@1600000000 +0000",
               GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t", GIT_COMMITTER_NAME="t",
               GIT_COMMITTER_EMAIL="t@t")
    git = ["git", "-C", str(repo)]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True, env=env)
    (repo / "setup.py").write_text("print('v1')\n")
    subprocess.run([*git, "add", "."], check=True, env=env)
    subprocess.run([*git, "commit", "-qm", "v1"], check=True, env=env)
    subprocess.run([*git, "tag", "1.2"], check=True, env=env)
    (repo / "setup.py").write_text("print('v2')\n")
    subprocess.run([*git, "commit", "-qam", "v2"], check=True, env=env)
    pkg = package(Source(git=str(repo), ref="1.2"))
    dest = tmp_path / "sources"
    dest.mkdir()
    cache = Lookaside(tmp_path / "cache")
    first = fetch(pkg, tmp_path, cache, dest)
    assert first.source_date_epoch == 1600000000
    with tarfile.open(dest / "demo-1.2.tar.gz") as tar:
        assert tar.extractfile("demo-1.2/setup.py").read() == b"print('v1')\n"
    again = fetch(pkg, tmp_path, cache, dest)
    assert again.sha256 == first.sha256  # same ref, same bytes
    bad = dataclasses.replace(pkg, source=Source(git=str(repo), ref="no-such-tag"))
    with pytest.raises(StageFailed, match="demo: cannot fetch git source .* at no-such-tag"):
        fetch(bad, tmp_path, cache, dest)
