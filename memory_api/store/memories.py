"""Memory records in Redis, and the indexes kept with them (see memory_scripts.py for the layout).

Every write is one Lua script: the record, the id index, the scope and tag
indexes, the search index (postings per term), the duplicate map, the
counters and the history change together or not at all. Reads of one page are
one script as well (one round trip).
"""

from __future__ import annotations

import heapq
import json
import math
from dataclasses import dataclass
from typing import Any, Iterable

from ..models import Memory
from . import keys
from .redis import RedisStore

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

# BM25 parameters (the usual ones).
BM25_K1 = 1.2
BM25_B = 0.75


def encode_record(memory: Memory) -> str:
    rec: dict[str, Any] = {
        "c": memory.content,
        "m": memory.metadata,
        "u": memory.updated_at,
        "w": memory.word_count,
        "t": memory.token_count,
        "r": memory.revision,
    }
    if memory.tags:
        rec["g"] = list(memory.tags)
    if memory.scope:
        rec["s"] = memory.scope
    return _dumps(rec)


def decode_record(memory_id: str | bytes, raw: str | bytes) -> Memory:
    if isinstance(memory_id, bytes):
        memory_id = memory_id.decode()
    rec = json.loads(raw.decode() if isinstance(raw, bytes) else raw)
    metadata = rec.get("m") or {}  # Lua's cjson writes an empty table as {} or []
    tags = rec.get("g") or ()
    return Memory(
        id=memory_id,
        content=rec["c"],
        metadata=metadata if isinstance(metadata, dict) else {},
        updated_at=int(rec["u"]),
        word_count=int(rec["w"]),
        token_count=int(rec["t"]),
        revision=int(rec["r"]),
        tags=tuple(tags) if isinstance(tags, list) else (),
        scope=rec.get("s") or None,
    )


@dataclass(frozen=True)
class Indexed:
    """What the search index and the duplicate map need of a memory's content."""

    terms: str  # "term tf term tf ..."
    length: int  # terms counted with repeats (BM25's document length)
    fingerprint: str  # equal for duplicate contents


@dataclass(frozen=True)
class WriteResult:
    """Outcome of a conditional write: ok, missing, or revision mismatch (`memory` is the current one)."""

    ok: bool
    memory: Memory | None

    @property
    def missing(self) -> bool:
        return not self.ok and self.memory is None


class QuotaExceeded(Exception):
    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what  # "count" or "words"


def _accepted(revisions: list[int] | None) -> str:
    """If-Match revisions in the scripts' ",3,4," form; '' accepts any."""
    if revisions is None:
        return ""
    return "," + ",".join(str(r) for r in revisions) + ","


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _pairs(reply) -> list:
    """HGETALL as (field, value) pairs, whether RESP3 made it a dict or RESP2 a flat list."""
    if isinstance(reply, dict):
        return list(reply.items())
    return list(zip(reply[0::2], reply[1::2]))


def bm25_rank(postings: list, *, n: int, total_terms: int) -> list[tuple[bytes, float]]:
    """(document number, score) for every document a query term occurs in, unordered.

    postings: per query term, (docno, tf * 65536 + document length) pairs.
    """
    avgdl = total_terms / n if total_terms > 0 else 1.0
    scores: dict[bytes, float] = {}
    get = scores.get
    for entries in postings:
        df = len(entries)
        if not df:
            continue
        idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
        for docno, packed in entries:
            tf, dl = divmod(int(packed), 65536)
            scores[docno] = get(docno, 0.0) + idf * tf * (BM25_K1 + 1) / (
                tf + BM25_K1 * (1 - BM25_B + BM25_B * dl / avgdl))
    return list(scores.items())


def _best_first(item: tuple[bytes, float]) -> tuple[float, int]:
    return item[1], int(item[0])  # ties: the later-stored document first


