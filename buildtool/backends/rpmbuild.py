"""Host rpmbuild: quick local builds where mock is missing. Not a clean room: BuildRequires are
not installed or checked (--nodeps); the target's macros come from repo-config/. Package code
(%prep, %build, %install, %check) runs in the bubblewrap sandbox (buildtool.sandbox) unless the
run opted out with --no-sandbox."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from ..sandbox import Mount
from ..targets import TargetProfile
from .base import Backend, BuildRequest, BuildResult, run_logged

# Where the build tree, sources and spec appear inside the sandbox: fixed places, so that the
# SRPM (whose header keeps the parsed spec) and the RPMs (which record the SRPM's digest) do not
# depend on where on the host the build ran.
INSIDE = "/buildtool"


class RpmbuildBackend(Backend):
    name = "rpmbuild"
    clean_room = False
    required_tools = ("rpmbuild",)

    @property
    def makes_srpm(self) -> bool:  # type: ignore[override]
        return self.sandbox is not None

    def command(self, request: BuildRequest, topdir: Path) -> list[str]:
        """Sandboxed: -ba at the fixed places, the SRPM and the RPMs in one process. Unconfined
        (--no-sandbox): -bb at the host's paths; the SRPM step then runs on its own, from
        relative directories, for the same reason."""
        if self.sandbox is None:
            return ["rpmbuild", "-bb", "--nodeps", "--define", f"_topdir {topdir}",
                    "--define", f"_sourcedir {request.sources_dir.resolve()}",
                    *request.target.rpm_args(), str(request.spec.resolve())]
        spec = f"{INSIDE}/SPECS/{request.spec.name}"
        args = ["rpmbuild", "-ba", "--nodeps", "--define", f"_topdir {INSIDE}/top",
                "--define", f"_sourcedir {INSIDE}/SOURCES", *request.target.rpm_args(), spec]
        return self.sandbox.command(args, readable=config_files(request.target), mounts=(
            Mount(topdir, f"{INSIDE}/top", writable=True),
            Mount(request.sources_dir.resolve(), f"{INSIDE}/SOURCES"),
            Mount(request.spec.resolve(), spec)))

    def build(self, request: BuildRequest) -> BuildResult:
        with tempfile.TemporaryDirectory(prefix=f"buildtool-{request.name}-") as tmp:
            topdir = Path(tmp)
            env = build_environment(request.source_date_epoch)
            if self.sandbox is not None:
                env = self.sandbox.environment(env)
                self.sandbox.give(topdir)
            status = run_logged(self.command(request, topdir), request.log, env)
            if self.sandbox is not None:
                self.sandbox.take_back(topdir)
            rpms = sorted((topdir / "RPMS").rglob("*.rpm")) if status == 0 else []
            srpms = sorted((topdir / "SRPMS").glob("*.src.rpm")) if self.makes_srpm else []
            srpm_missing = self.makes_srpm and len(srpms) != 1
            if status != 0 or not rpms or srpm_missing \
                    or not outputs_are_files([*rpms, *srpms], request.log):
                return BuildResult(False, (), request.log)
            request.result_dir.mkdir(parents=True, exist_ok=True)
            moved_srpms = _moved(srpms, request.result_dir)
            return BuildResult(True, tuple(_moved(rpms, request.result_dir)), request.log,
                               srpm=moved_srpms[0] if moved_srpms else None)


def _moved(files: list[Path], directory: Path) -> list[Path]:
    """Move `files` into `directory`; their new paths."""
    moved = []
    for path in files:
        dest = directory / path.name
        shutil.move(str(path), dest)
        moved.append(dest)
    return moved


def config_files(target: TargetProfile) -> tuple[Path, ...]:
    """What rpmbuild reads from repo-config/: the target's macros files and the host-build
    helpers they call (the files next to macros.common, `%{_buildtool_configdir}`)."""
    helpers_dir = target.macros_files[0].parent if target.macros_files else None
    helpers = [path for path in helpers_dir.iterdir() if path.is_file()] if helpers_dir else []
    return tuple(sorted({path.resolve() for path in (*target.macros_files, *helpers)}))


def outputs_are_files(paths: list[Path], log: Path) -> bool:
    """The build wrote these; a symlink (say RPMS/noarch/x.rpm -> /etc/shadow) would carry a
    host file out into the repository."""
    for path in paths:
        if path.is_symlink() or not path.is_file():
            with log.open("a") as handle:
                handle.write(f"buildtool: refused build output {path.name}: not a regular file\n")
            return False
    return True


def build_environment(source_date_epoch: int) -> dict[str, str]:
    """A predictable environment: fixed locale, time zone and SOURCE_DATE_EPOCH; no pip index."""
    env = {key: value for key, value in os.environ.items()
           if key in ("PATH", "HOME", "TMPDIR", "USER", "LOGNAME")}
    env.update(LC_ALL="C.UTF-8", TZ="UTC", SOURCE_DATE_EPOCH=str(source_date_epoch),
               PIP_NO_INDEX="1", PIP_CONFIG_FILE="/dev/null", PYTHONDONTWRITEBYTECODE="1")
    return env
