"""What the connected Redis can do: its version, and whether it has vector sets.

Semantic recall needs Redis vector sets (VADD/VSIM, built into Redis 8). The
service asks the server instead of trusting version numbers, since a Redis may
have them renamed, disabled, or (on 7.x) added as a module:

    caps = detect_capabilities(client)
    if not caps.vector_sets:
        ...  # keyword-only recall

An old server is not an error: `vector_sets` is just False. Connection errors
(Redis away) do propagate, as from any other command.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import redis


@dataclass(frozen=True)
class Capabilities:
    redis_version: str  # e.g. "8.2.3"; "" if the server would not say
    vector_sets: bool  # the server knows VADD


def detect_capabilities(client: Any) -> Capabilities:
    """Capabilities of the Redis behind `client` (a redis.Redis or a redis.cluster.RedisCluster).

    For a cluster every primary is asked: vector sets count only if all of them
    have them (a key may live on any), and the version is the lowest one.
    """
    if hasattr(client, "get_primaries"):  # RedisCluster: ask each primary's own client
        nodes = [client.get_redis_connection(node) for node in client.get_primaries()]
        found = [_detect_one(node) for node in nodes]
        if not found:
            return Capabilities("", False)
        return Capabilities(
            min((f.redis_version for f in found), key=_version_key),
            all(f.vector_sets for f in found),
        )
    return _detect_one(client)


def _detect_one(client: redis.Redis) -> Capabilities:
    try:
        version = str(client.info("server").get("redis_version", ""))
    except redis.ResponseError:  # INFO denied by an ACL, say
        version = ""
    try:
        # One entry per command asked: a description for a known command, nil for an
        # unknown one (RESP2 and RESP3 alike; a map instead of a list is accepted too).
        # Sent as "COMMAND INFO" so redis-py leaves the reply raw: its parser for
        # "COMMAND" fails on that nil.
        reply = client.execute_command("COMMAND INFO", "VADD")
    except redis.ResponseError:  # COMMAND itself unknown, renamed or denied
        reply = None
    if isinstance(reply, dict):
        reply = list(reply.values())
    vector_sets = bool(reply) and isinstance(reply, (list, tuple)) and bool(reply[0])
    return Capabilities(version, vector_sets)


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split(".") if part.isdigit()) if version else (0,)
