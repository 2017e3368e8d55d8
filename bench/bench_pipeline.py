"""Every row of the performance table (issue 13) in one run: a table on stdout, build/bench.json.

| row | measures | goal |
|---|---|---|
| startup imports | buildtool modules imported by `--help` / `validate` (python -X importtime) | <= 0.15 s |
| noop-fuel | `buildtool repo` on fuel.yaml, everything cached, whole process | <= 0.3 s |
| noop-1000, noop-5000 | the same on synthetic manifests (bench/synthetic.py) | <= 1.5 s, 7.5 s |
| validate 6000/1500 | in-process load + validate, ratio of the two sizes (8,000 exceed the node bound) | <= 4.5 |
| render-500 | in-process load + validate + plan + render of 500 packages | <= 1 s |
| build-200 | cold `buildtool build -j 2` of 200 tiny packages vs `xargs -P2 rpmbuild -bb` | <= +5 % |
| publish (in-process, CLI) | run by bench_publish.py, added to the same table | <= 1.1x, 1.5x |

Two notes give the floor under a goal, what the raw tools alone take for what buildtool must do
beyond them: for build-200, the backend's own sandboxed `rpmbuild -ba` (bwrap, setpriv, the SRPM)
run by xargs against the same raw builds; for publish, an atomic snapshot made by raw tools (cp
-al of the current snapshot, createrepo_c --update, mv, rm -rf of the oldest) against the same
update in place.

The machine is shared: each figure is the median of several runs, and each comparison with a raw
tool is the median of A/B pairs run back to back. The synthetic no-op trees are built once and
kept in build/bench/noop-N/ (the first build takes about 2 minutes for 1,000 tiny packages and
about 10 for 5,000 on 2 cores). buildtool is byte-compiled first, as an installed package is.
Asserts nothing; exit status 1 when a row misses its goal.

Run: .venv/bin/python bench/bench_pipeline.py [--sizes 13,1000,5000] [--rounds 5] [--skip ROW]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from synthetic import synthetic_manifest  # noqa: E402

from buildtool import layout  # noqa: E402

BUILDTOOL = [sys.executable, "-m", "buildtool"]
BENCH_DIR = ROOT / "build" / "bench"


@dataclass
class Row:
    name: str
    figure: float  # what the goal is about: seconds, a ratio or an overhead
    goal: float
    unit: str  # "s", "x" (ratio) or "%"
    ours: float | None = None  # seconds, when a raw tool ran on the same inputs
    raw: float | None = None
    note: str = ""

    @property
    def ok(self) -> bool:
        return self.figure <= self.goal


def run(args: list[str], env: dict | None = None, cwd: Path = ROOT) -> float:
    started = time.perf_counter()
    subprocess.run(args, cwd=cwd, check=True, env=env, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def paired(ours, raw, rounds: int) -> tuple[float, float, float]:
    """Median of `ours`, of `raw` and of the ratios pair by pair (alternating which runs first)."""
    pairs = []
    for round_ in range(rounds):
        if round_ % 2:
            r = raw()
            o = ours()
        else:
            o = ours()
            r = raw()
        pairs.append((o, r))
    return (statistics.median(o for o, _ in pairs), statistics.median(r for _, r in pairs),
            statistics.median(o / r for o, r in pairs))


def import_seconds(*command: str) -> float:
    """Cumulative import time of the buildtool package for `buildtool COMMAND` (-X importtime):
    the median of 5 runs."""
    times = []
    for _ in range(5):
        result = subprocess.run([sys.executable, "-X", "importtime", "-m", "buildtool", *command],
                                cwd=ROOT, capture_output=True, text=True)
        total = 0
        for line in result.stderr.splitlines():
            match = re.match(r"import time:\s+\d+ \|\s+(\d+) \|( *)(\S+)", line)
            # what the program imports: the top-level entries runpy makes for `-m buildtool`
            # (their cumulative column includes everything below them), not the interpreter's
            if match and match.group(2) == " " and match.group(3).startswith("buildtool"):
                total += int(match.group(1))
        times.append(total / 1e6)
    return statistics.median(times)


def bench_startup() -> list[Row]:
    manifest = ROOT / "fuel.yaml"
    return [Row("imports: --help", import_seconds("--help"), 0.15, "s"),
            Row("imports: validate", import_seconds("validate", "-m", str(manifest)), 0.15, "s")]


def noop_tree(count: int) -> tuple[list[str], dict]:
    """Arguments of a no-op `buildtool repo` for a synthetic manifest of `count` packages (or
    fuel.yaml for 13), built once and kept; the environment with its private source cache."""
    work = BENCH_DIR / f"noop-{count}"
    env = dict(os.environ, BUILDTOOL_CACHE=str(work / "cache"))
    manifest = ROOT / "fuel.yaml" if count == 13 else work / "manifest.yaml"
    if count != 13 and not manifest.is_file():
        synthetic_manifest(work, count, "services")
    args = [*BUILDTOOL, "repo", "-m", str(manifest), "--backend", "rpmbuild", "-j", "2",
            "--build-dir", str(work / "build"), "--dist-dir", str(work / "dist")]
    started = time.perf_counter()
    subprocess.run(args, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)  # builds what is missing; a no-op when kept
    print(f"  noop-{count}: tree ready in {time.perf_counter() - started:.1f} s", flush=True)
    return args, env


def bench_noop(count: int, rounds: int) -> Row:
    args, env = noop_tree(count)
    runs = [run(args, env) for _ in range(rounds)]
    goal = {13: 0.3, 1000: 1.5, 5000: 7.5}.get(count, 1.5 * count / 1000)
    name = "noop-fuel (13)" if count == 13 else f"noop-{count}"
    return Row(name, statistics.median(runs), goal, "s",
               note=f"min {min(runs):.2f} max {max(runs):.2f}")


def in_process_load(manifest: Path, build_dir: Path, render: bool) -> float:
    """CPU seconds of load + validate (+ plan + render) in a fresh interpreter, the median of 3:
    CPU time, not wall, because other processes on a shared machine stretch wall time. The
    validated manifest kept from the run before is removed first: this row is about validating."""
    code = ("import sys, time; from pathlib import Path; from buildtool import pipeline\n"
            "s = pipeline.Settings(manifest=Path(sys.argv[1]), build_dir=Path(sys.argv[2]))\n"
            "t = time.process_time(); m, targets = pipeline.load(s)\n"
            "if sys.argv[3] == '1':\n"
            "    pipeline.render(m, targets[0], s, pipeline.plan_graph(m, s))\n"
            "print(time.process_time() - t)\n")
    times = []
    for _ in range(3):
        shutil.rmtree(layout.parsed_inputs(build_dir), ignore_errors=True)
        result = subprocess.run([sys.executable, "-c", code, str(manifest), str(build_dir),
                                 "1" if render else "0"], cwd=ROOT, capture_output=True, text=True)
        if result.returncode != 0:
            raise SystemExit(f"{manifest}: {result.stderr.strip().splitlines()[-1]}")
        times.append(float(result.stdout))
    return statistics.median(times)


def bench_validate(work: Path) -> Row:
    # 6,000 vs 1,500, not 8,000 vs 2,000: a synthetic package is ~25 YAML values and
    # 8,000 of them exceed the manifest's bound of 200,000 (yamlpos.MAX_NODES)
    small = in_process_load(synthetic_manifest(work / "v1500", 1500, "chain"), work / "b", False)
    large = in_process_load(synthetic_manifest(work / "v6000", 6000, "chain"), work / "b", False)
    return Row("validate 6000/1500", large / small, 4.5, "x", ours=large, raw=small,
               note=f"{large:.2f} s vs {small:.2f} s")


def bench_render(work: Path) -> Row:
    seconds = in_process_load(synthetic_manifest(work / "r500", 500), work / "render-build", True)
    return Row("render-500", seconds, 1.0, "s")


def bench_build_overhead(work: Path, count: int, rounds: int) -> Row:
    """Cold builds: buildtool build -j 2 from scratch versus the same specs and sources built by
    `xargs -P2 rpmbuild -bb` with the very command line and environment of the backend."""
    from buildtool import pipeline
    from buildtool.backends.rpmbuild import build_environment

    manifest = synthetic_manifest(work / "tiny", count, "flat")
    env = dict(os.environ, BUILDTOOL_CACHE=str(work / "cache"))
    build_dir = work / "tiny-build"
    ours_args = [*BUILDTOOL, "build", "-m", str(manifest), "--backend", "rpmbuild", "-j", "2",
                 "--build-dir", str(build_dir)]
    run(ours_args, env)  # renders the specs and fetches the sources the raw builds use
    target = pipeline.load(pipeline.Settings(manifest=manifest))[1][0]
    specs = sorted(layout.target_build(build_dir, "el9").specs.glob("*.spec"))
    raw_script = ('spec="$1"; top=$(mktemp -d); rpmbuild -bb --nodeps --define "_topdir $top" '
                  '--define "_sourcedir $(dirname "$spec")/../SOURCES/$(basename "$spec" .spec)" '
                  f'{shlex.join(target.rpm_args())} "$spec"; status=$?; rm -rf "$top"; '
                  'exit $status')
    raw_env = build_environment(1700000000)

    def cold(args: list[str]) -> float:
        shutil.rmtree(build_dir / "el9" / "rpms", ignore_errors=True)
        shutil.rmtree(build_dir / "el9" / "state", ignore_errors=True)
        return run(args, env)

    def ours() -> float:
        return cold(ours_args)

    def ours_unconfined() -> float:
        return cold([*ours_args, "--no-sandbox"])

    def raw() -> float:
        started = time.perf_counter()
        subprocess.run(["xargs", "-0", "-P2", "-n1", "sh", "-c", raw_script, "raw"],
                       input=b"\0".join(str(spec).encode() for spec in specs), env=raw_env,
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return time.perf_counter() - started

    floor_scripts = sandboxed_build_scripts(specs, target, build_dir, work / "floor")

    def floor() -> float:
        """The backend's own sandboxed `rpmbuild -ba` per spec, run by xargs: what confinement
        and the SRPM cost with no buildtool around them."""
        started = time.perf_counter()
        subprocess.run(["xargs", "-0", "-P2", "-n1", "sh"],
                       input=b"\0".join(str(script).encode() for script in floor_scripts),
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return time.perf_counter() - started

    ours_s, raw_s, ratio = paired(ours, raw, rounds)
    # for the note: the same pairs with --no-sandbox, and the sandboxed floor against raw
    extra_rounds = max(3, rounds // 2)
    _, _, unconfined = paired(ours_unconfined, raw, extra_rounds)
    _, _, floor_ratio = paired(floor, raw, extra_rounds)
    return Row(f"build-{count} -j2 overhead", 100 * (ratio - 1), 5.0, "%", ours_s, raw_s,
               note=f"median of {rounds} pairs; buildtool also makes the SRPMs; "
                    f"--no-sandbox: {100 * (unconfined - 1):+.1f} %; the sandboxed rpmbuild -ba "
                    f"alone by xargs (no buildtool): {100 * (floor_ratio - 1):+.1f} %")


def sandboxed_build_scripts(specs: list[Path], target, build_dir: Path,
                            directory: Path) -> list[Path]:
    """One shell script per spec running the very command the rpmbuild backend runs in the
    sandbox, in a fresh build tree handed to the build user, as buildtool does."""
    from buildtool.backends.base import BuildRequest
    from buildtool.backends.rpmbuild import RpmbuildBackend, build_environment
    from buildtool.sandbox import create

    sandbox = create(True, print)
    backend = RpmbuildBackend()
    backend.sandbox = sandbox
    sources = layout.target_build(build_dir, "el9")
    placeholder, top = "/buildtool-bench-topdir", '"$top"'
    give = f'chown {sandbox.user.uid}:{sandbox.user.gid} {top}' if sandbox.user else ":"
    env = shlex.join(f"{key}={value}" for key, value in
                     sandbox.environment(build_environment(1700000000)).items())
    directory.mkdir(parents=True, exist_ok=True)
    scripts = []
    for spec in specs:
        request = BuildRequest(spec.stem, None, spec, sources.sources(spec.stem), target,
                               directory, directory / "log", 1700000000, None)
        command = shlex.join(backend.command(request, Path(placeholder)))
        script = directory / f"{spec.stem}.sh"
        script.write_text(f'top=$(mktemp -d) && {give}\n'
                          f'env -i {env} {command.replace(placeholder, top)}\n'
                          f'status=$?; rm -rf {top}; exit $status\n')
        scripts.append(script)
    return scripts


def print_table(rows: list[Row]) -> None:
    print(f"\n{'row':<28} {'figure':>10} {'goal':>8} {'buildtool':>10} {'raw tool':>9}  ok  note")
    for row in rows:
        ours = f"{row.ours:.2f}" if row.ours is not None else "-"
        raw = f"{row.raw:.2f}" if row.raw is not None else "-"
        figure = f"{row.figure:+.1f} %" if row.unit == "%" else f"{row.figure:.3f} {row.unit}"
        goal = f"{row.goal:g} {row.unit}"
        print(f"{row.name:<28} {figure:>10} {goal:>8} {ours:>10} {raw:>9}  "
              f"{'yes' if row.ok else 'NO ':<3} {row.note}")
    print(f"\nload average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores: a shared "
          "machine, figures are medians")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="13,1000,5000", help="no-op manifest sizes")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--tiny", type=int, default=200, help="packages of the build row")
    parser.add_argument("--skip", action="append", default=[],
                        choices=["startup", "noop", "validate", "render", "build", "publish"])
    parser.add_argument("--json", type=Path, default=ROOT / "build" / "bench.json")
    args = parser.parse_args()
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    # as installed: pip byte-compiles the package; without .pyc files (PYTHONDONTWRITEBYTECODE
    # in the environment) every start would compile buildtool's modules, ~80 ms
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "buildtool")], check=True)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="bench-", dir=BENCH_DIR) as tmp:
        work = Path(tmp)
        steps = [("startup", bench_startup),
                 ("noop", lambda: [bench_noop(int(n), args.rounds) for n in args.sizes.split(",")]),
                 ("validate", lambda: [bench_validate(work)]),
                 ("render", lambda: [bench_render(work)]),
                 ("build", lambda: [bench_build_overhead(work, args.tiny, args.rounds)]),
                 ("publish", lambda: publish_rows(args.rounds))]
        for name, step in steps:
            if name not in args.skip:
                print(f"{name} ...", flush=True)
                rows += step()
    print_table(rows)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"load_average": os.getloadavg()[0],
                                     "rows": [dict(asdict(r), ok=r.ok) for r in rows]}, indent=1))
    print(f"written: {args.json}")
    return 0 if all(r.ok for r in rows) else 1


def publish_rows(rounds: int) -> list[Row]:
    import bench_publish

    return bench_publish.table_rows(Row, rounds)


if __name__ == "__main__":
    sys.exit(main())
