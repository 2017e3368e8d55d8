"""What a staged snapshot must pass before it becomes current.

1. The metadata is whole: every file repomd.xml names exists with its checksum, and every RPM
   primary.xml lists is on disk with the size and checksum it lists (createrepo_c exits 0 even
   when it ran out of space or inodes halfway).
2. One key throughout: RPM signatures, repomd.xml.asc, the published key and the key fuel-release
   ships all name the publishing key (or, unsigned, none does).

Each check raises StageFailed with one line: what is wrong and the command that fixes it.
"""

from __future__ import annotations

import gzip
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from . import gpg, runner
from .digests import file_digest
from .errors import StageFailed
from .tooloutput import last_line

if TYPE_CHECKING:  # imported where parsed: ~10 ms that validate and --help do not pay
    import xml.etree.ElementTree as ET

REPO = "{http://linux.duke.edu/metadata/repo}"
# createrepo_c's layout of one package in primary.xml: checksum, ..., size, location (element
# text is escaped, so no "<size" can hide in a description)
PRIMARY_COUNT = re.compile(rb'<metadata [^>]*packages="(\d+)"')
PRIMARY_RPM = re.compile(rb'<package type="rpm">.*?<checksum type="([\w-]+)" pkgid="YES">'
                         rb'([0-9a-fA-F]+)</checksum>.*?<size package="(\d+)"[^>]*/>\s*'
                         rb'<location (?:xml:base="[^"]*" )?href="([^"]+)"', re.S)
PRIMARY_LOCATION = re.compile(rb'<location (?:xml:base="[^"]*" )?href="([^"]+)"')
UNCHANGED = "the current snapshot is unchanged"


@dataclass(frozen=True)
class ListedRpm:
    href: str  # Packages/<file>
    size: int
    checksum_type: str
    checksum: str


@dataclass(frozen=True)
class Primary:
    rpms: list[ListedRpm]
    text: bytes  # primary.xml

    def shipping(self, path: str) -> list[str]:
        """hrefs of the packages whose file list has `path` (primary.xml lists /etc and bin)."""
        from xml.sax.saxutils import escape, unescape  # it imports urllib: for publish only

        hrefs, needle = [], f"<file>{escape(path)}</file>".encode()
        start = self.text.find(needle)
        while start >= 0:
            package = self.text.rfind(b"<package ", 0, start)
            location = PRIMARY_LOCATION.search(self.text, package)
            assert location is not None, "_primary matched every package's location"
            hrefs.append(unescape(location.group(1).decode()))
            start = self.text.find(needle, start + 1)
        return hrefs


def refuse(snapshot: Path, problem: str, hint: str = UNCHANGED) -> StageFailed:
    return StageFailed(f"snapshot {snapshot.name} refused: {problem}", hint)


def check_metadata(snapshot: Path, on_disk: dict[str, tuple[int, str]]) -> Primary:
    """Check repodata against repomd.xml and `on_disk` (file under Packages/ -> size, sha256)
    against primary.xml; return what primary.xml lists."""
    primary = None
    for data_type, href, checksum_type, checksum in _repomd_entries(snapshot):
        path = snapshot / href
        if not path.is_file():
            raise refuse(snapshot, f"{href} is missing (repomd.xml lists it)",
                         f"is the disk full? {UNCHANGED}")
        if file_digest(path, checksum_type) != checksum:
            raise refuse(snapshot, f"{href} does not match its checksum in repomd.xml "
                         "(truncated or changed)", f"is the disk full? {UNCHANGED}")
        if data_type == "primary":
            primary = path
    if primary is None:
        raise refuse(snapshot, "repomd.xml lists no primary metadata")
    listed = _primary(snapshot, primary)
    _check_rpms(snapshot, listed.rpms, on_disk)
    return listed


def check_signing(snapshot: Path, *, fingerprint: str | None, key_option: str,
                  public_key: str, new_signed: list[Path], releases: list[Path],
                  key_path: str) -> None:
    """One key throughout. `new_signed`: RPMs signed by this publish (the others were checked
    when first published); `releases`: new RPMs that ship the repository key at `key_path`."""
    repomd = snapshot / "repodata" / "repomd.xml"
    signature = repomd.with_name("repomd.xml.asc")
    if fingerprint:
        if gpg.fingerprints_of(public_key) != [fingerprint]:
            raise refuse(snapshot, f"the published key is not {fingerprint}")
        if gpg.detached_signer(signature, repomd, public_key) != fingerprint:
            raise refuse(snapshot, f"repodata/repomd.xml.asc is not a good signature by "
                         f"{fingerprint}", f"run the publish again; {UNCHANGED}")
        _check_rpm_signatures(snapshot, new_signed, public_key, fingerprint)
    elif signature.exists():
        raise refuse(snapshot, "unsigned publish, yet repodata/repomd.xml.asc exists")
    for rpm in releases:
        _check_release_key(snapshot, rpm, key_path, fingerprint, key_option)


def _repomd_entries(snapshot: Path) -> list[tuple[str, str, str, str]]:
    import xml.etree.ElementTree as ET  # here: commands that publish nothing do not pay for it

    try:
        root = ET.parse(snapshot / "repodata" / "repomd.xml").getroot()
        entries = []
        for data in root.iter(f"{REPO}data"):
            checksum, location = _child(data, "checksum"), _child(data, "location")
            entries.append((_given(data.get("type"), "data type"),
                            _given(location.get("href"), "location href"),
                            _given(checksum.get("type"), "checksum type"),
                            _given(checksum.text, "checksum")))
        return entries
    except (OSError, ET.ParseError, ValueError) as error:
        raise refuse(snapshot, f"repodata/repomd.xml is unreadable ({error})",
                     f"is the disk full? {UNCHANGED}") from None


