"""Signing secrets never escape: no build sees the passphrase or any private key material, and
the signing process leaves nothing behind however it ends (end of run, SIGTERM, SIGKILL + the
next run). Everything with the real tools and throwaway keys; `pgrep` scoped to our directories."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from publish_helpers import make_key

from buildtool import keyhome, publish
from buildtool.signing import stop_agent
from buildtool.signing_process import HOLD_ENV
from conftest import ROOT, require_tools

pytestmark = [pytest.mark.integration]

PASSPHRASE = "s3cret-horse-battery"
VARIABLE = "FUEL_TEST_SIGN_PASS"


@pytest.fixture(autouse=True)
def _tools():
    require_tools("rpmbuild", "rpmsign", "createrepo_c", "gpg", "pgrep", "rpm2cpio", "cpio")


@pytest.fixture
def key_file(tmp_path) -> tuple[Path, str]:
    """A passphrase-protected throwaway secret key, exported to an armored file."""
    home = tmp_path / "keyring"
    fingerprint = make_key(home, passphrase=PASSPHRASE)
    exported = subprocess.run(
        ["gpg", "--homedir", str(home), "--batch", "--pinentry-mode", "loopback", "--passphrase",
         PASSPHRASE, "--armor", "--export-secret-keys", fingerprint],
        check=True, capture_output=True).stdout
    stop_agent(home)
    path = tmp_path / "secret.asc"
    path.write_bytes(exported)
    return path, fingerprint


@pytest.fixture
def private_root(tmp_path) -> Path:
    """TMPDIR of the runs under test: where their signing process makes its private directory."""
    root = tmp_path / "tmp"
    root.mkdir()
    yield root
    for leftover in root.glob(f"{keyhome.PREFIX}*"):  # never leave an agent behind, even on failure
        keyhome.remove(leftover)


def agents_under(root: Path) -> list[str]:
    result = subprocess.run(["pgrep", "-af", f"gpg-agent --homedir {root}/"],
                            capture_output=True, text=True)
    return result.stdout.splitlines()


def private_dirs(root: Path) -> list[Path]:
    return sorted(root.glob(f"{keyhome.PREFIX}*"))


def buildtool(*args: str, env: dict[str, str], **popen) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "buildtool", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)


def run_env(tmp_path: Path, private_root: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "TMPDIR": str(private_root), VARIABLE: PASSPHRASE,
            "BUILDTOOL_CACHE": str(tmp_path / "cache"), **extra}


def signed_repo_args(chain: Path, tmp_path: Path, key: Path) -> list[str]:
    return ["repo", "-m", str(chain), "--backend", "rpmbuild", "-j", "1",
            "--build-dir", str(tmp_path / "build"), "--dist-dir", str(tmp_path / "dist"),
            "--sign-key-file", str(key), "--passphrase-env", VARIABLE]


def wait_for(path: Path, process: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the signing process never reached the hold point"
        time.sleep(0.05)


def held_signing_run(chain, tmp_path, private_root, key_file) -> subprocess.Popen:
    """A `buildtool repo` stopped inside the signing process, after it signed the RPMs: its
    private directory, passphrase file and gpg-agent all exist at that moment."""
    held = tmp_path / "held"
    process = buildtool(*signed_repo_args(chain, tmp_path, key_file[0]),
                        env=run_env(tmp_path, private_root, **{HOLD_ENV: str(held)}),
                        start_new_session=True)
    wait_for(held, process)
    [private] = private_dirs(private_root)
    assert (private / "passphrase").is_file()
    assert (private / "gnupg" / "private-keys-v1.d").is_dir()
    assert oct(private.stat().st_mode & 0o777) == "0o700"
    assert agents_under(private_root), "the check below could not fail: no agent to find"
    return process


@pytest.mark.parametrize("whom", ["buildtool", "process group"])
def test_sigterm_during_signing_leaves_no_private_dir_agent_or_passphrase(
        chain, tmp_path, private_root, key_file, whom):
    process = held_signing_run(chain, tmp_path, private_root, key_file)
    if whom == "buildtool":
        process.send_signal(signal.SIGTERM)
    else:  # systemd stopping a unit, timeout(1), ...
        os.killpg(process.pid, signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 128 + signal.SIGTERM, stderr
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines()[-1].startswith("buildtool: terminated")
    assert private_dirs(private_root) == []
    assert agents_under(private_root) == []
    assert publish.current_snapshot(publish.repo_dir(tmp_path / "dist", "el9")) is None


def test_sigint_during_signing_cleans_up_too(chain, tmp_path, private_root, key_file):
    process = held_signing_run(chain, tmp_path, private_root, key_file)
    os.killpg(process.pid, signal.SIGINT)  # Ctrl-C reaches the whole foreground group
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert private_dirs(private_root) == [] and agents_under(private_root) == []


def test_a_private_dir_left_by_sigkill_is_removed_by_the_next_run(
        chain, tmp_path, private_root, key_file):
    process = held_signing_run(chain, tmp_path, private_root, key_file)
    os.killpg(process.pid, signal.SIGKILL)  # nobody can clean up: the agent even survives
    process.communicate(timeout=60)
    assert len(private_dirs(private_root)) == 1 and agents_under(private_root)

    following = buildtool("snapshots", "--dist-dir", str(tmp_path / "dist"),
                          env=run_env(tmp_path, private_root))
    _, stderr = following.communicate(timeout=60)
    assert following.returncode == 0, stderr
    assert private_dirs(private_root) == []
    assert agents_under(private_root) == []


def test_a_live_private_dir_is_not_swept(tmp_path, private_root, monkeypatch):
    """The sweep goes by the lock, not by age or pid: a running signer keeps its directory."""
    monkeypatch.setattr("tempfile.tempdir", str(private_root))
    with keyhome.private_directory() as live:
        assert keyhome.sweep_stale() == []
        assert live.is_dir()
    assert not live.exists()


def test_a_signed_run_leaves_nothing_behind(chain, tmp_path, private_root, key_file):
    process = buildtool(*signed_repo_args(chain, tmp_path, key_file[0]),
                        env=run_env(tmp_path, private_root))
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr
    current = publish.current_snapshot(publish.repo_dir(tmp_path / "dist", "el9"))
    assert json.loads((current / "snapshot.json").read_text())["signed_by"] == key_file[1]
    assert list(private_root.iterdir()) == []
    assert agents_under(private_root) == []


def test_the_passphrase_variable_is_gone_before_anything_runs():
    """Neither a child's environment nor /proc/<buildtool>/environ shows it after parsing."""
    probe = textwrap.dedent(f"""
        import os, subprocess
        from buildtool import signing
        config = signing.config_from("KEY", None, {VARIABLE!r})
        assert config.passphrase == {PASSPHRASE!r}
        child = subprocess.run(["sh", "-c", "env; cat /proc/$PPID/environ"], capture_output=True)
        print(child.stdout.count({PASSPHRASE!r}.encode()), child.stdout.count(b{VARIABLE!r}),
              open("/proc/self/environ", "rb").read().count({PASSPHRASE!r}.encode()))
    """)
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            env={**os.environ, VARIABLE: PASSPHRASE}, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["0", "0", "0"]


