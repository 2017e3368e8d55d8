"""The fuel-release recipe: `buildtool release-files` writes the package's sources, a manifest
declares the package on them, the published package installs the .repo (%config(noreplace)),
the key and /etc/fuel_release. The manifest text below is the declaration proposed for fuel.yaml."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from publish_helpers import make_key

from buildtool import publish
from buildtool.signing import stop_agent
from conftest import require_tools, run_buildtool

pytestmark = [pytest.mark.integration]

FUEL_RELEASE = """\
schema: 1
packages:
  fuel-release:
    version: "11.0.0"
    kind: files
    summary: Fuel repository configuration and signing key
    description: |
      The dnf/yum repository file of the Fuel repository, its public signing key
      and /etc/fuel_release.
    source:
      path: packages/fuel-release
    install:
      - {src: RPM-GPG-KEY-fuel, dest: /etc/pki/rpm-gpg/RPM-GPG-KEY-fuel}
      - {src: fuel_release, dest: /etc/fuel_release}
    config_files:
      - {dest: /etc/yum.repos.d/fuel.repo, source: packages/fuel-release/fuel.repo}
"""


def test_fuel_release_built_from_release_files_installs_repo_key_and_release(tmp_path):
    require_tools("rpmbuild", "rpmsign", "createrepo_c", "gpg")
    project = tmp_path / "project"
    project.mkdir()
    (project / "fuel.yaml").write_text(FUEL_RELEASE)
    home = tmp_path / "gnupg"
    fingerprint = make_key(home)
    env = {**os.environ, "GNUPGHOME": str(home), "BUILDTOOL_CACHE": str(tmp_path / "cache")}
    # relative paths, as `make repo` would pass them from the project directory
    client = ["--dist-dir", "dist", "--sign-key", fingerprint,
              "--base-url", "https://fuel.example.org/repos"]
    try:
        files = run_buildtool("release-files", *client, "--out", "packages/fuel-release",
                              cwd=project, env=env)
        assert files.status == 0, files.stderr
        built = run_buildtool("repo", "--manifest", "fuel.yaml", "--build-dir", "build", *client,
                              cwd=project, env=env)
        assert built.status == 0, built.stderr
    finally:
        stop_agent(home)
    current = publish.current_snapshot(publish.repo_dir(project / "dist", "el9"))
    rpm = next((current / "Packages").glob("fuel-release-*.rpm"))
    query = subprocess.run(["rpm", "-qp", "--qf", "[%{FILENAMES} %{FILEFLAGS:fflags}\\n]",
                            str(rpm)], capture_output=True, text=True).stdout.splitlines()
    assert "/etc/yum.repos.d/fuel.repo cn" in query  # %config(noreplace)
    assert "/etc/pki/rpm-gpg/RPM-GPG-KEY-fuel " in query
    assert "/etc/fuel_release " in query  # not config: an upgrade must update it

    extracted = tmp_path / "extracted"
    extracted.mkdir()
    payload = subprocess.Popen(["rpm2cpio", str(rpm)], stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL)
    cpio = subprocess.run(["cpio", "-idm", "--quiet"], stdin=payload.stdout, cwd=extracted,
                          capture_output=True)
    payload.stdout.close()
    assert payload.wait() == 0 and cpio.returncode == 0, cpio.stderr
    repo_file = (extracted / "etc/yum.repos.d/fuel.repo").read_text()
    assert "baseurl=https://fuel.example.org/repos/el9/current" in repo_file
    assert "gpgcheck=1" in repo_file and "repo_gpgcheck=1" in repo_file
    assert "gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-fuel" in repo_file
    assert (extracted / "etc/pki/rpm-gpg/RPM-GPG-KEY-fuel").read_text() == \
        (current / "RPM-GPG-KEY-fuel").read_text()
    assert (extracted / "etc/fuel_release").read_text() == "11.0\n"
    assert Path(project / "packages/fuel-release/fuel.repo").read_text() == repo_file
