"""Writes the hostile archive corpus next to this file (committed; rerun to regenerate).

Each archive would, unpacked by %prep, write or point outside the build tree; tests/test_sources.py
checks that fetching each one is refused and names the offending member (MEMBER below).
"""

from __future__ import annotations

import gzip
import io
import tarfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
TOP = "pkg-1.0"

# archive name -> (members as (name, type, link target or content), the member it must name)
TARS = {
    "dotdot.tar.gz": ([(f"{TOP}/../../evil.sh", "file", "echo pwned\n")], f"{TOP}/../../evil.sh"),
    "absolute.tar.gz": ([("/etc/cron.d/evil", "file", "* * * * * root id\n")], "/etc/cron.d/evil"),
    "symlink-absolute.tar.gz": ([(f"{TOP}/shadow.conf", "symlink", "/etc/shadow")],
                                f"{TOP}/shadow.conf"),
    "symlink-escape.tar.gz": ([(f"{TOP}/up", "symlink", "../../..")], f"{TOP}/up"),
    # lexically pkg-1.0/here/../.. stays in the tree; through the link `here -> .` it leaves it
    "symlink-chain.tar.gz": ([(f"{TOP}/here", "symlink", "."), (f"{TOP}/out", "symlink",
                                                                   "here/../..")], f"{TOP}/out"),
    "hardlink-escape.tar.gz": ([(f"{TOP}/h", "hardlink", "../../etc/shadow")], f"{TOP}/h"),
    "device.tar.gz": ([(f"{TOP}/mem", "chardev", "")], f"{TOP}/mem"),
}
ZIPS = {
    "zip-slip.zip": ([("../evil.txt", "file", "pwned\n")], "../evil.txt"),
    "zip-symlink.zip": ([(f"{TOP}/shadow.conf", "symlink", "/etc/shadow")], f"{TOP}/shadow.conf"),
}
SAFE = [(f"{TOP}/data.txt", "file", "data\n"), (f"{TOP}/sub/link", "symlink", "../data.txt")]
MEMBER = {name: member for name, (_, member) in {**TARS, **ZIPS}.items()}


def tar_bytes(members) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name, kind, value in members:
            info = tarfile.TarInfo(name)
            info.mtime = 1700000000
            if kind == "file":
                info.size = len(value)
                tar.addfile(info, io.BytesIO(value.encode()))
                continue
            info.type = {"symlink": tarfile.SYMTYPE, "hardlink": tarfile.LNKTYPE,
                         "chardev": tarfile.CHRTYPE}[kind]
            info.linkname = value
            tar.addfile(info)
    packed = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=packed, mtime=0) as gz:
        gz.write(raw.getvalue())
    return packed.getvalue()


def zip_bytes(members) -> bytes:
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w") as zipped:
        for name, kind, value in members:
            info = zipfile.ZipInfo(name, date_time=(2023, 11, 14, 0, 0, 0))
            info.external_attr = (0o120777 if kind == "symlink" else 0o100644) << 16
            zipped.writestr(info, value)
    return packed.getvalue()


def main() -> None:
    for name, (members, _) in TARS.items():
        (HERE / name).write_bytes(tar_bytes(members))
    for name, (members, _) in ZIPS.items():
        (HERE / name).write_bytes(zip_bytes(members))
    (HERE / "safe.tar.gz").write_bytes(tar_bytes(SAFE))


if __name__ == "__main__":
    main()
