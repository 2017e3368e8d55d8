"""JavaScript builds (`nodejs:`): node_modules vendored from the lock file, the build offline.

fuel-ui is built from the fixture laid out like upstream's 11.0.0 tree (package.json, an
npm-shrinkwrap.json in upstream's format, gulpfile.js, webpack.config.js, static/) with the
manifest's own entry and patch. Its dependencies come from tests/npmregistry.py, a local
stand-in for the npm registry (tests never reach the real one); npm, the sandbox and rpmbuild
are real.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
from npmregistry import NpmRegistry
from test_fuel_packages import file_table, unpack
from test_upstream_profile import make_checkouts

from conftest import FIXTURES, ROOT, require_tools, run_buildtool

FUEL_UI_GIT = "https://opendev.org/openstack/fuel-ui.git"
PATCH_LINE = "      - patches/fuel-ui-graceful-fs-4.patch\n"

SMALL = """\
schema: 1
packages:
  ui:
    version: "1.0"
    kind: files
    summary: A web UI
    description: A web UI.
    source: {path: ui}
    nodejs:
      command: [gulp, build]
    install:
      - {src: dist, dest: /usr/share/ui}
"""


def small_manifest(tmp_path: Path, text: str = SMALL) -> Path:
    (tmp_path / "ui").mkdir(exist_ok=True)
    (tmp_path / "ui" / "package.json").write_text('{"name": "ui", "version": "1.0.0"}\n')
    path = tmp_path / "manifest.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("old, new, expected", [
    ("kind: files", "kind: python", "manifest.yaml:9:5: packages.ui.nodejs: a nodejs build is "
                                    "only for kind: files packages"),
    ("[gulp, build]", "[]", "manifest.yaml:10:7: packages.ui.nodejs.command: the command is empty"),
    ("[gulp, build]", "[../gulp, build]", "manifest.yaml:10:17: packages.ui.nodejs.command[0]: "
                                          "'../gulp' is not a program name of node_modules/.bin"),
    ("[gulp, build]", '["gulp; id", build]', "'gulp; id' is not a program name"),
    ("      command", "      modules_sha256: abc\n      command",
     "manifest.yaml:10:7: packages.ui.nodejs.modules_sha256: not a sha256"),
    ("      command", "      script: build\n      command",
     "manifest.yaml:10:7: packages.ui.nodejs.script: unknown key"),
    ("    source: {path: ui}\n", "", "packages.ui.nodejs: a nodejs build needs an upstream source"),
])
def test_bad_nodejs_values_give_one_located_line(tmp_path, old, new, expected):
    result = run_buildtool("validate", "-m", str(small_manifest(tmp_path, SMALL.replace(old, new))))
    assert result.status == 2, result.stderr
    assert expected in result.stderr
    assert "Traceback" not in result.stderr


def test_the_command_reaches_build_quoted_and_escaped(tmp_path):
    """Manifest words are shell words and never macros: `$(id)` and `%(id)` stay text."""
    require_tools("rpmspec")
    text = SMALL.replace("[gulp, build]", "[gulp, build, '$(id)', '%(id)', '--x=%{_bindir}']")
    result = run_buildtool("render", "-m", str(small_manifest(tmp_path, text)),
                           "--build-dir", str(tmp_path / "build"))
    assert result.status == 0, result.stderr
    spec = tmp_path / "build" / "el9" / "SPECS" / "ui.spec"
    text = spec.read_text()
    assert "\nSource1:       ui-1.0-node-modules.tar.gz\n" in text
    assert "\nBuildRequires:  nodejs\n" in text
    assert "\n%setup -q -T -D -a 1 -n ui-1.0\n" in text
    parsed = subprocess.run(["rpmspec", "-P", str(spec)], capture_output=True, text=True,
                            check=True).stdout
    assert "\n./node_modules/.bin/gulp build '$(id)' '%(id)' '--x=%{_bindir}'\n" in parsed


@pytest.fixture(scope="module")
def registry():
    with NpmRegistry(FIXTURES / "npm-registry") as served:
        yield served


@pytest.fixture(scope="module")
def fuel_ui_checkout(tmp_path_factory) -> Path:
    require_tools("git")
    return make_checkouts(tmp_path_factory.mktemp("checkouts"))["fuel-ui"]


def fuel_manifest(tmp_path: Path, checkout: Path, change: tuple[str, str] = ("", "")) -> Path:
    """fuel.yaml with fuel-ui's git URL pointed at the fixture checkout."""
    text = (ROOT / "fuel.yaml").read_text()
    assert FUEL_UI_GIT in text and PATCH_LINE in text
    (tmp_path / "fuel.yaml").write_text(text.replace(FUEL_UI_GIT, checkout.as_uri())
                                        .replace(*change))
    for item in ("packages", "puppet", "patches"):
        (tmp_path / item).symlink_to(ROOT / item)
    return tmp_path / "fuel.yaml"


