"""Publish speed: a new snapshot of 1,000 tiny RPMs after one package changed, against a raw
`createrepo_c --update` of the same directory; what the checks before the switch cost (room,
repodata and every RPM against primary.xml, signatures); and what signing adds per RPM.

    .venv/bin/python bench/bench_publish.py [--count 1000] [--rounds 5]

The RPMs are built once (one rpmbuild call, a spec with COUNT subpackages, ~30 s for 1,000) and
cached under build/bench/publish-rpms/. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from publish_helpers import build_many, build_rpm, make_key  # noqa: E402

from buildtool import publish, snapshot_check  # noqa: E402
from buildtool.signing import SigningConfig, prepare, stop_agent  # noqa: E402

CREATEREPO_FLAGS = publish.CREATEREPO_FLAGS  # the raw tool runs with the very same flags


def cached_rpms(count: int) -> tuple[list[Path], Path]:
    """COUNT tiny RPMs at version 1, and bulk-0000 at version 2 (the 'one changed package')."""
    cache = ROOT / "build" / "bench" / f"publish-rpms-{count}"
    v1_dir = cache / "1"
    changed = cache / "2" / "bulk-0000-2-1.noarch.rpm"
    if not (v1_dir.is_dir() and len(list(v1_dir.glob("*.rpm"))) == count and changed.is_file()):
        shutil.rmtree(cache, ignore_errors=True)
        started = time.monotonic()
        build_many(count, "1", cache)
        build_rpm("bulk-0000", "2", cache)
        print(f"built {count + 1} tiny RPMs once in {time.monotonic() - started:.1f} s "
              f"(cached in {cache})")
    return sorted(v1_dir.glob("*.rpm")), changed


def timed(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


CHECK_SECONDS: list[float] = []  # per publish: time spent in the checks before the switch


def time_the_checks() -> None:
    """Wrap the check steps of publish so that each publish adds its total to CHECK_SECONDS."""
    def timing(module, name):
        real = getattr(module, name)

        def wrapper(*args, **kwargs):
            started = time.perf_counter()
            try:
                return real(*args, **kwargs)
            finally:
                CHECK_SECONDS[-1] += time.perf_counter() - started
        setattr(module, name, wrapper)
    for module, name in ((publish, "check_free_space"), (publish, "_room_needed"),
                         (publish, "_with_digests"), (snapshot_check, "check_metadata"),
                         (publish, "_check_signing")):
        timing(module, name)


def publish_timed(*args, **kwargs) -> float:
    CHECK_SECONDS.append(0.0)
    return timed(lambda: publish.publish(*args, **kwargs))


class RawRepo:
    """One directory updated in place by createrepo_c --update, bulk-0000 swapped v1 <-> v2."""

    def __init__(self, v1: list[Path], changed: Path, work: Path):
        self.repo, self.swap, self.rounds = work / "raw", (v1[0], changed), 0
        (self.repo / "Packages").mkdir(parents=True)
        for rpm in v1:
            os.link(rpm, self.repo / "Packages" / rpm.name)
        self._createrepo()

    def update_after_one_change(self) -> float:
        old, new = self.swap if self.rounds % 2 == 0 else self.swap[::-1]
        self.rounds += 1
        (self.repo / "Packages" / old.name).unlink()
        os.link(new, self.repo / "Packages" / new.name)
        return timed(self._createrepo)

    def _createrepo(self) -> None:
        subprocess.run(["createrepo_c", *CREATEREPO_FLAGS, str(self.repo)], check=True)


class ShellSnapshots:
    """The least an atomic-snapshot publish does, by raw tools (no checks, no records): link the
    current snapshot into a new one, swap the changed RPM, createrepo_c --update it, switch
    `current` with a rename, delete the oldest of `keep`."""

    SCRIPT = (
        'set -e; cd "$1"; old="$2"; new="$3"; shift 3\n'
        'prev=$(readlink current); next=$((prev + 1))\n'
        'cp -al "$prev" "$next.tmp"\n'
        'rm "$next.tmp/Packages/${old##*/}"; ln "$new" "$next.tmp/Packages/"\n'
        'createrepo_c "$@" "$next.tmp"\n'
        'mv "$next.tmp" "$next"; ln -sfn "$next" current.tmp; mv -T current.tmp current\n'
        'rm -rf -- "$((next - 3))"\n')

    def __init__(self, v1: list[Path], changed: Path, work: Path):
        self.root, self.swap, self.rounds = work / "shell-snapshots", (v1[0], changed), 0
        (self.root / "0" / "Packages").mkdir(parents=True)
        for rpm in v1:
            os.link(rpm, self.root / "0" / "Packages" / rpm.name)
        subprocess.run(["createrepo_c", *CREATEREPO_FLAGS, str(self.root / "0")], check=True)
        (self.root / "current").symlink_to("0")

    def publish_after_one_change(self) -> float:
        old, new = self.swap if self.rounds % 2 == 0 else self.swap[::-1]
        self.rounds += 1
        return timed(lambda: subprocess.run(
            ["sh", "-c", self.SCRIPT, "snapshot", str(self.root), str(old), str(new),
             *CREATEREPO_FLAGS], check=True))


def paired_rounds(raw: RawRepo, v1: list[Path], changed: Path, rounds: int, dist: Path,
                  active_signer=None) -> tuple[float, list[tuple[float, float]]]:
    """First publish of all RPMs; then per round a raw update and a new snapshot, back to back,
    so that load from other processes hits both alike."""
    first = publish_timed(v1, dist, "el9", signer=active_signer, keep=3)
    sets = [[changed, *v1[1:]], v1]
    pairs = []
    for round_ in range(rounds):
        raw_time = raw.update_after_one_change()
        ours = publish_timed(sets[round_ % 2], dist, "el9", keep=3, signer=active_signer)
        pairs.append((raw_time, ours))
    return first, pairs


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--count", type=int, default=1000)
    options.add_argument("--rounds", type=int, default=9)
    args = options.parse_args()
    v1, changed = cached_rpms(args.count)
    time_the_checks()
    with tempfile.TemporaryDirectory(prefix="bench-publish-", dir=ROOT / "build" / "bench") as tmp:
        work = Path(tmp)
        raw = RawRepo(v1, changed, work)
        first, unsigned = paired_rounds(raw, v1, changed, args.rounds, work / "dist-unsigned")
        checks_unsigned = CHECK_SECONDS[1:]

        home = work / "gnupg"
        fingerprint = make_key(home)
        os.environ["GNUPGHOME"] = str(home)
        try:
            checks_start = len(CHECK_SECONDS) + 1
            first_signed, signed = paired_rounds(raw, v1, changed, args.rounds,
                                                 work / "dist-signed",
                                                 prepare(SigningConfig(key_id=fingerprint)))
            checks_signed, first_signed_checks = CHECK_SECONDS[checks_start:], \
                CHECK_SECONDS[checks_start - 1]
        finally:
            stop_agent(home)

    raw_times = [r for r, _ in unsigned]
    ours, ours_signed = [o for _, o in unsigned], [o for _, o in signed]
    ratios = [o / r for r, o in unsigned]
    print(f"\n{args.count} tiny RPMs, one package changed, {args.rounds} paired rounds "
          f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    print(f"  raw createrepo_c --update (same flags)    median {_ms(raw_times)}  "
          f"min {min(raw_times) * 1000:6.1f} ms")
    print(f"  buildtool publish, new snapshot, unsigned median {_ms(ours)}  "
          f"min {min(ours) * 1000:6.1f} ms")
    print(f"    ratio to raw: median of pairs {statistics.median(ratios):.2f}x, "
          f"of minima {min(ours) / min(raw_times):.2f}x (goal <= 1.1x)")
    print(f"    of which the checks before the switch    median {_ms(checks_unsigned)}  "
          f"(room, repomd.xml, primary.xml vs {args.count} RPMs by stat stamp)")
    print(f"  buildtool publish, new snapshot, signed   median {_ms(ours_signed)}  "
          f"(signing process; signs the 1 changed RPM + repomd.xml)")
    print(f"    of which the checks before the switch    median {_ms(checks_signed)}  "
          f"(+ rpmkeys --checksig of the new RPM, repomd.xml.asc, key)")
    per_rpm = (first_signed - first) / args.count
    print(f"  first publish of all {args.count}: unsigned {first:.2f} s, signed {first_signed:.2f} s"
          f"  -> signing adds {per_rpm * 1000:.1f} ms per RPM; checks of the signed first "
          f"publish {first_signed_checks:.2f} s")


def table_rows(row, rounds: int, count: int = 1000) -> list:
    """The publish rows of bench_pipeline's table: in-process publish versus createrepo_c
    --update after one change (median of pairs), and the whole `buildtool publish` command
    versus the `createrepo_c --update` command on the same 1,000-package repository."""
    v1, changed = cached_rpms(count)
    with tempfile.TemporaryDirectory(prefix="bench-publish-", dir=ROOT / "build" / "bench") as tmp:
        work = Path(tmp)
        raw = RawRepo(v1, changed, work)
        _, pairs = paired_rounds(raw, v1, changed, rounds, work / "dist")
        shell = ShellSnapshots(v1, changed, work)
        for _ in range(3):  # until it deletes a snapshot each round, as ours does by now
            shell.publish_after_one_change()
        floor = statistics.median(shell.publish_after_one_change() / raw.update_after_one_change()
                                  for _ in range(rounds))
        in_process = row("publish in-process / raw", statistics.median(o / r for r, o in pairs),
                         1.1, "x", statistics.median(o for _, o in pairs),
                         statistics.median(r for r, _ in pairs),
                         f"{count} RPMs, one changed; an atomic snapshot by raw tools (cp -al, "
                         f"createrepo_c, mv, rm -rf; no checks): {floor:.2f}x")
        whole = whole_cli_publish(row, work, rounds)
    return [in_process, whole]


def whole_cli_publish(row, work: Path, rounds: int):
    """`buildtool publish` of bench_pipeline's no-op tree of 1,000 packages (built there)
    against `createrepo_c --update` of a copy of its published snapshot."""
    tree = ROOT / "build" / "bench" / "noop-1000"
    args = [sys.executable, "-m", "buildtool", "publish", "-m", str(tree / "manifest.yaml"),
            "--build-dir", str(tree / "build"), "--dist-dir", str(tree / "dist")]
    copy = work / "cli-raw"
    shutil.copytree((tree / "dist" / "repos" / "el9" / "current").resolve(), copy,
                    copy_function=os.link)
    env = dict(os.environ, BUILDTOOL_CACHE=str(tree / "cache"))
    pairs = []
    for round_ in range(rounds):
        ours = lambda: timed(lambda: subprocess.run(args, cwd=ROOT, env=env, check=True,  # noqa: E731
                                                    capture_output=True))
        raw = lambda: timed(lambda: subprocess.run(  # noqa: E731
            ["createrepo_c", *CREATEREPO_FLAGS, str(copy)], check=True, capture_output=True))
        pairs.append((ours(), raw()) if round_ % 2 == 0 else tuple(reversed((raw(), ours()))))
    return row("publish CLI / createrepo_c CLI", statistics.median(o / r for o, r in pairs), 1.5,
               "x", statistics.median(o for o, _ in pairs), statistics.median(r for _, r in pairs),
               "1,000 packages, nothing changed")


def _ms(times: list[float]) -> str:
    return f"{statistics.median(times) * 1000:6.1f} ms"


if __name__ == "__main__":
    main()