ENV_PROBE_MANIFEST = """\
schema: 1
packages:
  envprobe:
    version: "1.0"
    kind: python
    summary: Records what its build can see
    description: A build that writes down its environment and its ancestors'.
    source:
      path: envprobe
"""

ENV_PROBE_SETUP = """\
import glob, json, os, pathlib, setuptools

def ancestors():
    pid, found = os.getpid(), []
    while pid > 1:
        status = pathlib.Path(f"/proc/{{pid}}/status").read_text()
        pid = int(next(l.split()[1] for l in status.splitlines() if l.startswith("PPid:")))
        found.append(pid)
    return found

def environ_of(pid):
    try:
        return pathlib.Path(f"/proc/{{pid}}/environ").read_bytes().decode(errors="replace")
    except OSError as error:
        return f"unreadable: {{error}}"

record = {{"environ": dict(os.environ),
           "ancestors": {{str(pid): environ_of(pid) for pid in ancestors()}},
           "private_dirs": glob.glob({private_root!r} + "/buildtool-sign-*")}}
# rpm's check-buildroot refuses payloads that name the build root: record it as a word
buildroot = os.environ.get("RPM_BUILD_ROOT") or "\\0"
pathlib.Path("envprobe/recorded.json").write_text(json.dumps(record).replace(buildroot, "BUILDROOT"))
setuptools.setup(name="envprobe", version="1.0", packages=["envprobe"],
                 package_data={{"envprobe": ["recorded.json"]}})
"""


def test_a_build_sees_no_passphrase_and_no_private_material(tmp_path, private_root, key_file):
    project = tmp_path / "project"
    (project / "envprobe" / "envprobe").mkdir(parents=True)
    (project / "envprobe" / "envprobe" / "__init__.py").write_text("")
    (project / "envprobe" / "setup.py").write_text(
        ENV_PROBE_SETUP.format(private_root=str(private_root)))
    (project / "fuel.yaml").write_text(ENV_PROBE_MANIFEST)
    args = ["repo", "-m", str(project / "fuel.yaml"), "--backend", "rpmbuild",
            "--build-dir", str(tmp_path / "build"), "--dist-dir", str(tmp_path / "dist"),
            "--sign-key-file", str(key_file[0]), "--passphrase-env", VARIABLE]
    process = buildtool(*args, env=run_env(tmp_path, private_root))
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr

    current = publish.current_snapshot(publish.repo_dir(tmp_path / "dist", "el9"))
    [rpm] = (current / "Packages").glob("envprobe-*.rpm")
    text = _extract(rpm, "*/recorded.json")
    record = json.loads(text)
    assert record["ancestors"], "the probe did not record its ancestors"
    assert VARIABLE not in record["environ"]
    assert PASSPHRASE not in text  # not in its environment, nor in any ancestor's
    assert record["private_dirs"] == []  # no signing directory existed during the build


def _extract(rpm: Path, pattern: str) -> str:
    payload = subprocess.Popen(["rpm2cpio", str(rpm)], stdout=subprocess.PIPE)
    cpio = subprocess.run(["cpio", "-i", "--quiet", "--to-stdout", pattern], stdin=payload.stdout,
                          capture_output=True)
    payload.stdout.close()
    assert payload.wait() == 0 and cpio.returncode == 0, cpio.stderr
    return cpio.stdout.decode()
