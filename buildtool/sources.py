"""Fetch stage: every package's upstream source into a content-addressed lookaside cache.

In-repo directories become deterministic tarballs (sorted entries, fixed mtime and owner), git
refs go through `git archive` (resolved to a commit id), PyPI sdists through `pip download` (so
the user's pip configuration and mirrors apply; it runs the sdist's setup code, so it runs in the
sandbox, with network), URLs through a plain download. Pinned checksums are always verified.

Sources are untrusted and must not leak the host into a package: a local tree's symlink must stay
inside the tree, archives with absolute or `..` members or links out of the tree are refused, and
a cached file is re-hashed every time it is used and copied (never hard-linked) into SOURCES.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import posixpath
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TypeVar

from . import runner
from .archives import unsafe_members
from .digests import file_sha256
from .errors import StageFailed, UserError
from .manifest import Package
from .sandbox import Sandbox
from .tooloutput import last_line

SKIPPED_NAMES = {".git", "__pycache__", ".tox", ".venv", ".pytest_cache"}
ArchiveT = TypeVar("ArchiveT", bound=Path | IO[bytes])  # a file by its path, or an open one


@dataclass(frozen=True)
class FetchedSource:
    filename: str
    sha256: str
    source_date_epoch: int | None  # the commit time for git sources
    commit: str | None = None  # the commit id a git source's ref resolved to
    node_modules_sha256: str | None = None  # Source1 of a nodejs build (nodemodules.py)


def source_filename(package: Package) -> str:
    source = package.source
    assert source is not None, "called for packages with a source"
    if source.filename:
        return source.filename
    if source.pypi:
        return f"{source.pypi}-{source.version or package.version}.tar.gz"
    if source.url:
        return posixpath.basename(source.url.split("?", 1)[0])
    return f"{package.name}-{package.version}.tar.gz"


def unpack_dir(package: Package) -> str:
    source = package.source
    assert source is not None, "called for packages with a source"
    if source.unpack_dir:
        return source.unpack_dir
    if source.pypi:
        return f"{source.pypi}-{source.version or package.version}"
    if source.url:
        name = source_filename(package)
        for suffix in (".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".zip"):
            name = name.removesuffix(suffix)
        return name
    return f"{package.name}-{package.version}"


class Lookaside:
    """Files stored by their sha256: `<root>/sha256/<digest>/<filename>`."""

    def __init__(self, root: Path):
        self.root = root / "lookaside"

    def find(self, digest: str, filename: str) -> Path | None:
        path = self.root / "sha256" / digest / filename
        return path if path.is_file() else None

    def store(self, data_file: Path, filename: str) -> tuple[str, Path]:
        digest = file_sha256(data_file)
        directory = self.root / "sha256" / digest
        directory.mkdir(parents=True, exist_ok=True)
        final = directory / filename
        if not final.exists():
            tmp = directory / f".{filename}.{os.getpid()}.tmp"
            shutil.copyfile(data_file, tmp)
            tmp.replace(final)
        return digest, final


def fetch(package: Package, manifest_root: Path, cache: Lookaside, dest_dir: Path,
          generated_dir: Path | None = None, sandbox: Sandbox | None = None) -> FetchedSource:
    """Put the package's Source0 into `dest_dir` (via the lookaside cache) and describe it.

    A `generated` source is the directory `generated_dir` that an earlier step wrote."""
    source = package.source
    assert source is not None, "called for packages with a source"
    filename = source_filename(package)
    dest = dest_dir / filename
    epoch: int | None = None
    commit: str | None = None
    if source.path is not None or source.generated is not None:
        directory = manifest_root / source.path if source.path is not None else generated_dir
        assert directory is not None, "fetch_sources writes the generated files first"
        digest = _local_tarball(package, directory, cache, dest)
    elif source.git is not None:
        data, epoch, commit = _fetch_git(package, cache)
        refuse_unsafe_archive(io.BytesIO(data), f"{package.name}: git source {source.git} at "
                              f"{commit}", "fix the repository or pick another ref")
        digest = _store_bytes(cache, filename, data)
        _write_bytes(dest, data)
    else:
        assert source.sha256 is not None, "load_manifest: pypi and url sources are pinned"
        digest = source.sha256
        cached = cache.find(digest, filename) or _download(package, filename, cache, sandbox)
        copy_verified(cached, dest, digest)
        refuse_unsafe_archive(dest, f"{package.name}: {filename}",
                              "the upstream archive is unsafe to unpack; do not build it")
    return FetchedSource(filename, digest, epoch, commit)


def _local_tarball(package: Package, directory: Path, cache: Lookaside, dest: Path) -> str:
    """Write the deterministic tarball of a local tree to `dest`; return its sha256. The tarball
    is only made again when the tree's stamp (every entry's name, mode, size, mtime, ctime and
    inode) or `dest` itself changed since the last run: compressing is the expensive part."""
    prefix, mtime = unpack_dir(package), package.source_date_epoch or 0
    if not directory.is_dir():
        raise UserError(f"source directory {directory} does not exist", "check source.path")
    _refuse_escaping_links(directory, package.name)
    stamp_file = dest.parent.parent / f".{package.name}.stamp"  # SOURCES/, beside <name>/
    stamp = _tree_stamp(directory, f"{prefix}\0{mtime}\0{dest.name}")
    try:
        recorded = json.loads(stamp_file.read_text())
        if (stamp is not None and recorded["tree"] == stamp and recorded["dest"] == _file_stamp(dest)
                and cache.find(recorded["sha256"], dest.name)):
            return str(recorded["sha256"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    data = deterministic_tarball(directory, prefix, mtime, package.name)
    digest = _store_bytes(cache, dest.name, data)
    _write_bytes(dest, data)
    if stamp is not None:
        _write_bytes(stamp_file, json.dumps({"tree": stamp, "dest": _file_stamp(dest),
                                             "sha256": digest}).encode())
    return digest


RACY_SECONDS = 2  # a file changed this recently may change again within the clock's resolution


def _tree_stamp(directory: Path, salt: str) -> str | None:
    """A digest of every entry's metadata; None when an entry is too new to trust its times
    (the same size rewritten within one clock tick would keep them: git's "racy" files)."""
    digest = hashlib.sha256(salt.encode())
    newest = 0
    for path in [directory, *_walk_sorted(directory)]:
        info = path.lstat()
        newest = max(newest, info.st_mtime_ns, info.st_ctime_ns)
        link = os.readlink(path) if path.is_symlink() else ""
        digest.update(f"{path.relative_to(directory)}\0{info.st_mode}\0{info.st_size}\0"
                      f"{info.st_mtime_ns}\0{info.st_ctime_ns}\0{info.st_ino}\0{link}\n".encode())
    if time.time_ns() - newest < RACY_SECONDS * 1_000_000_000:
        return None
    return digest.hexdigest()


def _file_stamp(path: Path) -> list[int] | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return [info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino]


def copy_verified(cached: Path, dest: Path, digest: str) -> None:
    """Copy a lookaside file to `dest`, hashing the very bytes copied: a cache file that no
    longer matches its name (poisoned, or damaged) is never used."""
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    actual = hashlib.sha256()
    with cached.open("rb") as source, tmp.open("wb") as out:
        for chunk in iter(lambda: source.read(1 << 20), b""):
            actual.update(chunk)
            out.write(chunk)
    if actual.hexdigest() != digest:
        tmp.unlink()
        raise StageFailed(f"lookaside cache file {cached} does not match its sha256: "
                          f"got {actual.hexdigest()}, expected {digest}",
                          "the cache was modified; delete that file (buildtool fetches it again) "
                          "and find out what wrote to the cache")
    tmp.replace(dest)


def refuse_unsafe_archive(archive: Path | IO[bytes], what: str, hint: str) -> None:
    """Raise if an archive (a path or a file object) would write or point outside its tree."""
    problems = archive_problems(archive)
    if problems:
        raise StageFailed(f"{what}: unsafe archive member {problems[0]}"
                          + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""),
                          hint)


