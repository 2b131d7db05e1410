"""Reads of a user's memories: one memory, a page with filters, search hits, counts, history.

Every read hides memories past their expiry (exact to the second: the expiry sweeper deletes them later)
unless it says it is an administrative one; the time filters are TIME_FILTER_LUA's (store/query_lua.py).
"""

from __future__ import annotations

import time
from typing import Any

from ..models import NO_FILTERS, Filters, IdWalk, Memory
from . import keys
from .lex import lex_bounds
from .records import decode_record, dumps, text
from .redis import RedisStore, raises_store_unavailable


@raises_store_unavailable
class MemoryReads:
    """The read half of MemoryStore (store/memories.py)."""

    _redis: RedisStore

    def get(self, user_id: str, memory_id: str) -> Memory | None:
        raw = self._redis.client.hget(keys.memory_items(user_id), memory_id)
        return None if raw is None else decode_record(memory_id, raw)

    def many(self, user_id: str, memory_ids: list[str]) -> dict[str, Memory]:
        """The stored memories among these ids that have not expired, by id (one round trip)."""
        if not memory_ids:
            return {}
        raws = self._redis.client.hmget(keys.memory_items(user_id), memory_ids)
        now = int(time.time())
        found = {i: decode_record(i, raw) for i, raw in zip(memory_ids, raws) if raw is not None}
        return {i: memory for i, memory in found.items() if not memory.expired(now)}

    def page(self, user_id: str, walk: IdWalk, *, count: int, filters: Filters = NO_FILTERS,
             now: int | None = None, hide_invalid: bool = False, expired_too: bool = False) -> list[Memory]:
        """Up to `count` memories in `walk`, in its direction, passing the filters (time_filters: `now`,
        `hide_invalid`). `expired_too`: memories past their expiry as well, that the sweeper has not
        deleted yet (for `reindex` and `migrate`, which must see every stored memory)."""
        sets = [keys.tag_members(user_id, t) for t in filters.tags]
        if filters.scoped:
            sets.append(keys.scope_members(user_id, filters.scope))
        lower, upper = lex_bounds(walk)
        plan = {"lower": lower, "upper": upper, "newest": walk.newest_first, "count": count,
                **time_filters(filters, now, hide_invalid)}
        if expired_too:
            del plan["now"]
        if filters.updated_after is not None:
            plan["since"] = filters.updated_after
        if filters.updated_before is not None:
            plan["till"] = filters.updated_before
        if filters.source is not None:
            plan["source"] = filters.source
        ids, records = self._redis.script("LIST_MEMORIES")(
            keys=[keys.memory_items(user_id), keys.memory_updated(user_id), *_time_keys(user_id),
                  *(sets or [keys.memory_ids(user_id)])],
            args=[dumps(plan)],
        )
        return [decode_record(i, raw) for i, raw in zip(ids, records) if raw]

    def resolve_hits(self, user_id: str, docnos: list, *, want: int, filters: Filters,
                     scopes: list[str | None] | None, lowest_id: str | None,
                     highest_id: str | None, now: int | None = None,
                     hide_invalid: bool = True) -> list[tuple[Any, Memory]]:
        """(docno, memory) for the documents, in the given order, that exist and pass the filters
        (time_filters: `now`, `hide_invalid`); at most `want`. `scopes`: the memory must be in one of them
        (None: any)."""
        scope_keys = [keys.scope_members(user_id, s) for s in scopes or ()]
        plan: dict[str, Any] = {"want": want, "tags": len(filters.tags), "scopes": len(scope_keys),
                                "docs": [text(d) for d in docnos], **time_filters(filters, now, hide_invalid)}
        for name, value in (("low", lowest_id), ("high", highest_id), ("since", filters.updated_after),
                            ("till", filters.updated_before), ("source", filters.source)):
            if value is not None:
                plan[name] = value
        reply = self._redis.script("RESOLVE_SEARCH_HITS")(
            keys=[keys.memory_items(user_id), keys.memory_docs(user_id), keys.memory_updated(user_id),
                  *_time_keys(user_id), *(keys.tag_members(user_id, t) for t in filters.tags), *scope_keys],
            args=[dumps(plan)],
        )
        return [(reply[i], decode_record(reply[i + 1], reply[i + 2])) for i in range(0, len(reply), 3)]

    def count(self, user_id: str) -> int:
        return int(self._redis.client.zcard(keys.memory_ids(user_id)))

    def count_in_scopes(self, user_id: str, scopes: list[str | None]) -> int:
        pipe = self._redis.client.pipeline(transaction=False)
        for scope in scopes:
            pipe.zcard(keys.scope_members(user_id, scope))
        return sum(int(n) for n in pipe.execute())

    def stats(self, user_id: str) -> dict[str, Any]:
        pipe = self._redis.client.pipeline(transaction=True)
        pipe.zcard(keys.memory_ids(user_id))
        pipe.hmget(keys.memory_stats(user_id), "words", "tokens", "capture_tokens")
        pipe.hlen(keys.tag_counts(user_id))
        pipe.hlen(keys.scope_counts(user_id))
        pipe.zrange(keys.memory_ids(user_id), 0, 0)
        pipe.zrange(keys.memory_ids(user_id), -1, -1)
        count, (words, tokens, capture_tokens), tags, scopes, oldest, newest = pipe.execute()
        return {
            "count": int(count), "words": int(words or 0), "tokens": int(tokens or 0), "tags": int(tags),
            "capture_tokens": int(capture_tokens or 0),
            "scopes": int(scopes), "oldest": text(oldest[0]) if oldest else None,
            "newest": text(newest[0]) if newest else None,
        }

    def tag_counts(self, user_id: str) -> dict[str, int]:
        return {text(k): int(v) for k, v in self._redis.client.hgetall(keys.tag_counts(user_id)).items()}

    def history(self, user_id: str, memory_id: str, depth: int) -> list[Memory]:
        raws = self._redis.client.lrange(keys.memory_history(user_id, memory_id), 0, max(depth - 1, 0))
        return [decode_record(memory_id, raw) for raw in raws]

    def with_history(self, user_id: str, memories: list[Memory], depth: int) -> list[tuple[Memory, list[Memory]]]:
        """Each memory with its stored history (one round trip), for export."""
        pipe = self._redis.client.pipeline(transaction=False)
        for memory in memories:
            pipe.lrange(keys.memory_history(user_id, memory.id), 0, max(depth - 1, 0))
        histories = pipe.execute() if memories else []
        return [(m, [decode_record(m.id, raw) for raw in h]) for m, h in zip(memories, histories)]

    def oldest_ids(self, user_id: str, count: int) -> list[str]:
        return [text(i) for i in self._redis.client.zrange(keys.memory_ids(user_id), 0, count - 1)]

    def expired_ids(self, user_id: str, now: int, count: int) -> list[str]:
        """Up to `count` of the user's memories whose expiry is at or before `now` (the sweeper's work)."""
        return [text(i) for i in self._redis.client.zrangebyscore(keys.memory_expires(user_id), "-inf", now,
                                                                  start=0, num=count)]

    def users_with_expiries(self):
        """Every user with a memory that has an expiry (SCAN over every node of a cluster)."""
        for name in self._redis.client.scan_iter(match=keys.expiring_pattern(), count=1000):
            user = keys.user_of_key(text(name))
            if user is not None:
                yield user


def _time_keys(user_id: str) -> list[str]:
    """The time indexes the read scripts filter with (query_lua.py TIME_FILTER_LUA), in their order."""
    return [keys.memory_occurred(user_id), keys.memory_valid_until(user_id), keys.memory_expires(user_id)]


def time_filters(filters: Filters, now: int | None, hide_invalid: bool) -> dict[str, int]:
    """A read's time filters as the read scripts take them: `now` (memories past their expiry are never
    read; default: this second), occurred_at's range, and, with `as_of`, what held then, else with
    `hide_invalid`, what holds now (valid_until unset or after it)."""
    now = int(time.time()) if now is None else now
    plan = {"now": now}
    for name, value in (("occ_min", filters.occurred_after), ("occ_max", filters.occurred_before),
                        ("occ_upto", filters.as_of)):
        if value is not None:
            plan[name] = value
    if filters.as_of is not None:
        plan["valid_at"] = filters.as_of
    elif hide_invalid:
        plan["valid_at"] = now
    return plan