def build_fuel_ui(manifest: Path, out: Path, cache: Path, registry_url: str, *extra: str):
    env = dict(os.environ, BUILDTOOL_CACHE=str(cache), npm_config_registry=registry_url,
               npm_config_fetch_retries="0")
    return run_buildtool("build", "--manifest", str(manifest), "--profile", "upstream", "--only",
                         "fuel-ui", "--build-dir", str(out), *extra, env=env)


@pytest.fixture(scope="module")
def fuel_ui(tmp_path_factory, fuel_ui_checkout, registry) -> dict[str, Path]:
    """fuel-ui built once from the fixture; the registry's requests of that build recorded."""
    require_tools("rpmbuild", "rpm", "rpm2cpio", "cpio", "npm", "node")
    tmp = tmp_path_factory.mktemp("fuel-ui")
    registry.requests.clear()
    result = build_fuel_ui(fuel_manifest(tmp, fuel_ui_checkout), tmp / "build", tmp / "cache",
                           registry.url)
    assert result.status == 0, result.stderr[-3000:]
    (rpm,) = (tmp / "build" / "el9" / "rpms" / "fuel-ui").glob("fuel-ui-11.0.0-1.el9.noarch.rpm")
    (srpm,) = (tmp / "build" / "el9" / "SRPMS").glob("fuel-ui-11.0.0-1.el9.src.rpm")
    return {"rpm": rpm, "srpm": srpm, "tmp": tmp, "requests": list(registry.requests),
            "log": tmp / "build" / "el9" / "logs" / "fuel-ui.log"}


