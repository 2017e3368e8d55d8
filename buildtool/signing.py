"""GPG signing of RPMs (rpmsign) and of repository metadata (detached, armored).

A key is named by id (looked up in GNUPGHOME, the caller's keyring) or given as an armored secret
key file, imported into a private, temporary GNUPGHOME for the run. The passphrase comes from an
environment variable named by the caller (handed to gpg in a private 0600 file, never on a command
line or in a log) or, without one, from gpg-agent.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from .errors import StageFailed, ToolMissing, UserError
from .tooloutput import last_line

GPG = "/usr/bin/gpg"  # rpm's %__gpg names gpg2, absent on Debian (ENVIRONMENT pitfall 7)


@dataclass(frozen=True)
class SigningConfig:
    """What the user asked for; resolved into a Signer by `signer()`."""

    key_id: str | None = None
    key_file: Path | None = None
    passphrase_env: str | None = None  # name of the environment variable holding the passphrase

    @property
    def enabled(self) -> bool:
        return bool(self.key_id or self.key_file)


@dataclass(frozen=True)
class Signer:
    fingerprint: str
    gnupghome: Path | None  # None: the caller's GNUPGHOME (or ~/.gnupg)
    passphrase_file: Path | None

    def sign_rpms(self, rpms: list[Path]) -> None:
        """Add a signature to each RPM in place (rpmsign rewrites the file's own inode)."""
        if not rpms:
            return
        extra = " ".join(self._gpg_options())
        args = [_tool("rpmsign", "rpm-sign"), "--addsign",
                "--define", f"__gpg {GPG}", "--define", f"_gpg_name {self.fingerprint}",
                "--define", f"_gpg_sign_cmd_extra_args {extra}", *map(str, rpms)]
        result = subprocess.run(args, capture_output=True, text=True, env=self._env(),
                                stdin=subprocess.DEVNULL)
        if result.returncode != 0:
            raise StageFailed(f"rpmsign failed: {last_line(result.stderr)}",
                              "check the key and its passphrase; the previous snapshot is "
                              "still current")

    def sign_detached(self, path: Path) -> Path:
        """Write `path`.asc, an armored detached signature (repomd.xml.asc for dnf)."""
        signature = path.with_name(path.name + ".asc")
        args = [GPG, *self._gpg_options(), "--yes", "--armor", "--detach-sign",
                "--local-user", self.fingerprint, "--output", str(signature), str(path)]
        result = subprocess.run(args, capture_output=True, text=True, env=self._env(),
                                stdin=subprocess.DEVNULL)
        if result.returncode != 0:
            raise StageFailed(f"gpg could not sign {path.name}: {last_line(result.stderr)}",
                              "check the key and its passphrase")
        return signature

    def public_key(self) -> str:
        result = subprocess.run([GPG, "--batch", "--armor", "--export", self.fingerprint],
                                capture_output=True, text=True, env=self._env())
        if result.returncode != 0 or "BEGIN PGP PUBLIC KEY BLOCK" not in result.stdout:
            raise StageFailed(f"gpg could not export the public key {self.fingerprint}")
        return result.stdout

    def _gpg_options(self) -> list[str]:
        options = ["--batch", "--no-tty"]
        if self.passphrase_file:
            options += ["--pinentry-mode", "loopback", "--passphrase-file",
                        str(self.passphrase_file)]
        return options

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.gnupghome:
            env["GNUPGHOME"] = str(self.gnupghome)
        return env


@contextmanager
def signer(config: SigningConfig) -> Iterator[Signer | None]:
    """The run's Signer (None when signing is off); private files are removed on exit."""
    if not config.enabled:
        yield None
        return
    if not Path(GPG).exists():
        raise ToolMissing(f"{GPG} is not installed", "install gnupg")
    with tempfile.TemporaryDirectory(prefix="buildtool-sign-") as private:
        os.chmod(private, 0o700)
        passphrase_file = _passphrase_file(config.passphrase_env, Path(private))
        home = _import_key_file(config.key_file, Path(private) / "gnupg") if config.key_file \
            else None
        try:
            fingerprint = _fingerprint(config.key_id, home)
            yield Signer(fingerprint, home, passphrase_file)
        finally:
            if home:
                stop_agent(home)


def stop_agent(gnupghome: Path) -> None:
    """gpg starts a gpg-agent per home; stop the one of a home we created (pitfall 9)."""
    subprocess.run(["gpgconf", "--homedir", str(gnupghome), "--kill", "gpg-agent"],
                   capture_output=True)


def _passphrase_file(variable: str | None, private: Path) -> Path | None:
    if not variable:
        return None
    value = os.environ.get(variable)
    if value is None:
        raise UserError(f"--passphrase-env {variable}: the variable is not set",
                        f"export {variable}=... or leave the option out to use gpg-agent")
    path = private / "passphrase"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
    return path


def _import_key_file(key_file: Path, home: Path) -> Path:
    if not key_file.is_file():
        raise UserError(f"--sign-key-file {key_file}: no such file")
    home.mkdir(mode=0o700)
    result = subprocess.run([GPG, "--batch", "--homedir", str(home), "--import", str(key_file)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        stop_agent(home)
        raise UserError(f"--sign-key-file {key_file}: gpg cannot import it "
                        f"({last_line(result.stderr)})", "give an armored secret key export")
    return home


def _fingerprint(key_id: str | None, home: Path | None) -> str:
    """The one secret key meant: `key_id` in the keyring, or the only key of a key file."""
    args = [GPG, "--batch", "--with-colons", "--list-secret-keys"]
    if home:
        args[1:1] = ["--homedir", str(home)]
    if key_id:
        args.append(key_id)
    result = subprocess.run(args, capture_output=True, text=True)
    fingerprints = _primary_fingerprints(result.stdout) if result.returncode == 0 else []
    if len(fingerprints) != 1:
        where = "key file" if home else f"GNUPGHOME ({os.environ.get('GNUPGHOME', '~/.gnupg')})"
        found = "no" if not fingerprints else f"{len(fingerprints)}"
        raise UserError(f"{found} secret key(s) matching '{key_id or '*'}' in the {where}",
                        "name exactly one secret key with --sign-key (an id or fingerprint)")
    return fingerprints[0]


def _primary_fingerprints(colons: str) -> list[str]:
    fingerprints, after_primary = [], False
    for line in colons.splitlines():
        fields = line.split(":")
        if fields[0] == "sec":
            after_primary = True
        elif fields[0] == "fpr" and after_primary:
            fingerprints.append(fields[9])
            after_primary = False
    return fingerprints


def _tool(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise ToolMissing(f"{name} is not installed", f"install {package} (run 'make tools')")
    return path
