"""Pipeline benchmarks (issue: the pipeline). Prints figures; asserts nothing.

1. no-op `buildtool repo` on the default manifest (everything cached)     target: < 2 s wall
2. load + validate + plan + render a synthetic 500-package manifest         target: < 3 s
3. N independent tiny packages, `buildtool build -j 2` versus the same
   specs built by raw `rpmbuild -bb`, two at a time                         target: overhead <= 15 %

Run: .venv/bin/python bench/bench_pipeline.py [--packages 500] [--tiny 40]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from buildtool import layout, pipeline  # noqa: E402
from buildtool.backends.rpmbuild import build_environment  # noqa: E402


def buildtool(*args: str, env: dict | None = None) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "buildtool", *args], cwd=ROOT, check=True, env=env,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def bench_noop_repo(workdir: Path) -> None:
    dirs = ["--build-dir", str(workdir / "build"), "--dist-dir", str(workdir / "dist")]
    first = buildtool("repo", "--backend", "rpmbuild", *dirs)
    runs = [buildtool("repo", "--backend", "rpmbuild", *dirs) for _ in range(5)]
    print(f"no-op repo, default manifest: first build {first:.2f} s; cached runs "
          f"median {statistics.median(runs):.2f} s, max {max(runs):.2f} s  (target < 2 s)")


def synthetic_manifest(directory: Path, count: int, with_services: bool = True) -> Path:
    src = directory / "src"
    src.mkdir(parents=True, exist_ok=True)
    (src / "tool").write_text("#!/bin/sh\necho tool\n")
    lines = ["schema: 1", "packages:"]
    for i in range(count):
        needs = f"    requires: [pkg{i - 1:04d}]\n" if i % 10 and with_services else ""
        lines.append(f"""\
  pkg{i:04d}:
    version: "1.{i}"
    kind: files
    summary: Synthetic package {i}
    description: Synthetic package number {i} for the benchmark.
    source: {{path: src}}
{needs}    install:
      - {{src: tool, dest: /usr/share/bench/pkg{i:04d}/tool, mode: "0755"}}""")
        if with_services and i % 5 == 0:
            lines.append(f"""\
    users: [{{name: svc{i:04d}}}]
    services:
      - {{name: svc{i:04d}, description: Service {i}, exec_start: /usr/bin/true, user: svc{i:04d}}}
    config_files:
      - {{dest: /etc/bench/svc{i:04d}.conf, content: "x: {i}", mode: "0640", group: svc{i:04d}}}
    directories:
      - {{path: /var/lib/svc{i:04d}, owner: svc{i:04d}, group: svc{i:04d}, mode: "0750"}}""")
    path = directory / "manifest.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def bench_render(workdir: Path, count: int) -> None:
    manifest = synthetic_manifest(workdir / "render", count)
    timings = []
    for run in range(3):
        started = time.perf_counter()
        settings = pipeline.Settings(manifest=manifest, build_dir=workdir / f"render-build{run}")
        planned = pipeline.plan_run(settings)
        pipeline.render(planned.manifest, planned.targets[0], settings, planned.graph)
        timings.append(time.perf_counter() - started)
    print(f"load+validate+plan+render, {count} packages: median {statistics.median(timings):.2f} s"
          f" (runs: {', '.join(f'{t:.2f}' for t in timings)})  (target < 3 s)")


def bench_build_overhead(workdir: Path, count: int) -> None:
    manifest = synthetic_manifest(workdir / "tiny", count, with_services=False)
    env = dict(os.environ, BUILDTOOL_CACHE=str(workdir / "cache"))
    build_dir = workdir / "tiny-build"
    ours = buildtool("build", "-m", str(manifest), "--backend", "rpmbuild", "-j", "2",
                     "--build-dir", str(build_dir), env=env)
    where = layout.target_build(build_dir, "el9")
    specs = sorted(where.specs.glob("*.spec"))
    target = pipeline.plan_run(pipeline.Settings(manifest=manifest)).targets[0]

    def raw_build(spec: Path) -> None:
        # the very command line and environment buildtool's rpmbuild backend uses
        with tempfile.TemporaryDirectory() as top:
            subprocess.run(["rpmbuild", "-bb", "--nodeps", "--define", f"_topdir {top}",
                            "--define", f"_sourcedir {where.sources(spec.stem)}",
                            *target.rpm_args(), str(spec)], env=build_environment(1700000000),
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(raw_build, specs))
    raw = time.perf_counter() - started
    print(f"{count} tiny packages, -j 2: buildtool build {ours:.2f} s, raw rpmbuild -bb 2-wide "
          f"{raw:.2f} s, overhead {100 * (ours / raw - 1):+.1f} %  (target <= +15 %)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--packages", type=int, default=500)
    parser.add_argument("--tiny", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="buildtool-bench-") as tmp:
        workdir = Path(tmp)
        bench_noop_repo(workdir)
        bench_render(workdir, args.packages)
        bench_build_overhead(workdir, args.tiny)


if __name__ == "__main__":
    main()
