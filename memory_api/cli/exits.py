"""Every way a command ends runs its cleanup, so an embedded Redis it started is stopped.

A command that started the embedded Redis stops it on the way out when it is the last
user (store/embedded.py), in `finally` blocks and atexit handlers. Ctrl-C (SIGINT) and a
normal exit run those; SIGTERM and SIGHUP, left to their default, kill the process on the
spot and leave the redis-server running. So the CLI turns them into an exit by exception.
Servers that take over the signals keep doing so (gunicorn in `serve`; uvicorn in
`mcp --transport http`, which shuts down gracefully and then raises the signal again,
landing here).
"""

from __future__ import annotations

import signal
import threading

_EXIT_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


def exit_cleanly_on_signals() -> None:
    """Make SIGTERM and SIGHUP raise SystemExit(128 + signal), unless they are already handled or
    ignored (e.g. under nohup). Only the main thread may install signal handlers."""
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in _EXIT_SIGNALS:
        if signal.getsignal(sig) is signal.SIG_DFL:
            signal.signal(sig, _exit_by_exception)


def _exit_by_exception(signum: int, frame) -> None:
    raise SystemExit(128 + signum)
