"""Bad manifests: each gives exactly one located line with a hint, exit status 2, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import run_buildtool

GOOD = """\
schema: 1
profiles:
  upstream:
    description: git-only services
packages:
  base:
    version: "1.0"
    kind: files
    summary: A base package
    description: Base.
    source:
      path: src
    install:
      - {src: tool, dest: /usr/bin/tool, mode: "0755"}
  daemon:
    version: "2.0"
    kind: files
    summary: A daemon
    description: Runs as its own user.
    requires: [base, bash]
    users:
      - {name: daemon1}
    services:
      - name: daemon1
        description: The daemon
        exec_start: /usr/bin/tool --serve
        user: daemon1
    config_files:
      - {dest: /etc/daemon1/daemon1.conf, content: "a: 1", mode: "0640", group: daemon1}
    directories:
      - {path: /var/lib/daemon1, owner: daemon1, group: daemon1, mode: "0750"}
  all:
    version: "1"
    kind: meta
    summary: Everything
    description: Everything.
    requires_all_packages: true
"""

# (name, text replacement (old, new) applied to GOOD or a whole text, expected fragments)
CASES = [
    ("unknown top-level key", ("schema: 1\n", "schema: 1\nextra: 2\n"),
     ["manifest.yaml:2:1: extra: unknown key", "allowed keys"]),
    ("misspelt package key", ("    summary: A daemon\n", "    sumary: A daemon\n"),
     ["packages.daemon.sumary: unknown key", "did you mean 'summary'?"]),
    ("missing required key", ("    summary: A base package\n", ""),
     ["packages.base.summary: required key is missing"]),
    ("wrong type for list", ("requires: [base, bash]", "requires: base"),
     ["packages.daemon.requires: expected a list, got text ('base')"]),
    ("wrong type for bool", ("requires_all_packages: true", "requires_all_packages: 3"),
     ["packages.all.requires_all_packages: expected true or false"]),
    ("bad kind", ("kind: meta", "kind: rpm"), ["packages.all.kind: 'rpm' is not allowed",
                                              "use one of: python, files, meta"]),
    ("invalid package name", ("  base:\n", "  'base pkg':\n"),
     ["packages.base pkg: 'base pkg' is not a valid RPM package name"]),
    ("dash in version", ('version: "2.0"', 'version: "2.0-1"'),
     ["packages.daemon.version: '2.0-1' is not a valid RPM version"]),
    ("duplicate package", ("  all:\n", "  base:\n"), ["packages.base: duplicate key"]),
    ("requires a package that does not exist", ("requires: [base, bash]", "requires: [bsae, bash]"),
     ["packages.daemon.requires[0]: 'bsae' is not a package of this manifest",
      "did you mean 'base'?"]),
    ("dependency cycle", ("    summary: A base package\n",
                          "    summary: A base package\n    build_requires: [daemon]\n"),
     ["dependency cycle: base -> daemon -> base"]),
    ("absolute source path", ("path: src", "path: /etc"),
     ["packages.base.source.path: '/etc' must be a path inside this repository"]),
    ("dot-dot install src", ("src: tool,", "src: ../tool,"),
     ["packages.base.install[0].src: '../tool' must be a relative path inside the source"]),
    ("relative destination", ("dest: /usr/bin/tool", "dest: usr/bin/tool"),
     ["packages.base.install[0].dest: 'usr/bin/tool' is not a clean absolute path"]),
    ("dot-dot destination", ("dest: /usr/bin/tool", "dest: /usr/bin/../../etc/x"),
     ["is not a clean absolute path"]),
    ("newline in one-line field", ("summary: A daemon", 'summary: "A daemon\\n%post\\nrm -rf /"'),
     ["packages.daemon.summary: must be a single line"]),
    ("service user not created", ("        user: daemon1", "        user: nobody1"),
     ["packages.daemon.services[0].user: user 'nobody1' is not created by any package"]),
    ("root service without reason", ("        user: daemon1", "        user: root"),
     ["service runs as root without a reason"]),
    ("config group unknown", ("group: daemon1}", "group: wheel1}"),
     ["packages.daemon.config_files[0].group: group 'wheel1' is not created by any package"]),
    ("bad mode", ('mode: "0640"', 'mode: "640x"'),
     ["packages.daemon.config_files[0].mode: '640x' is not a file mode"]),
    ("world-writable config", ('mode: "0640"', 'mode: "0666"'),
     ["packages.daemon.config_files[0].mode: mode 0666 is world-writable"]),
    ("config with neither source nor content", ('content: "a: 1", ', ""),
     ["give exactly one of 'source' or 'content'"]),
    ("missing source directory", ("path: src", "path: nowhere"),
     ["packages.base.source.path: 'nowhere' does not exist"]),
    ("two source kinds", ("      path: src\n", "      path: src\n      pypi: x\n"),
     ["packages.base.source: give exactly one of path, git, pypi, url or generated"]),
    ("pypi source without sha256", ("      path: src\n", "      pypi: x\n"),
     ["packages.base.source.sha256: a pypi source needs a sha256"]),
    ("git source without ref", ("      path: src\n", "      git: https://example.org/x.git\n"),
     ["packages.base.source.ref: a git source needs a ref"]),
    ("unknown profile", ("    kind: meta\n", "    kind: meta\n    profile: nightly\n"),
     ["packages.all.profile: unknown profile 'nightly'"]),
    ("default package needs upstream one", ("    summary: A base package\n",
                                            "    summary: A base package\n    profile: upstream\n"),
     ["'base' is in profile 'upstream' but daemon is not"]),
    ("bad dependency syntax", ("requires: [base, bash]", "requires: [base, 'bash >> 5']"),
     ["packages.daemon.requires[1]: 'bash >> 5' is not a dependency"]),
    ("user name with capitals", ("{name: daemon1}", "{name: Daemon1}"),
     ["packages.daemon.users[0].name: 'Daemon1' is not a valid user or group name"]),
    ("unit name with space", ("      - name: daemon1\n", "      - name: 'daemon 1'\n"),
     ["packages.daemon.services[0].name: 'daemon 1' is not a valid unit name"]),
    ("relative exec_start", ("exec_start: /usr/bin/tool --serve", "exec_start: tool --serve"),
     ["services[0].exec_start: must start with an absolute path"]),
    ("YAML syntax error", ("    kind: meta\n", "    kind: [meta\n"), ["YAML syntax error"]),
    ("schema version", ("schema: 1", "schema: 2"), ["schema: '2' is not allowed"]),
    ("config for unknown target", ('mode: "0640", group: daemon1}',
                                   'mode: "0640", group: daemon1, targets: [rhel5]}'),
     ["packages.daemon.config_files[0].targets[0]: unknown target 'rhel5'"]),
    # attacks (issue 11); tests/hostile/ holds the whole corpus, these go through the real CLI
    ("unit description injects a root command",
     ("        description: The daemon\n",
      "        description: \"The daemon\\nExecStartPre=+/bin/sh -c 'id > /tmp/pwned'\"\n"),
     ["packages.daemon.services[0].description: must be a single line"]),
    ("environment key is not an identifier", ("        user: daemon1\n",
                                              "        user: daemon1\n        environment: {'A B': x}\n"),
     ["services[0].environment.A B: 'A B' is not an environment variable name"]),
    ("directory claims / world-writable", ('{path: /var/lib/daemon1, owner: daemon1, group: daemon1, mode: "0750"}',
                                           '{path: /, mode: "0777"}'),
     ["packages.daemon.directories[0].path: '/' is a system directory"]),
    ("install over /etc/passwd", ("dest: /usr/bin/tool", "dest: /etc/passwd"),
     ["packages.base.install[0].dest: '/etc/passwd' belongs to the system"]),
    ("tmpfiles removes /usr", ("    directories:\n", "    tmpfiles: ['R! /usr']\n    directories:\n"),
     ["packages.daemon.tmpfiles[0]: tmpfiles type 'R!' is not allowed"]),
    ("logrotate su injection", ("    directories:\n",
                                '    logrotate:\n      - {path: "/var/log/d/*.log", su: "daemon1 daemon1 } /etc/shadow {"}\n'
                                "    directories:\n"),
     ["packages.daemon.logrotate[0].su: 'daemon1 daemon1 } /etc/shadow {' is not 'USER GROUP'"]),
    ("unquoted version 1.10", ('version: "2.0"', "version: 1.10"),
     ["packages.daemon.version: YAML reads 1.10 as the number 1.1, not as text", 'quote it: "1.10"']),
    ("unquoted mode 0644", ('mode: "0640"', "mode: 0644"),
     ["config_files[0].mode: YAML reads 0644 as the number 420", 'quote it: "0644"']),
    ("epoch out of range", ("  all:\n", "  all:\n    source_date_epoch: 100000000000000000000\n"),
     ["packages.all.source_date_epoch: 100000000000000000000 is out of range"]),
    ("python tag", ("schema: 1\n", "schema: 1\nx: !!python/object/apply:os.system [id]\n"),
     ["YAML tag '!!python/object/apply:os.system' is not allowed"]),
    ("deep nesting", ("schema: 1\n", "schema: 1\nx: " + "[" * 2000 + "]" * 2000 + "\n"),
     ["nested more than 32 levels deep"]),
]


def write_manifest(tmp_path: Path, text: str) -> Path:
    (tmp_path / "src").mkdir(exist_ok=True)
    (tmp_path / "src" / "tool").write_text("#!/bin/sh\n")
    path = tmp_path / "manifest.yaml"
    path.write_text(text)
    return path


def test_the_good_manifest_is_valid(tmp_path):
    result = run_buildtool("validate", "-m", str(write_manifest(tmp_path, GOOD)))
    assert result.status == 0, result.stderr
    assert "ok, 3 packages" in result.stderr


@pytest.mark.parametrize("name,change,expected", CASES, ids=[case[0] for case in CASES])
def test_bad_manifest_gives_one_located_line(tmp_path, name, change, expected):
    old, new = change
    assert old in GOOD, f"case {name!r} does not apply to the good manifest"
    path = write_manifest(tmp_path, GOOD.replace(old, new, 1))
    result = run_buildtool("validate", "-m", str(path))
    assert result.status == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    line = lines[0]
    assert line.startswith("buildtool: error: "), line
    assert ":" in line.split("error: ", 1)[1]
    for fragment in expected:
        assert fragment in line, line


def test_error_points_at_the_line_and_column_of_the_key(tmp_path):
    path = write_manifest(tmp_path, GOOD.replace("    summary: A daemon\n", "    sumary: A daemon\n"))
    line_no = GOOD.splitlines().index("    summary: A daemon") + 1
    result = run_buildtool("validate", "-m", str(path))
    assert f"manifest.yaml:{line_no}:5: packages.daemon.sumary" in result.stderr


def test_missing_manifest_file(tmp_path):
    result = run_buildtool("validate", "-m", str(tmp_path / "absent.yaml"))
    assert result.status == 2
    assert "absent.yaml: no such file" in result.stderr and "Traceback" not in result.stderr


def test_unknown_target_and_profile(tmp_path):
    path = write_manifest(tmp_path, GOOD)
    result = run_buildtool("render", "-m", str(path), "--target", "rhel5")
    assert result.status == 2 and "unknown target 'rhel5'" in result.stderr
    result = run_buildtool("validate", "-m", str(path), "--profile", "nightly")
    assert result.status == 2 and "unknown profile 'nightly'" in result.stderr


def test_bad_source_override(tmp_path):
    path = write_manifest(tmp_path, GOOD)
    result = run_buildtool("validate", "-m", str(path), "--source", "nosuch=/tmp")
    assert result.status == 2 and "no package 'nosuch'" in result.stderr
    result = run_buildtool("validate", "-m", str(path), "--source", "base")
    assert result.status == 2 and "expected NAME=PATH" in result.stderr

