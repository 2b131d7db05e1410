"""Export and import: a user's memories as JSON Lines, for backups and moves.

The first line names the format; then one memory per line, oldest first, with
its id, timestamps, revision, content, metadata, tags, scope and history.
Importing is idempotent by id (`on_conflict`: skip or overwrite), keeps ids,
timestamps, revisions and history, and recomputes word and token counts.

The same export can be one JSON object instead (for clients that read only JSON): the first line's
fields, and the memory lines in `data`. It is written as a stream too; importing one is checked item by
item exactly as JSON Lines are, but the object is parsed whole, so it suits moderate sizes.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from typing import IO, Any

from ..errors import ApiError, Conflict, InvalidRequest
from ..models import IdWalk, Memory, Provenance
from ..owners import space_of
from ..store.memories import MemoryStore
from ..store.records import QuotaExceeded
from ..tokens import count_tokens, count_words
from ..validation import (
    MAX_REVISION,
    MAX_UNIX_TIME,
    TIME_FIELDS,
    check_int_range,
    check_memory_id,
    check_origin,
    check_scope,
    check_time_order,
    times_of,
)
from .memories import MemoryService

FORMAT = "memory-api.memories"
VERSION = 1
_CHUNK = 200
_CHUNK_BYTES = 4 << 20
_SPOOL_IN_MEMORY = 1 << 20  # a request body or stdin beyond this is copied to a temporary file
_COPY_BUFFER = 64 << 10
# The longest line an import reads: far above any line an export writes (a memory and its history,
# every field at its limit and every character \u-escaped, is about 2 MiB with the default limits),
# and what bounds the memory one line can take once parsed.
MAX_IMPORT_LINE_BYTES = 8 << 20
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
# A memory of an import, checked: its id, and its versions' fields, newest first.
_Checked = tuple[str, list[dict[str, Any]]]


def _version_api(memory: Memory) -> dict[str, Any]:
    version = {"revision": memory.revision, "updated_at": memory.updated_at, "content": memory.content,
               "metadata": memory.metadata, "tags": list(memory.tags), "scope": memory.scope}
    if memory.origin:  # where it was said: kept, so an imported conversation still ranks as one
        version["origin"] = memory.origin
    for name in TIME_FIELDS:
        if getattr(memory, name) is not None:
            version[name] = getattr(memory, name)
    if memory.supersedes:
        version["supersedes"] = memory.supersedes
    return version


def memory_line(memory: Memory, history: list[Memory]) -> dict[str, Any]:
    return {"id": memory.id, "created_at": memory.created_at, **_version_api(memory),
            "history": [_version_api(old) for old in history]}


class Portability:
    def __init__(self, store: MemoryStore, memories: MemoryService) -> None:
        self._store = store
        self._memories = memories

    def export_lines(self, user_id: str) -> Iterator[str]:
        """The export, line by line (each ending in a newline), read page by page."""
        yield _dumps(_export_header(user_id)) + "\n"
        for line in self._memory_lines(user_id):
            yield _dumps(line) + "\n"

    def export_json(self, user_id: str) -> Iterator[str]:
        """The export as one JSON object, in pieces (read page by page, as export_lines): the format line's
        fields and `data`, the memory lines, one per line of text."""
        header = _dumps(_export_header(user_id))
        yield header[:-1] + ',"data":['
        separator = "\n"
        for line in self._memory_lines(user_id):
            yield separator + _dumps(line)
            separator = ",\n"
        yield "\n]}\n"

    def _memory_lines(self, user_id: str) -> Iterator[dict[str, Any]]:
        """Every memory of `user_id` with its history, oldest first, as an export writes it."""
        above = None
        while True:
            page = self._store.page(user_id, IdWalk(newest_first=False, above=above), count=_CHUNK)
            for memory, history in self._store.with_history(user_id, page, self._memories.history_depth):
                yield memory_line(memory, history)
            if len(page) < _CHUNK:
                return
            above = page[-1].id

    def import_data(self, user_id: str, data: str | bytes, *, on_conflict: str = "skip",
                    actor: str | None = None, author: str | None = None) -> dict[str, Any]:
        """Import an export given whole (MCP: it arrives in one message). See import_file."""
        encoded = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
        return self.import_file(user_id, io.BytesIO(encoded), on_conflict=on_conflict, actor=actor, author=author)

    def import_file(self, user_id: str, source: IO[bytes], *, on_conflict: str = "skip",
                    actor: str | None = None, author: str | None = None) -> dict[str, Any]:
        """Import an export read from a binary file (a request body, a file, stdin), in bounded memory.

        Two passes: the first checks every line and keeps nothing, so a bad line is a 400 with nothing
        written; the second writes a chunk of lines at a time (at most _CHUNK lines and about
        _CHUNK_BYTES). A source that cannot be read twice is copied first, to a temporary file beyond
        _SPOOL_IN_MEMORY. Every version written has source `import` (`actor`: the API key importing).
        Lines end at "\\n" only (a "\\r" before it is ignored): JSON escapes every
        line break inside a string, while U+2028, U+2029 and U+0085 may stand in it raw.
        """
        _check_on_conflict(on_conflict)
        with _rereadable(source) as file:
            start = file.tell()

            def checked_lines() -> Iterator[tuple[_Checked, int]]:
                file.seek(start)
                return self._checked_lines(file)

            return self._import_checked(user_id, checked_lines, on_conflict=on_conflict, actor=actor, author=author)

    def import_document(self, user_id: str, document: Any, *, on_conflict: str = "skip",
                        actor: str | None = None, author: str | None = None) -> dict[str, Any]:
        """Import an export given as one JSON object, already parsed: export_json's, or only its `data`.

        Each item of `data` is checked as import_file checks a line (a bad one is a 400 naming `data[i]`,
        and nothing is written), then written in the same chunks. `object`, `format` and `version` must be
        the export's if present; `user`, `space` and `exported_at` are read past, as the format line's are.
        """
        _check_on_conflict(on_conflict)
        data = _document_data(document)

        def checked_items() -> Iterator[tuple[_Checked, int]]:
            for i, item in enumerate(data):
                yield self._parsed(item, f"data[{i}]", label=f"data[{i}]"), len(_dumps(item))

        return self._import_checked(user_id, checked_items, on_conflict=on_conflict, actor=actor, author=author)

    def _import_checked(self, user_id: str, checked: Callable[[], Iterator[tuple[_Checked, int]]], *,
                        on_conflict: str, actor: str | None, author: str | None) -> dict[str, Any]:
        """Two passes over `checked` (each call walks every memory of the import from its start): the first
        checks them all and keeps nothing, the second writes a chunk at a time."""
        total = sum(1 for _ in checked())
        counts = {"created": 0, "overwritten": 0, "skipped": 0}
        max_count, max_words = self._memories.quotas(user_id)
        for chunk in _chunks(checked()):
            items = [self._to_write(memory_id, versions, author=author, space=space_of(user_id))
                     for memory_id, versions in chunk]
            try:
                outcomes = self._store.put_many(
                    user_id, items, overwrite=on_conflict == "overwrite",
                    max_count=max_count, max_words=max_words,
                    embeddings=self._memories.embeddings([memory.content for memory, _ in items]),
                    by=Provenance(source="import", actor=actor, author=author))
            except QuotaExceeded:
                raise Conflict(
                    f"The import would go over this user's quota; {counts['created']} memories were imported "
                    "before it stopped (importing again with on_conflict=skip continues).",
                    param="content", code="memory_full") from None
            for outcome in outcomes:
                counts[outcome] += 1
        return {"object": "memory.import", "total": total, **counts}

    def _checked_lines(self, file: IO[bytes]) -> Iterator[tuple[_Checked, int]]:
        """Each memory line of the export, checked: ((id, its versions' fields, newest first), line bytes)."""
        header_seen = False
        for number, raw in enumerate(iter(lambda: file.readline(MAX_IMPORT_LINE_BYTES + 1), b""), start=1):
            if len(raw) > MAX_IMPORT_LINE_BYTES:
                raise InvalidRequest(f"Line {number} is longer than {MAX_IMPORT_LINE_BYTES} bytes.",
                                     param=f"line {number}", code="invalid_import")
            try:
                text = raw.decode("utf-8")
                record = json.loads(text) if text.strip() else None
            except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
                raise InvalidRequest(f"Line {number} is not valid UTF-8 JSON.", param=f"line {number}",
                                     code="invalid_import") from None
            if record is None:
                continue
            if not header_seen:
                if not (isinstance(record, dict) and record.get("format") == FORMAT
                        and record.get("version") == VERSION):
                    raise InvalidRequest(
                        f"Line 1 must name the format: {{\"format\": \"{FORMAT}\", \"version\": {VERSION}}}.",
                        param="line 1", code="invalid_import")
                if "data" in record:  # read as JSON Lines, its memories would be skipped without a word
                    raise InvalidRequest("Line 1 is an export as one JSON object (with `data`): send it as "
                                         "application/json, not JSON Lines.", param="line 1", code="invalid_import")
                header_seen = True
                continue
            yield self._parsed(record, f"line {number}", label=f"Line {number}"), len(raw)
        if not header_seen:
            raise InvalidRequest("The import is empty: it needs at least the format line.", param="line 1",
                                 code="invalid_import")

    def _parsed(self, record: Any, where: str, *, label: str) -> _Checked:
        """One memory of an import, checked: its id and its versions' fields, newest first. `where` names it
        in an error's param (`line 3`, `data[2]`), `label` in its message."""
        try:
            if not isinstance(record, dict):
                raise InvalidRequest(f"{where} must be an object.", param=where)
            memory_id = check_memory_id(record.get("id"), param=f"{where}.id")
            current = self._version(record, where)
            history = record.get("history") or []
            if not isinstance(history, list):
                raise InvalidRequest(f"{where}.history must be an array.", param=f"{where}.history")
            old = [self._version(v, f"{where}.history[{i}]") for i, v in enumerate(history)]
        except ApiError as err:
            raise InvalidRequest(f"{label}: {err.message}", param=err.param or where,
                                 code="invalid_import") from None
        return memory_id, [current, *old[: self._memories.history_depth]]

    @staticmethod
    def _to_write(memory_id: str, versions: list[dict[str, Any]], *, author: str | None,
                  space: str | None) -> tuple[Memory, list[Memory]]:
        """A checked line as put_many takes it: the memory with its counts, its history. Every version is
        the importer's (`author`), in the space imported into: an export cannot claim another author."""
        current, *old = [Memory(id=memory_id, word_count=count_words(v["content"]),
                                token_count=count_tokens(v["content"]), source="import", author=author,
                                space=space, **v) for v in versions]
        return current, old

    def _version(self, data: Any, where: str) -> dict[str, Any]:
        """One version's fields, checked (word and token counts are left to the write)."""
        if not isinstance(data, dict):
            raise InvalidRequest(f"{where} must be an object.", param=where)
        rules = self._memories.rules
        # Every number is checked here, before any write: a script that met one it cannot store
        # would stop half-way, after writing the lines before it.
        return {
            "content": rules.content(data.get("content"), param=f"{where}.content"),
            "updated_at": check_int_range(data.get("updated_at"), param=f"{where}.updated_at", minimum=0,
                                          maximum=MAX_UNIX_TIME),
            "revision": check_int_range(data.get("revision", 1), param=f"{where}.revision", minimum=1,
                                        maximum=MAX_REVISION),
            "metadata": rules.metadata(data.get("metadata"), param=f"{where}.metadata"),
            "tags": tuple(rules.tags(data.get("tags"), param=f"{where}.tags")),
            "scope": check_scope(data.get("scope"), param=f"{where}.scope"),
            "origin": check_origin(data.get("origin"), param=f"{where}.origin"),
            "supersedes": check_memory_id(data["supersedes"], param=f"{where}.supersedes")
            if data.get("supersedes") is not None else None,
            # An expiry that has passed is taken (an export restored after its memories expired): such a
            # memory is never returned, and the expiry sweeper deletes it.
            **self._times(data, where),
        }

    @staticmethod
    def _times(data: dict[str, Any], where: str) -> dict[str, int | None]:
        times = times_of(data, prefix=f"{where}.")
        check_time_order(times.get("occurred_at"), times.get("valid_until"), param=f"{where}.valid_until")
        return times


def _export_header(user_id: str) -> dict[str, Any]:
    """The fields that open an export: what it is, whose, and when."""
    whose = {"space": space_of(user_id)} if space_of(user_id) else {"user": user_id}
    return {"object": "memory.export", "format": FORMAT, "version": VERSION, **whose, "exported_at": int(time.time())}


def _check_on_conflict(on_conflict: str) -> None:
    if on_conflict not in ("skip", "overwrite"):
        raise InvalidRequest("'on_conflict' must be 'skip' or 'overwrite'.", param="on_conflict")


def _document_data(document: Any) -> list[Any]:
    """The memories of an import given as one JSON object, after checking what else it says."""
    if not isinstance(document, dict):
        raise InvalidRequest("A JSON import must be an object with `data`, the memories of an export.",
                             param="data", code="invalid_import")
    for name, expected in (("object", "memory.export"), ("format", FORMAT), ("version", VERSION)):
        value = document.get(name, expected)
        if value != expected or type(value) is not type(expected):  # `true` is not version 1
            raise InvalidRequest(f"'{name}' must be {json.dumps(expected)} (or absent).", param=name,
                                 code="invalid_import")
    data = document.get("data")
    if not isinstance(data, list):
        raise InvalidRequest("'data' must be an array: the memories of an export.", param="data",
                             code="invalid_import")
    return data


def _chunks(lines: Iterator[tuple[Any, int]]) -> Iterator[list[Any]]:
    """Checked lines in chunks of at most _CHUNK lines and about _CHUNK_BYTES of the export."""
    chunk: list[Any] = []
    size = 0
    for line, length in lines:
        chunk.append(line)
        size += length
        if len(chunk) == _CHUNK or size >= _CHUNK_BYTES:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


@contextlib.contextmanager
def _rereadable(source: IO[bytes]) -> Iterator[IO[bytes]]:
    """`source` if it can seek back to its start, else a copy of it (in memory up to _SPOOL_IN_MEMORY)."""
    if source.seekable():
        yield source
        return
    with tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY) as copy:
        shutil.copyfileobj(source, copy, _COPY_BUFFER)
        copy.seek(0)
        yield copy
