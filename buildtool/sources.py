"""Fetch stage: every package's upstream source into a content-addressed lookaside cache.

In-repo directories become deterministic tarballs (sorted entries, fixed mtime and owner), git
refs go through `git archive`, PyPI sdists through `pip download` (so the user's pip configuration
and mirrors apply), URLs through a plain download. Pinned checksums are always verified.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import posixpath
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from .errors import StageFailed, UserError
from .manifest import Package
from .tooloutput import last_line

SKIPPED_NAMES = {".git", "__pycache__", ".tox", ".venv", ".pytest_cache"}


@dataclass(frozen=True)
class FetchedSource:
    filename: str
    sha256: str
    source_date_epoch: int | None  # the commit time for git sources


def default_cache_dir() -> Path:
    if os.environ.get("BUILDTOOL_CACHE"):
        return Path(os.environ["BUILDTOOL_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "buildtool"


def source_filename(package: Package) -> str:
    source = package.source
    if source.filename:
        return source.filename
    if source.pypi:
        return f"{source.pypi}-{source.version or package.version}.tar.gz"
    if source.url:
        return posixpath.basename(source.url.split("?", 1)[0])
    return f"{package.name}-{package.version}.tar.gz"


def unpack_dir(package: Package) -> str:
    source = package.source
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


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fetch(package: Package, manifest_root: Path, cache: Lookaside, dest_dir: Path,
          generated_dir: Path | None = None) -> FetchedSource:
    """Put the package's Source0 into `dest_dir` (via the lookaside cache) and describe it.

    A `generated` source is the directory `generated_dir` that an earlier step wrote."""
    source = package.source
    filename = source_filename(package)
    epoch = None
    if source.path is not None or source.generated is not None:
        directory = generated_dir if source.generated else manifest_root / source.path
        digest, cached = _store_bytes(cache, filename, deterministic_tarball(
            directory, unpack_dir(package), package.source_date_epoch or 0))
    elif source.git is not None:
        digest, cached, epoch = _fetch_git(package, cache, filename)
    else:
        digest = source.sha256
        cached = cache.find(digest, filename) or _download(package, filename, cache)
    dest = dest_dir / filename
    if not dest.exists() or file_sha256(dest) != digest:
        _link_or_copy(cached, dest)
    return FetchedSource(filename, digest, epoch)


def deterministic_tarball(directory: Path, prefix: str, mtime: int) -> bytes:
    """A .tar.gz of `directory` under `prefix/` whose bytes depend only on the files' content."""
    if not directory.is_dir():
        raise UserError(f"source directory {directory} does not exist", "check source.path")
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


def _walk_sorted(directory: Path):
    for entry in sorted(directory.iterdir(), key=lambda p: p.name):
        if entry.name in SKIPPED_NAMES or entry.suffix == ".pyc":
            continue
        yield entry
        if entry.is_dir() and not entry.is_symlink():
            yield from _walk_sorted(entry)


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


def _store_bytes(cache: Lookaside, filename: str, data: bytes) -> tuple[str, Path]:
    digest = hashlib.sha256(data).hexdigest()
    cached = cache.find(digest, filename)
    if cached:
        return digest, cached
    with tempfile.NamedTemporaryFile(delete=False) as tmp:
        tmp.write(data)
    try:
        return cache.store(Path(tmp.name), filename)
    finally:
        os.unlink(tmp.name)


def _fetch_git(package: Package, cache: Lookaside, filename: str) -> tuple[str, Path, int]:
    source = package.source
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
        archive = subprocess.run([git, "-C", str(mirror), "archive", "--format=tar",
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
    digest, cached = _store_bytes(cache, filename, buffer.getvalue())
    return digest, cached, epoch


def _download(package: Package, filename: str, cache: Lookaside) -> Path:
    """Download a pinned source, verify its checksum and store it; return the cached path."""
    source = package.source
    workdir = Path(tempfile.mkdtemp(prefix="buildtool-fetch-"))
    how = (f"place the file with sha256 {source.sha256} at "
           f"{cache.root / 'sha256' / source.sha256 / filename}")
    try:
        if source.pypi:
            version = source.version or package.version
            result = subprocess.run(
                [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                 "--no-binary", ":all:", "--dest", str(workdir), f"{source.pypi}=={version}"],
                capture_output=True, text=True)
            files = [p for p in workdir.iterdir() if p.is_file()]
            if result.returncode != 0 or len(files) != 1:
                reason = last_line(result.stderr, "no file downloaded")
                raise StageFailed(f"{package.name}: cannot download sdist {source.pypi}=={version}: "
                                  f"{reason}", how)
            downloaded = files[0]
        else:
            downloaded = workdir / filename
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


def _link_or_copy(src: Path, dest: Path) -> None:
    tmp = dest.with_name(dest.name + ".tmp")
    if tmp.exists():
        tmp.unlink()
    try:
        os.link(src, tmp)
    except OSError:
        shutil.copyfile(src, tmp)
    tmp.replace(dest)


def _run(args: list[str]) -> str:
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout
