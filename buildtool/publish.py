"""Publish stage: RPMs -> a complete repository snapshot, made current by one atomic rename.

Layout of dist/repos/<target>/:
    snapshots/<id>/Packages/*.rpm   the run's RPMs plus up to keep_versions-1 older versions of
                                    each package, carried over from the previous snapshot
    snapshots/<id>/repodata/        createrepo_c metadata (gzip, so old yum reads it too), the comps
                                    group and, when signed, repomd.xml.asc
    snapshots/<id>/RPM-GPG-KEY-fuel, fuel.repo, comps.xml, snapshot.json (what is in it, and why)
    current -> snapshots/<id>       switched with rename(2): readers see old or new, never a mix

A snapshot is written under snapshots/.tmp-<id>; only a complete one is renamed to <id> and then
made current. Anything named .tmp-* is debris of a publish that died, removed under the lock.

Signing works on copies inside the new snapshot: rpmsign rewrites the file's own inode, so
signing a hard link would change the build output (and its build cache) behind the build stage's
back. An RPM whose build output is unchanged since the previous snapshot is hard-linked from that
snapshot, already signed, so a publish signs only what changed and createrepo_c --update reuses
the metadata of everything else (same name, size and mtime).
"""

from __future__ import annotations

import dataclasses
import datetime
import fcntl
import hashlib
import json
import os
import shutil
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from . import runner, snapshot_check
from .digests import file_sha256
from .errors import StageFailed, ToolMissing, UserError
from .layout import current_link, repo_dir, snapshots_dir
from .repofiles import INSTALLED_KEY_DIR
from .signing import Signer
from .tooloutput import last_line

TMP_PREFIX = ".tmp-"
RECORD = "snapshot.json"
PACKAGES = "Packages"
COMPS = "comps.xml"
SOURCES_DIR = "SRPMS"  # the snapshot's source repository (disabled in the .repo file)
# createrepo_c for every snapshot. gzip: every client of every target reads it. No sqlite
# databases: only yum 3 (EL 7 and older) read them, dnf and zypper read the XML (createrepo_c
# issue #338; createrepo_c 1.0 stopped making them by default); they were ~40 % of the time.
CREATEREPO_FLAGS = ("--quiet", "--update", "--general-compress-type=gz", "--no-database",
                    "--workers", str(os.cpu_count() or 2))
# Room a publish needs besides the RPMs it copies: createrepo_c's files and the snapshot's own
# small files. Generous on purpose.
METADATA_BYTES_PER_RPM = 16 * 1024
METADATA_BYTES = 4 * 1024 * 1024
METADATA_INODES = 64

LINK, COPY, SIGN = "link", "copy", "sign"  # how a file gets into the new snapshot


@dataclass(frozen=True)
class ClientFiles:
    """What a snapshot carries for clients besides RPMs (built by the pipeline from repo-config)."""

    repo_file_name: str
    repo_file: Callable[[bool], str]  # signed? -> the .repo text
    comps: Callable[[set[str]], str]  # package names in the snapshot -> comps.xml
    identity: str  # digest of what the .repo text depends on: a change republishes
    key_name: str = "RPM-GPG-KEY-fuel"


@dataclass(frozen=True)
class Entry:
    """One RPM of a snapshot, as recorded in its snapshot.json."""

    file: str  # file name under Packages/
    name: str
    evr: str  # epoch:version-release
    arch: str
    origin: str  # sha256 of the build output it was published from (before signing)
    head: bool = True  # False: an older version kept for downgrades
    stamp: str = ""  # size:mtime:inode of that build output, to skip re-hashing unchanged files
    sha256: str = ""  # of the file as published (signed: differs from origin)
    file_stamp: str = ""  # size:mtime:inode of the published file, to skip re-hashing it

    @property
    def key(self) -> tuple[str, str]:
        return (self.name, self.arch)


@dataclass(frozen=True)
class Record:
    id: str
    created: str
    signed_by: str | None
    client_files: str  # digest of the .repo/comps/key texts, so a config change republishes
    entries: tuple[Entry, ...] = field(default_factory=tuple)

    @property
    def heads(self) -> list[Entry]:
        return [entry for entry in self.entries if entry.head]


@dataclass(frozen=True)
class PublishResult:
    repo_dir: Path  # dist/repos/<target>
    snapshot: Path
    changed: bool  # False when nothing differs from the current snapshot and nothing was written
    packages: int  # the run's RPMs (heads)
    retained: int = 0  # older versions carried over for downgrades
    signed: bool = False


@dataclass(frozen=True)
class SnapshotInfo:
    path: Path
    current: bool
    record: Record | None  # None: not written by this version of buildtool
    added: list[str]
    removed: list[str]
    updated: list[str]  # "name old-evr -> new-evr"


def current_snapshot(repo: Path) -> Path | None:
    link = current_link(repo)
    return (repo / os.readlink(link)).resolve() if link.is_symlink() else None


def createrepo_command() -> str:
    tool = shutil.which("createrepo_c")
    if tool is None:
        raise ToolMissing("createrepo_c is not installed", "run 'make tools' (package createrepo-c)")
    return tool


@contextmanager
def repo_lock(repo: Path, wait: bool = True) -> Iterator[None]:
    """Serialise publishers of one repository; a second one waits (or fails with wait=False)."""
    repo.mkdir(parents=True, exist_ok=True)
    with open(repo / ".lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            raise UserError(f"{repo} is being published by another process",
                            "wait for it to finish, or drop --no-wait to queue behind it") from None
        yield


def publish(rpms: list[Path], dist_root: Path, target: str, *, keep: int = 5,
            keep_versions: int = 2, wait: bool = True, signer: Signer | None = None,
            client_files: ClientFiles | None = None,
            srpms: list[Path] | None = None) -> PublishResult:
    """Publish `rpms` (and their `srpms` under SRPMS/, a source repository of its own) as a
    new snapshot, atomically."""
    if keep_versions < 1:
        raise UserError(f"--keep-versions {keep_versions}: must be at least 1",
                        "1 keeps only the newest version of each package")
    repo = repo_dir(dist_root, target)
    createrepo = createrepo_command()
    fingerprint = signer.fingerprint if signer else None
    with repo_lock(repo, wait):
        snapshots = snapshots_dir(repo)
        snapshots.mkdir(parents=True, exist_ok=True)
        remove_debris(repo)
        current = current_snapshot(repo)
        previous = read_record(current) if current else None
        origins, stamps = _origins(rpms, previous)
        client_digest = _client_files_digest(client_files, fingerprint)
        if current and previous and _unchanged(previous, origins, fingerprint, client_digest):
            return PublishResult(repo, current, False, len(rpms),
                                 len(previous.entries) - len(previous.heads), signer is not None)
        heads = _head_entries(rpms, origins, stamps, previous)
        retained = _retained_entries(heads, previous, keep_versions)
        plan = _plan_files(heads + retained, rpms, current, previous, fingerprint)
        check_free_space(snapshots, *_room_needed(plan, snapshots))
        staging = snapshots / f"{TMP_PREFIX}{snapshot_id()}"
        try:
            entries = _write_snapshot(staging, plan, current, previous, signer, client_files,
                                      createrepo, srpms or [])
            final = snapshots / staging.name.removeprefix(TMP_PREFIX)
            write_record(staging, Record(final.name, _now_iso(), fingerprint, client_digest,
                                         tuple(entries)))
            staging.rename(final)
        except OSError as error:  # our own writes (the disk is full?): one line, not a list
            shutil.rmtree(staging, ignore_errors=True)
            raise StageFailed(f"cannot write snapshot {staging.name}: {_first_reason(error)}",
                              f"is the disk full? {snapshot_check.UNCHANGED}") from None
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        _checkpoint("renamed")
        switch_current(repo, final)
        _checkpoint("switched")
        prune(snapshots, keep, keep_also=final)
        return PublishResult(repo, final, True, len(heads), len(retained), signer is not None)


def _write_snapshot(staging: Path, plan: list[tuple[Entry, str, str]], current: Path | None,
                    previous: Record | None, signer: Signer | None,
                    client_files: ClientFiles | None,
                    createrepo: str, srpms: list[Path]) -> list[Entry]:
    """Fill, sign, index and check the staging snapshot; return its entries with digests."""
    _fill_snapshot(staging, plan, current)
    sources = _fill_sources(staging, srpms)
    _checkpoint("filled")
    to_sign = [staging / PACKAGES / entry.file for entry, _, how in plan if how == SIGN]
    to_sign += sources
    with signer.session() if signer else nullcontext() as session:  # only now: builds are over
        if session:
            session.sign_rpms(to_sign)
        _checkpoint("signed")
        groupfile = _write_client_files(staging, client_files, signer, [e for e, _, _ in plan])
        _run_createrepo(createrepo, staging, groupfile)
        if sources:
            _run_createrepo(createrepo, staging / SOURCES_DIR, None, sources=True)
        _checkpoint("createrepo")
        if session:
            session.sign_detached(staging / "repodata" / "repomd.xml")
    _checkpoint("metadata-signed")
    entries = _with_digests(staging, [entry for entry, _, _ in plan], previous)
    primary = snapshot_check.check_metadata(
        staging, {e.file: (int(e.file_stamp.split(":")[0]), e.sha256) for e in entries})
    _check_signing(staging, plan, primary, signer, client_files)
    return entries


def _fill_sources(staging: Path, srpms: list[Path]) -> list[Path]:
    """Copies (signing rewrites files in place) of the SRPMs, in their own repository."""
    copies = []
    for srpm in sorted(set(srpms)):
        copy = staging / SOURCES_DIR / "Packages" / srpm.name
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(srpm, copy)
        copies.append(copy)
    return copies


def snapshot_id() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")


def remove_debris(repo: Path) -> None:
    """Half-written snapshots and links of a publish that died; never current, safe to delete.
    Called with the lock held, so no live publish owns them."""
    for leftover in snapshots_dir(repo).glob(f"{TMP_PREFIX}*"):
        shutil.rmtree(leftover, ignore_errors=True)
    for link in repo.glob(".current.*"):
        link.unlink(missing_ok=True)


# --- what goes into a snapshot -------------------------------------------------------------


def _origins(rpms: list[Path], previous: Record | None
             ) -> tuple[dict[str, str], dict[str, str]]:
    """sha256 and stat stamp of each build output by file name. A file whose stamp the previous
    snapshot recorded keeps its recorded digest: builds write new files, they never edit one."""
    recorded = {(e.file, e.stamp): e.origin for e in previous.heads} if previous else {}
    origins: dict[str, str] = {}
    stamps: dict[str, str] = {}
    for rpm in rpms:
        if rpm.name in origins:
            raise UserError(f"two RPMs named {rpm.name} in one publish ({rpm})",
                            "each package file name must be unique in a repository")
        info = os.stat(rpm)
        stamps[rpm.name] = f"{info.st_size}:{info.st_mtime_ns}:{info.st_ino}"
        origins[rpm.name] = recorded.get((rpm.name, stamps[rpm.name])) or file_sha256(rpm)
    return origins, stamps


def _unchanged(previous: Record, origins: dict[str, str], fingerprint: str | None,
               client_digest: str) -> bool:
    return (previous.signed_by == fingerprint and previous.client_files == client_digest
            and {e.file: e.origin for e in previous.heads} == origins)


def _head_entries(rpms: list[Path], origins: dict[str, str], stamps: dict[str, str],
                  previous: Record | None) -> list[Entry]:
    """An Entry per RPM of this run; headers are read only for RPMs the previous snapshot lacks."""
    known = {(e.file, e.origin): e for e in previous.entries} if previous else {}
    files = [(rpm, rpm.name) for rpm in rpms]
    headers = _query_headers([rpm for rpm, file in files if (file, origins[file]) not in known])
    entries = []
    for _, file in files:
        seen = known.get((file, origins[file]))
        name, evr, arch = (seen.name, seen.evr, seen.arch) if seen else headers[file]
        entries.append(Entry(file, name, evr, arch, origins[file], True, stamps[file]))
    return entries


def _query_headers(rpms: list[Path]) -> dict[str, tuple[str, str, str]]:
    if not rpms:
        return {}
    query = "%{NAME}\\t%{EPOCHNUM}:%{VERSION}-%{RELEASE}\\t%{ARCH}\\n"
    args = ["rpm", "-qp", "--nosignature", "--nodigest", "--qf", query, *map(str, rpms)]
    result = runner.run(args, capture_output=True, text=True)
    rows = [line.split("\t") for line in result.stdout.splitlines()]
    if result.returncode != 0 or len(rows) != len(rpms) or any(len(row) != 3 for row in rows):
        raise StageFailed(f"cannot read the RPM headers: {last_line(result.stderr)}",
                          "is every file a valid RPM?")
    return {rpm.name: (name, evr, arch) for rpm, (name, evr, arch) in zip(rpms, rows, strict=True)}


