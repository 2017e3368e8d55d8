"""The signing process: the one place where private key material and the passphrase exist.

`signing.Signer.session()` starts it (python -m buildtool.signing_process) once the builds are
over and talks to it in JSON, one object per line:

    {"open": {"key_id", "key_file", "gnupghome", "passphrase"}}  -> {"fingerprint", "public_key"}
    {"sign_rpms": [path, ...]}                                   -> {}
    {"sign_detached": path}                                      -> {"signature": path}
    any failure                                                  -> {"error", "hint"}

The end of its input (the parent is done, or died) ends it. Its secrets (the passphrase file, a
key file's keyring, a copy of a keyring's secret key) live in a private directory (keyhome) that
goes, with its gpg-agent, on every way out: end of input, an error, SIGTERM, SIGINT. What a
SIGKILL leaves behind, the next run sweeps.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

from . import gpg, keyhome, runner
from .errors import StageFailed, UserError
from .tooloutput import last_line

HOLD_ENV = "BUILDTOOL_SIGNING_HOLD"  # tests: after signing RPMs, create this file and wait


class Terminated(Exception):
    """SIGTERM or SIGINT: unwind so that every `finally` cleans up."""


@dataclass(frozen=True)
class Keyring:
    home: Path  # GNUPGHOME for gpg and rpmsign
    fingerprint: str
    passphrase_file: Path | None
    own_agent: bool  # an agent on `home` is ours to stop (the caller's was not running)

    def gpg_options(self) -> list[str]:
        options = ["--batch", "--no-tty"]
        if self.passphrase_file:
            options += ["--pinentry-mode", "loopback", "--passphrase-file",
                        str(self.passphrase_file)]
        return options

    def env(self) -> dict[str, str]:
        return {**os.environ, "GNUPGHOME": str(self.home)}


def main() -> int:
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, _terminate)
    try:
        with keyhome.private_directory() as private:
            serve(sys.stdin, sys.stdout, private)
    except Terminated:
        return 128 + signal.SIGTERM
    except BrokenPipeError:  # the parent is gone: nobody to answer
        return 1
    return 0


def serve(requests: TextIO, replies: TextIO, private: Path) -> None:
    keyring: Keyring | None = None
    try:
        for line in requests:
            request = json.loads(line)
            try:
                if "open" in request:
                    keyring = open_keyring(request["open"], private)
                    reply: dict[str, Any] = {"fingerprint": keyring.fingerprint,
                             "public_key": gpg.export_public(keyring.home, keyring.fingerprint)}
                elif keyring is None:
                    raise UserError("the signing process was asked to sign before opening a key")
                elif "sign_rpms" in request:
                    sign_rpms(keyring, [Path(p) for p in request["sign_rpms"]])
                    reply = {}
                else:
                    reply = {"signature": str(sign_detached(keyring, Path(request["sign_detached"])))}
            except UserError as error:
                reply = {"error": error.message, "hint": error.hint, "status": error.exit_status}
            replies.write(json.dumps(reply) + "\n")
            replies.flush()
    finally:
        if keyring and keyring.own_agent:
            keyhome.stop_agent(keyring.home)


def open_keyring(request: dict[str, Any], private: Path) -> Keyring:
    passphrase = request.get("passphrase")
    home = keyhome.gnupghome(private)
    if request.get("key_file"):
        _import_key_file(Path(request["key_file"]), home)
        fingerprint = gpg.only_secret_key(home, None, f"--sign-key-file {request['key_file']}")
    elif passphrase is not None:  # a copy, so the passphrase is cached by our agent only
        user_home = Path(request["gnupghome"])
        fingerprint = gpg.only_secret_key(user_home, request["key_id"], f"GNUPGHOME ({user_home})")
        _copy_key(user_home, fingerprint, home)
    else:  # the caller's keyring and agent, which holds the passphrase if one is needed
        home = Path(request["gnupghome"])
        fingerprint = gpg.only_secret_key(home, request["key_id"], f"GNUPGHOME ({home})")
        return Keyring(home, fingerprint, None, own_agent=not keyhome.agent_running(home))
    return Keyring(home, fingerprint, _passphrase_file(passphrase, private), own_agent=True)


def sign_rpms(keyring: Keyring, rpms: list[Path]) -> None:
    """Add a signature to each RPM in place (rpmsign rewrites the file's own inode)."""
    if not rpms:
        return
    rpmsign = shutil.which("rpmsign")
    if rpmsign is None:
        raise UserError("rpmsign is not installed", "install rpm-sign (run 'make tools')")
    extra = " ".join(keyring.gpg_options())
    args = [rpmsign, "--addsign", "--define", f"__gpg {gpg.GPG}",
            "--define", f"_gpg_name {keyring.fingerprint}",
            "--define", f"_gpg_sign_cmd_extra_args {extra}", *map(str, rpms)]
    result = _run(args, keyring.env())
    if result.returncode != 0:
        raise StageFailed(f"rpmsign failed: {last_line(result.stderr)}",
                        "check the key and its passphrase; the previous snapshot is still current")
    _hold_for_tests()


def sign_detached(keyring: Keyring, path: Path) -> Path:
    """Write `path`.asc, an armored detached signature (repomd.xml.asc for dnf)."""
    signature = path.with_name(path.name + ".asc")
    args = [gpg.GPG, *keyring.gpg_options(), "--yes", "--armor", "--detach-sign",
            "--local-user", keyring.fingerprint, "--output", str(signature), str(path)]
    result = _run(args, keyring.env())
    if result.returncode != 0:
        raise StageFailed(f"gpg could not sign {path.name}: {last_line(result.stderr)}",
                        "check the key and its passphrase")
    return signature


def _import_key_file(key_file: Path, home: Path) -> None:
    if not key_file.is_file():
        raise UserError(f"--sign-key-file {key_file}: no such file")
    home.mkdir(mode=0o700)
    result = _run([gpg.GPG, "--batch", "--homedir", str(home), "--import", str(key_file)])
    if result.returncode != 0:
        raise UserError(f"--sign-key-file {key_file}: gpg cannot import it "
                        f"({last_line(result.stderr)})", "give an armored secret key export")


def _copy_key(user_home: Path, fingerprint: str, home: Path) -> None:
    """The public key and the (still passphrase-protected) secret key files of one key."""
    home.mkdir(mode=0o700)
    (home / "private-keys-v1.d").mkdir(mode=0o700)
    public = home / "public.asc"
    public.write_text(gpg.export_public(user_home, fingerprint))
    _run([gpg.GPG, "--batch", "--homedir", str(home), "--import", str(public)])
    key = next(k for k in gpg.keys(user_home, fingerprint) if k.fingerprint == fingerprint)
    for secret in gpg.secret_key_files(user_home, key):
        shutil.copyfile(secret, home / "private-keys-v1.d" / secret.name)


def _passphrase_file(passphrase: str | None, private: Path) -> Path | None:
    if passphrase is None:
        return None
    path = private / "passphrase"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(passphrase)
    return path


def _run(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run a tool in its own process group, which dies with it if we are interrupted."""
    process = runner.popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=env,
                               start_new_session=True)
    try:
        stdout, stderr = process.communicate()
    except BaseException:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        raise
    return subprocess.CompletedProcess(args, process.returncode, stdout, stderr)


def _hold_for_tests() -> None:
    marker = os.environ.get(HOLD_ENV)
    if marker:
        Path(marker).touch()
        while True:
            time.sleep(0.1)


def _terminate(number: int, frame: FrameType | None) -> None:
    raise Terminated()


if __name__ == "__main__":
    sys.exit(main())
