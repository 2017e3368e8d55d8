"""Tests of packages/fuel-setup/fuel-deploy against a temporary tree with a
fake `puppet` that records its argv and exits with a chosen status."""

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FUEL_DEPLOY = REPO / "packages" / "fuel-setup" / "fuel-deploy"

FAKE_PUPPET = """#!/bin/sh
printf '%s\\n' "$@" > "$FAKE_PUPPET_ARGV"
prev=
for a in "$@"; do
    [ "$prev" = --hiera_config ] && cat "$a" > "$FAKE_PUPPET_ARGV.hiera"
    prev=$a
done
echo "Notice: Compiled catalog for fuel"
echo "Notice: Applied catalog in 0.01 seconds"
exit "${FAKE_PUPPET_EXIT:-0}"
"""

SECRET_KEYS = {
    ("FUEL_ACCESS", "password"),
    ("postgres", "nailgun_password"), ("postgres", "keystone_password"),
    ("postgres", "ostf_password"),
    ("keystone", "admin_token"), ("keystone", "nailgun_password"),
    ("keystone", "ostf_password"), ("keystone", "monitord_password"),
    ("astute", "password"), ("mcollective", "password"), ("cobbler", "password"),
}


@pytest.fixture
def env(tmp_path):
    puppet_dir = tmp_path / "share" / "puppet"
    (puppet_dir / "manifests").mkdir(parents=True)
    (puppet_dir / "modules" / "fuel").mkdir(parents=True)
    (puppet_dir / "manifests" / "site.pp").write_text("node default { include fuel }\n")
    (puppet_dir / "hiera.yaml").write_text("---\nversion: 5\n")
    puppet = tmp_path / "bin" / "puppet"
    puppet.parent.mkdir()
    puppet.write_text(FAKE_PUPPET)
    puppet.chmod(0o755)
    e = dict(os.environ)
    e.update({
        "FUEL_DEPLOY_SETTINGS": str(tmp_path / "etc" / "fuel" / "astute.yaml"),
        "FUEL_DEPLOY_PUPPET_DIR": str(puppet_dir),
        "FUEL_DEPLOY_LOG_DIR": str(tmp_path / "log"),
        "FUEL_DEPLOY_MODULEPATH": f"{puppet_dir}/modules:/usr/share/puppet/modules",
        "FUEL_DEPLOY_PUPPET": str(puppet),
        "FAKE_PUPPET_ARGV": str(tmp_path / "argv"),
    })
    e.pop("FAKE_PUPPET_EXIT", None)
    return {"root": tmp_path, "env": e, "puppet_dir": puppet_dir,
            "settings": tmp_path / "etc" / "fuel" / "astute.yaml",
            "log_dir": tmp_path / "log", "argv": tmp_path / "argv"}


def run(env, *args, exit_code=None):
    e = dict(env["env"])
    if exit_code is not None:
        e["FAKE_PUPPET_EXIT"] = str(exit_code)
    return subprocess.run([sys.executable, str(FUEL_DEPLOY), *args], env=e,
                          capture_output=True, text=True, timeout=60)


def parse_settings(path):
    """Parse the settings file (a small YAML subset: nested maps, JSON scalars)."""
    data, section = {}, None
    for line in path.read_text().splitlines():
        if not line.strip() or line.startswith("#") or line == "---":
            continue
        key, _, value = line.strip().partition(":")
        value = value.strip()
        if line.startswith("  "):
            data[section][key] = json.loads(value)
        elif value:
            data[key] = json.loads(value)
        else:
            section = key
            data[key] = {}
    return data


def logs(env):
    return sorted(env["log_dir"].glob("deploy-*.log"))


def test_executable_and_stdlib_only():
    assert os.access(FUEL_DEPLOY, os.X_OK)
    assert FUEL_DEPLOY.read_text().startswith("#!/usr/bin/python3\n")
    out = subprocess.run(
        [sys.executable, "-c",
         "import ast,sys;t=ast.parse(open(sys.argv[1]).read());"
         "print('\\n'.join(sorted({(a.name if isinstance(n,ast.Import) else n.module).split('.')[0]"
         " for n in ast.walk(t) if isinstance(n,(ast.Import,ast.ImportFrom))"
         " for a in (n.names if isinstance(n,ast.Import) else [n])})))",
         str(FUEL_DEPLOY)], capture_output=True, text=True, check=True).stdout.split()
    third_party = [m for m in out if m not in sys.stdlib_module_names]
    assert third_party == []


def test_help_is_useful(env):
    r = run(env, "--help")
    assert r.returncode == 0
    for word in ("--settings", "--noop", "--dry-run", "--log-dir", "--modulepath",
                 "--puppet", "astute.yaml", "exit status", "0600", "detailed-exitcodes"):
        assert word in r.stdout, word


def test_first_run_creates_settings_0600_secrets_never_shown(env):
    r = run(env)
    assert r.returncode == 0, r.stderr
    settings = env["settings"]
    assert stat.S_IMODE(settings.stat().st_mode) == 0o600
    data = parse_settings(settings)
    for key in ("HOSTNAME", "DNS_DOMAIN", "DNS_UPSTREAM", "ADMIN_NETWORK", "FUEL_ACCESS",
                "postgres", "keystone", "astute", "mcollective"):
        assert key in data, key
    for sub in ("interface", "ipaddress", "netmask", "dhcp_pool_start", "dhcp_pool_end"):
        assert data["ADMIN_NETWORK"][sub], sub
    assert data["astute"]["user"] == "naily"
    secrets = [data[s][k] for s, k in SECRET_KEYS]
    assert all(len(s) >= 20 for s in secrets)
    assert len(set(secrets)) == len(secrets), "credentials must be distinct"
    (log,) = logs(env)
    shown = r.stdout + r.stderr + log.read_text()
    for s in secrets:
        assert s not in shown
    # no temporary files left behind next to the settings
    assert sorted(p.name for p in settings.parent.iterdir()) == ["astute.yaml"]


