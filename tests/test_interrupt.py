"""A Ctrl-C whose KeyboardInterrupt Python swallowed (raised inside a finalizer) is not lost."""

from __future__ import annotations

import signal
import weakref

import pytest

from buildtool import interrupt


class _Collected:
    pass


def test_a_ctrl_c_swallowed_by_a_finalizer_is_still_seen_by_the_wait_loops():
    previous = interrupt.install()
    try:
        interrupt.check()  # nothing requested yet
        thing = _Collected()
        weakref.finalize(thing, interrupt._on_sigint, signal.SIGINT, None)
        del thing  # the finalizer raises KeyboardInterrupt; Python prints it as ignored
        with pytest.raises(KeyboardInterrupt):
            interrupt.check()
    finally:
        signal.signal(signal.SIGINT, previous)
        interrupt._requested.clear()
