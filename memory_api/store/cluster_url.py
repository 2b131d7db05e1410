"""Redis Cluster seed nodes from one URL: ``redis://[user:pass@]host1:port1,host2:port2[/0]``.

redis-py's `RedisCluster.from_url` takes a single node, so a cluster whose named
node is down could not be reached at all, although the cluster itself was
healthy. Several seeds, comma-separated in the URL's host part (the spelling
the `limits` library and most Redis clients use too), let the client discover
the cluster through any of them.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit


class ClusterUrlError(ValueError):
    """REDIS_URL cannot name a Redis Cluster (the message says why)."""


def cluster_seeds(url: str) -> tuple[str, list[tuple[str, int]]]:
    """The URL of the first seed (scheme, credentials and query kept) and every seed's (host, port)."""
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss"):
        raise ClusterUrlError(
            f"a Redis Cluster is reached over TCP: REDIS_URL must start with redis:// or rediss://, not {parts.scheme}://")
    if parts.path not in ("", "/", "/0"):
        raise ClusterUrlError("a Redis Cluster has only database 0: REDIS_URL must not name another database")
    userinfo, _, hosts = parts.netloc.rpartition("@")
    seeds = [_host_port(item.strip()) for item in hosts.split(",") if item.strip()]
    if not seeds:
        raise ClusterUrlError("REDIS_URL names no host")
    host, port = seeds[0]
    first_netloc = (userinfo + "@" if userinfo else "") + _join(host, port)
    return urlunsplit((parts.scheme, first_netloc, parts.path, parts.query, "")), seeds


def _host_port(item: str) -> tuple[str, int]:
    if item.startswith("["):  # [::1]:7000
        host, _, rest = item[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
    else:
        host, _, port_text = item.rpartition(":") if ":" in item else (item, "", "")
    try:
        port = int(port_text) if port_text else 6379
    except ValueError:
        raise ClusterUrlError(f"REDIS_URL seed {item!r} has no valid port") from None
    if not host or not 0 < port < 65536:
        raise ClusterUrlError(f"REDIS_URL seed {item!r} is not host:port")
    return host, port


def _join(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