def _retained_entries(heads: list[Entry], previous: Record | None,
                      keep_versions: int) -> list[Entry]:
    """Older versions of this run's packages, newest-published first, from the previous snapshot
    (whose own retained versions carry further back), so `dnf downgrade` has somewhere to go."""
    if previous is None or keep_versions < 2:
        return []
    head_files = {entry.file for entry in heads}
    by_key: dict[tuple[str, str], list[Entry]] = {}
    for entry in heads:
        by_key.setdefault(entry.key, [])
    for entry in previous.entries:  # heads come first in a record, then older versions
        older = by_key.get(entry.key)
        if older is None or entry.file in head_files or entry.file in {e.file for e in older}:
            continue
        if len(older) < keep_versions - 1:
            older.append(dataclasses.replace(entry, head=False, stamp=""))
    return [entry for older in by_key.values() for entry in older]


def _plan_files(entries: list[Entry], rpms: list[Path], current: Path | None,
                previous: Record | None, fingerprint: str | None) -> list[tuple[Entry, str, str]]:
    """(entry, source file, LINK/COPY/SIGN) for every RPM of the new snapshot."""
    sources = {rpm.name: str(rpm) for rpm in rpms}
    published = f"{current / PACKAGES}/" if current else ""
    reusable = {(e.file, e.origin) for e in previous.entries} if previous else set()
    same_signer = previous is not None and previous.signed_by == fingerprint
    plan = []
    for entry in entries:
        if same_signer and (entry.file, entry.origin) in reusable:
            plan.append((entry, published + entry.file, LINK))  # already signed, if signing
        elif fingerprint:  # a copy: rpmsign rewrites the file, never the build output
            plan.append((entry, sources.get(entry.file) or published + entry.file, SIGN))
        else:  # unsigned: the build output itself (older versions: as the previous snapshot had it)
            plan.append((entry, sources.get(entry.file) or published + entry.file, LINK))
    return plan


def _fill_snapshot(staging: Path, plan: list[tuple[Entry, str, str]], current: Path | None) -> None:
    packages = staging / PACKAGES
    packages.mkdir(parents=True)
    for entry, source, how in plan:
        dest = f"{packages}/{entry.file}"
        if how == LINK:
            _link_or_copy(source, dest)
        else:
            shutil.copy2(source, dest)
    if current and (current / "repodata").is_dir():
        # createrepo_c --update reuses these entries for unchanged files (same name, size, mtime);
        # it writes a new repodata/ and never edits old files, so links are safe and cheap
        shutil.copytree(current / "repodata", staging / "repodata", copy_function=_link_or_copy)


def _room_needed(plan: list[tuple[Entry, str, str]], snapshots: Path) -> tuple[int, int]:
    """(bytes, inodes) a new snapshot takes: copied RPMs (links across filesystems are copies
    too) and metadata. Links within the filesystem take neither."""
    device = os.stat(snapshots).st_dev
    devices: dict[str, int] = {}  # by directory: a link needs no stat of its file
    copied = 0
    inodes = METADATA_INODES
    for _, source, how in plan:
        directory = os.path.dirname(source)
        if directory not in devices:
            devices[directory] = os.stat(directory).st_dev
        if how != LINK or devices[directory] != device:
            copied += os.stat(source).st_size
            inodes += 1
    return copied + METADATA_BYTES + METADATA_BYTES_PER_RPM * len(plan), inodes


def check_free_space(directory: Path, needed_bytes: int, needed_inodes: int) -> None:
    """Refuse up front what would not fit: createrepo_c exits 0 even when it ran out of room."""
    stats = os.statvfs(directory)
    free_bytes = stats.f_bavail * stats.f_frsize
    short = []
    if free_bytes < needed_bytes:
        short.append(f"{_size(needed_bytes)} (free: {_size(free_bytes)})")
    if stats.f_files and stats.f_favail < needed_inodes:  # f_files 0: no inode limit (btrfs)
        short.append(f"{needed_inodes} inodes (free: {stats.f_favail})")
    if short:
        raise StageFailed(f"{directory}: not enough room for a new snapshot, it needs about "
                          f"{' and '.join(short)}",
                          "free space there or lower --keep; the current snapshot is unchanged")


def _size(count: int) -> str:
    return f"{count / (1 << 20):.1f} MiB"


