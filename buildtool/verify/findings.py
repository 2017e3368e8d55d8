"""One problem found by a check, always tied to the package it is about."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Finding:
    check: str  # lint | closure | unverified | install | upgrade | erase
    package: str  # the RPM name the problem is about ("-" when no package can be named)
    message: str
    requirement: str = ""  # closure findings: the requirement nothing provides

    def __str__(self) -> str:
        return f"{self.check}: {self.package}: {self.message}"

    def as_json(self) -> dict[str, str]:
        data = {"check": self.check, "package": self.package, "message": self.message}
        return {**data, "requirement": self.requirement} if self.requirement else data