def archive_problems(archive: Path | IO[bytes]) -> list[str]:
    """'name: why' for each unsafe member of a tar or zip archive; [] for other files."""
    try:
        tar = (tarfile.open(fileobj=_rewound(archive), mode="r:*")
               if not isinstance(archive, Path)
               else tarfile.open(archive, mode="r:*"))
    except tarfile.TarError:
        tar = None
    if tar is not None:
        try:
            with tar:
                return unsafe_members((m.name, _kind(m), m.linkname) for m in tar)
        except (tarfile.TarError, EOFError, OSError, zlib.error) as error:
            return [f"(archive): unreadable: {error}"]
    if zipfile.is_zipfile(_rewound(archive)):
        with zipfile.ZipFile(_rewound(archive)) as zipped:
            return unsafe_members(_zip_members(zipped))
    return []  # not an archive: a plain file source


def _rewound(archive: ArchiveT) -> ArchiveT:
    if hasattr(archive, "seek"):
        archive.seek(0)
    return archive


def _kind(member: tarfile.TarInfo) -> str:
    if member.issym():
        return "symlink"
    if member.islnk():
        return "hardlink"
    if member.isreg() or member.isdir():
        return "file"
    return "special"


def _zip_members(zipped: zipfile.ZipFile) -> Iterator[tuple[str, str, str]]:
    for info in zipped.infolist():
        if (info.external_attr >> 16) & 0o170000 == 0o120000:
            yield info.filename.rstrip("/"), "symlink", zipped.read(info).decode(errors="replace")
        else:
            yield info.filename.rstrip("/"), "file", ""


