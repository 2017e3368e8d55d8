"""Specs a distribution packager would accept: SPDX licences, %license, complete BuildRequires,
sysusers files with their groups, byte-compilation for the target's Python only, and rpmlint with
the target distribution's own configuration at zero errors."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from buildtool import pipeline
from buildtool.targets import load_target
from buildtool.verify.lint import assemble_config, distribution_config, lint, rpmlint_dir
from conftest import FIXTURES, ROOT, require_tools, run_buildtool

SPDX_OF = {"python3-packetary": "GPL-2.0-or-later", "python3-fuelclient": "Apache-2.0",
           "fuel-setup": "Apache-2.0", "fuel-puppet": "Apache-2.0", "fuel-release": "Apache-2.0",
           "fuel": "Apache-2.0"}


def render(manifest: Path, build: Path, target: str) -> dict:
    settings = pipeline.Settings(manifest=manifest, targets=[target], build_dir=build)
    loaded, targets = pipeline.load(settings)
    return pipeline.render(loaded, targets[0], settings, pipeline.plan_graph(loaded, settings))


def spec_tag(spec: Path, tag: str) -> list[str]:
    return [line.split(":", 1)[1].strip() for line in spec.read_text().splitlines()
            if line.startswith(f"{tag}:")]


def test_every_package_states_its_upstreams_spdx_licence(tmp_path):
    rendered = render(ROOT / "fuel.yaml", tmp_path / "build", "el9")
    assert {name: spec_tag(item.spec, "License") for name, item in rendered.items()} == {
        name: [licence] for name, licence in SPDX_OF.items()}


def test_fuels_own_packages_ship_the_licence_text(tmp_path):
    rendered = render(ROOT / "fuel.yaml", tmp_path / "build", "el9")
    spec = rendered["fuel-setup"].spec.read_text()
    assert "\n%license LICENSE\n" in spec and "cp -p %{SOURCE" in spec
    assert (rendered["fuel-setup"].sources_dir / "LICENSE").read_bytes() == \
        (ROOT / "LICENSE").read_bytes()


def test_readme_of_an_in_repository_tree_is_documentation(tmp_path):
    rendered = render(ROOT / "fuel.yaml", tmp_path / "build", "el9")
    assert "\n%doc README.md\n" in rendered["fuel-puppet"].spec.read_text()  # puppet/README.md
    assert "%doc" not in rendered["fuel-setup"].spec.read_text()  # packages/fuel-setup has none


def test_python_packages_use_the_pyproject_macros_and_a_full_source_url(tmp_path):
    spec = render(ROOT / "fuel.yaml", tmp_path / "build", "fedora-45")["python3-packetary"].spec
    text = spec.read_text()
    for macro in ("%generate_buildrequires\n", "%pyproject_buildrequires", "%pyproject_wheel",
                  "%pyproject_install", "%pyproject_save_files", "%files -f %{pyproject_files}"):
        assert macro in text
    assert "setup.py" not in text
    assert spec_tag(spec, "Source0") == ["%{pypi_source packetary 0.1.0}"]
    assert "rm -rf %{buildroot}%{python3_sitelib}/*/tests" in text


def test_sysusers_file_declares_every_group_before_its_users(tmp_path):
    manifest = render(FIXTURES / "chain" / "manifest.yaml", tmp_path / "build", "el9")
    sysusers = (manifest["chain-b"].sources_dir / "chain-b.sysusers").read_text().splitlines()
    entries = [line.split()[:2] for line in sysusers if not line.startswith("#")]
    assert entries == [["g", "chainb"], ["u", "chainb"]]


@pytest.mark.integration
@pytest.mark.parametrize("target, expected", [
    ("el9", {"python3-devel", "pyproject-rpm-macros", "python3-pbr"}),
    ("fedora-45", {"python3-devel", "pyproject-rpm-macros", "python3-pbr"}),
    ("leap-16", {"python313-devel", "python313-pip", "python313-setuptools", "python313-wheel",
                 "python-rpm-macros", "python313-pbr"}),
])
def test_build_requires_name_what_a_clean_root_needs(tmp_path, target, expected):
    require_tools("rpmspec")
    profile = load_target(ROOT, target)
    packetary = render(ROOT / "fuel.yaml", tmp_path / "build", "el9" if target == "el9" else target)
    chain = render(FIXTURES / "chain" / "manifest.yaml", tmp_path / "chain", target)

    def buildrequires(spec: Path) -> set[str]:
        out = subprocess.run(["rpmspec", "-q", "--buildrequires", *profile.rpm_args(), str(spec)],
                             capture_output=True, text=True, check=True).stdout
        return set(out.split())

    if "python3-packetary" in packetary:
        assert expected <= buildrequires(packetary["python3-packetary"].spec)
    assert "systemd-rpm-macros" in buildrequires(chain["chain-b"].spec)  # units and users


def test_byte_compilation_runs_only_with_the_targets_python(tmp_path):
    script = ROOT / "repo-config" / "brp-python-bytecompile-target"
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    host_python = Path(f"/usr/bin/python{here}")
    root = tmp_path / "root"
    for version in (here, "3.9"):
        module = root / f"usr/lib/python{version}/site-packages/pkg/mod.py"
        module.parent.mkdir(parents=True)
        module.write_text("VALUE = 1\n")
    env = {**os.environ, "RPM_BUILD_ROOT": str(root)}
    skipped = subprocess.run(["sh", str(script), "3.9"], env=env, capture_output=True, text=True)
    assert skipped.returncode == 0
    assert "not byte-compiling /usr/lib/python3.9/site-packages" in skipped.stderr
    assert not list(root.glob("usr/lib/python3.9/**/*.pyc"))
    if not host_python.exists():
        pytest.skip(f"no {host_python} on this host")
    subprocess.run(["sh", str(script), here], env=env, check=True)
    compiled = list(root.glob(f"usr/lib/python{here}/site-packages/pkg/__pycache__/*.pyc"))
    assert len(compiled) == 2  # optimisation levels 0 and 1, as the distributions ship
    assert str(root) not in compiled[0].read_bytes().decode("latin-1")  # build root stripped


@pytest.mark.integration
@pytest.mark.parametrize("target", ["el9", "leap-16"])
def test_built_packages_pass_the_distributions_rpmlint(tmp_path, target, monkeypatch):
    require_tools("rpmbuild", "createrepo_c", "rpmlint", "checkbashisms", "rpm2cpio", "cpio")
    project = tmp_path / "chain"
    shutil.copytree(FIXTURES / "chain", project)
    shutil.copy(ROOT / "LICENSE", project / "LICENSE")  # the project's own licence text
    script = project / "src/chain-a/chain-a-hello"
    script.write_text(script.read_text().replace("#!/bin/sh", "#!/usr/bin/env sh", 1))
    monkeypatch.setenv("BUILDTOOL_CACHE", str(tmp_path / "cache"))
    result = run_buildtool("repo", "-m", str(project / "manifest.yaml"), "--target", target,
                           "--build-dir", str(tmp_path / "build"),
                           "--dist-dir", str(tmp_path / "dist"))
    assert result.status == 0, result.stderr
    rpms = sorted((tmp_path / "dist/repos" / target / "current/Packages").glob("*.rpm"))
    chain_a = next(p for p in rpms if p.name.startswith("chain-a-"))
    files = subprocess.run(["rpm", "-qp", "--qf", "[%{FILEFLAGS:fflags} %{FILENAMES}\n]",
                            str(chain_a)], capture_output=True, text=True).stdout
    assert any(line.startswith("l ") and line.endswith("/LICENSE") for line in files.splitlines())
    payload = subprocess.run(f"rpm2cpio {chain_a} | cpio -i --quiet --to-stdout "
                             "./usr/bin/chain-a-hello", shell=True, capture_output=True).stdout
    assert payload.startswith(b"#!/usr/bin/sh\n")  # no env shebang (rpmlint's E on openSUSE)
    config = assemble_config(distribution_config(ROOT, load_target(ROOT, target)),
                             rpmlint_dir(ROOT) / "fuel.toml", tmp_path / "rpmlint")
    found = lint(rpms, config)
    assert found.errors == []
    # without Fuel's filters the distribution's configuration does report the intended ones
    bare = lint(rpms, distribution_config(ROOT, load_target(ROOT, target)))
    assert {f.message.split()[0] for f in bare.errors} <= {"non-standard-dir-perm",
                                                           "missing-dependency-to-logrotate",
                                                           "non-readable"}
