"""Progress and summaries: a live status line on a terminal, plain lines otherwise, JSON for CI."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from .build import PackageOutcome


class Reporter:
    def __init__(self, stream: TextIO = sys.stderr, verbose: bool = False, quiet: bool = False):
        self.stream = stream
        self.verbose = verbose
        self.quiet = quiet
        self.live = stream.isatty() and not quiet
        self.total = 0
        self.done = 0
        self.running: list[str] = []
        self._status_shown = False

    def info(self, message: str) -> None:
        """Progress: what is happening (not with --quiet)."""
        if not self.quiet:
            self._say(message)

    def warn(self, message: str) -> None:
        """Something the user should know that does not fail the run (not with --quiet)."""
        if not self.quiet:
            self._say(message)

    def error(self, message: str) -> None:
        """What failed the run: always shown."""
        self._say(message)

    def result(self, message: str) -> None:
        """A command's final line (what it did): always shown, --quiet included."""
        self._say(message)

    def _say(self, message: str) -> None:
        self._clear()
        print(message, file=self.stream)
        self._redraw()

    def start_build(self, total: int, target: str) -> None:
        self.total, self.done, self.running = total, 0, []
        self.info(f"building {total} package(s) for {target}")

    def event(self, kind: str, payload: PackageOutcome | str) -> None:
        from .build import BUILT, CACHED, FAILED  # on use: commands that build nothing skip it

        if isinstance(payload, str):  # kind "start": the package's name
            self.running.append(payload)
            if not self.live and self.verbose:
                self.info(f"  start    {payload}")
        else:  # kind "done"
            outcome = payload
            self.done += 1
            if outcome.name in self.running:
                self.running.remove(outcome.name)
            if outcome.status != CACHED or self.verbose:
                extra = f"  {outcome.seconds:.1f}s" if outcome.status in (BUILT, FAILED) else ""
                reason = f"  ({outcome.reason})" if outcome.reason else ""
                self.info(f"[{self.done:>{len(str(self.total))}}/{self.total}] "
                          f"{outcome.status:<8} {outcome.name}{extra}{reason}")
        self._redraw()

    def _redraw(self) -> None:
        if self.live and self.running:
            text = f"[{self.done}/{self.total}] building: {', '.join(self.running)}"
            self.stream.write("\r\033[K" + text[:150])
            self.stream.flush()
            self._status_shown = True

    def _clear(self) -> None:
        if self._status_shown:
            self.stream.write("\r\033[K")
            self._status_shown = False

    def summary(self, target: str, outcomes: dict[str, PackageOutcome], seconds: float) -> None:
        """The build's table, its count line and each failure (--quiet: the last two only)."""
        from .build import BUILT, CACHED, FAILED, SKIPPED, log_tail

        self._clear()
        counts = {status: sum(o.status == status for o in outcomes.values())
                  for status in (BUILT, CACHED, FAILED, SKIPPED)}
        if not self.quiet:
            width = max([len(name) for name in outcomes] + [7])
            print(f"\n{'package':<{width}}  {'result':<8} {'time':>6}  log", file=self.stream)
            for outcome in outcomes.values():
                log = str(outcome.log) if outcome.log else "-"
                print(f"{outcome.name:<{width}}  {outcome.status:<8} {outcome.seconds:>5.1f}s  "
                      f"{log}", file=self.stream)
        print(f"{target}: " + ", ".join(f"{n} {s}" for s, n in counts.items())
              + f" in {seconds:.1f}s", file=self.stream)
        for outcome in outcomes.values():
            if outcome.status == FAILED and self.quiet:
                print(f"{outcome.name} failed: {outcome.reason}"
                      + (f"; log: {outcome.log}" if outcome.log else ""), file=self.stream)
            elif outcome.status == FAILED and outcome.log is None:
                print(f"\n{outcome.name} failed: {outcome.reason}", file=self.stream)
            elif outcome.status == FAILED:
                print(f"\n{outcome.name} failed ({outcome.reason}); last lines of {outcome.log}:",
                      file=self.stream)
                for line in log_tail(outcome.log):
                    print(f"  | {line}", file=self.stream)


def silent() -> Reporter:
    """A reporter that tells nobody (a build the user did not ask for, e.g. verify's next one)."""
    return Reporter(io.StringIO())


def outcome_json(outcome: PackageOutcome) -> dict[str, Any]:
    return {"status": outcome.status, "seconds": round(outcome.seconds, 3),
            "rpms": [str(p) for p in outcome.rpms], "log": str(outcome.log) if outcome.log else None,
            "reason": outcome.reason or None,
            "srpm": str(outcome.srpm) if outcome.srpm else None}


JSON_SCHEMA_VERSION = 2  # of every --json document; bump on an incompatible change


def write_json(summary: dict[str, Any], stream: TextIO = sys.stdout) -> None:
    document = {"schema_version": JSON_SCHEMA_VERSION, **summary}
    json.dump(document, stream, indent=2, default=lambda value: str(value)
              if isinstance(value, Path) else value)
    stream.write("\n")
