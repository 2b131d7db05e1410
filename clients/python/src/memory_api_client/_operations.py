"""Every call of `client.memory` and `client.spaces`, once: which request each method makes of its arguments.

memory.py and spaces.py (sync), async_memory.py and async_spaces.py (async) declare the methods, with their
signatures and docstrings for readers and type checkers, and each sends what the function of the same name
here builds; tests/test_python_client.py checks that both flavours declare the same methods and send the
same requests.

`space` (a shared space's id) is sent where the REST endpoint takes one; NOT_GIVEN or None leaves it out,
meaning the user's own memories.
"""

from __future__ import annotations

from typing import Any

from . import _requests as r
from ._requests import Request, given, id_path, memory_path, options, space_path, tag_list, write_headers
from .types import (
    CaptureJob,
    Extraction,
    ImportResult,
    Memory,
    MemoryBatch,
    MemoryBatchDeleted,
    MemoryContext,
    MemoryDeleted,
    MemoryDeletedAll,
    MemoryEvent,
    MemoryHistory,
    MemorySearchResult,
    MemoryStats,
    Preferences,
    Space,
    SpaceDeleted,
    SpaceMember,
    SpaceMemberDeleted,
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
                  updated_after, updated_before, space, extras: Extras) -> Request:
    query = given(limit=limit, order=order, after=after, before=before, tag=tag_list(tag), scope=scope,
                  source=source, created_after=created_after, created_before=created_before,
                  updated_after=updated_after, updated_before=updated_before, **r.space_param(space))
    return Request("get", "/memory", Memory, options(extras, query=query))


def create(*, content, metadata, tags, scope, times, space, idempotency_key, extras: Extras) -> Request:
    return _memory_answer("post", "/memory", extras, body=given(content=content, metadata=metadata, tags=tags,
                                                                  scope=scope, **times, **r.space_param(space)),
                          headers=write_headers(idempotency_key=idempotency_key))


def create_batch(*, memories, space, idempotency_key, extras: Extras) -> Request:
    return Request("post", "/memory/batch", MemoryBatch,
                   options(extras, headers=write_headers(idempotency_key=idempotency_key)),
                   body={"memories": list(memories), **r.space_param(space)})


def delete_batch(*, ids, space, idempotency_key, extras: Extras) -> Request:
    return Request("post", "/memory/batch_delete", MemoryBatchDeleted,
                   options(extras, headers=write_headers(idempotency_key=idempotency_key)),
                   body={"ids": list(ids), **r.space_param(space)})


def delete_all(*, confirm, space, extras: Extras) -> Request:
    query = {"confirm": r.confirmed(confirm), **r.space_param(space)}
    return Request("delete", "/memory", MemoryDeletedAll, options(extras, query=query))


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
           updated_before, space, extras: Extras) -> Request:
    body = given(query=query, mode=mode, limit=limit, tags=tag_list(tag), scope=scope, source=source,
                 created_after=created_after, created_before=created_before, updated_after=updated_after,
                 updated_before=updated_before, **r.space_param(space))
    return Request("post", "/memory/search", MemorySearchResult, options(extras), body=body)


def context(*, query, scope, mode, max_words, max_tokens, model, spaces, extras: Extras) -> Request:
    body = given(query=query, scope=scope, mode=mode, max_words=max_words, max_tokens=max_tokens, model=model,
                 spaces=spaces)
    return Request("post", "/memory/context", MemoryContext, options(extras), body=body)


def export(*, space, extras: Extras) -> Request:
    return Request("get", "/memory/export", str, options(extras, query=r.space_param(space)))


def import_(data, *, on_conflict, space, idempotency_key, extras: Extras) -> Request:
    headers = {"Content-Type": r.JSONL, **write_headers(idempotency_key=idempotency_key)}
    return Request("post", "/memory/import", ImportResult,
                   options(extras, query=given(on_conflict=on_conflict, **r.space_param(space)), headers=headers),
                   content=r.import_content(data))


def history(memory_id, *, extras: Extras) -> Request:
    return Request("get", memory_path(memory_id, "/history"), MemoryHistory, options(extras))


def revert(memory_id, *, revision, if_match, idempotency_key, extras: Extras) -> Request:
    return _memory_answer("post", memory_path(memory_id, "/revert"), extras, body={"revision": revision},
                          headers=write_headers(if_match, idempotency_key))


def restore(memory_id, *, idempotency_key, extras: Extras) -> Request:
    return _memory_answer("post", memory_path(memory_id, "/restore"), extras,
                          headers=write_headers(idempotency_key=idempotency_key))


def list_events(*, limit, order, after, before, space, extras: Extras) -> Request:
    query = given(limit=limit, order=order, after=after, before=before, **r.space_param(space))
    return Request("get", "/memory/events", MemoryEvent, options(extras, query=query))


# --- stats, tags and capture ---------------------------------------------------------------------


def stats(*, space, extras: Extras) -> Request:
    return Request("get", "/memory/stats", MemoryStats, options(extras, query=r.space_param(space)))


def tags(*, space, extras: Extras) -> Request:
    return Request("get", "/memory/tags", TagList, options(extras, query=r.space_param(space)))


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


# --- shared spaces and their members (client.spaces) ---------------------------------------------


def create_space(*, name, idempotency_key, extras: Extras) -> Request:
    return Request("post", "/spaces", Space, options(extras, headers=write_headers(idempotency_key=idempotency_key)),
                   body={"name": name})


def list_spaces(*, extras: Extras) -> Request:
    return Request("get", "/spaces", Space, options(extras))


def retrieve_space(space_id, *, extras: Extras) -> Request:
    return Request("get", space_path(space_id), Space, options(extras))


def update_space(space_id, *, name, extras: Extras) -> Request:
    return Request("patch", space_path(space_id), Space, options(extras), body={"name": name})


def delete_space(space_id, *, confirm, extras: Extras) -> Request:
    return Request("delete", space_path(space_id), SpaceDeleted,
                   options(extras, query={"confirm": r.confirmed(confirm)}))


def list_members(space_id, *, extras: Extras) -> Request:
    return Request("get", space_path(space_id, "/members"), SpaceMember, options(extras))


def add_member(space_id, *, user, role, inject, idempotency_key, extras: Extras) -> Request:
    return Request("post", space_path(space_id, "/members"), SpaceMember,
                   options(extras, headers=write_headers(idempotency_key=idempotency_key)),
                   body=given(user=user, role=role, inject=inject))


def update_member(space_id, user, *, role, inject, extras: Extras) -> Request:
    return Request("patch", space_path(space_id, "/members/", user=user), SpaceMember, options(extras),
                   body=given(role=role, inject=inject))


def remove_member(space_id, user, *, extras: Extras) -> Request:
    return Request("delete", space_path(space_id, "/members/", user=user), SpaceMemberDeleted, options(extras))
