"""What the build sandbox costs (issue 11: build overhead vs raw rpmbuild <= +5 %). Prints figures.

1. bwrap start-up alone: `true` wrapped exactly as a build is, versus `true`.
2. Paired rounds, one build at a time, the same spec built by the rpmbuild backend without and
   with the sandbox (alternating which goes first): tiny `files` packages and a real Python sdist
   (python3-fuelclient from the default manifest, from the lookaside cache).

Run: .venv/bin/python bench/bench_sandbox.py [--rounds 15]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from synthetic import synthetic_manifest  # noqa: E402

from buildtool import pipeline, sandbox  # noqa: E402
from buildtool.backends import BuildRequest  # noqa: E402
from buildtool.backends.rpmbuild import RpmbuildBackend  # noqa: E402


def bench_startup(box: sandbox.Sandbox, runs: int = 50) -> float:
    def timed(args: list[str]) -> float:
        started = time.perf_counter()
        subprocess.run(args, check=True)
        return time.perf_counter() - started

    with tempfile.TemporaryDirectory() as tree:
        wrapped = box.command(["true"], writable=(Path(tree),))
        bare = statistics.median(timed(["true"]) for _ in range(runs))
        boxed = statistics.median(timed(wrapped) for _ in range(runs))
    cost = boxed - bare
    print(f"bwrap start-up: `true` {bare * 1000:.1f} ms, sandboxed {boxed * 1000:.1f} ms: "
          f"+{cost * 1000:.1f} ms per sandboxed command")
    return cost


def prepared(manifest: Path, work: Path, only: list[str]) -> tuple[list, object]:
    """Render and fetch like `buildtool build` does; the inputs of the backend."""
    settings = pipeline.Settings(manifest=manifest, build_dir=work, only=only)
    planned = pipeline.plan_run(settings)
    target = planned.targets[0]
    rendered = pipeline.render(planned.manifest, target, settings, planned.graph)
    pipeline.fetch_sources(planned.manifest, rendered, target, settings)
    return list(rendered.values()), target


def build_once(backend: RpmbuildBackend, item, target, work: Path) -> float:
    with tempfile.TemporaryDirectory(dir=work) as out:
        request = BuildRequest(item.name, None, item.spec, item.sources_dir, target,
                               Path(out) / "rpms", Path(out) / "log", 1700000000, None)
        started = time.perf_counter()
        result = backend.build(request)
        seconds = time.perf_counter() - started
        if not result.ok:
            raise SystemExit(f"{item.name}: build failed: {request.log.read_text()[-2000:]}")
        return seconds


def paired(label: str, items: list, target, box: sandbox.Sandbox, rounds: int, work: Path):
    plain, boxed = RpmbuildBackend(), RpmbuildBackend()
    boxed.sandbox = box
    times = {"plain": [], "sandboxed": []}
    for round_number in range(rounds):
        order = [("plain", plain), ("sandboxed", boxed)]
        for name, backend in order if round_number % 2 == 0 else order[::-1]:
            times[name].append(sum(build_once(backend, item, target, work) for item in items))
    # The median of the per-round differences resists the load of a shared machine better than
    # the difference of medians; the fastest rounds are the least disturbed ones.
    extra = statistics.median(b - a for a, b in zip(times["plain"], times["sandboxed"],
                                                          strict=True))
    raw = statistics.median(times["plain"])
    fastest = min(times["sandboxed"]) / min(times["plain"]) - 1
    print(f"{label}: {len(items)} build(s) per round, {rounds} paired rounds: median without "
          f"sandbox {raw:.3f} s; sandbox adds {extra * 1000 / len(items):+.1f} ms per build, "
          f"{100 * extra / raw:+.1f} % (fastest rounds: {100 * fastest:+.1f} %)  (target <= +5 %)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--tiny", type=int, default=10)
    args = parser.parse_args()
    box = sandbox.create(True, print)
    print(f"sandbox: {'as user ' + box.user.name if box.user else 'user namespace'}; "
          f"bwrap {subprocess.run([box.bwrap, '--version'], capture_output=True, text=True).stdout.split()[-1]}")
    bench_startup(box)
    with tempfile.TemporaryDirectory(prefix="buildtool-bench-sandbox-") as tmp:
        work = Path(tmp)
        tiny, target = prepared(synthetic_manifest(work / "tiny", args.tiny, "flat"),
                                work / "tiny-build", [])
        paired("tiny files packages", tiny, target, box, args.rounds, work)
        python, target = prepared(ROOT / "fuel.yaml", work / "py-build", ["python3-fuelclient"])
        paired("python3-fuelclient (sdist, setup.py build + install)",
               [item for item in python if item.name == "python3-fuelclient"], target, box,
               args.rounds, work)


if __name__ == "__main__":
    main()
