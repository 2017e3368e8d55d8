"""File digests, shared by the stages that hash files (sources, publish, the snapshot check)."""

from __future__ import annotations

import hashlib
from pathlib import Path


def file_digest(path: str | Path, kind: str = "sha256") -> str:
    """Hex digest of a file's bytes; `kind` as repodata names it ("sha" is SHA-1)."""
    digest = hashlib.new("sha1" if kind == "sha" else kind)
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def file_sha256(path: str | Path) -> str:
    return file_digest(path)