def _write_bytes(dest: Path, data: bytes) -> None:
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    tmp.replace(dest)


def deterministic_tarball(directory: Path, prefix: str, mtime: int, package: str = "") -> bytes:
    """A .tar.gz of `directory` under `prefix/` whose bytes depend only on the files' content."""
    if not directory.is_dir():
        raise UserError(f"source directory {directory} does not exist", "check source.path")
    _refuse_escaping_links(directory, package)
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0, compresslevel=6) as gz:
        with tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
            tar.addfile(_tar_entry(tar, directory, prefix, mtime))
            for path in _walk_sorted(directory):
                relative = path.relative_to(directory).as_posix()
                info = _tar_entry(tar, path, f"{prefix}/{relative}", mtime)
                if info.isreg():
                    with path.open("rb") as handle:
                        tar.addfile(info, handle)
                else:
                    tar.addfile(info)
    return buffer.getvalue()


def _walk_sorted(directory: Path) -> Iterator[Path]:
    for entry in sorted(directory.iterdir(), key=lambda p: p.name):
        if entry.name in SKIPPED_NAMES or entry.suffix == ".pyc":
            continue
        yield entry
        if entry.is_dir() and not entry.is_symlink():
            yield from _walk_sorted(entry)


def _refuse_escaping_links(directory: Path, package: str) -> None:
    """A symlink that is absolute or resolves outside the tree would ship the host's file
    (e.g. shadow.conf -> /etc/shadow) when the build follows it."""
    root = directory.resolve()
    for path in _walk_sorted(directory):
        if not path.is_symlink():
            continue
        target = os.readlink(path)
        resolved = Path(os.path.realpath(path))
        if os.path.isabs(target) or not resolved.is_relative_to(root):
            raise UserError(f"{package + ': ' if package else ''}{path}: symlink to {target} "
                            f"points outside the source tree {directory}",
                            "replace it with the file itself or a relative link inside the tree")


def _tar_entry(tar: tarfile.TarFile, path: Path, name: str, mtime: int) -> tarfile.TarInfo:
    info = tar.gettarinfo(str(path), arcname=name)
    info.mtime = mtime
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    if info.isdir():
        info.mode = 0o755
    elif info.isreg():
        info.mode = 0o755 if path.stat().st_mode & 0o111 else 0o644
    info.pax_headers = {}
    return info


def _store_bytes(cache: Lookaside, filename: str, data: bytes) -> str:
    """Record `data` in the cache (for the next run's download-free rebuild); return its digest."""
    digest = hashlib.sha256(data).hexdigest()
    if cache.find(digest, filename):
        return digest
    with tempfile.NamedTemporaryFile(delete=False) as tmp:
        tmp.write(data)
    try:
        return cache.store(Path(tmp.name), filename)[0]
    finally:
        os.unlink(tmp.name)


def _fetch_git(package: Package, cache: Lookaside) -> tuple[bytes, int, str]:
    """The .tar.gz of the source's ref, the commit time and the commit id the ref resolved to."""
    source = package.source
    assert source is not None and source.git is not None, "called for git sources"
    mirror = cache.root.parent / "git" / hashlib.sha256(source.git.encode()).hexdigest()[:16]
    git = shutil.which("git")
    if git is None:
        raise UserError("git is not installed", "install git to build packages with git sources")
    try:
        if mirror.is_dir():
            _run([git, "-C", str(mirror), "fetch", "--quiet", "--prune", "--tags", "origin",
                  "+refs/heads/*:refs/heads/*"])
        else:
            mirror.parent.mkdir(parents=True, exist_ok=True)
            _run([git, "clone", "--quiet", "--mirror", source.git, str(mirror)])
        commit = _run([git, "-C", str(mirror), "rev-parse", "--verify",
                       f"{source.ref}^{{commit}}"]).strip()
        epoch = int(_run([git, "-C", str(mirror), "log", "-1", "--format=%ct", commit]).strip())
        archive = runner.run([git, "-C", str(mirror), "archive", "--format=tar",
                                  f"--prefix={unpack_dir(package)}/", commit],
                                 capture_output=True, check=True).stdout
    except subprocess.CalledProcessError as exc:
        stderr = exc.stderr or b""
        detail = (stderr.decode(errors="replace") if isinstance(stderr, bytes) else stderr)
        detail = detail.strip().splitlines()
        raise StageFailed(f"{package.name}: cannot fetch git source {source.git} at {source.ref}: "
                          f"{detail[-1] if detail else exc}",
                          f"check the URL and ref, or build from a local checkout with "
                          f"--source {package.name}=PATH") from None
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0) as gz:
        gz.write(archive)
    return buffer.getvalue(), epoch, commit


