"""GPG signing of RPMs (rpmsign) and repository metadata, kept away from the builds.

Three moments:
1. Argument parsing: the passphrase variable (--passphrase-env) is read and removed from this
   process's environment at once (also from the copy /proc/PID/environ shows), so no build ever
   inherits or reads it. `SigningConfig` keeps the value in memory only.
2. `prepare()`, before the builds: find the key and export its PUBLIC key (fuel-release ships it).
   A key in a keyring is read without gpg-agent; a key file is imported by the signing process,
   which removes it again at once. No secret is anywhere a build can read.
3. `Signer.session()`, after the builds: the signing process (signing_process.py) gets the key and
   passphrase on a pipe and signs in a private directory that is gone when the session ends.

A key is named by id (looked up in GNUPGHOME) or given as an armored secret key file. Without
--passphrase-env, a keyring's key is used through the caller's own gpg-agent.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from . import gpg, keyhome, runner
from .errors import EXIT_USAGE, StageFailed, UserError

SESSION_CLOSE_SECONDS = 30


@dataclass(frozen=True)
class SigningConfig:
    """What the user asked for, with the passphrase already taken out of the environment."""

    key_id: str | None = None
    key_file: Path | None = None
    passphrase: str | None = field(default=None, repr=False, compare=False)
    gnupghome: Path | None = None  # the keyring of key_id; default $GNUPGHOME or ~/.gnupg

    @property
    def enabled(self) -> bool:
        return bool(self.key_id or self.key_file)


def config_from(key_id: str | None, key_file: Path | None,
                passphrase_env: str | None) -> SigningConfig:
    """The user's signing options; the passphrase variable leaves the environment here."""
    passphrase = take_variable(passphrase_env) if passphrase_env else None
    if passphrase_env and passphrase is None:
        raise UserError(f"--passphrase-env {passphrase_env}: the variable is not set",
                        f"export {passphrase_env}=... or leave the option out to use gpg-agent")
    return SigningConfig(key_id, key_file, passphrase)


def take_variable(name: str) -> str | None:
    """Read an environment variable and remove it, from os.environ (so no child inherits it) and
    from the process's initial environment block (so /proc/PID/environ no longer shows it)."""
    value = os.environ.pop(name, None)  # unsetenv() first: it looks for NAME= in the block
    _scrub_initial_environment(name)
    return value


@dataclass(frozen=True)
class Signer:
    """A key ready to sign with. Builds may see the fingerprint and the public key; the rest only
    ever reaches the signing process."""

    fingerprint: str
    public_key: str
    config: SigningConfig = field(repr=False)

    @property
    def option(self) -> str:
        """The command-line option that names this key again."""
        if self.config.key_file:
            return f"--sign-key-file {self.config.key_file}"
        return f"--sign-key {self.fingerprint}"

    @contextmanager
    def session(self) -> Iterator[SigningSession]:
        """The signing process, for as long as the block runs; it cleans up when it ends."""
        with _signing_process(self.config) as session:
            if session.fingerprint != self.fingerprint:
                raise StageFailed(f"the signing key changed since the builds started "
                                  f"({self.fingerprint} -> {session.fingerprint})",
                                  "run the command again")
            yield session


def prepare(config: SigningConfig) -> Signer | None:
    """The run's Signer (None when signing is off), resolved before any build runs."""
    if not config.enabled:
        return None
    gpg.require_gpg()
    if config.key_file:
        if not config.key_file.is_file():
            raise UserError(f"--sign-key-file {config.key_file}: no such file")
        public_only = SigningConfig(key_file=config.key_file)
        with _signing_process(public_only) as session:
            return Signer(session.fingerprint, session.public_key, config)
    home = config.gnupghome or gpg.default_home()
    fingerprint = gpg.only_secret_key(home, config.key_id, f"GNUPGHOME ({home})")
    public_key = gpg.export_public(home, fingerprint)
    if not public_key:
        raise StageFailed(f"gpg could not export the public key {fingerprint}")
    return Signer(fingerprint, public_key, _with_home(config, home))


