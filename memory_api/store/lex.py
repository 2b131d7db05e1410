"""Id walks (models.IdWalk) as ZRANGE BYLEX bounds: the one place that spells Redis' range syntax."""

from __future__ import annotations

from ..models import IdWalk


def lex_bounds(walk: IdWalk) -> tuple[str, str]:
    """(lower, upper) for ZRANGE ... BYLEX: an exclusive cursor wins over an inclusive bound it tightens."""
    lower = f"[{walk.lowest}" if walk.lowest else "-"
    if walk.above is not None and (walk.lowest is None or walk.above >= walk.lowest):
        lower = f"({walk.above}"
    upper = f"[{walk.highest}" if walk.highest else "+"
    if walk.below is not None and (walk.highest is None or walk.below <= walk.highest):
        upper = f"({walk.below}"
    return lower, upper


def zrange_bylex(client, key: str, walk: IdWalk, count: int) -> list:
    """Up to `count` members of a lexicographic ZSET in `walk`, in its direction."""
    lower, upper = lex_bounds(walk)
    if walk.newest_first:
        return client.zrange(key, upper, lower, bylex=True, desc=True, offset=0, num=count)
    return client.zrange(key, lower, upper, bylex=True, offset=0, num=count)
