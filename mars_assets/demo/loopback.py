"""Helpers of the servers the demo, the tests and the benchmarks start on loopback (standard library only)."""

from __future__ import annotations

import signal
import socket


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now (for a server about to be started; another process may take it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def default_signals() -> None:
    """``preexec_fn`` of a server subprocess: default SIGINT/SIGTERM handling (a parent's handlers are not kept)."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_DFL)
