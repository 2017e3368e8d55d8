"""Vendored node_modules: a JavaScript package's dependencies, installed once from its lock file.

Builds have no network (the sandbox, or mock's chroot), so, as Fedora does for Node.js
applications that bundle their dependencies, node_modules becomes a second source: the fetch
stage unpacks Source0, applies the manifest's patches, runs `npm ci --ignore-scripts` in the
sandbox with network (the user's npm configuration applies: registry, mirror, proxy) and stores
node_modules as a deterministic tarball in the lookaside cache. It is recorded under the digest
of what decides its content (package.json, the lock file, the registry, npm's version), so other
targets and later runs copy it from the cache without running `npm ci`. Install scripts never
run: they would be package code with network, and a noarch tree of JavaScript does not need them.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from . import runner
from .errors import StageFailed, ToolMissing
from .manifest import Package
from .sandbox import Sandbox
from .sources import Lookaside, copy_verified, deterministic_tarball, unpack_dir

LOCK_FILES = ("npm-shrinkwrap.json", "package-lock.json")


def modules_filename(package: Package) -> str:
    return f"{package.name}-{package.version}-node-modules.tar.gz"


def vendor_node_modules(package: Package, manifest_root: Path, source_tarball: Path,
                        cache: Lookaside, dest_dir: Path, sandbox: Sandbox | None) -> str:
    """Put the package's node_modules tarball into `dest_dir` (via the cache); its sha256."""
    npm = shutil.which("npm")
    if npm is None:
        raise ToolMissing(f"{package.name}: npm is not installed: its node_modules are "
                          "installed from its lock file", "install npm (and nodejs)")
    filename = modules_filename(package)
    workdir = Path(tempfile.mkdtemp(prefix="buildtool-npm-"))
    try:
        tree = _patched_tree(package, manifest_root, source_tarball, workdir, sandbox)
        inputs = _inputs_digest(npm, tree, package, workdir, sandbox)
        record = cache.root.parent / "node-modules" / inputs
        digest = record.read_text().strip() if record.is_file() else None
        cached = cache.find(digest, filename) if digest else None
        if digest is None or cached is None:
            _npm_ci(npm, package, tree, workdir, sandbox)
            tarball = workdir / filename
            tarball.write_bytes(deterministic_tarball(tree / "node_modules", "node_modules",
                                                      package.source_date_epoch or 0, package.name))
            digest, cached = cache.store(tarball, filename)
            record.parent.mkdir(parents=True, exist_ok=True)
            record.write_text(digest + "\n")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    pinned = package.nodejs.modules_sha256 if package.nodejs else None
    if pinned and pinned != digest:
        raise StageFailed(f"{package.name}: node_modules from the lock file has sha256 {digest}, "
                          f"the manifest pins {pinned}",
                          "the registry served other content for the same lock file, or the "
                          "source or patches changed; check before updating nodejs.modules_sha256")
    copy_verified(cached, dest_dir / filename, digest)
    return digest


def _patched_tree(package: Package, manifest_root: Path, source_tarball: Path, workdir: Path,
                  sandbox: Sandbox | None) -> Path:
    """Source0 unpacked with the manifest's patches applied, as %prep will see it."""
    with tarfile.open(source_tarball) as tar:  # the fetch stage refused unsafe members
        if hasattr(tarfile, "data_filter"):  # Python >= 3.11.4: refuses them once more
            tar.extractall(workdir / "src", filter="data")
        else:
            tar.extractall(workdir / "src")  # noqa: S202 - members checked by the fetch stage
    tree = workdir / "src" / unpack_dir(package)
    if not (tree / "package.json").is_file():
        raise StageFailed(f"{package.name}: no package.json at the top of the source",
                          "a nodejs build runs npm in the top directory of the source tree")
    for patch in package.patches:
        shutil.copyfile(manifest_root / patch, workdir / "patch")
        result = _run(sandbox, ["patch", "-p1", "-s", "--batch", "-i", str(workdir / "patch")],
                      tree, workdir, network=False)
        if result.returncode != 0:
            raise StageFailed(f"{package.name}: patch {patch} does not apply: "
                              f"{_first_line(result.stdout + result.stderr)}",
                              "refresh the patch against this source")
    if not any((tree / name).is_file() for name in LOCK_FILES):
        raise StageFailed(f"{package.name}: package.json has no lock file next to it",
                          f"the dependencies must be pinned: add {' or '.join(LOCK_FILES)} "
                          "(npm install --package-lock-only) with a patch")
    return tree


