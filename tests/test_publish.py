"""Atomic snapshots: complete before current moves, intact after SIGKILL at any point, debris
cleaned, publishers serialised by the lock, comps group usable by dnf."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from publish_helpers import (  # noqa: F401
    Dnf,
    build_many,
    build_rpm,
    client_files,
    gnupghome_fixture,
    repodata_problems,
    signing_fixture,
)

from buildtool import publish
from buildtool.errors import StageFailed, UserError
from conftest import ROOT, require_tools

pytestmark = [pytest.mark.integration]

CHECKPOINTS = ["filled", "signed", "createrepo", "metadata-signed", "renamed"]

KILL_AT_ENV = "TEST_PUBLISH_KILL_AT"  # the publisher SIGKILLs itself at this checkpoint

# A publish in its own process, so that the test can SIGKILL it (argv: dist, key or "", rpms...).
PUBLISHER = """
import os
import signal
import sys
from pathlib import Path
sys.path.insert(0, {tests!r})
from publish_helpers import client_files
from buildtool import publish
from buildtool.signing import SigningConfig, prepare
kill_at = os.environ.get({kill_at!r})
publish.on_checkpoint = lambda name: name == kill_at and os.kill(os.getpid(), signal.SIGKILL)
dist, key, rpms = Path(sys.argv[1]), sys.argv[2], [Path(p) for p in sys.argv[3:]]
publish.publish(rpms, dist, "el9", signer=prepare(SigningConfig(key_id=key or None)),
                client_files=client_files((dist / "repos").as_uri()))
