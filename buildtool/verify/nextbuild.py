"""The "next release" the upgrade test upgrades to: the same manifest, release bumped, configs changed.

Every package's release gets a `.1` appended (1.el9 -> 1.1.el9, which rpm orders after it) and every
packaged config file gets one more comment line, so that the upgrade really replaces each config
and exercises %config(noreplace) (`.rpmnew`). It is built with the normal stages into its own build
and dist directories (build/verify-next/<target>/), so an unchanged manifest is a cache hit the second time.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

from .. import layout, pipeline
from ..build import FAILED, SKIPPED
from ..errors import StageFailed
from ..manifest import ConfigFile, Manifest, Package
from ..report import silent
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


def build_next_repo(settings: pipeline.Settings, target: TargetProfile) -> Path:
    """Build and publish the next release of the manifest for `target`; return its repository."""
    manifest, _ = pipeline.load(settings)
    build_dir, dist_dir = layout.next_release_work(settings.build_dir, target.name)
    if dist_dir.exists():  # a throwaway repository: nothing of an earlier run may linger
        shutil.rmtree(dist_dir)
    local = dataclasses.replace(settings, build_dir=build_dir, dist_dir=dist_dir,
                                only=[], targets=[target.name])
    # releases continue the published history, so the next repository is really newer
    run = pipeline.run(local, silent(), publish=True, signer=None,
                       manifest=next_release(manifest), gated=False,
                       history_from=settings)
    built = run.targets[0]
    broken = [name for name, o in built.outcomes.items() if o.status in (FAILED, SKIPPED)]
    if broken:
        first = built.outcomes[broken[0]]
        raise StageFailed(f"building the next release for the upgrade test failed: "
                          f"{', '.join(broken)}", f"see {first.log}" if first.log else first.reason)
    return layout.current_link(layout.repo_dir(dist_dir, target.name))
