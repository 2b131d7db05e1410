"""Other local users: they must neither read the embedded Redis's data nor stand in for its socket.

These run the real embedded redis-server on a temporary data directory.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
import stat
from pathlib import Path

import pytest
import redis

from memory_api.store.embedded import EmbeddedRedis, socket_path_for
from memory_api.store.redis_binary import EmbeddedRedisError

# Some other local user (nobody).
OTHER_UID = 65534


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


@contextlib.contextmanager
def umask(value: int):
    old = os.umask(value)
    try:
        yield
    finally:
        os.umask(old)


@pytest.fixture
def deep_data_dir(tmp_path):
    """A data directory whose socket path would be too long, and the /tmp directory its socket goes to."""
    data_dir = tmp_path / ("d" * 60) / ("e" * 60)
    data_dir.mkdir(parents=True)
    digest = hashlib.sha1(os.path.realpath(data_dir).encode()).hexdigest()[:16]
    socket_dir = Path("/tmp") / f"memory-api-{os.getuid()}-{digest}"
    shutil.rmtree(socket_dir, ignore_errors=True)
    yield data_dir, socket_dir
    shutil.rmtree(socket_dir, ignore_errors=True)


def test_a_deep_data_directory_gets_a_fresh_private_socket_directory(deep_data_dir):
    data_dir, socket_dir = deep_data_dir
    with umask(0o022):
        embedded = EmbeddedRedis.attach(str(data_dir))
    try:
        assert embedded.socket_path == str(socket_dir / "redis.sock")
        assert socket_dir.stat().st_uid == os.getuid() and mode(socket_dir) == 0o700
        with redis.Redis.from_url(embedded.url) as client:
            assert client.ping()
    finally:
        embedded.release()


def test_a_socket_directory_open_to_others_is_refused(deep_data_dir):
    data_dir, socket_dir = deep_data_dir
    socket_dir.mkdir()
    os.chmod(socket_dir, 0o777)  # as /tmp's sticky world-writable neighbours could have left it
    with pytest.raises(EmbeddedRedisError, match="open to other users"):
        EmbeddedRedis.attach(str(data_dir))
    assert not (socket_dir / "redis.sock").exists(), "no server was started there"


@pytest.mark.skipif(os.geteuid() != 0, reason="making a directory owned by another user needs root")
def test_a_socket_directory_owned_by_someone_else_is_refused(deep_data_dir):
    data_dir, socket_dir = deep_data_dir
    # Another user got there first, with the mode we would have used: still not ours.
    socket_dir.mkdir(mode=0o700)
    os.chown(socket_dir, OTHER_UID, OTHER_UID)
    with pytest.raises(EmbeddedRedisError, match=f"belongs to uid {OTHER_UID}"):
        socket_path_for(os.path.realpath(data_dir))
    with pytest.raises(EmbeddedRedisError, match="not to you"):
        EmbeddedRedis.attach(str(data_dir))


def test_a_symlink_in_place_of_the_socket_directory_is_refused(deep_data_dir, tmp_path):
    data_dir, socket_dir = deep_data_dir
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    socket_dir.symlink_to(elsewhere)
    try:
        with pytest.raises(EmbeddedRedisError, match="not a directory"):
            EmbeddedRedis.attach(str(data_dir))
    finally:
        socket_dir.unlink()


def every_entry(root: Path) -> list[Path]:
    return [root, *root.rglob("*")]


def test_the_data_directory_and_its_files_are_private_whatever_the_umask(tmp_path, caplog):
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o755)
    os.chmod(data_dir, 0o755)  # made by hand, or by an older version
    caplog.set_level(logging.WARNING, logger="memory_api.store.embedded")
    with umask(0o022):
        embedded = EmbeddedRedis.attach(str(data_dir))
        try:
            with redis.Redis.from_url(embedded.url) as client:
                client.set("secret", "every memory and key hash")
                client.bgrewriteaof()  # files made later, by a rewrite, are private too
        finally:
            embedded.release()
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == 1 and f"{data_dir} (was 0o755)" in warned[0], warned

    entries = every_entry(data_dir)
    assert any(p.suffix in (".aof", ".manifest") or ".aof." in p.name for p in entries), entries
    for path in entries:
        assert mode(path) == (0o700 if path.is_dir() else 0o600), (path, oct(mode(path)))


def test_open_files_left_by_an_older_version_are_closed_with_a_warning(tmp_path, caplog):
    data_dir = tmp_path / "data"
    embedded = EmbeddedRedis.attach(str(data_dir))
    embedded.release()
    # What an older version left under a 0022 umask.
    aof_dir = data_dir / "appendonlydir"
    os.chmod(data_dir, 0o755)
    os.chmod(aof_dir, 0o755)
    opened = sorted(aof_dir.iterdir())
    for path in opened:
        os.chmod(path, 0o644)

    caplog.set_level(logging.WARNING, logger="memory_api.store.embedded")
    embedded = EmbeddedRedis.attach(str(data_dir))
    embedded.release()
    warned = " ".join(r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    for path in (data_dir, aof_dir, *opened):
        assert str(path) in warned, (path, warned)
        assert mode(path) == (0o700 if path.is_dir() else 0o600)
    assert "0o644" in warned and "0o755" in warned
