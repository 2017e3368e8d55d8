"""What each attack achieved, one comment line per attempt (written by setup.py)."""
