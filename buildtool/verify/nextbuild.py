"""The "next release" the upgrade test upgrades to: the same manifest, release bumped, configs changed.

Every package's release gets a `.1` appended (1.el9 -> 1.1.el9, which rpm orders after it) and every
packaged config file gets one more comment line, so that the upgrade really replaces each config
and exercises %config(noreplace) (`.rpmnew`). It is built with the normal stages into its own build
and dist directories (build/verify-next/), so an unchanged manifest is a cache hit the second time.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

from .. import pipeline
from ..backends import select_backend
from ..build import FAILED, SKIPPED
from ..errors import StageFailed
from ..manifest import ConfigFile, Manifest, Package
from ..sandbox import create as make_sandbox
from ..targets import TargetProfile

CONFIG_CHANGE = "\n# changed in the next release (buildtool verify upgrade build)\n"


def next_release(manifest: Manifest) -> Manifest:
    packages = {name: _bumped(manifest, package) for name, package in manifest.packages.items()}
    return dataclasses.replace(manifest, packages=packages)


def _bumped(manifest: Manifest, package: Package) -> Package:
    configs = [_changed(manifest, config) for config in package.config_files]
    return dataclasses.replace(package, release=f"{package.release}.1", config_files=configs)


def _changed(manifest: Manifest, config: ConfigFile) -> ConfigFile:
    text = config.content
    if text is None:
        assert config.source is not None, "load_manifest: exactly one of source and content"
        text = (manifest.root / config.source).read_text()
    return dataclasses.replace(config, source=None, content=text + CONFIG_CHANGE)


def build_next_repo(settings: pipeline.Settings, target: TargetProfile, work: Path) -> Path:
    """Build and publish the next release of the manifest for `target`; return its repository."""
    manifest, _ = pipeline.load(settings)
    manifest = next_release(manifest)
    if (work / "dist").exists():  # a throwaway repository: nothing of an earlier run may linger
        shutil.rmtree(work / "dist")
    local = dataclasses.replace(settings, build_dir=work / "build", dist_dir=work / "dist",
                                only=[], targets=[target.name])
    graph, _ = pipeline.target_graph(pipeline.plan_graph(manifest, local), target)
    sandbox = make_sandbox(local.sandbox, warn=lambda message: None)
    backend = select_backend(local.backend, warn=lambda message: None, sandbox=sandbox)
    rendered = pipeline.render(manifest, target, local, graph)
    fetched = pipeline.fetch_sources(manifest, rendered, target, local, sandbox=sandbox)
    # releases continue the published history, so the next repository is really newer
    pipeline.assign_releases(manifest, rendered, fetched, target, local, history_from=settings)
    outcomes = pipeline.build(manifest, target, local, graph, rendered, fetched, backend,
                              lambda kind, payload: None)
    broken = [name for name, o in outcomes.items() if o.status in (FAILED, SKIPPED)]
    if broken:
        log = outcomes[broken[0]].log
        raise StageFailed(f"building the next release for the upgrade test failed: "
                          f"{', '.join(broken)}", f"see {log}")
    rpms = [rpm for outcome in outcomes.values() for rpm in outcome.rpms]
    result = pipeline.publish(rpms, target, local)
    return result.repo_dir / "current"
