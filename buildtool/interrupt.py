"""Ctrl-C that cannot be lost while buildtool waits on a build farm.

Python raises KeyboardInterrupt wherever the main thread happens to be when SIGINT arrives. If
that is inside a finalizer the garbage collector runs (a weakref.finalize, a __del__), Python
prints the exception as "ignored" and carries on, so a wait loop would go on polling forever with
the builds it submitted still running. The handler therefore also records the request, and the
wait loops ask for it on every poll.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any

_requested = threading.Event()


def install() -> Any:
    """Handle SIGINT here (main thread only); returns the previous handler to restore."""
    _requested.clear()
    return signal.signal(signal.SIGINT, _on_sigint)


def _on_sigint(signum: int, frame: FrameType | None) -> None:
    _requested.set()
    raise KeyboardInterrupt


def check() -> None:
    """Raise KeyboardInterrupt if Ctrl-C came, even when its first exception was swallowed."""
    if _requested.is_set():
        raise KeyboardInterrupt