@pytest.mark.integration
def test_the_built_bundle_is_where_nginx_serves_the_ui(fuel_ui, tmp_path):
    files = {row[0] for row in file_table(fuel_ui["rpm"])}
    static = "/usr/share/nailgun/static"  # nginx's root (puppet fuel::nginx static_dir)
    assert {f"{static}/index.html", f"{static}/build/bundle.js", f"{static}/favicon.ico",
            f"{static}/img/loader-logo.svg", f"{static}/styles/layout.css"} <= files
    assert not any("node_modules" in name or name.endswith(("gulpfile.js", "app.js"))
                   for name in files), "sources or build tools shipped"
    root = unpack(fuel_ui["rpm"], tmp_path / "root")
    bundle = root / "usr/share/nailgun/static/build/bundle.js"
    # the bundle holds every module app.js reaches, and runs
    assert all(f'"{module}": function' in bundle.read_text()
               for module in ("app.js", "i18n.js", "views/welcome.js"))
    check = ("global.window = {}; require(process.argv[1]);"
             "process.stdout.write(JSON.stringify(window.fuelUI))")
    result = subprocess.run(["node", "-e", check, str(bundle)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout == '{"title":"Fuel UI","page":"<h1>Fuel UI</h1>"}'


@pytest.mark.integration
def test_index_html_is_stamped_with_the_build_time_not_the_clock(fuel_ui, tmp_path):
    """The cache-busting stamp is SOURCE_DATE_EPOCH (the reproducible-cache-bust patch), which
    rpm also records as the build time: the same source gives the same index.html."""
    root = unpack(fuel_ui["rpm"], tmp_path / "root")
    index = (root / "usr/share/nailgun/static/index.html").read_text()
    build_time = subprocess.run(["rpm", "-qp", "--qf", "%{BUILDTIME}", str(fuel_ui["rpm"])],
                                capture_output=True, text=True, check=True).stdout
    assert f"static/build/bundle.js?{build_time}\"" in index


@pytest.mark.integration
def test_gulp_ran_in_build_from_the_vendored_modules(fuel_ui):
    log = fuel_ui["log"].read_text()
    assert "--unshare-net" in log  # the build itself has no network
    assert "+ ./node_modules/.bin/gulp build --static-dir=compressed_static" in log
    assert "Finished 'build'" in log
    assert re.search(r"^# node_modules: sha256 [0-9a-f]{64} \(npm ci of the lock file\)$", log, re.M)
    sources = subprocess.run(["rpm", "-qpl", str(fuel_ui["srpm"])], capture_output=True,
                             text=True, check=True).stdout.split()
    assert {"fuel-ui-11.0.0.tar.gz", "fuel-ui-11.0.0-node-modules.tar.gz",
            "fuel-ui-graceful-fs-4.patch"} <= set(sources)


@pytest.mark.integration
def test_node_modules_follow_the_patched_lock_file(fuel_ui):
    """npm installed what the shrinkwrap names after the patch: graceful-fs 4.2.11, not 3.0.8."""
    tarballs = [path for path in fuel_ui["requests"] if path.endswith(".tgz")]
    assert sorted(tarballs) == ["/graceful-fs/-/graceful-fs-4.2.11.tgz", "/gulp/-/gulp-3.9.1.tgz"]


@pytest.mark.integration
def test_vendored_modules_come_from_the_cache_afterwards(fuel_ui, registry):
    """Another build (here: another target, a fresh build tree) copies node_modules from the
    lookaside cache: npm is not run and the registry is not asked."""
    tmp = fuel_ui["tmp"]
    registry.requests.clear()
    result = build_fuel_ui(tmp / "fuel.yaml", tmp / "build2", tmp / "cache", registry.url,
                           "--target", "fedora-45")
    assert result.status == 0, result.stderr[-2000:]
    assert registry.requests == []
    (rpm,) = (tmp / "build2" / "fedora-45" / "rpms" / "fuel-ui").glob("*.rpm")
    assert "/usr/share/nailgun/static/build/bundle.js" in {row[0] for row in file_table(rpm)}


@pytest.mark.integration
def test_without_the_patch_gulp_3_fails_as_upstream_does_on_node_20(fuel_ui_checkout, registry,
                                                                    tmp_path):
    """The patch is what makes the build work: without it graceful-fs 3.0.8 is vendored and
    gulp stops at start-up, exactly as the real 11.0.0 tree does on Node.js 12 and later."""
    require_tools("rpmbuild", "npm", "node")
    manifest = fuel_manifest(tmp_path, fuel_ui_checkout, (PATCH_LINE, ""))
    result = build_fuel_ui(manifest, tmp_path / "build", tmp_path / "cache", registry.url)
    assert result.status == 1
    log = (tmp_path / "build" / "el9" / "logs" / "fuel-ui.log").read_text()
    assert "ReferenceError: primordials is not defined" in log


@pytest.mark.integration
def test_a_wrong_pin_of_node_modules_fails_the_fetch(fuel_ui_checkout, registry, tmp_path):
    require_tools("npm")
    pin = ("      command: [gulp,", f"      modules_sha256: '{'0' * 64}'\n      command: [gulp,")
    result = build_fuel_ui(fuel_manifest(tmp_path, fuel_ui_checkout, pin), tmp_path / "build",
                           tmp_path / "cache", registry.url)
    assert result.status == 1
    assert f"the manifest pins {'0' * 64}" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.integration
def test_an_unreachable_registry_is_one_line_naming_the_package(fuel_ui_checkout, tmp_path):
    require_tools("npm")
    result = build_fuel_ui(fuel_manifest(tmp_path, fuel_ui_checkout), tmp_path / "build",
                           tmp_path / "cache", "http://127.0.0.1:9/")
    assert result.status == 1
    assert "fuel-ui: npm ci failed: " in result.stderr
    assert "Traceback" not in result.stderr
