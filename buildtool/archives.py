"""Which members of an archive would land or point outside the directory it is unpacked into.

Pure path logic over (name, kind, link target) triples, so tar and zip share it. A symlink is
resolved through the archive's other symlinks (`a -> .` then `b -> a/..` leaves the tree too).
"""

from __future__ import annotations

from typing import Iterable

MAX_LINK_DEPTH = 40


def unsafe_members(members: Iterable[tuple[str, str, str]]) -> list[str]:
    """'name: why' for every unsafe member; kind is file, symlink, hardlink or special."""
    members = list(members)
    links = {_key(name): target for name, kind, target in members if kind == "symlink"}
    problems = []
    for name, kind, target in members:
        why = _name_problem(name) or _link_problem(name, kind, target, links)
        if why:
            problems.append(f"{name}: {why}")
    return problems


def _name_problem(name: str) -> str | None:
    if name.startswith("/"):
        return "absolute path"
    if ".." in name.split("/"):
        return "'..' in its path"
    return None


def _link_problem(name: str, kind: str, target: str, links: dict[str, str]) -> str | None:
    if kind == "special":
        return "device, fifo or other special file"
    if kind == "hardlink":
        return _name_problem(target) and f"hard link to {target}"
    if kind != "symlink":
        return None
    if target.startswith("/"):
        return f"symlink to absolute path {target}"
    parent = _key(name).split("/")[:-1]
    if resolve(parent + target.split("/"), links) is None:
        return f"symlink to {target} leaves the archive's tree"
    return None


def resolve(parts: list[str], links: dict[str, str], depth: int = 0) -> list[str] | None:
    """The path `parts` after following the archive's symlinks; None when it leaves the tree."""
    out: list[str] = []
    for part in parts:
        if part in ("", "."):
            continue
        if part == "..":
            if not out:
                return None
            out.pop()
            continue
        out.append(part)
        target = links.get("/".join(out))
        if target is None:
            continue
        if target.startswith("/") or depth >= MAX_LINK_DEPTH:
            return None
        followed = resolve(out[:-1] + target.split("/"), links, depth + 1)
        if followed is None:
            return None
        out = followed
    return out


def _key(name: str) -> str:
    return "/".join(part for part in name.split("/") if part not in ("", "."))
