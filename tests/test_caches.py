"""What is kept between runs is keyed by content, never stale: compiled spec templates, the
deterministic tarball of a local source tree; and what `validate` leaves unimported."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import time

import jinja2
import pytest
from publish_helpers import build_rpm

from buildtool import gate, pipeline, sources
from buildtool.errors import UserError
from buildtool.manifest import Package, Source
from buildtool.releases import Release, apply_release
from buildtool.render import _bytecode_cache, template_environment
from buildtool.sources import Lookaside, fetch
from buildtool.targets import load_target
from conftest import ROOT, require_tools


def environment(templates, cache):
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(templates)),
                              bytecode_cache=_bytecode_cache(cache))


def test_compiled_templates_are_reused(tmp_path, monkeypatch):
    template_environment(tmp_path).get_template("files.spec.j2")
    assert list(tmp_path.glob("*.jinja"))
    again = template_environment(tmp_path)
    monkeypatch.setattr(again, "compile", lambda *a, **k: (_ for _ in ()).throw(
        AssertionError("compiled again although the template is unchanged")))
    assert again.get_template("files.spec.j2").render  # loaded from the cache


def test_an_edited_template_is_compiled_again_even_with_the_same_size_and_mtime(tmp_path):
    templates = tmp_path / "templates"
    templates.mkdir()
    template = templates / "a.j2"
    template.write_text("one {{ x }}")
    assert environment(templates, tmp_path / "cache").get_template("a.j2").render(x=1) == "one 1"
    stat = template.stat()
    template.write_text("two {{ x }}")
    os.utime(template, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert environment(templates, tmp_path / "cache").get_template("a.j2").render(x=1) == "two 1"


def tarball_of(tree, tmp_path):
    package = Package(version="1.0", summary="s", description="d", kind="files", name="demo",
                      source=Source(path="tree"), source_date_epoch=1700000000)
    dest_dir = tmp_path / "SOURCES" / "demo"
    dest_dir.mkdir(parents=True, exist_ok=True)
    return fetch(package, tree.parent, Lookaside(tmp_path / "cache"), dest_dir), dest_dir


def test_local_source_tarball_is_made_again_only_when_the_tree_changes(tmp_path, monkeypatch):
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "file").write_text("one")
    old = time.time() - 60  # older than the racy window: its times can be trusted
    os.utime(tree / "file", (old, old))
    made = []
    real = sources.deterministic_tarball
    monkeypatch.setattr(sources, "deterministic_tarball",
                        lambda *args: made.append(args) or real(*args))
    monkeypatch.setattr(sources, "RACY_SECONDS", 0)  # ctime is now: do not wait for it to age
    first, dest_dir = tarball_of(tree, tmp_path)
    second, _ = tarball_of(tree, tmp_path)
    assert (second.sha256, len(made)) == (first.sha256, 1)

    (tree / "file").write_text("two")  # same size
    os.utime(tree / "file", (old, old))  # same mtime: the ctime and the stamp still change
    third, _ = tarball_of(tree, tmp_path)
    assert third.sha256 != first.sha256 and len(made) == 2
    assert sources.file_sha256(dest_dir / third.filename) == third.sha256

    (dest_dir / third.filename).write_bytes(b"damaged")
    fourth, _ = tarball_of(tree, tmp_path)
    assert fourth.sha256 == third.sha256 and len(made) == 3
    assert sources.file_sha256(dest_dir / fourth.filename) == third.sha256


def test_a_tree_changed_just_now_is_not_trusted_by_its_times(tmp_path, monkeypatch):
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "file").write_text("one")
    made = []
    real = sources.deterministic_tarball
    monkeypatch.setattr(sources, "deterministic_tarball",
                        lambda *args: made.append(args) or real(*args))
    tarball_of(tree, tmp_path)
    tarball_of(tree, tmp_path)
    assert len(made) == 2


def test_validate_imports_no_renderer_and_no_network_code():
    code = ("import sys; from buildtool import cli; cli.main(['validate']); "
            "print(' '.join(m for m in ('jinja2', 'urllib.request', 'ssl', 'http.client', "
            "'xml.etree.ElementTree') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


def test_a_no_op_render_leaves_the_decided_release_and_rewrites_a_changed_spec(chain, tmp_path):
    settings = pipeline.Settings(manifest=chain, build_dir=tmp_path / "build")

    def render():
        manifest, targets = pipeline.load(settings)
        return pipeline.render(manifest, targets[0], settings,
                               pipeline.plan_graph(manifest, settings))["chain-a"]

    item = render()
    apply_release(item, Release("1.0", "3", "Wed Dec 02 2026", "-", {}, ["Rebuilt"]), [],
                  "P <p@example.org>")
    decided, stamp = item.spec.read_text(), item.spec.stat().st_ino
    assert "Release:" in decided and "3%{?dist}" in decided
    render()
    assert (item.spec.read_text(), item.spec.stat().st_ino) == (decided, stamp)

    chain.write_text(chain.read_text().replace("First link of the chain", "First link, edited", 1))
    render()
    assert "First link, edited" in item.spec.read_text()
    assert "3%{?dist}" not in item.spec.read_text()


def test_a_set_that_passed_the_gate_passes_again_until_an_rpm_or_the_data_changes(
        tmp_path, monkeypatch):
    require_tools("rpmbuild", "createrepo_c", "dnf")
    target = load_target(ROOT, "el9")
    data = tmp_path / "el9.tsv"
    shutil.copy(target.distro_data_file(ROOT), data)
    rpms = [build_rpm("one", "1", tmp_path / "rpms"), build_rpm("two", "1", tmp_path / "rpms")]
    checks = []
    real = gate._check
    monkeypatch.setattr(gate, "_check", lambda *args: checks.append(args) or real(*args))

    def verdict():
        return gate.installable(rpms, {}, target, data, tmp_path / "gate").rpms

    assert verdict() == sorted(rpms) and len(checks) == 1
    assert verdict() == sorted(rpms) and len(checks) == 1  # the same set: no second check
    rpms[1] = build_rpm("two", "1", tmp_path / "rebuilt")
    assert verdict() == sorted(rpms) and len(checks) == 2  # a rebuilt RPM is checked
    data.write_text(data.read_text() + "\n")
    assert verdict() == sorted(rpms) and len(checks) == 3  # so is new distribution data


def test_a_validated_manifest_is_reused_until_an_input_changes(chain, tmp_path, monkeypatch):
    """Validation is skipped when nothing it depends on changed: the manifest, the profiles,
    buildtool's modules; a file the manifest references is checked again every time."""
    from buildtool import manifest as manifest_module
    from buildtool import validated

    validations = []
    real = manifest_module._load_and_validate
    monkeypatch.setattr(manifest_module, "_load_and_validate",
                        lambda *args: validations.append(1) or real(*args))
    settings = pipeline.Settings(manifest=chain, build_dir=tmp_path / "build")

    def load():
        before = len(validations)
        manifest = pipeline.load(settings)[0]
        return manifest, len(validations) > before

    first, validated_now = load()
    assert validated_now
    again, validated_now = load()
    assert not validated_now and again.packages == first.packages and again.path == chain

    chain.write_text(chain.read_text().replace('version: "1.0"', 'version: "1.1"', 1))
    edited, validated_now = load()
    assert validated_now and "1.1" in {p.version for p in edited.packages.values()}
    assert not load()[1]

    modules = tmp_path / "modules"  # buildtool edited in a checkout: never an older verdict
    modules.mkdir()
    (modules / "manifest.py").write_text("# one\n")
    monkeypatch.setattr(validated, "PACKAGE_DIR", modules)
    # read once per run (a fresh cache here, the real one restored afterwards): two runs
    monkeypatch.setattr(validated, "_code_stamp", functools.cache(validated._code_stamp.__wrapped__))
    assert load()[1] and not load()[1]
    (modules / "manifest.py").write_text("# two, longer\n")
    validated._code_stamp.cache_clear()
    assert load()[1]

    for entry in (tmp_path / "build" / "cache" / "parsed").glob("manifest-*.pickle"):
        entry.write_bytes(b"not a pickle")
    assert load()[1] and not load()[1]
    for entry in (tmp_path / "build" / "cache" / "parsed").glob("manifest-*.pickle"):
        key_line = entry.read_bytes().split(b"\n", 1)[0]  # the right key, a damaged body
        entry.write_bytes(key_line + b"\n\x80\x05garbage")
    assert load()[1] and not load()[1]


