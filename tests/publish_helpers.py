"""Helpers for the publish/signing/rollback tests: tiny real RPMs, throwaway GPG keys, dnf in an
installroot, and a check that a snapshot's metadata still matches its files."""

from __future__ import annotations

import gzip
import hashlib
import os
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from buildtool import publish
from buildtool.signing import SigningConfig, prepare, stop_agent

REPO_NS = {"repo": "http://linux.duke.edu/metadata/repo",
           "common": "http://linux.duke.edu/metadata/common"}

SPEC = """\
Name: {name}
Version: {version}
Release: 1
Summary: tiny test package {name}
License: MIT
BuildArch: noarch
%description
A tiny package for publish tests.
%install
mkdir -p %{{buildroot}}/usr/share/{name}
echo {version} > %{{buildroot}}/usr/share/{name}/version
%files
/usr/share/{name}/version
"""


def build_rpm(name: str, version: str, out: Path) -> Path:
    """One tiny noarch RPM, built for real with rpmbuild -bb (about 0.1 s)."""
    top = out / f".top-{name}-{version}"
    (top / "SPECS").mkdir(parents=True, exist_ok=True)
    spec = top / "SPECS" / f"{name}.spec"
    spec.write_text(SPEC.format(name=name, version=version))
    subprocess.run(["rpmbuild", "-bb", "--define", f"_topdir {top}", str(spec)],
                   check=True, capture_output=True)
    built = top / "RPMS" / "noarch" / f"{name}-{version}-1.noarch.rpm"
    dest = out / version / built.name
    dest.parent.mkdir(parents=True, exist_ok=True)
    built.replace(dest)
    return dest


def build_many(count: int, version: str, out: Path, prefix: str = "bulk") -> list[Path]:
    """`count` tiny RPMs named <prefix>-NNNN from one rpmbuild call (subpackages of one spec)."""
    top = out / f".top-{prefix}-{version}"
    (top / "SPECS").mkdir(parents=True, exist_ok=True)
    lines = [f"Name: {prefix}", f"Version: {version}", "Release: 1", f"Summary: {prefix}",
             "License: MIT", "BuildArch: noarch", "%description", prefix, ""]
    names = [f"{prefix}-{i:04d}" for i in range(count)]
    for name in names:
        lines += [f"%package -n {name}", f"Summary: {name}", f"%description -n {name}", name, ""]
    lines += ["%install", f"mkdir -p %{{buildroot}}/usr/share/{prefix}"]
    lines += [f"echo {version} > %{{buildroot}}/usr/share/{prefix}/{name}" for name in names]
    lines += ["", "%files", ""]
    for name in names:
        lines += [f"%files -n {name}", f"/usr/share/{prefix}/{name}", ""]
    spec = top / "SPECS" / f"{prefix}.spec"
    spec.write_text("\n".join(lines))
    subprocess.run(["rpmbuild", "-bb", "--define", f"_topdir {top}", str(spec)],
                   check=True, capture_output=True)
    dest = out / version
    dest.mkdir(parents=True, exist_ok=True)
    rpms = []
    for name in names:
        built = top / "RPMS" / "noarch" / f"{name}-{version}-1.noarch.rpm"
        rpms.append(built.replace(dest / built.name))
    return rpms


def make_key(home: Path, uid: str = "Fuel Test <fuel-test@example.org>",
             passphrase: str = "") -> str:
    """A throwaway ed25519 signing key in `home`; returns its fingerprint."""
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    subprocess.run(["gpg", "--homedir", str(home), "--batch", "--pinentry-mode", "loopback",
                    "--passphrase", passphrase, "--quick-gen-key", uid, "ed25519", "sign", "never"],
                   check=True, capture_output=True)
    listing = subprocess.run(["gpg", "--homedir", str(home), "--with-colons", "--list-keys", uid],
                             check=True, capture_output=True, text=True).stdout
    return next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr"))


@pytest.fixture(name="gnupghome")
def gnupghome_fixture(tmp_path, monkeypatch):
    """GNUPGHOME with a passphrase-less throwaway key; its agent is stopped afterwards."""
    home = tmp_path / "gnupg"
    fingerprint = make_key(home)
    monkeypatch.setenv("GNUPGHOME", str(home))
    yield home, fingerprint
    stop_agent(home)


