"""What the build-farm backends (Copr, Koji) share: one target's graph run on a remote farm.

A run walks the graph once: a package whose dependency failed is skipped, one the farm already
built with the same build key is reused, the others get an SRPM built here; the subclass then
submits and waits in its farm's own way.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from .. import __version__
from ..build import FAILED, SKIPPED, PackageInput, PackageOutcome, build_srpm
from ..graph import Graph
from ..layout import BuildLayout
from ..targets import TargetProfile

if TYPE_CHECKING:  # they import this module
    from .copr import CoprBackend
    from .koji import KojiBackend


class FarmRun:
    def __init__(self, backend: CoprBackend | KojiBackend, graph: Graph, target: TargetProfile,
                 layout: BuildLayout, keys: dict[str, str],
                 on_event: Callable[[str, PackageOutcome | str], None]) -> None:
        self.backend, self.graph, self.target, self.layout = backend, graph, target, layout
        self.keys, self.on_event = keys, on_event
        self.outcomes: dict[str, PackageOutcome] = {}
        self.started: dict[str, float] = {}
        self.builds = backend.builds.setdefault(target.name, {})

    def where(self) -> str:
        """The farm and its build root, for the log's first line."""
        raise NotImplementedError

    def _reuse(self, name: str) -> PackageOutcome | None:
        raise NotImplementedError

    def srpms_to_submit(self, inputs: dict[str, PackageInput]) -> dict[str, Path]:
        """Skip, reuse or make an SRPM for every package, in graph order."""
        srpms: dict[str, Path] = {}
        for name in self.graph.order():
            if broken := self._broken(name):
                self._finish(PackageOutcome(name, SKIPPED, reason=f"needs {', '.join(broken)}"))
            elif reused := self._reuse(name):
                self._finish(reused)
            elif srpm := self._srpm(name, inputs[name]):
                srpms[name] = srpm
            else:
                self._finish(PackageOutcome(name, FAILED, 0.0, [], self.layout.log(name),
                                            "SRPM failed"))
        return srpms

    def _broken(self, name: str) -> list[str]:
        return sorted(dep for dep in self.graph.deps[name] if dep in self.outcomes
                      and self.outcomes[dep].status in (FAILED, SKIPPED))

    def _finish(self, outcome: PackageOutcome) -> None:
        self.outcomes[outcome.name] = outcome
        self.on_event("done", outcome)

    def _srpm(self, name: str, item: PackageInput) -> Path | None:
        log = self.layout.log(name)
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(f"# buildtool {__version__}: {name} for {self.target.name} on "
                       f"{self.where()}\n")
        return build_srpm(item, self.target, self.layout, log)

    def _log(self, name: str, line: str) -> None:
        with self.layout.log(name).open("a") as log:
            log.write(line.rstrip("\n") + "\n")
