"""Property-based fuzzing of manifests: whatever the file holds, buildtool either accepts it or says
so in one `file:line:col: message` line with exit status 2. Never a traceback.

Two generators start from one good manifest: structural changes (any value replaced by hostile
data, keys dropped or added) and byte-level corruption of its text (YAML syntax, tags, anchors,
control bytes, invalid UTF-8). A manifest that is accepted is rendered (units, sysusers, tmpfiles,
logrotate, the spec) and its generated files must still have only the lines buildtool writes.
"""

from __future__ import annotations

import copy
import os
import re
import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from buildtool import cli, units
from buildtool.errors import UserError
from buildtool.manifest import load_manifest
from buildtool.policy import TMPFILES_TYPES
from buildtool.render import render_package, template_environment
from buildtool.targets import available_targets, load_target
from conftest import ROOT

GOOD = """\
schema: 1
defaults: {release: "1", source_date_epoch: 1700000000}
profiles:
  extra: {description: more}
packages:
  daemon:
    version: "2.0"
    kind: files
    summary: A daemon
    description: |
      Runs as its own user.
      Keeps state.
    install:
      - {dest: /usr/bin/daemon1, content: "#!/bin/sh\\nexec sleep 1\\n", mode: "0755"}
    users:
      - {name: daemon1, home: /var/lib/daemon1, comment: The daemon}
    services:
      - name: daemon1
        description: The daemon
        exec_start: /usr/bin/daemon1 --serve
        exec_reload: /bin/kill -HUP $MAINPID
        user: daemon1
        after: [network-online.target]
        environment: {DAEMON_MODE: fast}
        environment_file: -/etc/sysconfig/daemon1
        read_write_paths: [/var/cache/daemon1]
    config_files:
      - {dest: /etc/daemon1/daemon1.conf, content: "a: 1\\n", mode: "0640", group: daemon1}
    directories:
      - {path: /var/lib/daemon1, owner: daemon1, group: daemon1, mode: "0750"}
      - {path: /var/log/daemon1, owner: daemon1, group: daemon1, mode: "0750", kind: log}
      - {path: /run/daemon1, owner: daemon1, group: daemon1, kind: runtime}
    tmpfiles: ["d /run/daemon1/sockets 0750 daemon1 daemon1 -"]
    logrotate:
      - {path: "/var/log/daemon1/*.log", frequency: daily, rotate: 7, su: daemon1 daemon1}
  everything:
    version: "1"
    kind: meta
    profile: extra
    summary: Everything
    description: Everything.
    requires_all_packages: true
"""
BASE = yaml.safe_load(GOOD)
TARGETS = {name: load_target(ROOT, name) for name in available_targets(ROOT)}
KNOWN = {name: set(target.deps) for name, target in TARGETS.items()}
TEMPLATES = template_environment()  # compiled once, as one render run does
LOCATED = re.compile(r"^buildtool: error: [^\n]*manifest\.yaml:\d+:\d+: [^\n]+$")

HOSTILE_TEXT = [
    "", " ", "/", "/etc/passwd", "/usr", "/var/lib/../../etc/shadow", "/usr/bin/./x", "//x",
    "R! /usr", "w /proc/sys/kernel/core_pattern - - - - |sh", "d /var/lib/x 0777 - - 1d",
    "root root", "x x } /etc/shadow {", "+/bin/sh -c id", "/bin/true ; +/bin/sh", "a\\",
    "a\nExecStartPre=+/bin/sh", "a\r\nb", "\x1b[31m", "a\x85b", "a\u2028b", "%(rm -rf /)",
    "%{_bindir}", "%post", "$(id)", "`id`", "1.10", "0644", "yes", "~", "1e3", "*", "&a",
    "!!python/object:os.system", "<<", "0777", "4755", "-1", "99999999999999999999", "nan",
    "A B", "X=Y", "a.service ExecStartPre=x", "wheel", "root", "systemd-x", "a" * 300,
]
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.sampled_from([2**32, -1, 10**30, 0o644]),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from(HOSTILE_TEXT),
    st.text(max_size=20), st.text(alphabet="/.-_ %\n\t\\:*!&{}[]#'\"@0aZ~", max_size=12))
# Text that tries to start a new line (or directive) in whatever file the field reaches.
injections = st.builds(
    lambda before, separator, line: before + separator + line,
    st.sampled_from(["", "x", "Evil daemon", "/usr/bin/x", "daemon1 daemon1", "d /run/x"]),
    st.sampled_from(["\n", "\n", "\\\n", "\r\n", "\r", "\x85", "\u2028", " ; ", " } "]),
    st.sampled_from(["ExecStartPre=+/bin/sh -c id", "[Service]", "%post", "R! /usr",
                     "postrotate", "/etc/shadow {", "u root 0", "User=root"]))
values = st.recursive(scalars, lambda children: st.lists(children, max_size=3)
                      | st.dictionaries(st.text(max_size=10) | st.sampled_from(HOSTILE_TEXT),
                                        children, max_size=3), max_leaves=8)


def node_paths(data, prefix=()):
    yield prefix
    if isinstance(data, dict):
        for key, value in data.items():
            yield from node_paths(value, prefix + (key,))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from node_paths(value, prefix + (index,))


def parent_of(data, path):
    for part in path[:-1]:
        data = data[part]
    return data