def _child(data: ET.Element, name: str) -> ET.Element:
    child = data.find(f"{REPO}{name}")
    if child is None:
        raise ValueError(f"a {name} is missing")
    return child


def _given(value: str | None, what: str) -> str:
    if value is None:
        raise ValueError(f"a {what} is missing")
    return value


def _primary(snapshot: Path, primary: Path) -> Primary:
    """What primary.xml lists. Read with a pattern of createrepo_c's fixed layout, not an XML
    parser: parsing 1,000 packages costs ~100 ms, more than all the rest of the checks. The count
    must match the document's own `packages` attribute, so an unknown layout is refused."""
    try:
        text = gzip.decompress(primary.read_bytes())
        count = PRIMARY_COUNT.search(text)
        if count is None:
            raise ValueError("no packages count")
        declared = int(count.group(1))
    except (OSError, EOFError, AttributeError, ValueError) as error:
        raise refuse(snapshot, f"{primary.relative_to(snapshot)} is unreadable ({error})",
                     f"is the disk full? {UNCHANGED}") from None
    from xml.sax.saxutils import unescape

    rpms = [ListedRpm(unescape(href.decode()), int(size), kind.decode(), checksum.decode())
            for kind, checksum, size, href in PRIMARY_RPM.findall(text)]
    if len(rpms) != declared:
        raise refuse(snapshot, f"{primary.relative_to(snapshot)} lists {declared} packages, "
                     f"{len(rpms)} of them readable")
    return Primary(rpms, text)


def _check_rpms(snapshot: Path, listed: list[ListedRpm], on_disk: dict[str, tuple[int, str]]
                ) -> None:
    hrefs = set()
    for rpm in listed:
        hrefs.add(rpm.href)
        name = rpm.href.removeprefix("Packages/")
        if name not in on_disk:
            raise refuse(snapshot, f"{rpm.href} is listed in primary.xml but missing")
        size, sha256 = on_disk[name]
        digest = sha256 if rpm.checksum_type == "sha256" else \
            file_digest(snapshot / rpm.href, rpm.checksum_type)
        if size != rpm.size or digest != rpm.checksum:
            raise refuse(snapshot, f"{rpm.href} does not match primary.xml "
                         f"({'size' if size != rpm.size else rpm.checksum_type} differs)")
    unlisted = sorted(f"Packages/{name}" for name in on_disk if f"Packages/{name}" not in hrefs)
    if unlisted:
        raise refuse(snapshot, f"{unlisted[0]} is not in primary.xml "
                     f"({len(unlisted)} RPM(s) unlisted)", f"is the disk full? {UNCHANGED}")


def _check_rpm_signatures(snapshot: Path, rpms: list[Path], public_key: str,
                          fingerprint: str) -> None:
    """rpmkeys --checksig against an rpmdb that trusts the published key only."""
    if not rpms:
        return
    with tempfile.TemporaryDirectory(prefix="buildtool-rpmdb-") as dbpath:
        key = Path(dbpath) / "key.asc"
        key.write_text(public_key)
        base = ["rpmkeys", "--dbpath", dbpath]
        runner.run([*base, "--import", str(key)], capture_output=True)
        result = runner.run([*base, "--checksig", *map(str, rpms)], capture_output=True,
                                text=True)
    good = {line.split(":")[0] for line in result.stdout.splitlines()
            if line.rstrip().endswith("signatures OK")}
    bad = [rpm for rpm in rpms if str(rpm) not in good]
    if bad:
        raise refuse(snapshot, f"Packages/{bad[0].name} has no good signature by {fingerprint} "
                     f"({len(bad)} RPM(s))", f"run the publish again; {UNCHANGED}")


def _check_release_key(snapshot: Path, rpm: Path, key_path: str, fingerprint: str | None,
                       key_option: str) -> None:
    shipped = gpg.fingerprints_of(_file_in_rpm(rpm, key_path))
    if shipped == ([fingerprint] if fingerprint else []):
        return
    ships = f"ships key {', '.join(shipped)}" if shipped else "ships no key (built unsigned)"
    if fingerprint:
        raise refuse(snapshot, f"{rpm.name} {ships} but this snapshot is signed by {fingerprint}",
                     f"rebuild it with the publishing key: buildtool repo {key_option}")
    raise refuse(snapshot, f"{rpm.name} {ships} but this publish is unsigned",
                 f"publish with that key: buildtool publish --sign-key {shipped[0]} "
                 "(or rebuild without --sign-key)")


def _file_in_rpm(rpm: Path, path: str) -> str:
    payload = runner.popen(["rpm2cpio", str(rpm)], stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL)
    cpio = runner.run(["cpio", "-i", "--quiet", "--to-stdout", f".{path}"],
                          stdin=payload.stdout, capture_output=True)
    assert payload.stdout is not None, "stdout=PIPE"
    payload.stdout.close()
    if payload.wait() != 0 or cpio.returncode != 0:
        raise StageFailed(f"cannot read {path} from {rpm.name}: {last_line(cpio.stderr.decode())}")
    return cpio.stdout.decode(errors="replace")