def _with_digests(staging: Path, entries: list[Entry], previous: Record | None) -> list[Entry]:
    """Each entry with the sha256 and stat stamp of its file as published. A file whose stamp
    is known (linked from the previous snapshot or the build output) keeps the known digest;
    only new files (signed copies) are hashed."""
    known = {(e.file, e.file_stamp): e.sha256 for e in previous.entries if e.sha256} \
        if previous else {}
    known.update({(e.file, e.stamp): e.origin for e in entries if e.head and e.stamp})
    packages = f"{staging / PACKAGES}/"
    result = []
    for entry in entries:
        try:
            file_stamp = _stamp(packages + entry.file)
        except FileNotFoundError:
            raise snapshot_check.refuse(staging, f"{PACKAGES}/{entry.file} is missing",
                                        f"is the disk full? {snapshot_check.UNCHANGED}") from None
        sha256 = known.get((entry.file, file_stamp)) or file_sha256(Path(packages + entry.file))
        result.append(Entry(entry.file, entry.name, entry.evr, entry.arch, entry.origin,
                            entry.head, entry.stamp, sha256, file_stamp))
    return result


def _first_reason(error: OSError) -> str:
    if isinstance(error, shutil.Error) and error.args and isinstance(error.args[0], list):
        return str(error.args[0][0][2])  # copytree collects (source, destination, why)
    return f"{error.strerror or error}: {error.filename}" if error.filename else str(error)


def _stamp(path: str | Path) -> str:
    info = os.stat(path)
    return f"{info.st_size}:{info.st_mtime_ns}:{info.st_ino}"


def _check_signing(staging: Path, plan: list[tuple[Entry, str, str]],
                   primary: snapshot_check.Primary, signer: Signer | None,
                   client_files: ClientFiles | None) -> None:
    """RPMs signed now, repomd.xml.asc and any new package shipping the key agree on one key."""
    key_name = client_files.key_name if client_files else "RPM-GPG-KEY-fuel"
    key_path = f"{INSTALLED_KEY_DIR}/{key_name}"
    # the heads signed now (the others were checked when first published); unsigned: all heads
    fresh = {entry.file for entry, _, how in plan if entry.head and (how == SIGN or not signer)}
    releases = [staging / href for href in primary.shipping(key_path)
                if href.removeprefix(f"{PACKAGES}/") in fresh]
    if not signer and not releases:
        return
    snapshot_check.check_signing(
        staging, fingerprint=signer.fingerprint if signer else None,
        key_option=signer.option if signer else "",
        public_key=signer.public_key if signer else "",
        new_signed=[staging / PACKAGES / entry.file for entry, _, how in plan if how == SIGN],
        releases=releases, key_path=key_path)


def _link_or_copy(source: str | Path, dest: str | Path) -> None:
    try:
        os.link(source, dest)
    except OSError:
        shutil.copy2(source, dest)


def _write_client_files(staging: Path, client_files: ClientFiles | None, signer: Signer | None,
                        entries: list[Entry]) -> Path | None:
    """The .repo file, the public key and comps.xml (returned, for createrepo_c --groupfile)."""
    if client_files is None:
        return None
    (staging / client_files.repo_file_name).write_text(client_files.repo_file(signer is not None))
    if signer:
        (staging / client_files.key_name).write_text(signer.public_key)
    comps = staging / COMPS
    comps.write_text(client_files.comps({entry.name for entry in entries if entry.head}))
    return comps


def _client_files_digest(client_files: ClientFiles | None, fingerprint: str | None) -> str:
    if client_files is None:
        return ""
    text = f"{client_files.identity}\0{fingerprint is not None}\0{client_files.key_name}"
    return hashlib.sha256(text.encode()).hexdigest()


def _run_createrepo(createrepo: str, directory: Path, groupfile: Path | None,
                    sources: bool = False) -> None:
    args = [createrepo, *CREATEREPO_FLAGS]
    if not sources:  # the SRPMs have their own repository
        args += ["--excludes", "*.src.rpm"]
    if groupfile:  # createrepo_c takes a relative --groupfile as relative to the repository
        args += ["--groupfile", str(groupfile.resolve())]
    result = runner.run([*args, str(directory)], capture_output=True, text=True)
    if result.returncode != 0:
        raise StageFailed(f"createrepo_c failed in {directory}: {last_line(result.stderr)}",
                          "the previous snapshot is still current; see the message above")


# --- records ---------------------------------------------------------------------------------


