"""Memory records in Redis, and the indexes kept with them (memory_lua_prelude.py sets out the layout).

Every write is one Lua script: the record, the id index, the scope and tag
indexes, the search index (index/lua.py: postings per term, the duplicate map),
the counters and the history change together or not at all. A script is told
every key it touches (KEYS), so the records of the stored memories it changes
are read first, their search terms recomputed from them (index/analyzer.py),
and the script checks that the memories have not changed since; if they have,
the write is planned again. Reads of one page are one script (one round trip).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, NamedTuple

from ..errors import Conflict
from ..index.analyzer import Analysis, analyze
from ..models import BY_API, Memory, Provenance
from . import keys
from .memory_reads import MemoryReads, _time_keys
from .records import (
    DuplicateContent,
    MemoryExists,
    NothingToRestore,
    QuotaExceeded,
    TimesOutOfOrder,
    WriteResult,
    decode_record,
    dumps,
    record_of,
    text,
)
from .redis import RedisStore, confirms_persistence, raises_store_unavailable
from .write_plan import Blobs, DeclaredKeys, accepted_versions, no_vectors, without_nulls

# A write whose records keep changing under it gives up after this many plans (409).
_MAX_PLANS = 8


class _Superseded(Exception):
    """A re-index planned from content that a write has changed since."""


class NewContent(NamedTuple):
    """A memory's new content with its counts (MemoryStore.update)."""

    text: str
    words: int
    tokens: int


class _Stored(NamedTuple):
    """A memory's record as a write read it (None: absent), decoded, and what the index holds of it."""

    raw: bytes | None
    record: dict[str, Any]
    analysis: Analysis | None


