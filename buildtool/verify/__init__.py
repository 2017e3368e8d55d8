"""The verify stage: proof that a published repository lints, closes, installs, upgrades and
erases cleanly (`buildtool verify`). One module per check; run.py wires them for one target."""