def _inputs_digest(npm: str, tree: Path, package: Package, workdir: Path,
                   sandbox: Sandbox | None) -> str:
    """What decides node_modules: npm's version, the registry it reads, the tarball's mtime,
    package.json and the lock file."""
    version = _run(sandbox, [npm, "--version"], tree, workdir, network=False).stdout.strip()
    registry = _run(sandbox, [npm, "config", "get", "registry"], tree, workdir,
                    network=False).stdout.strip()
    digest = hashlib.sha256(f"npm {version}\0{registry}\0{package.source_date_epoch}\0".encode())
    for name in ("package.json", *LOCK_FILES):
        path = tree / name
        digest.update(name.encode() + b"\0" + (path.read_bytes() if path.is_file() else b"-") + b"\0")
    return digest.hexdigest()


def _npm_ci(npm: str, package: Package, tree: Path, workdir: Path,
            sandbox: Sandbox | None) -> None:
    result = _run(sandbox, [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--no-update-notifier",
                            "--cache", str(workdir / "npm-cache")], tree, workdir, network=True)
    if result.returncode != 0 or not (tree / "node_modules").is_dir():
        raise StageFailed(f"{package.name}: npm ci failed: {_npm_error(result.stderr)}",
                          "the lock file must match package.json and name versions the "
                          "registry has; see npm's message")


def _run(sandbox: Sandbox | None, args: list[str], cwd: Path, workdir: Path,
         network: bool) -> subprocess.CompletedProcess[str]:
    env, readable = npm_settings()
    if sandbox is None:
        return runner.run(args, cwd=cwd, capture_output=True, text=True, env=env)
    sandbox.give(workdir)
    try:
        command = sandbox.command(["sh", "-c", 'cd "$1" && shift && exec "$@"', "sh",
                                   str(cwd), *args], writable=(workdir,), network=network,
                                  readable=tuple(readable))
        return runner.run(command, capture_output=True, text=True,
                          env=sandbox.environment(env))
    finally:
        sandbox.take_back(workdir)


def npm_settings() -> tuple[dict[str, str], list[Path]]:
    """The environment that carries the user's npm configuration (registry, proxy, CA) into
    the sandbox, and the files it names, to be shown read-only there."""
    env = {key: value for key, value in os.environ.items()
           if key.lower().startswith("npm_config_") or key.lower().endswith("_proxy")
           or key in ("PATH", "LANG", "NODE_EXTRA_CA_CERTS", "SSL_CERT_FILE")}
    user_config = Path.home() / ".npmrc"
    if "npm_config_userconfig" not in env and user_config.is_file():
        env["npm_config_userconfig"] = str(user_config)
    files = [Path(value) for key, value in env.items() if key != "PATH"
             if value.startswith("/") and os.path.isfile(value)]
    return env, [path for path in files if not str(path).startswith(("/usr/", "/etc/"))]


def _npm_error(stderr: str) -> str:
    """npm's own error lines, without the pointer to its log file."""
    lines = [line.removeprefix("npm error").removeprefix("npm ERR!").strip()
             for line in stderr.splitlines() if line.startswith(("npm error", "npm ERR!"))]
    lines = [line for line in lines if line and "complete log" not in line]
    return "; ".join(lines[:2]) if lines else _first_line(stderr)


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0] if lines else "no output"