@raises_store_unavailable
class MemoryStore(MemoryReads):
    """Reads and writes memories; every write is one Lua script (atomic).

    `vector_model()` names the embedding model whose vectors writes keep in the
    user's vector set, or None when there are none to keep (no vector sets in
    this Redis, or embeddings off): then the vector set is never touched.
    """

    def __init__(self, redis_store: RedisStore, vector_model=no_vectors, *, events_kept: int = 10_000,
                 deleted_retention: int = 0, history_depth: int = 10) -> None:
        self._redis = redis_store
        self._vector_model = vector_model
        self.events_kept = events_kept  # the activity feed keeps about this many writes per user (0: none)
        self.deleted_retention = deleted_retention  # seconds a deleted memory is kept for undo (0: none)
        self.history_depth = history_depth  # versions kept with a deleted memory besides the deleted one

    def _run(self, script: str, declared: DeclaredKeys, plan: dict[str, Any], pipe: Any = None,
             blobs: Blobs | None = None, by: Provenance = BY_API) -> Any:
        plan["k"] = declared.index
        plan["events_kept"] = self.events_kept
        plan["by"] = _by_plan(by)
        model = self._vector_model()
        plan["vectors"] = model is not None
        args: list[Any] = [None]
        if model is not None:
            plan["vmodel"] = model
            args += blobs.values if blobs else []
        args[0] = dumps(without_nulls(plan))
        return self._redis.script(script)(keys=declared.keys, args=args,
                                          client=pipe if pipe is not None else self._redis.client)

    def _read_for_write(self, user_id: str, memory_ids: list[str]) -> dict[str, _Stored]:
        """Each memory's record as stored now, and the terms it is indexed with (recomputed from it)."""
        raws = self._redis.client.hmget(keys.memory_items(user_id), memory_ids)
        stored = {}
        for memory_id, raw in zip(memory_ids, raws):
            record = json.loads(raw) if raw is not None else {}
            stored[memory_id] = _Stored(raw, record, analyze(record["c"]) if raw is not None else None)
        return stored

    def _planned(self, user_id: str, memory_ids: list[str], script: str, plan_for,
                 blobs: Blobs | None = None, by: Provenance = BY_API) -> Any:
        """Read the stored records, declare their keys and the plan's, run; again if they moved meanwhile."""
        for _ in range(_MAX_PLANS):
            stored = self._read_for_write(user_id, memory_ids) if memory_ids else {}
            declared = DeclaredKeys(user_id)
            for memory in stored.values():
                if memory.analysis is not None:
                    declared.stored(memory.record, memory.analysis)
            plan = plan_for(declared, stored)
            plan["expect"] = {i: (text(m.raw) if m.raw is not None else False) for i, m in stored.items()}
            # What each stored memory is indexed with: unindex takes it out of exactly those postings.
            plan["was"] = {i: m.analysis.terms for i, m in stored.items() if m.analysis is not None}
            reply = self._run(script, declared, plan, blobs=blobs, by=by)
            if not (reply and text(reply[0]) == "retry"):
                return reply
        raise Conflict("The memory kept changing while this request wrote it; retry.", code="concurrent_write")

    # --- writes --------------------------------------------------------------------

    @confirms_persistence
    def create_many(self, user_id: str, memories: list[Memory], *, max_count: int = 0, max_words: int = 0,
                    refuse_duplicates: bool = True, pipe: Any = None, embeddings: list[bytes] | None = None,
                    by: Provenance = BY_API):
        """Store new memories, all or nothing; per memory ("created"|"exists", Memory).

        Raises QuotaExceeded (nothing stored) when they would break a quota, and
        DuplicateContent (nothing stored) when one equals a stored memory in its
        scope or an earlier one of `memories`, unless `refuse_duplicates` is off.
        With `pipe`, the call is queued and nothing is returned. `embeddings`
        (FP32, one per memory) go into the vector set. `by` writes the activity feed's entries (the
        records' own provenance is the memories').
        """
        declared = DeclaredKeys(user_id)
        blobs = Blobs()
        items = []
        for i, memory in enumerate(memories):
            analysis = analyze(memory.content)
            declared.memory(memory.scope, memory.tags, analysis.term_names)
            items.append({"id": memory.id, "rec": record_of(memory), **_index_plan(analysis),
                          "vec": blobs.add(embeddings[i] if embeddings else None)})
        plan = {"max_count": max_count, "max_words": max_words, "dup": refuse_duplicates, "items": items}
        reply = self._run("CREATE_MEMORIES", declared, plan, pipe, blobs, by)
        if pipe is not None:
            return None
        if text(reply[0]) == "full":
            raise QuotaExceeded(text(reply[1]))
        if text(reply[0]) == "duplicate":
            raise DuplicateContent(int(reply[1]), text(reply[2]))
        return [(text(reply[i]), decode_record(reply[i + 1], reply[i + 2])) for i in range(0, len(reply), 3)]

    @confirms_persistence
    def update(self, user_id: str, memory_id: str, *, updated_at: int, content: NewContent | None = None,
               metadata: dict[str, str] | None = None, tags: list[str] | None = None, scope: str | None = None,
               scope_given: bool = False, times: dict[str, int | None] | None = None,
               expected_versions: list[str] | None = None, history_depth: int = 0,
               max_words: int = 0, embedding: bytes | None = None, by: Provenance = BY_API) -> WriteResult:
        """Change content (with its embedding), metadata, tags, scope and/or times (occurred_at, valid_until,
        expires_at: None clears one); the new version's provenance is `by`'s. Raises TimesOutOfOrder when
        the memory's valid_until would come before its occurred_at."""
        blobs = Blobs()
        vec = blobs.add(embedding)
        analysis = analyze(content.text) if content else None

        def plan_for(declared: DeclaredKeys, stored: dict[str, _Stored]) -> dict[str, Any]:
            rec = stored[memory_id].record
            declared.memory(scope if scope_given else rec.get("s"),
                            tags if tags is not None else rec.get("g") or (),
                            analysis.term_names if analysis else ())
            declared.history(memory_id)
            plan: dict[str, Any] = {"id": memory_id, "versions": accepted_versions(expected_versions),
                                    "updated_at": updated_at, "scope_given": scope_given, "scope": scope or "",
                                    "history_depth": history_depth, "max_words": max_words}
            if content and analysis:
                plan["content"] = {"c": content.text, "w": content.words, "t": content.tokens,
                                   **_index_plan(analysis), "vec": vec}
            if metadata is not None:
                plan["metadata"] = metadata
            if tags is not None:
                plan["tags"] = tags
            if times:
                plan["times"], plan["clear"] = _time_changes(rec, times)
            return plan

        reply = self._planned(user_id, [memory_id], "UPDATE_MEMORY", plan_for, blobs, by)
        status = int(reply[0])
        if status == -2:
            raise QuotaExceeded(text(reply[1]))
        if status == 0:
            return WriteResult(False, None)
        return WriteResult(status == 1, decode_record(memory_id, reply[1]))

    @confirms_persistence
    def delete_many(self, user_id: str, memory_ids: list[str], *, expected_versions: list[str] | None = None,
                    expired_by: int | None = None, by: Provenance = BY_API) -> list[WriteResult]:
        """Delete memories, each kept for `deleted_retention` seconds so the delete can be undone (restore).
        `expired_by`: only those whose expiry is at or before it (the others are kept, not ok)."""
        def plan_for(declared: DeclaredKeys, stored: dict[str, _Stored]) -> dict[str, Any]:
            for memory_id in memory_ids:
                declared.history(memory_id)
            return {"versions": accepted_versions(expected_versions), "ids": memory_ids, "now": int(time.time()),
                    "retention": self.deleted_retention, "history_depth": self.history_depth,
                    "expired_by": expired_by}

        reply = self._planned(user_id, memory_ids, "DELETE_MEMORIES", plan_for, by=by)
        results = []
        for i, memory_id in enumerate(memory_ids):
            status, raw = int(reply[2 * i]), reply[2 * i + 1]
            results.append(WriteResult(status == 1, decode_record(memory_id, raw) if raw else None))
        return results

    @confirms_persistence
    def reindex(self, user_id: str, memory_id: str, content: str, embedding: bytes | None = None) -> bool:
        """Index one memory again from its content (and add its embedding, if given, made from `content`);
        False if it is gone or its content has changed since (the write that changed it indexed it)."""
        blobs = Blobs()
        vec = blobs.add(embedding)
        analysis = analyze(content)

        def plan_for(declared: DeclaredKeys, stored: dict[str, _Stored]) -> dict[str, Any]:
            if stored[memory_id].raw is not None and stored[memory_id].record["c"] != content:
                raise _Superseded
            declared.memory(None, (), analysis.term_names)
            return {"id": memory_id, **_index_plan(analysis), "vec": vec}

        try:
            return int(self._planned(user_id, [memory_id], "REINDEX_MEMORY", plan_for, blobs)[0]) == 1
        except _Superseded:
            return False

    @confirms_persistence
    def drop_stray_times(self, user_id: str, memory_ids: list[str]) -> int:
        """Take these memories out of the time indexes that list them without that time (DROP_STRAY_TIMES:
        checked against each record as it is then); returns how many entries went."""
        if not memory_ids:
            return 0
        return int(self._redis.script("DROP_STRAY_TIMES")(
            keys=[keys.memory_items(user_id), *_time_keys(user_id)], args=memory_ids))

    @confirms_persistence
    def restore(self, user_id: str, memory_id: str, *, embed: Callable[[str], bytes | None], max_count: int = 0,
                max_words: int = 0, by: Provenance = BY_API) -> Memory:
        """Undo a delete kept for deleted_retention seconds: the deleted version becomes the memory again as
        a new revision (`embed` gives its content's embedding). Raises MemoryExists (it is stored),
        NothingToRestore (no delete of it is kept) or QuotaExceeded."""
        for _ in range(_MAX_PLANS):
            head = self._redis.client.lindex(keys.memory_history(user_id, memory_id), 0)
            if head is None:
                if self._redis.client.hexists(keys.memory_items(user_id), memory_id):
                    raise MemoryExists(memory_id)
                raise NothingToRestore(memory_id)
            rec = json.loads(head)
            analysis = analyze(rec["c"])
            declared = DeclaredKeys(user_id)
            declared.stored(rec, analysis)
            declared.history(memory_id)
            blobs = Blobs()
            plan = {"id": memory_id, "head": text(head), "now": int(time.time()), **_index_plan(analysis),
                    "vec": blobs.add(embed(rec["c"])), "max_count": max_count, "max_words": max_words}
            reply = self._run("RESTORE_MEMORY", declared, plan, blobs=blobs, by=by)
            status = text(reply[0])
            if status == "retry":
                continue
            if status == "exists":
                raise MemoryExists(memory_id)
            if status == "gone":
                raise NothingToRestore(memory_id)
            if status == "full":
                raise QuotaExceeded(text(reply[1]))
            return decode_record(memory_id, reply[1])
        raise Conflict("The memory kept changing while this request restored it; retry.", code="concurrent_write")

    @confirms_persistence
    def reset_vectors(self, user_id: str) -> None:
        """Drop a user's vectors and start a set for the current model (before re-embedding them all)."""
        self._run("RESET_VECTORS", DeclaredKeys(user_id), {})

    @confirms_persistence
    def put_many(self, user_id: str, items: list[tuple[Memory, list[Memory]]], *, overwrite: bool,
                 max_count: int = 0, max_words: int = 0, embeddings: list[bytes] | None = None,
                 by: Provenance = BY_API) -> list[str]:
        """Import: store memories with their own ids, revisions and history (and embeddings, if given)."""
        blobs = Blobs()
        vecs = [blobs.add(embeddings[i] if embeddings else None) for i in range(len(items))]
        analyses = [analyze(memory.content) for memory, _ in items]

        def plan_for(declared: DeclaredKeys, stored: dict[str, _Stored]) -> dict[str, Any]:
            planned = []
            for (memory, history), analysis, vec in zip(items, analyses, vecs):
                declared.memory(memory.scope, memory.tags, analysis.term_names)
                declared.history(memory.id)
                planned.append({"id": memory.id, "rec": record_of(memory), **_index_plan(analysis),
                                "vec": vec, "history": [dumps(record_of(old)) for old in history]})
            return {"overwrite": overwrite, "max_count": max_count, "max_words": max_words, "items": planned}

        reply = self._planned(user_id, [memory.id for memory, _ in items], "PUT_MEMORIES", plan_for, blobs, by)
        if reply and text(reply[0]) == "full":
            raise QuotaExceeded(text(reply[1]))
        return [text(r) for r in reply]


