"""gunicorn workers whose own errors are JSON too.

gunicorn answers some requests before the app sees them: a request line or
headers too large, a malformed request. It writes those as HTML pages; these
workers write OpenAI's error envelope instead, rendered by errors.render_error
like every other error of the service.
"""

from __future__ import annotations

import json
import signal
import sys
import warnings

from gunicorn import util
from gunicorn.workers.ggevent import GeventWorker
from gunicorn.workers.gthread import ThreadWorker
from gunicorn.workers.sync import SyncWorker

from ..errors import error_for_status, render_error

_MESSAGES = {
    414: "The request line is too long: send long search queries in the JSON body of POST /v1/memory/search.",
    431: "The request headers are too large.",
}


def write_json_error(sock, status_int: int, reason: str, mesg: str) -> None:
    """gunicorn's util.write_error, with the error envelope as the body."""
    status, body, _ = render_error(error_for_status(status_int, _MESSAGES.get(status_int) or mesg or reason))
    data = json.dumps(body).encode()
    head = (f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(data)}\r\n\r\n").encode("latin-1")
    util.write_nonblock(sock, head + data)


class _JsonErrors:
    _quitting = False

    def init_process(self) -> None:
        util.write_error = write_json_error  # this worker process only (gunicorn looks it up per error)
        # A mixin: super() is the gunicorn worker it is mixed into, which mypy cannot see from here.
        super().init_process()  # type: ignore[misc]

    def handle_quit(self, sig, frame) -> None:
        """Only the first quit counts. Ctrl-C in a terminal signals the whole process group: a worker gets
        SIGINT from the terminal, then SIGQUIT from the master as it stops its workers. The second quit,
        landing while the first was already exiting, raised SystemExit inside Python's shutdown and printed
        a traceback on the terminal."""
        if self._quitting:
            return
        self._quitting = True
        super().handle_quit(sig, frame)  # type: ignore[misc]


class JsonErrorsGeventWorker(_JsonErrors, GeventWorker):
    """gevent, with JSON errors. GeventWorker.init_process monkey-patches the worker process (sockets,
    locks, sleeps) before it loads the app, so redis-py, the openai SDK's httpx and every lock the
    app makes cooperate: a request waiting on the network or a slow client costs no thread."""

    def init_process(self) -> None:
        # Until gunicorn installs a worker's own signal handlers, the worker runs the master's (inherited
        # over fork), which queue a signal for the master's loop: a SIGTERM landing in that window is
        # lost. gevent's patching makes the window long (a second or more on a busy machine), and a
        # worker respawned just before shutdown then ran until the master's graceful timeout. Take
        # SIGTERM as "stop" from the first instruction on; gunicorn's handlers replace this one.
        signal.signal(signal.SIGTERM, self.handle_exit)
        super().init_process()

    def patch(self) -> None:
        # The master imported ssl (redis-py, http.client) before this worker patches it, and gevent warns
        # on stderr (breaking one-JSON-object-per-line logs). On Linux that is harmless: the openai SDK's
        # httpcore2 builds its TLS context from `ssl.SSLContext` when a client is made, in the worker,
        # after patching, so provider calls over HTTPS are gevent's. (On macOS and Windows it uses
        # truststore's context, made from the unpatched class: there, use MEMORY_API_WORKER_CLASS=gthread
        # with a remote provider.)
        with warnings.catch_warnings():
            if sys.platform.startswith("linux"):
                warnings.filterwarnings("ignore", message="Monkey-patching ssl after ssl has already been imported")
            super().patch()


class JsonErrorsThreadWorker(_JsonErrors, ThreadWorker):
    """gthread, with JSON errors."""


class JsonErrorsSyncWorker(_JsonErrors, SyncWorker):
    """sync, with JSON errors."""
