"""Publish stage: RPMs -> a complete repository snapshot, made current by one atomic rename.

Layout of dist/repos/<target>/:
    snapshots/<id>/Packages/*.rpm   hard links to the build outputs
    snapshots/<id>/repodata/        createrepo_c metadata (gzip, so old yum reads it too)
    current -> snapshots/<id>       switched with rename(2): readers see old or new, never a mix
"""

from __future__ import annotations

import datetime
import fcntl
import os
import shutil
import subprocess
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .errors import StageFailed, ToolMissing, UserError

TMP_PREFIX = ".tmp-"


@dataclass(frozen=True)
class PublishResult:
    repo_dir: Path  # dist/repos/<target>
    snapshot: Path
    changed: bool  # False when the RPMs equal the current snapshot's and nothing was written
    packages: int


def repo_dir(dist_root: Path, target: str) -> Path:
    return dist_root / "repos" / target


def current_snapshot(repo: Path) -> Path | None:
    link = repo / "current"
    return (repo / os.readlink(link)).resolve() if link.is_symlink() else None


def createrepo_command() -> str:
    tool = shutil.which("createrepo_c")
    if tool is None:
        raise ToolMissing("createrepo_c is not installed", "run 'make tools' (package createrepo-c)")
    return tool


@contextmanager
def repo_lock(repo: Path, wait: bool = True):
    """Serialise publishers of one repository; a second one waits (or fails with wait=False)."""
    repo.mkdir(parents=True, exist_ok=True)
    with open(repo / ".lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            raise UserError(f"{repo} is being published by another process",
                            "wait for it to finish") from None
        yield


def publish(rpms: list[Path], dist_root: Path, target: str, *, keep: int = 5) -> PublishResult:
    repo = repo_dir(dist_root, target)
    createrepo = createrepo_command()
    with repo_lock(repo):
        snapshots = repo / "snapshots"
        snapshots.mkdir(parents=True, exist_ok=True)
        remove_debris(snapshots)
        current = current_snapshot(repo)
        if current and _same_packages(current / "Packages", rpms):
            return PublishResult(repo, current, False, len(rpms))
        staging = snapshots / f"{TMP_PREFIX}{snapshot_id()}"
        _fill_snapshot(staging, rpms, current)
        _run_createrepo(createrepo, staging)
        final = snapshots / staging.name.removeprefix(TMP_PREFIX)
        staging.rename(final)
        switch_current(repo, final)
        prune(snapshots, keep, keep_also=final)
        return PublishResult(repo, final, True, len(rpms))


def snapshot_id() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")


def remove_debris(snapshots: Path) -> None:
    """Half-written snapshots of a publish that died; never current, safe to delete."""
    for leftover in snapshots.glob(f"{TMP_PREFIX}*"):
        shutil.rmtree(leftover, ignore_errors=True)


def _same_packages(packages_dir: Path, rpms: list[Path]) -> bool:
    if not packages_dir.is_dir():
        return False
    published = {p.name: p for p in packages_dir.glob("*.rpm")}
    if set(published) != {p.name for p in rpms}:
        return False
    return all(_same_file(published[rpm.name], rpm) for rpm in rpms)


def _same_file(a: Path, b: Path) -> bool:
    if os.path.samefile(a, b):
        return True
    return a.stat().st_size == b.stat().st_size and a.read_bytes() == b.read_bytes()


def _fill_snapshot(staging: Path, rpms: list[Path], current: Path | None) -> None:
    packages = staging / "Packages"
    packages.mkdir(parents=True)
    for rpm in rpms:
        try:
            os.link(rpm, packages / rpm.name)
        except OSError:
            shutil.copy2(rpm, packages / rpm.name)
    if current and (current / "repodata").is_dir():
        # createrepo_c --update reuses these entries for unchanged files (same name, size, mtime)
        shutil.copytree(current / "repodata", staging / "repodata")


def _run_createrepo(createrepo: str, directory: Path) -> None:
    args = [createrepo, "--quiet", "--update", "--general-compress-type=gz", "--database",
            "--workers", str(os.cpu_count() or 2), str(directory)]
    result = subprocess.run(args, capture_output=True, text=True)
    if result.returncode != 0:
        message = (result.stderr.strip().splitlines() or ["no message"])[-1]
        raise StageFailed(f"createrepo_c failed in {directory}: {message}",
                          "the previous snapshot is still current; see the message above")


def switch_current(repo: Path, snapshot: Path) -> None:
    """Point `current` at `snapshot` with one atomic rename of a fresh symlink."""
    tmp_link = repo / f".current.{os.getpid()}"
    if tmp_link.is_symlink() or tmp_link.exists():
        tmp_link.unlink()
    os.symlink(os.path.relpath(snapshot, repo), tmp_link)
    os.replace(tmp_link, repo / "current")
    _fsync_dir(repo)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def prune(snapshots: Path, keep: int, keep_also: Path) -> list[Path]:
    """Delete the oldest snapshots beyond `keep` (never the current one)."""
    existing = sorted(p for p in snapshots.iterdir() if p.is_dir() and not p.name.startswith("."))
    doomed = [p for p in existing[:-keep] if p.resolve() != keep_also.resolve()] if keep > 0 else []
    for path in doomed:
        shutil.rmtree(path)
    return doomed