@pytest.fixture(name="signing")
def signing_fixture(gnupghome):
    """A Signer for the throwaway key (publish starts the signing process when it signs)."""
    _, fingerprint = gnupghome
    return prepare(SigningConfig(key_id=fingerprint))


def client_files(base_url: str, target: str = "el9") -> publish.ClientFiles:
    """The repository's own .repo/comps templates, as the pipeline builds them."""
    from buildtool import pipeline
    from buildtool.targets import load_target
    profile = load_target(pipeline.PROJECT_ROOT, target)
    return pipeline.client_files(profile, pipeline.Settings(base_url=base_url))


def checksig(rpm: Path, dbpath: Path, key: Path) -> str:
    """rpmkeys --checksig against a private rpmdb that trusts only `key` (pitfall 8)."""
    dbpath.mkdir(parents=True, exist_ok=True)
    subprocess.run(["rpmkeys", "--dbpath", str(dbpath), "--import", str(key)],
                   check=True, capture_output=True)
    result = subprocess.run(["rpmkeys", "--dbpath", str(dbpath), "--checksig", str(rpm)],
                            capture_output=True, text=True)
    return result.stdout


def repodata_problems(snapshot: Path) -> list[str]:
    """What no longer matches in a snapshot: metadata files vs repomd.xml checksums, and RPMs
    vs the checksums in primary.xml. Empty when the snapshot is intact."""
    problems = []
    repomd = ET.parse(snapshot / "repodata" / "repomd.xml").getroot()
    primary = None
    for data in repomd.findall("repo:data", REPO_NS):
        href = data.find("repo:location", REPO_NS).get("href")
        expected = data.find("repo:checksum", REPO_NS).text
        path = snapshot / href
        if not path.is_file() or _sha256(path) != expected:
            problems.append(f"{href}: checksum mismatch or missing")
        elif data.get("type") == "primary":
            primary = path
    if primary is None:
        return problems + ["no primary metadata"]
    root = ET.fromstring(gzip.decompress(primary.read_bytes()))
    listed = set()
    for package in root.findall("common:package", REPO_NS):
        href = package.find("common:location", REPO_NS).get("href")
        listed.add(href)
        path = snapshot / href
        if not path.is_file() or _sha256(path) != package.find("common:checksum", REPO_NS).text:
            problems.append(f"{href}: RPM does not match primary.xml")
    on_disk = {str(p.relative_to(snapshot)) for p in (snapshot / "Packages").glob("*.rpm")}
    if on_disk != listed:
        problems.append(f"Packages/ and primary.xml differ: {sorted(on_disk ^ listed)}")
    return problems


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class Dnf:
    """dnf against one .repo file, installing into a throwaway installroot (scripts off).

    Keys are imported by dnf itself from the gpgkey= URL into the installroot's rpmdb; the
    gpg-agents dnf starts for repo_gpgcheck are stopped by close()."""

    def __init__(self, repo_file: Path, root: Path):
        self.repo_file, self.root = repo_file, root

    def run(self, *args: str) -> subprocess.CompletedProcess:
        self.root.mkdir(parents=True, exist_ok=True)
        command = ["dnf", "-y", f"--installroot={self.root}",
                   f"--setopt=reposdir={self.repo_file.parent}", "--setopt=tsflags=noscripts",
                   "--setopt=metadata_expire=0",
                   "--releasever=9", "--disableplugin=*", *args]
        return subprocess.run(command, capture_output=True, text=True,
                              env={**os.environ, "LC_ALL": "C.UTF-8"})

    def installed(self) -> list[str]:
        """Installed packages, without the gpg-pubkey entries of imported keys."""
        return [name for name in self.rpmdb() if not name.startswith("gpg-pubkey-")]

    def rpmdb(self) -> list[str]:
        result = subprocess.run(["rpm", "--root", str(self.root), "--dbpath", "/root/.rpmdb",
                                 "-qa", "--qf", "%{NAME}-%{VERSION}\n"],
                                capture_output=True, text=True)
        return sorted(result.stdout.split())

    def close(self) -> None:
        for pubring in self.root.rglob("pubring"):
            if pubring.is_dir():
                stop_agent(pubring)