@st.composite
def changed_manifests(draw) -> bytes:
    """The good manifest with one text field injected, or 1-3 values replaced, removed or added."""
    data = copy.deepcopy(BASE)
    if draw(st.booleans()):  # one injection alone, so that the rest stays valid
        texts = [p for p in node_paths(data) if p and isinstance(parent_of(data, p)[p[-1]], str)]
        path = draw(st.sampled_from(texts))
        parent_of(data, path)[path[-1]] = draw(injections)
        return yaml.safe_dump(data, allow_unicode=draw(st.booleans()), sort_keys=False).encode()
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from([p for p in node_paths(data) if p]))
        parent = parent_of(data, path)
        action = draw(st.sampled_from(["replace", "replace", "delete", "add"]))
        if action == "replace":
            parent[path[-1]] = draw(values)
        elif action == "delete":
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[draw(st.text(max_size=10) | st.sampled_from(HOSTILE_TEXT))] = draw(values)
        else:
            parent.append(draw(values))
    return yaml.safe_dump(data, allow_unicode=draw(st.booleans()), sort_keys=False).encode()


SNIPPETS = [b": ", b"- ", b"[", b"]", b"{", b"}", b"&a ", b"*a", b"!!python/object:os.system ",
            b"!x ", b"!!binary ", b"<<: ", b"? ", b"|", b">", b"'", b'"', b"%", b"\t", b"\n",
            b"\n  ", b"#", b"---\n", b"...\n", b"\x00", b"\xff", b"\xc3", b"\x1b", b"\r",
            b"0644", b"1.10", b"yes", b"~", b"1e3", b"\\", b"@", b"`", b",", b"\xe2\x80\xa8"]


@st.composite
def corrupted_manifests(draw) -> bytes:
    """The good manifest's text with 1-4 byte-level edits."""
    text = GOOD.encode()
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        action = draw(st.sampled_from(["insert", "insert", "delete", "duplicate", "replace"]))
        if action == "insert":
            piece = draw(st.sampled_from(SNIPPETS) | st.binary(max_size=3))
            text = text[:at] + piece + text[at:]
        elif action == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 20)):]
        elif action == "duplicate":
            line_start = text.rfind(b"\n", 0, at) + 1
            line_end = text.find(b"\n", at) + 1 or len(text)
            text = text[:line_end] + text[line_start:line_end] + text[line_end:]
        else:
            text = text[:at] + draw(st.sampled_from(SNIPPETS)) + text[at + 1:]
    return text


def validate(content: bytes, workdir: Path) -> tuple[int, str]:
    """What `buildtool validate -m FILE` does, minus re-reading the target files every time.

    cli.main turns a UserError into its one line and exit status 2 (tests/test_manifest_errors.py
    and tests/test_hostile_manifests.py run the CLI itself); any other exception is a crash and
    fails the test with its traceback.
    """
    manifest = workdir / "manifest.yaml"
    manifest.write_bytes(content)
    try:
        load_manifest(manifest, known_dependencies=KNOWN)
    except UserError as error:
        return error.exit_status, f"buildtool: error: {error}\n"
    return 0, ""


UNIT_LINE = re.compile(r"^(#.*|\[(Unit|Service|Install)\]|)$")


def assert_generated_files_are_ours(workdir: Path) -> None:
    """Render what was accepted; generated files must only have lines buildtool writes itself."""
    manifest = load_manifest(workdir / "manifest.yaml", known_dependencies=KNOWN)
    unit_keys = ({"Description", "After", "Wants", "Requires", "Type", "User", "Group",
                  "EnvironmentFile", "Environment", "WorkingDirectory", "ExecStart", "ExecReload",
                  "Restart", "RestartSec", "UMask", "ReadWritePaths", "WantedBy"}
                 | {key for key, _ in units.SANDBOX + units.UNPRIVILEGED_SANDBOX})
    for package in manifest.packages.values():
        for service in package.services:
            text = units.render_unit(package, service)
            sections = [line for line in text.splitlines() if line.startswith("[")]
            assert sections == ["[Unit]", "[Service]", "[Install]"], text
            for line in text.splitlines():
                assert UNIT_LINE.match(line) or line.split("=", 1)[0] in unit_keys, line
                assert not line.rstrip().endswith("\\"), line
        for line in units.render_tmpfiles(package).splitlines()[1:]:
            assert line.split()[0].rstrip("-!") in TMPFILES_TYPES, line
        for line in units.render_logrotate(package).splitlines()[1:]:
            assert line in ("}", "") or line.startswith("    ") or line.endswith(" {"), line
    internal = {n for p in manifest.packages.values() for n in [p.name, *(s.name for s in p.subpackages)]}
    try:
        for package in manifest.packages.values():
            render_package(TEMPLATES, manifest, package, TARGETS["el9"], workdir / "build", internal)
    except UserError:
        pass  # e.g. a dependency without a mapping for el9: one line like any other refusal


def check(content: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        status, stderr = validate(content, workdir)
        if status == 0:
            assert_generated_files_are_ours(workdir)
            return
        assert status == 2, stderr
        assert "Traceback" not in stderr
        lines = stderr.splitlines()
        assert len(lines) == 1 and LOCATED.match(lines[0]), stderr


# 2 x 1500 manifests by default (~40 s of CPU); BUILDTOOL_FUZZ_EXAMPLES=20000 for a long run.
FUZZ = settings(max_examples=int(os.environ.get("BUILDTOOL_FUZZ_EXAMPLES", "1500")), deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def test_the_good_manifest_passes_and_renders(tmp_path, capsys):
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text(GOOD)
    assert cli.main(["validate", "-m", str(manifest)]) == 0, capsys.readouterr().err
    check(GOOD.encode())


@FUZZ
@given(changed_manifests())
def test_structurally_changed_manifests_never_crash(content):
    check(content)


@FUZZ
@given(corrupted_manifests())
def test_corrupted_manifest_text_never_crashes(content):
    check(content)

