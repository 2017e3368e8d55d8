"""A snapshot becomes current only when it is whole and speaks for one key: room checked up front,
repodata and every RPM checked against repomd.xml and primary.xml, signatures and the key
fuel-release ships checked against the publishing key. Any failure: `current` stays, one line."""

from __future__ import annotations

import os
import subprocess
from contextlib import contextmanager
from pathlib import Path

import pytest
from publish_helpers import (  # noqa: F401
    build_many,
    build_rpm,
    client_files,
    gnupghome_fixture,
    make_key,
    repodata_problems,
    signing_fixture,
)

from buildtool import publish
from buildtool.errors import StageFailed
from buildtool.signing import SigningSession, stop_agent
from conftest import require_tools, run_buildtool

pytestmark = [pytest.mark.integration]


@pytest.fixture(autouse=True)
def _tools():
    require_tools("rpmbuild", "rpmsign", "createrepo_c", "gpg")


@pytest.fixture
def rpms(tmp_path) -> dict[str, Path]:
    out = tmp_path / "rpms"
    return {"fuel": build_rpm("fuel", "1.0", out), "demo1": build_rpm("demo", "1.0", out),
            "demo2": build_rpm("demo", "2.0", out)}


def repo_of(dist: Path) -> Path:
    return publish.repo_dir(dist, "el9")


def assert_refused_and_current_kept(dist: Path, before: Path | None) -> None:
    assert publish.current_snapshot(repo_of(dist)) == (before.resolve() if before else None)
    assert not list((repo_of(dist) / "snapshots").glob(".tmp-*")), "the refused snapshot stayed"
    if before:
        assert repodata_problems(before) == []


def damage_after_createrepo(monkeypatch, damage) -> None:
    """createrepo_c runs for real, then `damage(staging)` (what a full disk or a stray writer
    does to a snapshot)."""
    real = publish._run_createrepo

    def run_then_damage(createrepo, directory, groupfile):
        real(createrepo, directory, groupfile)
        damage(directory)
    monkeypatch.setattr(publish, "_run_createrepo", run_then_damage)


def repomd_file(staging: Path, data_type: str) -> Path:
    text = (staging / "repodata" / "repomd.xml").read_text()
    start = text.index(f'<data type="{data_type}">')
    href = text[text.index('href="', start) + 6:]
    return staging / href[:href.index('"')]


def replace_file(path: Path, content: bytes) -> None:
    """A new inode: never edit a hard link shared with a build output or an older snapshot."""
    path.unlink()
    path.write_bytes(content)


# --- the metadata is whole ---------------------------------------------------------------------


def test_a_missing_repodata_file_is_refused(tmp_path, rpms, monkeypatch):
    dist = tmp_path / "dist"
    good = publish.publish([rpms["fuel"], rpms["demo1"]], dist, "el9")
    damage_after_createrepo(monkeypatch, lambda s: repomd_file(s, "primary").unlink())
    with pytest.raises(StageFailed, match=r"primary.xml.gz is missing \(repomd.xml lists it\)"):
        publish.publish([rpms["fuel"], rpms["demo2"]], dist, "el9")
    assert_refused_and_current_kept(dist, good.snapshot)


def test_a_truncated_repodata_file_is_refused(tmp_path, rpms, monkeypatch):
    dist = tmp_path / "dist"
    good = publish.publish([rpms["fuel"], rpms["demo1"]], dist, "el9")

    def truncate(staging):
        filelists = repomd_file(staging, "filelists")
        replace_file(filelists, filelists.read_bytes()[:40])
    damage_after_createrepo(monkeypatch, truncate)
    with pytest.raises(StageFailed, match="filelists.xml.gz does not match its checksum"):
        publish.publish([rpms["fuel"], rpms["demo2"]], dist, "el9")
    assert_refused_and_current_kept(dist, good.snapshot)