def _download(package: Package, filename: str, cache: Lookaside, sandbox: Sandbox | None) -> Path:
    """Download a pinned source, verify its checksum and store it; return the cached path."""
    source = package.source
    assert source is not None and source.sha256 is not None, "load_manifest: pinned sources"
    workdir = Path(tempfile.mkdtemp(prefix="buildtool-fetch-"))
    how = (f"place the file with sha256 {source.sha256} at "
           f"{cache.root / 'sha256' / source.sha256 / filename}")
    try:
        if source.pypi:
            version = source.version or package.version
            result = _pip_download(f"{source.pypi}=={version}", workdir, sandbox)
            files = [p for p in workdir.iterdir() if p.is_file()]
            if result.returncode != 0 or len(files) != 1:
                reason = last_line(result.stderr, "no file downloaded")
                raise StageFailed(f"{package.name}: cannot download sdist {source.pypi}=={version}: "
                                  f"{reason}", how)
            downloaded = files[0]
        else:
            assert source.url is not None, "load_manifest: a source is pypi or url here"
            downloaded = workdir / filename
            import urllib.request  # here: with ssl and http.client ~70 ms, for downloads only

            try:
                with urllib.request.urlopen(source.url, timeout=60) as response, \
                        downloaded.open("wb") as out:
                    shutil.copyfileobj(response, out)
            except OSError as exc:
                raise StageFailed(f"{package.name}: cannot download {source.url}: {exc}", how) from None
        actual = file_sha256(downloaded)
        if actual != source.sha256:
            raise StageFailed(f"{package.name}: checksum mismatch for {downloaded.name}: "
                              f"expected {source.sha256}, got {actual}",
                              "the upstream file changed or the pin is wrong; verify before "
                              "updating sha256 in the manifest")
        return cache.store(downloaded, filename)[1]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _pip_download(requirement: str, workdir: Path,
                  sandbox: Sandbox | None) -> subprocess.CompletedProcess[str]:
    """`pip download` of an sdist: pip runs the sdist's own setup code to read its metadata, so
    it runs sandboxed (with network: it is a download), writing only into `workdir`."""
    args = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary",
            ":all:", "--dest", str(workdir), requirement]
    if sandbox is None:
        return runner.run(args, capture_output=True, text=True)
    env, readable = pip_settings()
    sandbox.give(workdir)
    try:
        return runner.run(
            sandbox.command(args, writable=(workdir,), network=True,
                            readable=(*python_install(), *readable)),
            capture_output=True, text=True, env=sandbox.environment(env))
    finally:
        sandbox.take_back(workdir)


def python_install() -> list[Path]:
    """This interpreter (and its virtualenv), which may live outside /usr (pyenv, a venv)."""
    return sorted({Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve(),
                   Path(sys.executable).resolve().parent.parent})


def pip_settings() -> tuple[dict[str, str], list[Path]]:
    """The environment that carries the user's pip configuration (index, mirror, proxy, CA) into
    the sandbox, and the files it names, to be shown read-only there."""
    env = {key: value for key, value in os.environ.items()
           if key.startswith("PIP_") or key.lower().endswith("_proxy")
           or key in ("PATH", "LANG", "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE")}
    user_configs = [Path.home() / ".config" / "pip" / "pip.conf", Path.home() / ".pip" / "pip.conf"]
    existing = [path for path in user_configs if path.is_file()]
    if "PIP_CONFIG_FILE" not in env and existing:
        env["PIP_CONFIG_FILE"] = str(existing[0])
    files = [Path(value) for key, value in env.items() if key != "PATH"
             for value in value.split() if value.startswith("/") and os.path.exists(value)]
    return env, [path for path in files if not str(path).startswith(("/usr/", "/etc/"))]


def _run(args: list[str]) -> str:
    return runner.run(args, capture_output=True, text=True, check=True).stdout
