"""Every call of `client.memory`, once: which request each method makes of its arguments.

memory.py (sync) and async_memory.py (async) declare the methods, with their signatures and
docstrings for readers and type checkers, and each sends what the function of the same name here
builds; tests/test_python_client.py checks that both flavours declare the same methods and send the
same requests.
"""

from __future__ import annotations

from typing import Any

from . import _requests as r
from ._requests import Request, given, id_path, memory_path, options, tag_list, write_headers
from .types import (
    CaptureJob,
    Extraction,
    ImportResult,
    Memory,
    MemoryContext,
    MemoryDeleted,
    MemoryEvent,
    MemoryHistory,
    MemorySearchResult,
    MemoryStats,
    Preferences,
    SuggestionList,
    TagList,
)

Extras = r.RequestExtras  # extra_headers, extra_query, extra_body, timeout


def _memory_answer(method: str, path: str, extras: Extras, *, body: Any = None,
                   headers: dict[str, str]) -> Request:
    """A call answered with a memory whose `.etag` is the response's ETag header."""
    return Request(method, path, Memory, options(extras, headers={**r.RAW, **headers}), body=body, etag=True)


# --- the memories ------------------------------------------------------------------------------


def list_memories(*, limit, order, after, before, tag, scope, source, created_after, created_before,
                  updated_after, updated_before, extras: Extras) -> Request:
    query = given(limit=limit, order=order, after=after, before=before, tag=tag_list(tag), scope=scope,
                  source=source, created_after=created_after, created_before=created_before,
                  updated_after=updated_after, updated_before=updated_before)
    return Request("get", "/memory", Memory, options(extras, query=query))


def create(*, content, metadata, tags, scope, times, idempotency_key, extras: Extras) -> Request:
    return _memory_answer("post", "/memory", extras, body=given(content=content, metadata=metadata, tags=tags,
                                                                  scope=scope, **times),
                          headers=write_headers(idempotency_key=idempotency_key))


def retrieve(memory_id, *, extras: Extras) -> Request:
    return _memory_answer("get", memory_path(memory_id), extras, headers={})


def update(memory_id, *, content, metadata, tags, scope, times, if_match, idempotency_key,
           extras: Extras) -> Request:
    return _memory_answer("patch", memory_path(memory_id), extras,
                          body=given(content=content, metadata=metadata, tags=tags, scope=scope, **times),
                          headers=write_headers(if_match, idempotency_key))


def delete(memory_id, *, if_match, idempotency_key, extras: Extras) -> Request:
    return Request("delete", memory_path(memory_id), MemoryDeleted,
                   options(extras, headers=write_headers(if_match, idempotency_key)))


def search(*, query, mode, limit, tag, scope, source, created_after, created_before, updated_after,
           updated_before, extras: Extras) -> Request:
    body = given(query=query, mode=mode, limit=limit, tags=tag_list(tag), scope=scope, source=source,
                 created_after=created_after, created_before=created_before, updated_after=updated_after,
                 updated_before=updated_before)
    return Request("post", "/memory/search", MemorySearchResult, options(extras), body=body)


def context(*, query, scope, mode, max_words, max_tokens, model, extras: Extras) -> Request:
    body = given(query=query, scope=scope, mode=mode, max_words=max_words, max_tokens=max_tokens, model=model)
    return Request("post", "/memory/context", MemoryContext, options(extras), body=body)


def export(*, extras: Extras) -> Request:
    return Request("get", "/memory/export", str, options(extras))


def import_(data, *, on_conflict, idempotency_key, extras: Extras) -> Request:
    headers = {"Content-Type": r.JSONL, **write_headers(idempotency_key=idempotency_key)}
    return Request("post", "/memory/import", ImportResult,
                   options(extras, query=given(on_conflict=on_conflict), headers=headers),
                   content=r.import_content(data))


def history(memory_id, *, extras: Extras) -> Request:
    return Request("get", memory_path(memory_id, "/history"), MemoryHistory, options(extras))


def revert(memory_id, *, revision, if_match, idempotency_key, extras: Extras) -> Request:
    return _memory_answer("post", memory_path(memory_id, "/revert"), extras, body={"revision": revision},
                          headers=write_headers(if_match, idempotency_key))


def restore(memory_id, *, idempotency_key, extras: Extras) -> Request:
    return _memory_answer("post", memory_path(memory_id, "/restore"), extras,
                          headers=write_headers(idempotency_key=idempotency_key))


def list_events(*, limit, order, after, before, extras: Extras) -> Request:
    query = given(limit=limit, order=order, after=after, before=before)
    return Request("get", "/memory/events", MemoryEvent, options(extras, query=query))


# --- stats, tags and capture ---------------------------------------------------------------------


def stats(*, extras: Extras) -> Request:
    return Request("get", "/memory/stats", MemoryStats, options(extras))


def tags(*, extras: Extras) -> Request:
    return Request("get", "/memory/tags", TagList, options(extras))


def extract(*, messages, apply, scope, model, occurred_at, idempotency_key, extras: Extras) -> Request:
    body = given(messages=list(messages), apply=apply, scope=scope, model=model, occurred_at=occurred_at)
    return Request("post", "/memory/extract", Extraction,
                   options(extras, headers=write_headers(idempotency_key=idempotency_key)), body=body)


def suggestions(*, extras: Extras) -> Request:
    return Request("get", "/memory/suggestions", SuggestionList, options(extras))


def accept_suggestion(suggestion_id, *, extras: Extras) -> Request:
    return Request("post", id_path("/memory/suggestions/", suggestion_id, "/accept"), Memory, options(extras))


def dismiss_suggestion(suggestion_id, *, extras: Extras) -> Request:
    return Request("post", id_path("/memory/suggestions/", suggestion_id, "/dismiss"), object, options(extras))


def preferences(*, extras: Extras) -> Request:
    return Request("get", "/memory/preferences", Preferences, options(extras))


def set_preferences(*, capture, extras: Extras) -> Request:
    return Request("patch", "/memory/preferences", Preferences, options(extras), body={"capture": capture})


def capture_job(job_id, *, extras: Extras) -> Request:
    return Request("get", id_path("/memory/capture/jobs/", job_id), CaptureJob, options(extras))