@pytest.mark.parametrize("which", ["new", "linked from the previous snapshot"])
def test_a_tampered_rpm_is_refused(tmp_path, rpms, monkeypatch, which):
    dist = tmp_path / "dist"
    good = publish.publish([rpms["fuel"], rpms["demo1"]], dist, "el9")
    victim = rpms["demo2"].name if which == "new" else rpms["fuel"].name

    def tamper(staging):
        rpm = staging / "Packages" / victim
        data = bytearray(rpm.read_bytes())
        data[-10] ^= 0x01  # same size: only the checksum can tell
        replace_file(rpm, bytes(data))
    damage_after_createrepo(monkeypatch, tamper)
    with pytest.raises(StageFailed, match=f"Packages/{victim} does not match primary.xml "
                                          r"\(sha256 differs\)"):
        publish.publish([rpms["fuel"], rpms["demo2"]], dist, "el9")
    assert_refused_and_current_kept(dist, good.snapshot)


@pytest.mark.parametrize("attribute", ['<location href="', '<checksum type="'])
def test_a_repomd_entry_without_its_location_or_checksum_type_is_refused(tmp_path, rpms,
                                                                           monkeypatch, attribute):
    """Found by mypy: a missing attribute in repomd.xml was a TypeError traceback."""
    dist = tmp_path / "dist"
    good = publish.publish([rpms["fuel"], rpms["demo1"]], dist, "el9")

    def drop_attribute(staging):
        repomd = staging / "repodata" / "repomd.xml"
        renamed = attribute.replace(" ", " x-")  # <location x-href="...": the href is gone
        replace_file(repomd, repomd.read_bytes().replace(attribute.encode(), renamed.encode(), 1))
    damage_after_createrepo(monkeypatch, drop_attribute)
    with pytest.raises(StageFailed, match=r"repodata/repomd.xml is unreadable \(.* is missing\)"):
        publish.publish([rpms["fuel"], rpms["demo2"]], dist, "el9")
    assert_refused_and_current_kept(dist, good.snapshot)


def test_an_rpm_missing_from_disk_is_refused(tmp_path, rpms, monkeypatch):
    dist = tmp_path / "dist"
    damage_after_createrepo(monkeypatch, lambda s: (s / "Packages" / rpms["fuel"].name).unlink())
    with pytest.raises(StageFailed, match=f"Packages/{rpms['fuel'].name} is missing"):
        publish.publish([rpms["fuel"], rpms["demo1"]], dist, "el9")
    assert_refused_and_current_kept(dist, None)


def test_the_check_passes_a_good_snapshot_and_records_digests(tmp_path, rpms):
    result = publish.publish([rpms["fuel"], rpms["demo1"]], tmp_path / "dist", "el9")
    record = publish.read_record(result.snapshot)
    for entry in record.entries:
        assert entry.sha256 == publish.file_sha256(result.snapshot / "Packages" / entry.file)
        assert entry.file_stamp


def test_unchanged_rpms_are_not_hashed_again(tmp_path, monkeypatch, signing):
    """1 changed package of 40: unsigned, only its build output is hashed; signed, also its
    signed copy. Everything else is known by its stat stamp."""
    out = tmp_path / "rpms"
    v1 = build_many(40, "1", out)
    changed = build_rpm("bulk-0000", "2", out)
    hashed: list[str] = []
    real = publish.file_sha256
    monkeypatch.setattr(publish, "file_sha256", lambda path: hashed.append(path.name) or real(path))
    for key, label in ((None, "unsigned"), (signing, "signed")):
        dist = tmp_path / label
        publish.publish(v1, dist, "el9", signer=key)
        hashed.clear()
        result = publish.publish([changed, *v1[1:]], dist, "el9", signer=key)
        assert result.changed
        assert hashed == [changed.name] * (2 if key else 1), label


# --- room, checked up front -----------------------------------------------------------------------


def fake_statvfs(monkeypatch, directory: Path, *, free_bytes: int, free_inodes: int) -> None:
    """statvfs answers small for `directory` only; everything else sees the real filesystem."""
    real = os.statvfs

    def statvfs(path):
        if Path(path) != directory:
            return real(path)
        return os.statvfs_result((4096, 4096, 1 << 20, free_bytes // 4096, free_bytes // 4096,
                                  1 << 20, free_inodes, free_inodes, 0, 255))
    monkeypatch.setattr(publish.os, "statvfs", statvfs)


def createrepo_must_not_run(monkeypatch) -> None:
    def fail(*args):
        raise AssertionError("the publish started although it could not fit")
    monkeypatch.setattr(publish, "_run_createrepo", fail)


