"""Rendering: specs per target, escaping of hostile manifest text, unexpanded-macro detection."""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path

import pytest

from buildtool import pipeline
from buildtool.errors import UserError
from buildtool.render import check_spec, spec_escape, unexpanded_macros
from buildtool.targets import available_targets, load_target
from conftest import FIXTURES, ROOT, require_tools, run_buildtool

HOSTILE = """\
schema: 1
packages:
  evil:
    version: "1.0"
    kind: files
    summary: "100% sure %(touch {marker}) %{{_bindir}} %{{lua: print(1)}}"
    description: |
      Innocent first line.
      %post
      touch {marker}
      %%files
      %(touch {marker})
    users:
      - {{name: evil, comment: "evil daemon (test)"}}
    services:
      - name: evil
        description: "50% of %n"
        exec_start: "/usr/bin/evil --rate 5% --name %i"
        user: evil
        environment: {{GREETING: 'say "hi" %h'}}
"""


def render_for(manifest: Path, tmp_path: Path, target: str) -> Path:
    settings = pipeline.Settings(manifest=manifest, targets=[target], build_dir=tmp_path / "build")
    loaded, targets = pipeline.load(settings)
    rendered = pipeline.render(loaded, targets[0], settings, pipeline.plan_graph(loaded, settings))
    return rendered


def test_spec_escape_doubles_percent_and_indents_section_lookalikes():
    assert spec_escape("50% %{x}") == "50%% %%{x}"
    assert spec_escape("ok\n%post\n  %files") == "ok\n %%post\n  %%files"


@pytest.mark.integration
@pytest.mark.parametrize("target", ["el9", "el10", "fedora-44", "fedora-45", "leap-16"])
def test_hostile_text_stays_text(tmp_path, target):
    require_tools("rpmspec")
    marker = tmp_path / "pwned"
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text(HOSTILE.format(marker=marker))
    rendered = render_for(manifest, tmp_path, target)["evil"]
    loaded = load_target(ROOT, target)
    check_spec(rendered.spec, loaded)  # parses, nothing left unexpanded outside free text
    query = subprocess.run(["rpmspec", "-q", *loaded.rpm_args(), "--qf",
                            "%{SUMMARY}\n[%{POSTIN}]\n", str(rendered.spec)],
                           capture_output=True, text=True, check=True).stdout
    assert "100% sure %(touch" in query and "%{_bindir}" in query
    post = query.split("\n", 1)[1]
    assert "systemd-update-helper" in post or "systemctl" in post
    assert f"touch {marker}" not in post  # the description did not open a %post
    description = subprocess.run(["rpmspec", "-q", *loaded.rpm_args(), "--qf", "%{DESCRIPTION}",
                                  str(rendered.spec)], capture_output=True, text=True).stdout
    assert "%post" in description and f"%(touch {marker})" in description
    assert not marker.exists()
    unit = (rendered.sources_dir / "evil.service").read_text()
    assert "ExecStart=/usr/bin/evil --rate 5%% --name %%i" in unit
    assert "Description=50%% of %%n" in unit
    assert 'Environment="GREETING=say \\"hi\\" %%h"' in unit


@pytest.mark.integration
@pytest.mark.parametrize("target", ["el9", "el10", "fedora-44", "fedora-45", "leap-16"])
@pytest.mark.parametrize("manifest", [FIXTURES / "chain" / "manifest.yaml", ROOT / "fuel.yaml"],
                         ids=["chain", "fuel"])
def test_every_spec_passes_rpmspec_for_every_target(tmp_path, target, manifest):
    require_tools("rpmspec")
    result = run_buildtool("render", "--check", "-m", str(manifest), "--target", target,
                           "--build-dir", str(tmp_path / "build"))
    assert result.status == 0, result.stderr
    assert "rpmspec -P clean" in result.stderr


def test_targets_shipped():
    assert set(available_targets(ROOT)) == {"el9", "el10", "fedora-44", "fedora-45", "leap-16"}


@pytest.mark.integration
def test_missing_macro_is_reported(tmp_path):
    require_tools("rpmspec")
    rendered = render_for(FIXTURES / "chain" / "manifest.yaml", tmp_path, "el9")["chain-b"]
    empty = tmp_path / "empty.macros"
    empty.write_text("")
    bare = dataclasses.replace(load_target(ROOT, "el9"), macros_files=(empty,))
    with pytest.raises(UserError, match="unexpanded macro"):
        check_spec(rendered.spec, bare)