""".format(tests=str(ROOT / "tests"), kill_at=KILL_AT_ENV)


@pytest.fixture(autouse=True)
def _tools():
    require_tools("rpmbuild", "rpmsign", "createrepo_c", "gpg")


@pytest.fixture
def rpms(tmp_path) -> dict[str, Path]:
    out = tmp_path / "rpms"
    return {"fuel": build_rpm("fuel", "1.0", out), "fuel-setup": build_rpm("fuel-setup", "1.0", out),
            "demo1": build_rpm("demo", "1.0", out), "demo2": build_rpm("demo", "2.0", out)}


def repo_of(dist: Path) -> Path:
    return publish.repo_dir(dist, "el9")


def start_publisher(dist: Path, key: str, rpms: list[Path], **env) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", PUBLISHER, str(dist), key, *map(str, rpms)],
                            env={**os.environ, **env}, cwd=ROOT, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def assert_current_is(dist: Path, snapshot: Path) -> None:
    assert publish.current_snapshot(repo_of(dist)) == snapshot.resolve()
    assert repodata_problems(snapshot) == []


def test_unchanged_rpms_publish_nothing(tmp_path, rpms):
    dist = tmp_path / "dist"
    first = publish.publish([rpms["fuel"], rpms["demo1"]], dist, "el9")
    again = publish.publish([rpms["fuel"], rpms["demo1"]], dist, "el9")
    assert first.changed and not again.changed
    assert again.snapshot == first.snapshot
    assert len(publish.complete_snapshots(repo_of(dist))) == 1


def test_a_snapshot_is_complete_and_current_is_a_relative_symlink(tmp_path, rpms, signing):
    dist = tmp_path / "dist"
    result = publish.publish(list(rpms.values())[:3], dist, "el9", signer=signing,
                             client_files=client_files((dist / "repos").as_uri()))
    link = repo_of(dist) / "current"
    assert link.is_symlink() and not os.path.isabs(os.readlink(link))
    for name in ("repodata/repomd.xml", "repodata/repomd.xml.asc", "RPM-GPG-KEY-fuel",
                 "fuel.repo", "comps.xml", "snapshot.json"):
        assert (result.snapshot / name).is_file(), name
    assert repodata_problems(result.snapshot) == []
    record = json.loads((result.snapshot / "snapshot.json").read_text())
    assert record["signed_by"] == signing.fingerprint
    assert {p["name"] for p in record["packages"]} == {"fuel", "fuel-setup", "demo"}


def test_repodata_check_notices_a_changed_rpm(tmp_path, rpms):
    """repodata_problems(), used by the kill tests, can fail."""
    result = publish.publish([rpms["fuel"]], tmp_path / "dist", "el9")
    rpm = result.snapshot / "Packages" / rpms["fuel"].name
    rpm.unlink()  # a hard link to the build output: replace it rather than edit the output
    rpm.write_bytes(rpms["fuel"].read_bytes()[:-1] + b"x")
    assert repodata_problems(result.snapshot)


def test_only_changed_rpms_are_signed_again(tmp_path, rpms, signing):
    dist = tmp_path / "dist"
    first = publish.publish([rpms["fuel"], rpms["demo1"]], dist, "el9", signer=signing)
    second = publish.publish([rpms["fuel"], rpms["demo2"]], dist, "el9", signer=signing)
    old, new = first.snapshot / "Packages", second.snapshot / "Packages"
    name = rpms["fuel"].name
    assert os.path.samefile(old / name, new / name)  # signed once, linked since
    assert not os.path.samefile(new / name, rpms["fuel"])  # and never the build output
    assert (new / rpms["demo2"].name).is_file()


def test_a_bad_rpm_fails_the_publish_and_leaves_current_alone(tmp_path, rpms):
    dist = tmp_path / "dist"
    good = publish.publish([rpms["fuel"]], dist, "el9")
    bogus = tmp_path / "bogus-1.0-1.noarch.rpm"
    bogus.write_text("not an rpm")
    with pytest.raises(StageFailed):
        publish.publish([rpms["fuel"], bogus], dist, "el9")
    assert_current_is(dist, good.snapshot)


def test_duplicate_file_names_are_a_user_error(tmp_path, rpms):
    copy = tmp_path / "elsewhere" / rpms["fuel"].name
    copy.parent.mkdir()
    copy.write_bytes(rpms["fuel"].read_bytes())
    with pytest.raises(UserError, match="two RPMs named"):
        publish.publish([rpms["fuel"], copy], tmp_path / "dist", "el9")


def test_debris_of_a_dead_publish_is_removed_by_the_next(tmp_path, rpms):
    dist = tmp_path / "dist"
    publish.publish([rpms["fuel"]], dist, "el9")
    repo = repo_of(dist)
    (repo / "snapshots" / ".tmp-20000101T000000.000000Z" / "Packages").mkdir(parents=True)
    os.symlink("snapshots/nowhere", repo / ".current.99999")
    result = publish.publish([rpms["fuel"], rpms["demo1"]], dist, "el9")
    assert not list((repo / "snapshots").glob(".tmp-*"))
    assert not (repo / ".current.99999").is_symlink()
    assert_current_is(dist, result.snapshot)


@pytest.mark.parametrize("checkpoint", CHECKPOINTS)
def test_sigkill_at_a_checkpoint_leaves_current_intact(tmp_path, rpms, gnupghome, checkpoint):
    dist, key = tmp_path / "dist", gnupghome[1]
    first = start_publisher(dist, key, [rpms["fuel"], rpms["demo1"]])
    assert first.wait(timeout=60) == 0, first.stderr.read()
    before = publish.current_snapshot(repo_of(dist))

    killed = start_publisher(dist, key, [rpms["fuel"], rpms["demo2"]],
                             **{KILL_AT_ENV: checkpoint})
    assert killed.wait(timeout=60) == -signal.SIGKILL
    assert_current_is(dist, before)
    if checkpoint != "renamed":
        assert list((repo_of(dist) / "snapshots").glob(".tmp-*")), "the kill left no debris?"

    after = start_publisher(dist, key, [rpms["fuel"], rpms["demo2"]])
    assert after.wait(timeout=60) == 0, after.stderr.read()
    current = publish.current_snapshot(repo_of(dist))
    assert current != before
    assert_current_is(dist, current)
    assert not list((repo_of(dist) / "snapshots").glob(".tmp-*"))
    assert (current / "Packages" / rpms["demo2"].name).is_file()


def test_sigkill_after_the_switch_leaves_the_new_snapshot_current(tmp_path, rpms, gnupghome):
    dist, key = tmp_path / "dist", gnupghome[1]
    killed = start_publisher(dist, key, [rpms["fuel"]], **{KILL_AT_ENV: "switched"})
    assert killed.wait(timeout=60) == -signal.SIGKILL
    current = publish.current_snapshot(repo_of(dist))
    assert current is not None
    assert_current_is(dist, current)


def test_sigkill_at_random_moments_never_breaks_current(tmp_path, gnupghome):
    """Kill the whole publisher (its createrepo_c and gpg included) at random delays."""
    dist, key = tmp_path / "dist", gnupghome[1]
    v1 = build_many(120, "1", tmp_path / "rpms")
    v2 = build_many(120, "2", tmp_path / "rpms")
    first = start_publisher(dist, key, v1)
    started = time.monotonic()
    assert first.wait(timeout=120) == 0, first.stderr.read()
    duration = time.monotonic() - started
    rng = random.Random(20240601)
    for attempt in range(6):
        before = publish.current_snapshot(repo_of(dist))
        victim = start_publisher(dist, key, v2 if attempt % 2 == 0 else v1)
        time.sleep(rng.uniform(0.05, duration))
        os.killpg(victim.pid, signal.SIGKILL)
        victim.wait(timeout=60)
        now = publish.current_snapshot(repo_of(dist))  # the old snapshot or a complete new one
        assert now is not None and (now == before or now.name > before.name)
        assert repodata_problems(now) == [], f"attempt {attempt}: current is damaged"
    last = start_publisher(dist, key, v2)
    assert last.wait(timeout=120) == 0, last.stderr.read()
    current = publish.current_snapshot(repo_of(dist))
    assert repodata_problems(current) == []
    assert {p.name for p in (current / "Packages").glob("bulk-0000-*")} >= {v2[0].name}
    assert not list((repo_of(dist) / "snapshots").glob(".tmp-*"))


def test_a_second_publisher_fails_at_once_with_no_wait(tmp_path, rpms):
    dist = tmp_path / "dist"
    with publish.repo_lock(repo_of(dist)):
        with pytest.raises(UserError, match="being published by another process"):
            publish.publish([rpms["fuel"]], dist, "el9", wait=False)
    assert publish.current_snapshot(repo_of(dist)) is None


def test_a_second_publisher_waits_for_the_first(tmp_path, rpms):
    dist = tmp_path / "dist"
    results = []
    with publish.repo_lock(repo_of(dist)):
        waiter = threading.Thread(target=lambda: results.append(
            publish.publish([rpms["fuel"]], dist, "el9")))
        waiter.start()
        time.sleep(0.5)
        assert waiter.is_alive() and not results  # blocked on the lock, nothing written
        assert publish.current_snapshot(repo_of(dist)) is None
    waiter.join(timeout=30)
    assert results and results[0].changed
    assert_current_is(dist, results[0].snapshot)


def test_concurrent_publishers_are_serialised(tmp_path, rpms, gnupghome):
    dist, key = tmp_path / "dist", gnupghome[1]
    sets = [[rpms["fuel"], rpms["demo1"]], [rpms["fuel"], rpms["demo2"]],
            [rpms["fuel-setup"], rpms["demo2"]]]
    runners = [start_publisher(dist, key, rpm_set) for rpm_set in sets]
    for runner in runners:
        assert runner.wait(timeout=120) == 0, runner.stderr.read()
    snapshots = publish.complete_snapshots(repo_of(dist))
    assert len(snapshots) == 3
    for snapshot in snapshots:
        assert repodata_problems(snapshot) == []


def test_dnf_group_install_fuel_uses_the_comps_group(tmp_path, rpms):
    require_tools("dnf")
    dist = tmp_path / "dist"
    result = publish.publish([rpms["fuel"], rpms["fuel-setup"], rpms["demo1"]], dist, "el9",
                             client_files=client_files((dist / "repos").as_uri()))
    comps = (result.snapshot / "comps.xml").read_text()
    assert "<id>fuel</id>" in comps and "demo" not in comps
    repos = tmp_path / "repos"
    repos.mkdir()
    (repos / "fuel.repo").write_text((result.snapshot / "fuel.repo").read_text())
    dnf = Dnf(repos / "fuel.repo", tmp_path / "root")
    try:
        run = dnf.run("group", "install", "fuel")
        assert run.returncode == 0, run.stderr
        assert dnf.installed() == ["fuel-1.0", "fuel-setup-1.0"]
    finally:
        dnf.close()