@pytest.mark.parametrize("short", ["space", "inodes"])
def test_too_little_room_is_refused_up_front(tmp_path, rpms, monkeypatch, signing, short):
    dist = tmp_path / "dist"
    good = publish.publish([rpms["fuel"], rpms["demo1"]], dist, "el9", signer=signing)
    snapshots = repo_of(dist) / "snapshots"
    fake_statvfs(monkeypatch, snapshots, free_bytes=64 << 10 if short == "space" else 1 << 30,
                 free_inodes=10 if short == "inodes" else 1 << 20)
    createrepo_must_not_run(monkeypatch)
    needs = r"[\d.]+ MiB \(free: 0.1 MiB\)" if short == "space" else r"\d+ inodes \(free: 10\)"
    with pytest.raises(StageFailed, match=f"{snapshots}: not enough room for a new snapshot, "
                                          f"it needs about {needs}"):
        publish.publish([rpms["fuel"], rpms["demo2"]], dist, "el9", signer=signing)
    assert_refused_and_current_kept(dist, good.snapshot)


@contextmanager
def small_tmpfs(where: Path, options: str):
    where.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({mounted.stderr.strip()}); needs root")
    try:
        yield where
    finally:
        subprocess.run(["umount", "--lazy", str(where)], check=True)


def test_a_real_filesystem_without_enough_inodes_is_refused_up_front(tmp_path, rpms):
    require_tools("mount", "umount")
    with small_tmpfs(tmp_path / "small", "size=64m,nr_inodes=40") as small:
        dist = small / "dist"
        with pytest.raises(StageFailed, match=r"inodes \(free: \d+\)"):
            publish.publish([rpms["fuel"], rpms["demo1"]], dist, "el9")
        assert publish.current_snapshot(repo_of(dist)) is None


def test_running_out_of_inodes_midway_is_refused_in_one_line(tmp_path, rpms, monkeypatch):
    """Without the up-front check, give a second publish fewer and fewer free inodes: wherever
    it runs out (our own copies, createrepo_c failing, or createrepo_c exiting 0 with files
    missing, which it did while it wrote sqlite databases), the publish fails in one line and
    `current` stays. The metadata check's own refusals are tested above with damaged files."""
    require_tools("mount", "umount")
    monkeypatch.setattr(publish, "check_free_space", lambda *args: None)
    real = publish._run_createrepo
    createrepo_said_ok = []
    monkeypatch.setattr(publish, "_run_createrepo", lambda *args: (
        real(*args), createrepo_said_ok.append(True)))
    outcomes = []
    for spare in range(4, 30):
        with small_tmpfs(tmp_path / f"small-{spare}", "size=64m,nr_inodes=1000") as small:
            dist = small / "dist"
            good = publish.publish([rpms["fuel"], rpms["demo1"]], dist, "el9")
            stats = os.statvfs(small)
            allowed = stats.f_files - stats.f_ffree + spare
            subprocess.run(["mount", "-o", f"remount,nr_inodes={allowed}", str(small)], check=True)
            createrepo_said_ok.clear()
            try:
                result = publish.publish([rpms["fuel"], rpms["demo2"]], dist, "el9")
            except StageFailed as refused:
                assert "\n" not in str(refused)
                assert_refused_and_current_kept(dist, good.snapshot)
                outcomes.append("caught by the check" if createrepo_said_ok else "failed")
            else:
                assert repodata_problems(result.snapshot) == []
                outcomes.append("fits")
    assert outcomes[0] != "fits" and outcomes[-1] == "fits", outcomes


# --- one key throughout -------------------------------------------------------------------------


def test_an_unsigned_rpm_in_a_signed_snapshot_is_refused(tmp_path, rpms, monkeypatch, signing):
    monkeypatch.setattr(SigningSession, "sign_rpms", lambda self, rpms: None)  # rpmsign "worked"
    dist = tmp_path / "dist"
    with pytest.raises(StageFailed, match=f"has no good signature by {signing.fingerprint}"):
        publish.publish([rpms["fuel"]], dist, "el9", signer=signing,
                        client_files=client_files((dist / "repos").as_uri()))
    assert_refused_and_current_kept(dist, None)


