"""Where each value of a loaded YAML document came from: the light half of yamlpos, for the
modules that report located errors or keep positions without loading any YAML themselves."""

from __future__ import annotations

from dataclasses import dataclass, field

KeyPath = tuple[str | int, ...]  # e.g. ("packages", "nailgun", "services", 0, "user")


@dataclass
class Positions:
    """Where each key path of a loaded document sits in its file."""

    filename: str
    marks: dict[KeyPath, tuple[int, int]] = field(default_factory=dict)
    # plain scalars that are not the text written: path -> (text written, what YAML reads)
    not_text: dict[KeyPath, tuple[str, str]] = field(default_factory=dict)

    def at(self, path: KeyPath) -> str:
        """`file:line:col` of the nearest known ancestor of `path`."""
        path = tuple(path)
        while path not in self.marks and path:
            path = path[:-1]
        line, col = self.marks.get(path, (1, 1))
        return f"{self.filename}:{line}:{col}"


def format_path(path: KeyPath) -> str:
    """("packages", "x", "services", 0, "user") -> "packages.x.services[0].user"."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text
