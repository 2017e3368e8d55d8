"""Synthetic manifests of any size, for the benchmarks and the scaling tests.

Shapes:
  services  every package ships a file; every 10th starts a new chain (the others require the one
            before), every 5th adds a user, a service, a config file and a directory
  chain     one long chain: every package requires the one before (the deepest graph)
  flat      independent tiny packages (one installed file each): the build-overhead benchmark
"""

from __future__ import annotations

from pathlib import Path

SHAPES = ("services", "chain", "flat")


def _package(i: int, shape: str) -> str:
    chained = shape == "chain" or (shape == "services" and i % 10)
    needs = f"    requires: [pkg{i - 1:05d}]\n" if i and chained else ""
    text = f"""\
  pkg{i:05d}:
    version: "1.{i}"
    kind: files
    summary: Synthetic package {i}
    description: Synthetic package number {i} for the benchmark.
    source: {{path: src}}
{needs}    install:
      - {{src: tool, dest: /usr/share/bench/pkg{i:05d}/tool, mode: "0755"}}"""
    if shape == "services" and i % 5 == 0:
        text += f"""
    users: [{{name: svc{i:05d}}}]
    services:
      - {{name: svc{i:05d}, description: Service {i}, exec_start: /usr/bin/true, user: svc{i:05d}}}
    config_files:
      - {{dest: /etc/bench/svc{i:05d}.conf, content: "x: {i}", mode: "0640", group: svc{i:05d}}}
    directories:
      - {{path: /var/lib/svc{i:05d}, owner: svc{i:05d}, group: svc{i:05d}, mode: "0750"}}"""
    return text


def synthetic_manifest(directory: Path, count: int, shape: str = "services") -> Path:
    """Write `directory`/manifest.yaml with `count` packages of `shape`, and their source."""
    if shape not in SHAPES:
        raise ValueError(f"shape {shape!r}: one of {', '.join(SHAPES)}")
    src = directory / "src"
    src.mkdir(parents=True, exist_ok=True)
    (src / "tool").write_text("#!/bin/sh\necho tool\n")
    lines = ["schema: 1", "packages:", *(_package(i, shape) for i in range(count))]
    path = directory / "manifest.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path