def test_existing_settings_not_overwritten(env):
    env["settings"].parent.mkdir(parents=True)
    env["settings"].write_text("HOSTNAME: \"mine\"\n")
    env["settings"].chmod(0o640)
    r = run(env)
    assert r.returncode == 0, r.stderr
    assert env["settings"].read_text() == "HOSTNAME: \"mine\"\n"
    assert stat.S_IMODE(env["settings"].stat().st_mode) == 0o640
    assert "created" not in r.stdout


def test_puppet_argv_default_settings_uses_shipped_hiera(env):
    # --dry-run: nothing is written, so the real default path is safe here
    r = run(env, "--settings", "/etc/fuel/astute.yaml", "--noop", "--dry-run")
    assert r.returncode == 0, r.stderr
    argv = r.stdout.strip().splitlines()[-1].split()
    assert argv[0] == env["env"]["FUEL_DEPLOY_PUPPET"]
    assert argv[1] == "apply"
    assert "--detailed-exitcodes" in argv
    assert argv[argv.index("--modulepath") + 1] == env["env"]["FUEL_DEPLOY_MODULEPATH"]
    assert argv[argv.index("--hiera_config") + 1] == str(env["puppet_dir"] / "hiera.yaml")
    assert "--noop" in argv
    assert argv[-1] == str(env["puppet_dir"] / "manifests" / "site.pp")


def test_puppet_argv_noop(env):
    r = run(env, "--noop")
    assert r.returncode == 0, r.stderr
    argv = env["argv"].read_text().splitlines()
    assert "--noop" in argv and "--detailed-exitcodes" in argv


def test_puppet_argv_custom_settings_gets_generated_hiera(env, tmp_path):
    r = run(env, "--modulepath", "/a:/b")
    assert r.returncode == 0, r.stderr
    argv = env["argv"].read_text().splitlines()
    assert argv[:2] == ["apply", "--detailed-exitcodes"]
    assert argv[argv.index("--modulepath") + 1] == "/a:/b"
    assert "--noop" not in argv
    assert argv[-1] == str(env["puppet_dir"] / "manifests" / "site.pp")
    hiera = argv[argv.index("--hiera_config") + 1]
    assert hiera != str(env["puppet_dir"] / "hiera.yaml")
    assert not os.path.exists(hiera), "generated hiera config is temporary"
    generated = Path(str(env["argv"]) + ".hiera").read_text()
    assert "version: 5" in generated
    assert f'datadir: "{env["settings"].parent}"' in generated
    assert 'path: "astute.yaml"' in generated
    log = logs(env)[0].read_text()
    assert "--detailed-exitcodes" in log


def test_default_modulepath_includes_fuel_modules(env):
    e = env["env"]
    del e["FUEL_DEPLOY_MODULEPATH"]
    r = run(env, "--dry-run")
    assert r.returncode == 0, r.stderr
    assert f"--modulepath {env['puppet_dir']}/modules" in r.stdout


def test_dry_run_prints_command_runs_nothing(env):
    r = run(env, "--dry-run")
    assert r.returncode == 0, r.stderr
    assert "apply --detailed-exitcodes" in r.stdout
    assert "site.pp" in r.stdout
    assert not env["argv"].exists()
    assert not env["settings"].exists()
    assert not env["log_dir"].exists()


@pytest.mark.parametrize("puppet_exit,expected", [(0, 0), (2, 0), (1, 1), (4, 1), (6, 1)])
def test_exit_code_mapping(env, puppet_exit, expected):
    r = run(env, exit_code=puppet_exit)
    assert r.returncode == expected, r.stderr
    (log,) = logs(env)
    text = log.read_text()
    assert "Applied catalog" in text
    assert f"puppet exit status {puppet_exit}" in text
    assert stat.S_IMODE(log.stat().st_mode) & 0o007 == 0
    if expected:
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1
        assert str(log) in lines[0] and "failed" in lines[0]
        assert "Traceback" not in r.stderr
    else:
        assert "succeeded" in r.stdout and str(log) in r.stdout


def test_each_run_has_its_own_log(env):
    assert run(env).returncode == 0
    assert run(env).returncode == 0
    assert len(logs(env)) == 2


@pytest.mark.parametrize("args", [["--bogus"], ["extra-arg"], ["--settings"]])
def test_usage_error(env, args):
    r = run(env, *args)
    assert r.returncode == 2
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("fuel-deploy: error:")
    assert "Traceback" not in r.stderr


def test_missing_puppet_is_one_line_error(env):
    r = run(env, "--puppet", str(env["root"] / "nope"))
    assert r.returncode == 1
    assert len(r.stderr.strip().splitlines()) == 1
    assert "Traceback" not in r.stderr


def test_missing_site_pp_is_one_line_error(env):
    r = run(env, "--puppet-dir", str(env["root"] / "missing"))
    assert r.returncode == 1
    assert "site.pp" in r.stderr and len(r.stderr.strip().splitlines()) == 1