def test_a_deleted_file_the_manifest_needs_is_found_although_the_manifest_is_unchanged(
        chain, tmp_path):
    settings = pipeline.Settings(manifest=chain, build_dir=tmp_path / "build")
    manifest = pipeline.load(settings)[0]
    local = [p for p in manifest.packages.values() if p.source and p.source.path]
    assert local, "the chain fixture builds from local trees"
    shutil.rmtree(chain.parent / local[0].source.path)
    # the located error of full validation, not the kept verdict
    with pytest.raises(UserError, match=f"{local[0].name}.source.path.*does not exist"):
        pipeline.load(settings)


def test_edited_target_profiles_are_parsed_again(tmp_path, monkeypatch):
    from buildtool import targets

    root = tmp_path / "project"
    shutil.copytree(ROOT / "repo-config", root / "repo-config")
    parsed = []
    real = targets.load_target
    monkeypatch.setattr(targets, "load_target", lambda *args: parsed.append(args[1]) or real(*args))
    cache = tmp_path / "kept"
    first = targets.load_all_targets(root, cache)
    assert parsed and targets.load_all_targets(root, cache) == first and len(parsed) == len(first)
    profile = root / "repo-config" / "targets" / "el9.yaml"
    profile.write_text(profile.read_text().replace("description:", "description: Edited", 1))
    edited = targets.load_all_targets(root, cache)
    assert len(parsed) == 2 * len(first) and edited["el9"].description.startswith("Edited")


def test_a_run_whose_inputs_are_kept_imports_no_yaml_parser(chain, tmp_path):
    code = ("import sys; from pathlib import Path; from buildtool import pipeline\n"
            "s = pipeline.Settings(manifest=Path(sys.argv[1]), build_dir=Path(sys.argv[2]))\n"
            "pipeline.load(s); pipeline.client_files(pipeline.load(s)[1][0], s)\n"
            "print('yaml' in sys.modules)\n")
    runs = [subprocess.run([sys.executable, "-c", code, str(chain), str(tmp_path / "build")],
                           cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
            for _ in range(2)]
    assert runs == ["True", "False"]
