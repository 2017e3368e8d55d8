"""The verify report: a summary table per target and the findings, or the same as JSON for CI."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from .findings import Finding
from .installtest import FAILED, Phase

OLD_DOCKER_IMAGES_RPM_BYTES = 300 * 1000 * 1000  # the Docker-era `docker-images` RPM alone


@dataclass
class TargetReport:
    target: str
    repository: Path
    packages: list[str]
    size_bytes: int
    lint_errors: list[Finding]
    lint_warnings: list[Finding]
    unresolved: list[Finding]
    unverified: list[Finding] = field(default_factory=list)  # satisfied by a citation only
    phases: list[Phase] = field(default_factory=list)
    # distribution packages `dnf install` pulled
    pulled: list[dict[str, str | None]] = field(default_factory=list)
    unavailable: dict[str, str] = field(default_factory=dict)  # what the target lacks, and why
    not_runnable: dict[str, str] = field(default_factory=dict)  # RPM name -> why (runnable.py)
    data_file: Path | None = None
    seconds: float = 0.0
    work: Path | None = None

    @property
    def ok(self) -> bool:
        # a phase skipped on purpose (--no-upgrade) is no failure; one skipped after a failed
        # install comes with that failure
        return (not self.lint_errors and not self.unresolved
                and all(phase.status != FAILED for phase in self.phases))

    def phase(self, name: str) -> Phase:
        return next(p for p in self.phases if p.name == name)

    def findings(self) -> list[Finding]:
        return [*self.lint_errors, *self.unresolved,
                *(f for phase in self.phases for f in phase.findings)]


def size_text(size: int) -> str:
    share = size / OLD_DOCKER_IMAGES_RPM_BYTES * 100
    return f"{size / 1e6:.2f} MB ({share:.2f}% of the old 300 MB docker-images RPM)"


def print_report(reports: list[TargetReport], stream: TextIO, quiet: bool = False) -> None:
    """The table and every finding; `quiet`: only the failures and each target's verdict."""
    if quiet:
        for report in reports:
            for finding in report.findings():
                print(f"{report.target}: FAIL {finding}", file=stream)
            print(f"{report.target}: {_verdict(report)}", file=stream)
        return
    _print_table(reports, stream)
    for report in reports:
        _print_details(report, stream)


def _print_table(reports: list[TargetReport], stream: TextIO) -> None:
    header = ("target", "packages", "lint E/W", "unresolved", "unverified", "install", "upgrade",
              "erase", "size")
    rows = [(r.target, str(len(r.packages)), f"{len(r.lint_errors)}/{len(r.lint_warnings)}",
             str(len(r.unresolved)), str(len(r.unverified)), r.phase("install").status, r.phase("upgrade").status,
             r.phase("erase").status, f"{r.size_bytes / 1e6:.2f} MB") for r in reports]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip(),
              file=stream)


def _print_details(report: TargetReport, stream: TextIO) -> None:
    print(f"\n{report.target}: {report.repository}: {size_text(report.size_bytes)}; "
          f"verified in {report.seconds:.1f}s", file=stream)
    for finding in report.findings():
        print(f"  FAIL {finding}", file=stream)
    for warning in report.lint_warnings:
        print(f"  warn {warning}", file=stream)
    for finding in report.unverified:
        print(f"  unverified {finding.package}: {finding.message}", file=stream)
    for name, why in report.not_runnable.items():
        print(f"  not runnable {name}: {why}", file=stream)
    for phase in report.phases:
        for note in phase.notes:
            print(f"  note {phase.name}: {note}", file=stream)
    print(f"{report.target}: {_verdict(report)}", file=stream)


def _verdict(report: TargetReport) -> str:
    return "ok" if report.ok else (f"FAILED ({len(report.findings())} problem(s); "
                                   f"work directory {report.work})")


def report_json(reports: list[TargetReport]) -> dict[str, Any]:
    return {"ok": all(r.ok for r in reports), "targets": {r.target: _target_json(r)
                                                          for r in reports}}


def _target_json(report: TargetReport) -> dict[str, Any]:
    return {
        "ok": report.ok,
        "repository": str(report.repository),
        "packages": report.packages,
        "size_bytes": report.size_bytes,
        "size_vs_docker_images_rpm": round(report.size_bytes / OLD_DOCKER_IMAGES_RPM_BYTES, 6),
        "lint": {"errors": [f.as_json() for f in report.lint_errors],
                 "warnings": [f.as_json() for f in report.lint_warnings]},
        "unresolved": [f.as_json() for f in report.unresolved],
        "unverified": [f.as_json() for f in report.unverified],
        "not_runnable": report.not_runnable,
        "distribution": {"data_file": str(report.data_file) if report.data_file else None,
                         "pulled": report.pulled, "unavailable": report.unavailable},
        "phases": {p.name: {"status": p.status, "findings": [f.as_json() for f in p.findings],
                            "notes": p.notes} for p in report.phases},
        "seconds": round(report.seconds, 3),
    }
