"""Export and import: a user's memories as JSON Lines, for backups and moves.

The first line names the format; then one memory per line, oldest first, with
its id, timestamps, revision, content, metadata, tags, scope and history.
Importing is idempotent by id (`on_conflict`: skip or overwrite), keeps ids,
timestamps, revisions and history, and recomputes word and token counts.
"""

from __future__ import annotations

import json
import time
from typing import Any, Iterable, Iterator

from ..errors import ApiError, Conflict, InvalidRequest
from ..models import IdWalk, Memory
from ..store.memories import MemoryStore
from ..store.records import QuotaExceeded
from ..tokens import count_tokens, count_words
from ..validation import MAX_REVISION, MAX_UNIX_TIME, check_int_range, check_memory_id, check_scope
from .memories import MemoryService, indexed

FORMAT = "memory-api.memories"
VERSION = 1
_CHUNK = 200
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _version_api(memory: Memory) -> dict[str, Any]:
    return {"revision": memory.revision, "updated_at": memory.updated_at, "content": memory.content,
            "metadata": memory.metadata, "tags": list(memory.tags), "scope": memory.scope}


def memory_line(memory: Memory, history: list[Memory]) -> dict[str, Any]:
    return {"id": memory.id, "created_at": memory.created_at, **_version_api(memory),
            "history": [_version_api(old) for old in history]}


class Portability:
    def __init__(self, store: MemoryStore, memories: MemoryService) -> None:
        self._store = store
        self._memories = memories

    def export_lines(self, user_id: str) -> Iterator[str]:
        """The export, line by line (each ending in a newline), read page by page."""
        yield _dumps({"object": "memory.export", "format": FORMAT, "version": VERSION, "user": user_id,
                      "exported_at": int(time.time())}) + "\n"
        above = None
        while True:
            page = self._store.page(user_id, IdWalk(newest_first=False, above=above), count=_CHUNK)
            for memory, history in self._store.with_history(user_id, page, self._memories.history_depth):
                yield _dumps(memory_line(memory, history)) + "\n"
            if len(page) < _CHUNK:
                return
            above = page[-1].id

    def import_data(self, user_id: str, data: str | bytes, *, on_conflict: str = "skip") -> dict[str, Any]:
        """Import an export given whole. Lines end at "\\n" only (a "\\r" before it is ignored): JSON
        escapes every line break inside a string, while U+2028, U+2029 and U+0085 may stand in it raw."""
        newline = b"\n" if isinstance(data, bytes) else "\n"
        return self.import_lines(user_id, data.split(newline), on_conflict=on_conflict)

    def import_lines(self, user_id: str, lines: Iterable[str | bytes], *, on_conflict: str = "skip"
                     ) -> dict[str, Any]:
        """Import an export. Every line is checked first: any bad line is a 400 and nothing is written."""
        if on_conflict not in ("skip", "overwrite"):
            raise InvalidRequest("'on_conflict' must be 'skip' or 'overwrite'.", param="on_conflict")
        items = []
        header_seen = False
        for number, raw in enumerate(lines, start=1):
            text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
            if not text.strip():
                continue
            try:
                record = json.loads(text)
            except (ValueError, RecursionError):
                raise InvalidRequest(f"Line {number} is not valid JSON.", param=f"line {number}",
                                     code="invalid_import") from None
            if not header_seen:
                if not (isinstance(record, dict) and record.get("format") == FORMAT
                        and record.get("version") == VERSION):
                    raise InvalidRequest(
                        f"Line 1 must name the format: {{\"format\": \"{FORMAT}\", \"version\": {VERSION}}}.",
                        param="line 1", code="invalid_import")
                header_seen = True
                continue
            items.append(self._parsed(record, number))
        if not header_seen:
            raise InvalidRequest("The import is empty: it needs at least the format line.", param="line 1",
                                 code="invalid_import")
        counts = {"created": 0, "overwritten": 0, "skipped": 0}
        for start in range(0, len(items), _CHUNK):
            try:
                chunk = items[start:start + _CHUNK]
                outcomes = self._store.put_many(
                    user_id, chunk, overwrite=on_conflict == "overwrite",
                    max_count=self._memories.quota_memories, max_words=self._memories.quota_words,
                    embeddings=self._memories.embeddings([memory.content for memory, _, _ in chunk]))
            except QuotaExceeded:
                raise Conflict(
                    f"The import would go over this user's quota; {counts['created']} memories were imported "
                    "before it stopped (importing again with on_conflict=skip continues).",
                    param="content", code="memory_full") from None
            for outcome in outcomes:
                counts[outcome] += 1
        return {"object": "memory.import", "total": len(items), **counts}

    def _parsed(self, record: Any, number: int):
        where = f"line {number}"
        try:
            if not isinstance(record, dict):
                raise InvalidRequest(f"{where} must be an object.", param=where)
            memory_id = check_memory_id(record.get("id"), param=f"{where}.id")
            current = self._version(memory_id, record, where)
            history = record.get("history") or []
            if not isinstance(history, list):
                raise InvalidRequest(f"{where}.history must be an array.", param=f"{where}.history")
            old = [self._version(memory_id, v, f"{where}.history[{i}]") for i, v in enumerate(history)]
        except ApiError as err:
            raise InvalidRequest(f"Line {number}: {err.message}", param=err.param or where,
                                 code="invalid_import") from None
        return current, indexed(current.content), old[: self._memories.history_depth]

    def _version(self, memory_id: str, data: Any, where: str) -> Memory:
        if not isinstance(data, dict):
            raise InvalidRequest(f"{where} must be an object.", param=where)
        rules = self._memories.rules
        text = rules.content(data.get("content"), param=f"{where}.content")
        # Every number is checked here, before any write: a script that met one it cannot store
        # would stop half-way, after writing the lines before it.
        updated_at = check_int_range(data.get("updated_at"), param=f"{where}.updated_at", minimum=0,
                                     maximum=MAX_UNIX_TIME)
        revision = check_int_range(data.get("revision", 1), param=f"{where}.revision", minimum=1,
                                   maximum=MAX_REVISION)
        return Memory(
            id=memory_id, content=text, metadata=rules.metadata(data.get("metadata"), param=f"{where}.metadata"),
            updated_at=updated_at, word_count=count_words(text),
            token_count=count_tokens(text), revision=revision,
            tags=tuple(rules.tags(data.get("tags"), param=f"{where}.tags")),
            scope=check_scope(data.get("scope"), param=f"{where}.scope"),
        )