_TIME_KEYS = {"occurred_at": "ta", "valid_until": "tv", "expires_at": "te"}  # record_of's short names


def _time_changes(rec: dict[str, Any], times: dict[str, int | None]) -> tuple[dict[str, int], list[str]]:
    """A time change as the update script takes it ({short name: value}, [short names cleared]), checked
    against the record it applies to: a memory cannot stop holding before it happened."""
    merged = {short: rec.get(short) for short in _TIME_KEYS.values()}
    merged.update({_TIME_KEYS[name]: value for name, value in times.items()})
    if merged["ta"] is not None and merged["tv"] is not None and merged["tv"] < merged["ta"]:
        raise TimesOutOfOrder(merged["ta"], merged["tv"])
    return ({_TIME_KEYS[name]: value for name, value in times.items() if value is not None},
            [_TIME_KEYS[name] for name, value in times.items() if value is None])


def _index_plan(analysis: Analysis) -> dict[str, Any]:
    """What a write script's index_document takes of a memory's content (index/lua.py)."""
    return {"terms": analysis.terms, "len": analysis.length, "fp": analysis.fingerprint}


def _by_plan(by: Provenance) -> dict[str, Any]:
    """A write's provenance as the scripts' `by` (memory_lua_prelude.py): short names, api left out."""
    return {"o": None if by.source == "api" else by.source, "a": by.actor, "y": by.reason, "x": by.origin(),
            "u": by.author}
