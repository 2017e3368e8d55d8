"""mock: clean-chroot builds on Fedora/EL build hosts (the real thing).

Unverified on the development machines (mock is not installable on Debian): configuration and
command lines are unit-tested, real builds are not.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from .. import runner
from ..layout import BuildLayout
from ..targets import TargetProfile
from .base import Backend, BuildRequest, BuildResult, run_logged
from .rpmbuild import build_environment

REPRODUCIBLE_MACROS = {
    "_buildhost": "buildtool.fuel",
    "use_source_date_epoch_as_buildtime": "1",
    "clamp_mtime_to_source_date_epoch": "1",
    # mock does not pass the host's environment in; rpm derives SOURCE_DATE_EPOCH from the
    # generated %changelog date instead (the manifest's source_date_epoch, to the day).
    "source_date_epoch_from_changelog": "1",
}


class MockBackend(Backend):
    name = "mock"
    clean_room = True
    required_tools = ("mock", "createrepo_c")

    def __init__(self) -> None:
        self.config_path: Path | None = None

    def prepare_run(self, target: TargetProfile, build_root: Path, local_repo: Path) -> None:
        local_repo.mkdir(parents=True, exist_ok=True)
        self.package_built(local_repo)
        self.config_path = BuildLayout(build_root).mock / f"buildtool-{target.name}.cfg"
        self.config_path.parent.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(mock_config(target, local_repo))

    def package_built(self, local_repo: Path) -> None:
        # Refresh the repository of this run's packages so dependents' BuildRequires resolve.
        runner.run(["createrepo_c", "--quiet", "--update", "--no-database", str(local_repo)],
                   check=True)

    def command(self, request: BuildRequest) -> list[str]:
        args = ["mock", "--root", str(self.config_path), "--uniqueext", request.name,
                "--resultdir", str(request.result_dir), "--no-cleanup-after"]
        for key, value in request.target.defines.items():
            args += ["--define", f"{key} {value}"]
        return [*args, "--rebuild", str(request.srpm)]

    def build(self, request: BuildRequest) -> BuildResult:
        request.result_dir.mkdir(parents=True, exist_ok=True)
        status = run_logged(self.command(request), request.log,
                            build_environment(request.source_date_epoch))
        for mock_log in ("build.log", "root.log", "state.log"):
            path = request.result_dir / mock_log
            if path.exists():
                with request.log.open("a") as handle:
                    handle.write(f"\n===== mock {mock_log} =====\n{path.read_text(errors='replace')}")
                path.unlink()
        rpms = tuple(sorted(p for p in request.result_dir.glob("*.rpm")
                            if not p.name.endswith(".src.rpm")))
        for srpm in request.result_dir.glob("*.src.rpm"):
            srpm.unlink()
        if local_repo := request.local_repo:
            for rpm in rpms:
                shutil.copy2(rpm, local_repo / rpm.name)
        return BuildResult(status == 0 and bool(rpms), rpms, request.log)


def mock_config(target: TargetProfile, local_repo: Path) -> str:
    """A mock config: the distribution's stock config plus this run's repository and macros."""
    lines = [f"include('/etc/mock/{target.mock.base_config}.cfg')",
             f"config_opts['root'] = 'buildtool-{target.name}'"]
    for key, value in REPRODUCIBLE_MACROS.items():
        lines.append(f"config_opts['macros']['%{key}'] = '{value}'")
    lines.append(f"config_opts['macros']['%dist'] = '{target.dist}'")
    # mock's own isolation confines package code: a chroot, the unprivileged mockbuild user and,
    # said explicitly here rather than trusted to the site defaults, no network in the build.
    lines += ["config_opts['rpmbuild_networking'] = False",
              "config_opts['use_host_resolv'] = False"]
    for package in target.mock.extra_packages:
        lines.append(f"config_opts['chroot_additional_packages'] = "
                     f"(config_opts.get('chroot_additional_packages') or '') + ' {package}'")
    lines += ['config_opts["dnf.conf"] += """',
              "[buildtool-local]",
              "name=Packages built earlier in this buildtool run",
              f"baseurl=file://{local_repo.resolve()}",
              "enabled=1", "gpgcheck=0", "skip_if_unavailable=False", "metadata_expire=0",
              '"""', ""]
    return "\n".join(lines)