def test_unexpanded_macro_scan_ignores_free_text():
    parsed = "Summary: 100%sure\n%description\nuses %{x} literally\n%install\nrun %{_unitdir}\n"
    assert unexpanded_macros(parsed) == ["{_"]


def test_scriptlet_style_follows_the_target(tmp_path):
    manifest = FIXTURES / "chain" / "manifest.yaml"
    el9 = render_for(manifest, tmp_path / "a", "el9")["chain-b"].spec.read_text()
    suse = render_for(manifest, tmp_path / "b", "leap-16")["chain-b"].spec.read_text()
    assert "%systemd_post chain-b.service" in el9 and "%service_add_post" not in el9
    assert "%service_add_post chain-b.service" in suse and "%systemd_post" not in suse
    assert "%systemd_postun_with_restart chain-b.service" in el9


def test_dependencies_are_mapped_per_target(tmp_path):
    manifest = FIXTURES / "chain" / "manifest.yaml"
    el9 = render_for(manifest, tmp_path / "a", "el9")["chain-b"].spec.read_text()
    suse = render_for(manifest, tmp_path / "b", "leap-16")["chain-b"].spec.read_text()
    # EL/Fedora's convention: systemd-rpm-macros' %sysusers_create_compat runs the sysusers.d file
    assert "%{?sysusers_requires_compat}\n" in el9
    assert "%pre\n" in el9 and "%sysusers_create_compat %{SOURCE" in el9
    # openSUSE's convention: sysuser-tools makes the %pre script from the sysusers.d file
    assert "BuildRequires:  sysuser-tools\n%sysusers_requires\n" in suse
    assert "%sysusers_generate_pre %{SOURCE2} chain-b chain-b.conf" in suse
    assert "%pre -f chain-b.pre" in suse
    assert "Requires:       chain-a" in el9  # internal names stay as they are


def test_meta_package_requires_every_package(tmp_path):
    spec = render_for(FIXTURES / "chain" / "manifest.yaml", tmp_path, "el9")["chain-meta"]
    text = spec.spec.read_text()
    assert "Requires:       chain-a" in text and "Requires:       chain-b" in text


def test_rendering_twice_leaves_files_untouched(tmp_path):
    manifest = FIXTURES / "chain" / "manifest.yaml"
    first = render_for(manifest, tmp_path, "el9")["chain-b"]
    before = {p.name: p.stat().st_mtime_ns for p in [first.spec, *first.sources_dir.iterdir()]}
    second = render_for(manifest, tmp_path, "el9")["chain-b"]
    after = {p.name: p.stat().st_mtime_ns for p in [second.spec, *second.sources_dir.iterdir()]}
    assert before == after


def test_broken_template_is_one_line(tmp_path, monkeypatch):
    specs = tmp_path / "specs"
    specs.mkdir()
    for template in (ROOT / "specs").iterdir():
        (specs / template.name).write_text(template.read_text())
    (specs / "meta.spec.j2").write_text("{% extends 'base.spec.j2' %}{% block files %}{{ oops }")
    monkeypatch.setattr("buildtool.render.SPECS_DIR", specs)
    with pytest.raises(UserError, match=r"meta.spec.j2:1: template syntax error"):
        render_for(FIXTURES / "chain" / "manifest.yaml", tmp_path, "el9")


@pytest.mark.parametrize("attack", ["unit-description-newline", "tmpfiles-remove-usr",
                                    "install-etc-passwd", "yaml-billion-laughs"])
def test_render_refuses_a_hostile_manifest_and_writes_nothing(tmp_path, attack):
    """The render stage validates first: one located line, exit 2, no spec or unit written."""
    manifest = Path(__file__).resolve().parent / "hostile" / f"{attack}.yaml"
    build = tmp_path / "build"
    result = run_buildtool("render", "-m", str(manifest), "--target", "el9",
                           "--build-dir", str(build))
    assert result.status == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and f"{attack}.yaml:" in lines[0] and "Traceback" not in result.stderr
    assert not build.exists() or not list(build.rglob("*.spec")) + list(build.rglob("*.service"))