def test_repomd_signed_by_another_key_is_refused(tmp_path, rpms, monkeypatch, signing):
    stranger = tmp_path / "stranger"
    stranger_fingerprint = make_key(stranger, "Stranger <stranger@example.org>")

    def sign_as_stranger(self, path):
        signature = path.with_name(path.name + ".asc")
        subprocess.run(["gpg", "--homedir", str(stranger), "--batch", "--yes", "--armor",
                        "--local-user", stranger_fingerprint, "--output", str(signature),
                        "--detach-sign", str(path)], check=True, capture_output=True)
        return signature
    monkeypatch.setattr(SigningSession, "sign_detached", sign_as_stranger)
    dist = tmp_path / "dist"
    try:
        with pytest.raises(StageFailed, match="repomd.xml.asc is not a good signature by "
                                              f"{signing.fingerprint}"):
            publish.publish([rpms["fuel"]], dist, "el9", signer=signing,
                            client_files=client_files((dist / "repos").as_uri()))
    finally:
        stop_agent(stranger)
    assert_refused_and_current_kept(dist, None)


RELEASE_MANIFEST = """\
schema: 1
packages:
  fuel-release:
    version: "11.0.0"
    kind: files
    summary: Fuel repository configuration and signing key
    description: The .repo file, the public key and /etc/fuel_release.
    source:
      generated: release-files
    install:
      - {src: fuel.repo, dest: /etc/yum.repos.d/fuel.repo, config: true}
      - {src: RPM-GPG-KEY-fuel, dest: /etc/pki/rpm-gpg/RPM-GPG-KEY-fuel}
      - {src: fuel_release, dest: /etc/fuel_release}
"""


@pytest.fixture
def release_project(tmp_path, gnupghome) -> tuple[list[str], dict[str, str], str]:
    """A manifest with fuel-release, the CLI arguments and environment to build and publish it."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "fuel.yaml").write_text(RELEASE_MANIFEST)
    env = {**os.environ, "GNUPGHOME": str(gnupghome[0]), "BUILDTOOL_CACHE": str(tmp_path / "c")}
    common = ["--manifest", str(project / "fuel.yaml"), "--backend", "rpmbuild",
              "--build-dir", str(tmp_path / "build"), "--dist-dir", str(tmp_path / "dist")]
    return common, env, gnupghome[1]


def without_backend(options: list[str]) -> list[str]:
    """publish builds nothing: it takes no --backend."""
    at = options.index("--backend")
    return options[:at] + options[at + 2:]


def test_publish_with_a_key_after_an_unsigned_build_is_refused_with_the_fix(tmp_path,
                                                                            release_project):
    common, env, fingerprint = release_project
    assert run_buildtool("build", *common, env=env).status == 0
    refused = run_buildtool("publish", *without_backend(common), "--sign-key", fingerprint, env=env)
    assert refused.status == 1
    line = refused.stderr.strip().splitlines()[-1]
    assert "fuel-release-11.0.0-1.el9.noarch.rpm ships no key (built unsigned) but this " \
           f"snapshot is signed by {fingerprint}" in line
    assert f"rebuild it with the publishing key: buildtool repo --sign-key {fingerprint}" in line
    assert "Traceback" not in refused.stderr
    assert publish.current_snapshot(repo_of(tmp_path / "dist")) is None

    fixed = run_buildtool("repo", *common, "--sign-key", fingerprint, env=env)  # the hint
    assert fixed.status == 0, fixed.stderr
    assert publish.current_snapshot(repo_of(tmp_path / "dist")) is not None


def test_unsigned_publish_of_a_signed_fuel_release_is_refused_with_the_fix(tmp_path,
                                                                           release_project):
    common, env, fingerprint = release_project
    assert run_buildtool("build", *common, "--sign-key", fingerprint, env=env).status == 0
    refused = run_buildtool("publish", *without_backend(common), env=env)
    assert refused.status == 1
    line = refused.stderr.strip().splitlines()[-1]
    assert f"ships key {fingerprint} but this publish is unsigned" in line
    assert f"buildtool publish --sign-key {fingerprint}" in line
    assert publish.current_snapshot(repo_of(tmp_path / "dist")) is None