class SigningSession:
    """This side of the pipe to the signing process."""

    def __init__(self, process: subprocess.Popen[str]):
        self.process = process
        self.fingerprint = ""
        self.public_key = ""

    def open(self, config: SigningConfig) -> None:
        reply = self._ask({"open": {
            "key_id": config.key_id,
            "key_file": str(config.key_file.resolve()) if config.key_file else None,
            "gnupghome": str(config.gnupghome or gpg.default_home()),
            "passphrase": config.passphrase}})
        self.fingerprint, self.public_key = reply["fingerprint"], reply["public_key"]

    def sign_rpms(self, rpms: list[Path]) -> None:
        if rpms:
            self._ask({"sign_rpms": [str(rpm.resolve()) for rpm in rpms]})

    def sign_detached(self, path: Path) -> Path:
        return Path(self._ask({"sign_detached": str(path.resolve())})["signature"])

    def close(self, interrupt: bool = False) -> None:
        """End of input (or SIGTERM when interrupted): the process removes its private
        directory and agent, then exits."""
        assert self.process.stdin is not None, "started with stdin=PIPE"
        try:
            self.process.stdin.close()
        except BrokenPipeError:
            pass
        if interrupt:
            self.process.terminate()
        try:
            self.process.wait(timeout=SESSION_CLOSE_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.terminate()  # SIGTERM: it still cleans up
            self.process.wait()

    def _ask(self, request: dict[str, Any]) -> dict[str, Any]:
        assert self.process.stdin and self.process.stdout, "started with stdin, stdout=PIPE"
        try:
            self.process.stdin.write(json.dumps(request) + "\n")
            self.process.stdin.flush()
            line = self.process.stdout.readline()
        except BrokenPipeError:
            line = ""
        if not line:
            raise StageFailed(f"the signing process ended unexpectedly (status "
                              f"{self.process.wait()})", "the previous snapshot is still current")
        reply: dict[str, Any] = json.loads(line)
        if "error" in reply:
            kind = UserError if reply.get("status") == EXIT_USAGE else StageFailed
            raise kind(reply["error"], reply.get("hint"))
        return reply


@contextmanager
def _signing_process(config: SigningConfig) -> Iterator[SigningSession]:
    keyhome.sweep_stale()
    process = runner.popen([sys.executable, "-m", "buildtool.signing_process"],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    session = SigningSession(process)
    try:
        session.open(config)
        yield session
    except BaseException:  # SIGTERM, Ctrl-C, a failure: no point in letting it finish its work
        session.close(interrupt=True)
        raise
    session.close()


def _with_home(config: SigningConfig, home: Path) -> SigningConfig:
    return SigningConfig(config.key_id, config.key_file, config.passphrase, home)


def stop_agent(gnupghome: Path) -> None:
    """Stop the gpg-agent gpg started for `gnupghome` (ENVIRONMENT pitfall 9)."""
    keyhome.stop_agent(gnupghome)


def _scrub_initial_environment(name: str) -> None:
    """Overwrite NAME=value in the environment block the kernel shows as /proc/PID/environ:
    unsetenv() only drops a pointer to it, the text itself stays there."""
    try:
        stat = Path("/proc/self/stat").read_text()
        fields = stat[stat.rindex(")") + 2:].split()  # fields 3.. of proc(5)
        start, end = int(fields[47]), int(fields[48])  # env_start, env_end
    except (OSError, ValueError, IndexError):
        return
    import ctypes  # here: only a run given a passphrase variable needs it

    block = ctypes.string_at(start, end - start)
    prefix = name.encode() + b"="
    offset = 0
    for entry in block.split(b"\0"):
        if entry.startswith(prefix):
            ctypes.memset(start + offset, 0, len(entry))
        offset += len(entry) + 1
