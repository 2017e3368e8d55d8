"""The gpg calls that need no secret: find a key, export and read public keys, check a detached
signature. None of them starts a gpg-agent (verified: pgrep finds none afterwards)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from . import keyhome, runner
from .errors import ToolMissing, UserError

GPG = "/usr/bin/gpg"  # rpm's %__gpg names gpg2, absent on Debian (ENVIRONMENT pitfall 7)


@dataclass(frozen=True)
class Key:
    fingerprint: str  # of the primary key
    keygrips: tuple[str, ...]  # primary and subkeys: the names of their secret key files


def require_gpg() -> None:
    if not Path(GPG).exists():
        raise ToolMissing(f"{GPG} is not installed", "install gnupg")


def default_home() -> Path:
    return Path(os.environ.get("GNUPGHOME") or Path.home() / ".gnupg").absolute()


def keys(home: Path, key_id: str | None = None) -> list[Key]:
    """Public keys of `home` matching `key_id` (all when None), read without the agent."""
    args = [GPG, "--homedir", str(home), "--batch", "--with-colons", "--with-keygrip",
            "--list-keys"]
    result = runner.run(args + ([key_id] if key_id else []), capture_output=True, text=True)
    return parse_keys(result.stdout) if result.returncode == 0 else []


def parse_keys(colons: str) -> list[Key]:
    found: list[Key] = []
    fingerprint: str | None = None
    grips: list[str] = []
    expect_fpr = False
    for line in colons.splitlines():
        fields = line.split(":")
        if fields[0] == "pub":
            if fingerprint:
                found.append(Key(fingerprint, tuple(grips)))
            fingerprint, grips, expect_fpr = None, [], True
        elif fields[0] == "fpr" and expect_fpr:
            fingerprint, expect_fpr = fields[9], False
        elif fields[0] == "grp":
            grips.append(fields[9])
    if fingerprint:
        found.append(Key(fingerprint, tuple(grips)))
    return found


def only_secret_key(home: Path, key_id: str | None, where: str) -> str:
    """The fingerprint of the one key meant whose secret part `home` holds."""
    found = [key for key in keys(home, key_id) if secret_key_files(home, key)]
    if len(found) != 1:
        count = "no" if not found else str(len(found))
        raise UserError(f"{count} secret key(s) matching '{key_id or '*'}' in {where}",
                        "name exactly one secret key with --sign-key (an id or fingerprint)")
    return found[0].fingerprint


def secret_key_files(home: Path, key: Key) -> list[Path]:
    """The secret key files of `key` that `home` holds (gpg >= 2.1 keeps one per keygrip)."""
    return [path for grip in key.keygrips
            if (path := home / "private-keys-v1.d" / f"{grip}.key").is_file()]


def export_public(home: Path, fingerprint: str) -> str:
    result = runner.run([GPG, "--homedir", str(home), "--batch", "--armor", "--export",
                             fingerprint], capture_output=True, text=True)
    if result.returncode != 0 or "BEGIN PGP PUBLIC KEY BLOCK" not in result.stdout:
        return ""
    return result.stdout


@contextmanager
def _scratch_home() -> Iterator[str]:
    """A throwaway GNUPGHOME for public keys. gpg runs there with --no-autostart: nothing there
    needs an agent, and one started by --import would outlive a run killed before the finally
    (no sweep finds a scratch home). Any agent found there is still stopped before removal."""
    with tempfile.TemporaryDirectory(prefix="buildtool-gpg-") as home:
        try:
            yield home
        finally:
            keyhome.stop_agent(Path(home))


def fingerprints_of(armored_key: str) -> list[str]:
    """Primary fingerprints in an armored public key text ([] for anything else)."""
    with _scratch_home() as home:
        key = Path(home) / "key.asc"
        key.write_text(armored_key)
        result = runner.run([GPG, "--homedir", home, "--batch", "--no-autostart", "--with-colons",
                                 "--with-keygrip", "--show-keys", str(key)],
                                capture_output=True, text=True)
    return [k.fingerprint for k in parse_keys(result.stdout)] if result.returncode == 0 else []


def detached_signer(signature: Path, data: Path, armored_key: str) -> str | None:
    """The primary fingerprint of a good signature of `data` by `armored_key`, else None."""
    with _scratch_home() as home:
        key = Path(home) / "key.asc"
        key.write_text(armored_key)
        base = [GPG, "--homedir", home, "--batch", "--no-autostart"]
        runner.run([*base, "--import", str(key)], capture_output=True)
        result = runner.run([*base, "--status-fd", "1", "--verify", str(signature), str(data)],
                                capture_output=True, text=True)
    for line in result.stdout.splitlines():
        fields = line.split()
        if result.returncode == 0 and fields[:2] == ["[GNUPG:]", "VALIDSIG"]:
            return fields[-1]  # the primary key's fingerprint
    return None