def write_record(snapshot: Path, record: Record) -> None:
    data = {"id": record.id, "created": record.created, "signed_by": record.signed_by,
            "client_files": record.client_files,
            "packages": [entry.__dict__ for entry in record.entries]}
    (snapshot / RECORD).write_text(json.dumps(data, sort_keys=True) + "\n")  # no indent: C encoder


def read_record(snapshot: Path) -> Record | None:
    try:
        data = json.loads((snapshot / RECORD).read_text())
        return Record(data["id"], data["created"], data["signed_by"], data["client_files"],
                      tuple(Entry(**entry) for entry in data["packages"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _now_iso() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


# --- switching, listing, rollback, pruning ---------------------------------------------------


def switch_current(repo: Path, snapshot: Path) -> None:
    """Point `current` at `snapshot` with one atomic rename of a fresh symlink."""
    tmp_link = repo / f".current.{os.getpid()}"
    if tmp_link.is_symlink() or tmp_link.exists():
        tmp_link.unlink()
    os.symlink(os.path.relpath(snapshot, repo), tmp_link)
    os.replace(tmp_link, current_link(repo))
    _fsync_dir(repo)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def complete_snapshots(repo: Path) -> list[Path]:
    """Finished snapshots, oldest first (ids are UTC timestamps, so names sort by age)."""
    directory = snapshots_dir(repo)
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir()
                  if p.is_dir() and not p.name.startswith(".")
                  and (p / "repodata" / "repomd.xml").is_file())


def list_snapshots(dist_root: Path, target: str) -> list[SnapshotInfo]:
    repo = repo_dir(dist_root, target)
    current = current_snapshot(repo)
    infos, before = [], None
    for path in complete_snapshots(repo):
        record = read_record(path)
        added, removed, updated = _changes(before, record)
        infos.append(SnapshotInfo(path, path.resolve() == current, record, added, removed, updated))
        before = record
    return infos


def _changes(before: Record | None,
             after: Record | None) -> tuple[list[str], list[str], list[str]]:
    old = {e.name: e for e in before.heads} if before else {}
    new = {e.name: e for e in after.heads} if after else {}
    added = sorted(f"{name} {new[name].evr}" for name in new.keys() - old.keys())
    removed = sorted(f"{name} {old[name].evr}" for name in old.keys() - new.keys())
    updated = sorted(f"{name} {old[name].evr} -> {new[name].evr}"
                     for name in new.keys() & old.keys() if old[name].origin != new[name].origin)
    return added, removed, updated


def rollback(dist_root: Path, target: str, to: str | None = None, *,
             wait: bool = True) -> Path:
    """Make an earlier snapshot current (default: the one before current), atomically."""
    repo = repo_dir(dist_root, target)
    with repo_lock(repo, wait):
        snapshots = complete_snapshots(repo)
        current = current_snapshot(repo)
        names = [p.name for p in snapshots]
        if to is None:
            older = [p for p in snapshots if current and p.name < current.name]
            if not older:
                raise UserError(f"{target}: no snapshot older than the current one to roll back to",
                                f"see 'buildtool snapshots --target {target}'")
            chosen = older[-1]
        elif to in names:
            chosen = snapshots[names.index(to)]
        else:
            raise UserError(f"{target}: no complete snapshot '{to}'",
                            f"known: {', '.join(names) or 'none'}")
        switch_current(repo, chosen)
        return chosen


def prune(snapshots: Path, keep: int, keep_also: Path) -> list[Path]:
    """Delete the oldest snapshots beyond `keep` (never the current one). Each is renamed to a
    .tmp- name first, so a publish killed while deleting never leaves a half snapshot that looks
    complete (and could be rolled back to)."""
    existing = sorted(p for p in snapshots.iterdir() if p.is_dir() and not p.name.startswith("."))
    doomed = [p for p in existing[:-keep] if p.resolve() != keep_also.resolve()] if keep > 0 else []
    for path in doomed:
        condemned = path.with_name(f"{TMP_PREFIX}pruned-{path.name}")
        path.rename(condemned)
        shutil.rmtree(condemned)
    return doomed


def _no_observer(step: str) -> None:
    pass


# Called with the name of each step a publish completes ("filled", "signed", "createrepo",
# "metadata-signed", "renamed", "switched"): the crash tests kill the process there.
on_checkpoint: Callable[[str], None] = _no_observer


def _checkpoint(name: str) -> None:
    on_checkpoint(name)