class MemoryStore:
    """Reads and writes memories; every write is one Lua script (atomic)."""

    def __init__(self, redis_store: RedisStore) -> None:
        self._redis = redis_store

    def _write(self, script: str, user_id: str, *args: Any, pipe: Any = None) -> Any:
        return self._redis.script(script)(
            keys=keys.memory_keys(user_id), args=[keys.user_prefix(user_id), *args],
            client=pipe if pipe is not None else self._redis.client,
        )

    # --- writes --------------------------------------------------------------------

    def create_many(self, user_id: str, memories: list[tuple[Memory, Indexed]], *, max_count: int = 0,
                    max_words: int = 0, return_duplicates: bool = True, pipe: Any = None):
        """Store new memories, all or nothing; per memory ("created"|"exists"|"duplicate", Memory).

        Raises QuotaExceeded (nothing stored) when they would break a quota.
        With `pipe`, the call is queued and nothing is returned.
        """
        args: list[Any] = [max_count, max_words, "1" if return_duplicates else "0"]
        for memory, indexed in memories:
            args += [memory.id, encode_record(memory), indexed.terms, indexed.length, indexed.fingerprint]
        reply = self._write("CREATE_MEMORIES", user_id, *args, pipe=pipe)
        if pipe is not None:
            return None
        if _text(reply[0]) == "full":
            raise QuotaExceeded(_text(reply[1]))
        return [(_text(reply[i]), decode_record(reply[i + 1], reply[i + 2])) for i in range(0, len(reply), 3)]

    def update(self, user_id: str, memory_id: str, *, updated_at: int,
               content: tuple[str, int, int, Indexed] | None = None, metadata: dict[str, str] | None = None,
               tags: list[str] | None = None, scope: str | None = None, scope_given: bool = False,
               expected_revisions: list[int] | None = None, history_depth: int = 0,
               max_words: int = 0) -> WriteResult:
        """Change content (text, words, tokens, index data), metadata, tags and/or scope."""
        text, words, tokens, indexed = content if content else ("", 0, 0, Indexed("", 0, ""))
        reply = self._write(
            "UPDATE_MEMORY", user_id, memory_id, _accepted(expected_revisions), updated_at,
            "1" if content else "0", text, words, tokens, indexed.terms, indexed.length, indexed.fingerprint,
            "1" if metadata is not None else "0", _dumps(metadata or {}),
            "1" if tags is not None else "0", _dumps(tags or []),
            "1" if scope_given else "0", scope or "",
            history_depth, max_words,
        )
        status = int(reply[0])
        if status == -2:
            raise QuotaExceeded(_text(reply[1]))
        if status == 0:
            return WriteResult(False, None)
        return WriteResult(status == 1, decode_record(memory_id, reply[1]))

    def delete_many(self, user_id: str, memory_ids: list[str], *,
                    expected_revisions: list[int] | None = None) -> list[WriteResult]:
        reply = self._write("DELETE_MEMORIES", user_id, _accepted(expected_revisions), *memory_ids)
        results = []
        for i, memory_id in enumerate(memory_ids):
            status, raw = int(reply[2 * i]), reply[2 * i + 1]
            results.append(WriteResult(status == 1, decode_record(memory_id, raw) if raw else None))
        return results

    def delete_oldest(self, user_id: str, count: int) -> tuple[int, int]:
        deleted, remaining = self._write("DELETE_OLDEST_MEMORIES", user_id, count)
        return int(deleted), int(remaining)

    def put_many(self, user_id: str, items: list[tuple[Memory, Indexed, list[Memory]]], *, overwrite: bool,
                 max_count: int = 0, max_words: int = 0) -> list[str]:
        """Import: store memories with their own ids, revisions and history."""
        args: list[Any] = ["overwrite" if overwrite else "skip", max_count, max_words]
        for memory, indexed, history in items:
            args += [memory.id, encode_record(memory), indexed.terms, indexed.length, indexed.fingerprint,
                     _dumps([encode_record(old) for old in history])]
        reply = self._write("PUT_MEMORIES", user_id, *args)
        if reply and _text(reply[0]) == "full":
            raise QuotaExceeded(_text(reply[1]))
        return [_text(r) for r in reply]

    # --- reads ---------------------------------------------------------------------

    def get(self, user_id: str, memory_id: str) -> Memory | None:
        raw = self._redis.client.hget(keys.memory_items(user_id), memory_id)
        return None if raw is None else decode_record(memory_id, raw)

    def page(self, user_id: str, *, lower: str, upper: str, newest_first: bool, count: int,
             scope: str | None = None, scoped: bool = False, tags: Iterable[str] = (),
             updated_after: int | None = None, updated_before: int | None = None) -> list[Memory]:
        """Up to `count` memories with ids between the ZRANGE BYLEX bounds, in walk order, filtered."""
        sets = [keys.tag_members(user_id, t) for t in tags]
        if scoped:
            sets.append(keys.scope_members(user_id, scope))
        ids, records = self._redis.script("LIST_MEMORIES")(
            keys=[keys.memory_items(user_id), keys.memory_updated(user_id), *(sets or [keys.memory_ids(user_id)])],
            args=[lower, upper, "1" if newest_first else "0", count,
                  "" if updated_after is None else updated_after, "" if updated_before is None else updated_before],
        )
        return [decode_record(i, raw) for i, raw in zip(ids, records) if raw]

    def search(self, user_id: str, terms: list[str], *, limit: int, scopes: list[str | None] | None = None,
               tags: Iterable[str] = (), lowest_id: str = "", highest_id: str = "",
               updated_after: int | None = None, updated_before: int | None = None) -> list[tuple[Memory, float]]:
        """The best `limit` memories for the query terms by BM25, with their scores.

        Step 1 reads, in one transaction, the postings of the query's terms (each
        posting carries tf and document length) and the corpus figures; scoring
        happens here, so Redis only serves reads. Step 2 turns the best document
        numbers into memories, applying the filters, a chunk at a time. Cost: the
        postings of the query's terms, never a scan of every memory.
        """
        if not terms:
            return []
        client = self._redis.client
        pipe = client.pipeline(transaction=True)
        pipe.zcard(keys.memory_ids(user_id))
        pipe.hget(keys.memory_stats(user_id), "terms")
        for term in terms:
            # Raw command: the reply as the parser made it, no per-item conversion.
            pipe.execute_command("HGETALL", keys.term_postings(user_id, term))
        n, total_terms, *postings = pipe.execute()
        if not n:
            return []
        scored = bm25_rank([_pairs(p) for p in postings], n=int(n), total_terms=int(total_terms or 0))
        filters = ["" if scopes is None else _dumps([s or "" for s in scopes]), _dumps(list(tags)),
                   lowest_id, highest_id,
                   "" if updated_after is None else updated_after, "" if updated_before is None else updated_before]
        hits: list[tuple[Memory, float]] = []
        resolve = self._redis.script("RESOLVE_SEARCH_HITS")
        # Most searches need only the top few: select those first, sort everything only if the
        # filters turn too many of them away.
        chunk = max(limit * 2, 50)
        ranked = heapq.nlargest(chunk * 2, scored, key=_best_first)
        complete = len(ranked) == len(scored)
        start = 0
        while len(hits) < limit:
            if start >= len(ranked):
                if complete:
                    break
                ranked, complete = sorted(scored, key=_best_first, reverse=True), True
            part = ranked[start:start + chunk]
            start += chunk
            reply = resolve(
                keys=[keys.memory_items(user_id), keys.memory_docs(user_id), keys.memory_updated(user_id)],
                args=[keys.user_prefix(user_id), limit - len(hits), *filters, *(docno for docno, _ in part)],
            )
            scores = dict(part)
            hits += [(decode_record(reply[i + 1], reply[i + 2]), scores[reply[i]])
                     for i in range(0, len(reply), 3)]
        return hits[:limit]

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
        pipe.hmget(keys.memory_stats(user_id), "words", "tokens")
        pipe.hlen(keys.tag_counts(user_id))
        pipe.hlen(keys.scope_counts(user_id))
        pipe.zrange(keys.memory_ids(user_id), 0, 0)
        pipe.zrange(keys.memory_ids(user_id), -1, -1)
        count, (words, tokens), tags, scopes, oldest, newest = pipe.execute()
        return {
            "count": int(count), "words": int(words or 0), "tokens": int(tokens or 0), "tags": int(tags),
            "scopes": int(scopes), "oldest": _text(oldest[0]) if oldest else None,
            "newest": _text(newest[0]) if newest else None,
        }

    def tag_counts(self, user_id: str) -> dict[str, int]:
        return {_text(k): int(v) for k, v in self._redis.client.hgetall(keys.tag_counts(user_id)).items()}

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
