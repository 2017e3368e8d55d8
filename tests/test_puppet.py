"""The Puppet tree's own checks (puppet/run-tests.sh): parser validate,
puppet-lint --fail-on-warnings, rspec-puppet for EL9, Fedora and openSUSE."""

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
RUN_TESTS = REPO / "puppet" / "run-tests.sh"


@pytest.mark.integration
@pytest.mark.skipif(shutil.which("puppet") is None,
                    reason="puppet is not installed (apt-get install puppet puppet-lint ruby-rspec-puppet)")
def test_puppet_tree():
    r = subprocess.run(["bash", str(RUN_TESTS)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-6000:] + r.stderr[-6000:]
    assert " 0 failures" in r.stdout
