"""Read-only scans that compare a user's memory records with every index that refers to them."""

from __future__ import annotations

import json
from typing import Iterator

from . import keys
from .redis import RedisStore


class ConsistencyStore:
    def __init__(self, redis_store: RedisStore) -> None:
        self._redis = redis_store

    def users(self) -> Iterator[str]:
        """Every user that has (or had) a memory index."""
        seen = set()
        for name in self._redis.client.scan_iter(match=keys.memory_ids_pattern(), count=1000):
            user = keys.user_of_memory_key(name.decode() if isinstance(name, bytes) else name)
            if user is not None and user not in seen:
                seen.add(user)
                yield user

    def memory_problems(self, user_id: str) -> tuple[int, list[str]]:
        """(number of records, disagreements between the records and the id index)."""
        client = self._redis.client
        index = {m.decode() for m, _ in client.zscan_iter(keys.memory_ids(user_id), count=1000)}
        records = {k.decode(): v for k, v in client.hscan_iter(keys.memory_items(user_id), count=1000)}
        problems = []
        for memory_id in sorted(index - records.keys()):
            problems.append(f"{memory_id}: in the id index but has no record")
        for memory_id in sorted(records.keys() - index):
            problems.append(f"{memory_id}: has a record but is missing from the id index")
        for memory_id, raw in records.items():
            try:
                rec = json.loads(raw)
                assert isinstance(rec["c"], str) and isinstance(rec["r"], int) and isinstance(rec["w"], int)
            except (ValueError, KeyError, TypeError, AssertionError):
                problems.append(f"{memory_id}: record is not valid")
        return len(records), problems
