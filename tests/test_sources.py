"""Sources: deterministic tarballs, git archives, the lookaside cache, checksum failures."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from buildtool.errors import StageFailed, UserError
from buildtool.manifest import Package, Source
from buildtool.sources import (
    Lookaside,
    archive_problems,
    deterministic_tarball,
    fetch,
    source_filename,
    unpack_dir,
)
from conftest import require_tools, run_buildtool

sys.path.insert(0, str(Path(__file__).resolve().parent / "hostile" / "sources"))
from make_corpus import MEMBER, TARS, tar_bytes  # noqa: E402


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
    tagged = subprocess.run([*git, "rev-parse", "1.2^{commit}"], capture_output=True, text=True,
                            check=True).stdout.strip()
    assert first.commit == tagged  # the ref as the commit it resolved to
    with tarfile.open(dest / "demo-1.2.tar.gz") as tar:
        assert tar.extractfile("demo-1.2/setup.py").read() == b"print('v1')\n"
    again = fetch(pkg, tmp_path, cache, dest)
    assert again.sha256 == first.sha256  # same ref, same bytes
    bad = dataclasses.replace(pkg, source=Source(git=str(repo), ref="no-such-tag"))
    with pytest.raises(StageFailed, match="demo: cannot fetch git source .* at no-such-tag"):
        fetch(bad, tmp_path, cache, dest)


# --- sources that cannot leak: links out of a tree, unsafe archives, a poisoned cache ---

HOSTILE_SOURCES = Path(__file__).resolve().parent / "hostile" / "sources"


def tree_with(tmp_path: Path, name: str, target: str) -> Path:
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True, exist_ok=True)
    (tree / "data.txt").write_text("data\n")
    os.symlink(target, tree / name)
    return tree


@pytest.mark.parametrize("target", ["/etc/shadow", "../../etc/shadow", "sub/../../outside"])
def test_symlink_leaving_a_path_tree_is_refused_naming_the_file(tmp_path, target):
    tree = tree_with(tmp_path, "shadow.conf", target)
    pkg = package(Source(path="tree"))
    with pytest.raises(UserError) as error:
        fetch(pkg, tmp_path, Lookaside(tmp_path / "cache"), tmp_path)
    assert str(error.value).startswith(f"demo: {tree / 'shadow.conf'}: symlink to {target} "
                                       "points outside the source tree")
    assert not (tmp_path / "demo-1.2.tar.gz").exists()


def test_symlink_inside_the_tree_is_kept_as_a_link(tmp_path):
    tree_with(tmp_path, "sub/alias.txt", "../data.txt")
    dest = tmp_path / "sources"
    dest.mkdir()
    fetch(package(Source(path="tree")), tmp_path, Lookaside(tmp_path / "cache"), dest)
    with tarfile.open(dest / "demo-1.2.tar.gz") as tar:
        link = tar.getmember("demo-1.2/sub/alias.txt")
    assert link.issym() and link.linkname == "../data.txt"


def test_path_source_with_shadow_symlink_fails_the_cli_in_one_line(chain, workdirs):
    os.symlink("/etc/shadow", chain.parent / "src" / "chain-a" / "shadow.conf")
    result = run_buildtool("build", "-m", str(chain), "--backend", "rpmbuild", "--only", "chain-a",
                           *workdirs)
    assert result.status == 2
    assert result.stderr.strip().splitlines() == [
        f"buildtool: error: chain-a: {chain.parent / 'src' / 'chain-a' / 'shadow.conf'}: symlink "
        f"to /etc/shadow points outside the source tree {chain.parent / 'src' / 'chain-a'} "
        "(hint: replace it with the file itself or a relative link inside the tree)"]


@pytest.mark.parametrize("archive", sorted(MEMBER))
def test_unsafe_archive_is_refused_naming_the_member(tmp_path, archive):
    path = HOSTILE_SOURCES / archive
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    pkg = package(Source(url=path.as_uri(), sha256=digest, filename=archive))
    dest = tmp_path / "sources"
    dest.mkdir()
    with pytest.raises(StageFailed) as error:
        fetch(pkg, tmp_path, Lookaside(tmp_path / "cache"), dest)
    assert str(error.value).startswith(f"demo: {archive}: unsafe archive member {MEMBER[archive]}: ")


def test_corpus_is_what_the_generator_writes(tmp_path):
    """The committed archives are reproducible from make_corpus.py (nothing hand-edited)."""
    for name, (members, _) in TARS.items():
        assert (HOSTILE_SOURCES / name).read_bytes() == tar_bytes(members), name
    assert archive_problems(HOSTILE_SOURCES / "safe.tar.gz") == []


def test_dotdot_tarball_is_refused_before_it_reaches_sources(tmp_path):
    path = HOSTILE_SOURCES / "dotdot.tar.gz"
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    cache = Lookaside(tmp_path / "cache")
    cache.store(path, "pkg-1.0.tar.gz")
    pkg = package(Source(url="http://127.0.0.1:9/pkg-1.0.tar.gz", sha256=digest))
    dest = tmp_path / "sources"
    dest.mkdir()
    with pytest.raises(StageFailed, match=r"unsafe archive member pkg-1.0/\.\./\.\./evil.sh: "
                                          r"'\.\.' in its path"):
        fetch(pkg, tmp_path, cache, dest)


def test_poisoned_cache_file_is_detected_by_its_hash(tmp_path):
    payload = tmp_path / "tool-1.2.tar.gz"
    payload.write_bytes(b"pretend tarball")
    digest = hashlib.sha256(payload.read_bytes()).hexdigest()
    cache = Lookaside(tmp_path / "cache")
    _, cached = cache.store(payload, "tool-1.2.tar.gz")
    pkg = package(Source(url="http://127.0.0.1:9/tool-1.2.tar.gz", sha256=digest))
    dest = tmp_path / "sources"
    dest.mkdir()
    fetch(pkg, tmp_path, cache, dest)  # clean: used
    cached.write_bytes(b"poisoned by an earlier build")
    with pytest.raises(StageFailed) as error:
        fetch(pkg, tmp_path, cache, dest)
    assert str(error.value).startswith(f"lookaside cache file {cached} does not match its sha256")
    assert (dest / "tool-1.2.tar.gz").read_bytes() == b"pretend tarball"  # the old copy stays


def test_sources_are_copies_never_hard_links_into_the_cache(tmp_path):
    payload = tmp_path / "tool-1.2.tar.gz"
    payload.write_bytes(b"pretend tarball")
    digest = hashlib.sha256(payload.read_bytes()).hexdigest()
    cache = Lookaside(tmp_path / "cache")
    _, cached = cache.store(payload, "tool-1.2.tar.gz")
    dest = tmp_path / "sources"
    dest.mkdir()
    fetch(package(Source(url="http://127.0.0.1:9/x", sha256=digest, filename="tool-1.2.tar.gz")),
          tmp_path, cache, dest)
    copied = dest / "tool-1.2.tar.gz"
    assert copied.stat().st_ino != cached.stat().st_ino and cached.stat().st_nlink == 1
    copied.write_bytes(b"a build scribbles on its SOURCES")
    assert cached.read_bytes() == b"pretend tarball"


@pytest.mark.integration
def test_git_source_with_a_link_out_of_the_tree_is_refused(tmp_path):
    require_tools("git")
    repo = tmp_path / "upstream"
    repo.mkdir()
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    os.symlink("/etc/shadow", repo / "shadow.conf")
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "leak"], check=True)
    pkg = package(Source(git=str(repo), ref="HEAD"))
    with pytest.raises(StageFailed, match=r"demo: git source .* at [0-9a-f]{40}: unsafe archive "
                                          r"member demo-1.2/shadow.conf: symlink to absolute path "
                                          r"/etc/shadow"):
        fetch(pkg, tmp_path, Lookaside(tmp_path / "cache"), tmp_path)


@pytest.mark.integration
def test_git_commit_is_in_the_build_log_and_the_json_report(chain, workdirs, tmp_path):
    require_tools("git", "rpmbuild", "bwrap")
    checkout = chain.parent / "src" / "chain-a"
    git = ["git", "-C", str(checkout), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "v1"], check=True)
    subprocess.run([*git, "tag", "v1.0"], check=True)
    commit = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True,
                            check=True).stdout.strip()
    chain.write_text(chain.read_text().replace(
        "path: src/chain-a", f"git: {checkout.as_uri()}\n      ref: v1.0"))
    result = run_buildtool("build", "-m", str(chain), "--backend", "rpmbuild", "--only", "chain-a",
                           "--json", *workdirs)
    assert result.status == 0, result.stderr
    report = json.loads(result.stdout)["targets"]["el9"]["packages"]["chain-a"]
    assert report["source"]["commit"] == commit
    assert f"(git commit {commit})" in Path(report["log"]).read_text().splitlines()[1]
