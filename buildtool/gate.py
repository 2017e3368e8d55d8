"""The publish gate: only an installable set of RPMs becomes a snapshot.

The candidate set is this run's RPMs plus, for a package whose build failed, the RPMs it has in
the current snapshot. It is resolved with `dnf repoclosure` against the target's distribution
data (the stand-ins verify uses); a package with a requirement nothing satisfies is held back,
with its previous version kept where there is one, until what is left closes. The operator is
told what was held back and why; nothing broken is published.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from . import __version__, runner
from .errors import StageFailed
from .layout import repo_dir
from .publish import createrepo_command, current_snapshot, read_record
from .targets import TargetProfile

MAX_ROUNDS = 20  # holding a package back can break its dependants; each round removes one layer


@dataclass
class GateResult:
    rpms: list[Path]  # what may be published
    kept_previous: dict[str, list[str]] = field(default_factory=dict)  # RPM name -> published file
    held_back: dict[str, str] = field(default_factory=dict)  # RPM name -> why


def previous_rpms(dist_dir: Path, target: str, names: set[str]) -> dict[str, Path]:
    """The current snapshot's newest RPM of each of `names` (RPM name -> file)."""
    snapshot = current_snapshot(repo_dir(dist_dir, target))
    record = read_record(snapshot) if snapshot else None
    if snapshot is None or record is None:
        return {}
    return {entry.name: snapshot / "Packages" / entry.file for entry in record.heads
            if entry.name in names and (snapshot / "Packages" / entry.file).is_file()}


def installable(rpms: list[Path], fallbacks: dict[str, Path], target: TargetProfile,
                data_file: Path, work: Path) -> GateResult:
    """Hold back every RPM whose requirements the set plus the distribution cannot satisfy;
    a held-back RPM with a fallback (its published version) is replaced by it once. A set that
    passed whole before, on the same distribution data, passes again without a new check."""
    passed_file = work.parent / f"{work.name}-passed.json"
    key = _set_key(rpms, fallbacks, target, data_file)
    try:
        if key is not None and json.loads(passed_file.read_text()) == key:
            return GateResult(sorted(_candidates(rpms, fallbacks)[0].values()))
    except (OSError, ValueError):
        pass
    passed_file.unlink(missing_ok=True)
    result = _check(rpms, fallbacks, target, data_file, work)
    if key is not None and not result.held_back and not result.kept_previous:
        passed_file.write_text(json.dumps(key))
    return result


def _set_key(rpms: list[Path], fallbacks: dict[str, Path], target: TargetProfile,
             data_file: Path) -> str | None:
    """What the gate's verdict depends on: every file's path and stat stamp (size, mtime, ctime,
    inode: a rebuilt RPM differs), the distribution data and the target; None if unreadable."""
    digest = hashlib.sha256(f"{__version__}\0{target!r}\0".encode())
    try:
        digest.update(data_file.read_bytes())
        for path in sorted({os.path.abspath(p) for p in (*rpms, *fallbacks.values())}):
            info = os.stat(path)
            digest.update(f"\0{path}:{info.st_dev}:{info.st_size}:{info.st_mtime_ns}:"
                          f"{info.st_ctime_ns}:{info.st_ino}".encode())
    except OSError:
        return None
    return digest.hexdigest()


def _check(rpms: list[Path], fallbacks: dict[str, Path], target: TargetProfile,
           data_file: Path, work: Path) -> GateResult:
    # here: a set that passed before (a no-op publish) needs none of them
    from . import distrodata
    from .verify.closure import unresolved_requirements
    from .verify.standin import standin_repositories

    if work.exists():
        shutil.rmtree(work)
    distro = standin_repositories(target, distrodata.load(data_file), work / "distro")
    candidates, missing = _candidates(rpms, fallbacks)
    result = GateResult([], {name: [rpm.name] for name, rpm in missing.items()})
    for round_number in range(MAX_ROUNDS):
        repo = work / f"candidate-{round_number}"
        (repo / "Packages").mkdir(parents=True)
        for rpm in candidates.values():
            (repo / "Packages" / rpm.name).symlink_to(rpm.resolve())
        _createrepo(repo)
        findings = unresolved_requirements(repo, distro, work / f"closure-{round_number}")
        if not findings:
            result.rpms = sorted(candidates.values())
            return result
        for finding in findings:
            name = finding.package
            if name not in candidates:
                continue
            why = f"nothing provides '{finding.requirement}' on {target.name}"
            fallback = fallbacks.get(name)
            if fallback is not None and candidates[name] != fallback:
                candidates[name] = fallback
                result.kept_previous[name] = [fallback.name]
                result.held_back[name] = f"{why}; kept the published {fallback.name}"
            else:
                del candidates[name]
                result.held_back[name] = why
    raise StageFailed(f"{target.name}: the repository does not close after {MAX_ROUNDS} rounds",
                      "run 'buildtool verify' on the build outputs to see why")


def _candidates(rpms: list[Path], fallbacks: dict[str, Path]
                ) -> tuple[dict[str, Path], dict[str, Path]]:
    """The set to check (RPM name -> file) and the fallbacks in it: a package whose build
    failed is there with its published version."""
    candidates = {_rpm_name(rpm): rpm for rpm in rpms}
    missing = {name: rpm for name, rpm in fallbacks.items() if name not in candidates}
    return {**candidates, **missing}, missing


def _rpm_name(rpm: Path) -> str:
    return rpm.name.rsplit("-", 2)[0]


def _createrepo(directory: Path) -> None:
    result = runner.run([createrepo_command(), "--quiet", "--no-database", str(directory)],
                        capture_output=True, text=True)
    if result.returncode != 0:
        raise StageFailed(f"createrepo_c failed for {directory}: {result.stderr.strip()}")
