"""`memory-api migrate`: copy a store of the previous format (keys.PREVIOUS_PREFIX) into this one.

Every key of the previous format is copied under this format's name as it is
(DUMP and RESTORE, its time to live kept: records, histories, vectors,
conversations, keys, feeds, queues), except the search index, which is left
behind: the caller then indexes every memory anew under this format's rules
(`memory-api reindex` does, seeing every memory missing from the index). The
stats hash is copied without its search-index counter. A key already copied is
skipped, so an interrupted migration resumes where it stopped; the previous
format's keys are left as they are (a way back) until `drop_previous`.

It is an offline step: every writer of the previous version must be stopped
first (what it writes after a key is copied would be lost). Until `finish`
records the format, a service of this version refuses to use a Redis that
holds previous-format keys (`format_problem`), so nobody serves a half-copied
store.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import keys
from .records import text

# Copies a previous-format stats hash without the search index's counter, unless the copy exists.
COPY_STATS = """
-- KEYS[1]: this format's stats hash; ARGV: the previous one's fields and values, flat.
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
for i = 1, #ARGV, 2 do
  if ARGV[i] ~= 'terms' then redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
end
return 1
"""


def format_problem(client: Any) -> str | None:
    """Why this Redis cannot be served by this version, or None. A Redis is of this format once its
    deployment hash says so; one that is not yet but holds previous-format keys must be migrated first;
    an empty one is this format from now on (recorded)."""
    if _recorded(client):
        return None
    if _previous_keys_exist(client):
        return (f"this Redis holds memories of an earlier store format ({keys.PREVIOUS_PREFIX}); stop every "
                f"older memory-api using it, then run `memory-api migrate` (the data is kept)")
    client.hsetnx(keys.deployment_meta(), "format", keys.PREFIX)
    return None


def _recorded(client: Any) -> bool:
    return client.hget(keys.deployment_meta(), "format") is not None


def _previous_keys_exist(client: Any) -> bool:
    return next(iter(client.scan_iter(match=keys.previous_keys_pattern(), count=1000)), None) is not None


@dataclass
class CopyReport:
    keys: int = 0  # previous-format keys seen
    copied: int = 0
    skipped: int = 0  # copied by an earlier run (resumed)
    index_keys: int = 0  # the previous search index, left behind


class StoreMigration:
    def __init__(self, client: Any) -> None:
        self._client = client
        self._copy_stats = client.register_script(COPY_STATS)

    def pending(self) -> bool:
        """Whether this store still has to be migrated (previous-format keys, and no format recorded)."""
        return not _recorded(self._client) and _previous_keys_exist(self._client)

    def copy(self) -> CopyReport:
        """Copy every previous-format key but the search index under this format's names."""
        report = CopyReport()
        for name in map(text, self._client.scan_iter(match=keys.previous_keys_pattern(), count=1000)):
            report.keys += 1
            part = keys.previous_user_part(name)
            if part is not None and (part in keys.PREVIOUS_INDEX_SUFFIXES
                                     or part.startswith(keys.PREVIOUS_INDEX_FAMILIES)):
                report.index_keys += 1
            elif self._copy(name, part == "stats"):
                report.copied += 1
            else:
                report.skipped += 1
        return report

    def _copy(self, name: str, stats: bool) -> bool:
        target = keys.from_previous(name)
        if stats:
            fields = [value for pair in self._client.hgetall(name).items() for value in pair]
            return bool(self._copy_stats(keys=[target], args=fields))
        dumped, ttl = self._client.dump(name), self._client.pttl(name)
        if dumped is None:  # gone meanwhile (an expiring idempotency record, say)
            return False
        try:
            self._client.restore(target, max(int(ttl), 0), dumped)
        except Exception as exc:  # redis-py raises ResponseError; only BUSYKEY is expected
            if "BUSYKEY" not in str(exc):
                raise
            return False
        return True

    def finish(self) -> None:
        """Record that this store is of this format (after every memory is indexed): it may be served."""
        self._client.hset(keys.deployment_meta(), mapping={"format": keys.PREFIX,
                                                           "migrated_from": keys.PREVIOUS_PREFIX})

    def drop_previous(self) -> int:
        """Delete every previous-format key (only once migrated); returns how many."""
        dropped = 0
        batch: list[str] = []
        for name in self._client.scan_iter(match=keys.previous_keys_pattern(), count=1000):
            batch.append(name)
            if len(batch) == 500:
                dropped += self._unlink(batch)
                batch = []
        return dropped + (self._unlink(batch) if batch else 0)

    def _unlink(self, names: list) -> int:
        # One key per command: keys of several users sit on several Redis Cluster slots.
        pipe = self._client.pipeline(transaction=False)
        for name in names:
            pipe.unlink(name)
        return sum(int(n) for n in pipe.execute())
