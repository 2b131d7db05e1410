"""`client.memory`: the memory endpoints as an openai SDK resource (synchronous).

Requests go through the SDK's own machinery (retries, timeouts, error classes); lists are the SDK's
cursor pages, so iterating one walks every page. Each method sends the request _operations.py builds
for it; the async twin, async_memory.py, declares the same methods and sends the same requests.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from functools import cached_property
from typing import Any, Literal

from openai import NOT_GIVEN, NotGiven
from openai._resource import SyncAPIResource
from openai.pagination import SyncCursorPage
from typing_extensions import Unpack

from . import _operations as op
from . import _requests as r
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
    SearchMode,
    Source,
    SuggestionList,
    TagList,
)

Order = Literal["desc", "asc"]


class _Resource(SyncAPIResource):
    """Sends the requests of _operations.py with the SDK's synchronous methods."""

    def _send(self, request: r.Request) -> Any:
        sdk_method = getattr(self, f"_{request.method}")  # the SDK's _get, _post, _patch or _delete
        return request.answer(sdk_method(request.path, **request.arguments()))

    def _pages(self, request: r.Request) -> Any:
        # The page class is parametrised with the item type at run time (pydantic builds it); mypy reads
        # `SyncCursorPage[...]` as a type expression, which a runtime value cannot be.
        page = SyncCursorPage[request.cast_to]  # type: ignore[name-defined]
        return self._get_api_list(request.path, page=page, model=request.cast_to,
                                  options=request.options)


class Events(_Resource):
    """`client.memory.events`: the activity feed."""

    def list(self, *, limit: int | NotGiven = NOT_GIVEN, order: Order | NotGiven = NOT_GIVEN,
             after: str | NotGiven = NOT_GIVEN, before: str | NotGiven = NOT_GIVEN,
             space: str | NotGiven | None = NOT_GIVEN,
             **extras: Unpack[r.RequestExtras]) -> SyncCursorPage[MemoryEvent]:
        """Every create, update and delete of the user's memories (or with `space`, of a shared space's),
        newest first; iterate to walk all."""
        return self._pages(op.list_events(limit=limit, order=order, after=after, before=before, space=space,
                                          extras=extras))


class Memories(_Resource):
    """`client.memory`: the user's memories."""

    @cached_property
    def events(self) -> Events:
        return Events(self._client)

    def list(self, *, limit: int | NotGiven = NOT_GIVEN, order: Order | NotGiven = NOT_GIVEN,
             after: str | NotGiven = NOT_GIVEN, before: str | NotGiven = NOT_GIVEN,
             tag: str | Sequence[str] | NotGiven = NOT_GIVEN, scope: str | NotGiven = NOT_GIVEN,
             source: Source | NotGiven = NOT_GIVEN, created_after: int | NotGiven = NOT_GIVEN,
             created_before: int | NotGiven = NOT_GIVEN, updated_after: int | NotGiven = NOT_GIVEN,
             updated_before: int | NotGiven = NOT_GIVEN, space: str | NotGiven | None = NOT_GIVEN,
             **extras: Unpack[r.RequestExtras]) -> SyncCursorPage[Memory]:
        """A page of memories (newest first unless `order="asc"`); iterating it walks every page.
        `tag`: one or a list (all must match); `scope="global"`: only the unscoped ones; `space`: a shared
        space's memories instead of the user's own."""
        return self._pages(op.list_memories(
            limit=limit, order=order, after=after, before=before, tag=tag, scope=scope, source=source,
            created_after=created_after, created_before=created_before, updated_after=updated_after,
            updated_before=updated_before, space=space, extras=extras))

    def create(self, *, content: str, metadata: dict[str, str] | NotGiven | None = NOT_GIVEN,
               tags: Sequence[str] | NotGiven | None = NOT_GIVEN, scope: str | NotGiven | None = NOT_GIVEN,
               occurred_at: int | NotGiven | None = NOT_GIVEN, valid_until: int | NotGiven | None = NOT_GIVEN,
               expires_at: int | NotGiven | None = NOT_GIVEN, space: str | NotGiven | None = NOT_GIVEN,
               idempotency_key: str | NotGiven = NOT_GIVEN, **extras: Unpack[r.RequestExtras]) -> Memory:
        """Store a memory (in a shared `space`, if named: you must be its writer or admin). The same content
        again (same scope): openai.ConflictError, code duplicate_memory."""
        return self._send(op.create(content=content, metadata=metadata, tags=tags, scope=scope,
                                    times=r.given(occurred_at=occurred_at, valid_until=valid_until,
                                                  expires_at=expires_at),
                                    space=space, idempotency_key=idempotency_key, extras=extras))

    def create_batch(self, *, memories: Sequence[dict[str, Any]], space: str | NotGiven | None = NOT_GIVEN,
                     idempotency_key: str | NotGiven = NOT_GIVEN,
                     **extras: Unpack[r.RequestExtras]) -> MemoryBatch:
        """Store several memories (dicts of create's fields), all or none: one invalid or duplicate stores none."""
        return self._send(op.create_batch(memories=memories, space=space, idempotency_key=idempotency_key,
                                          extras=extras))

    def retrieve(self, memory_id: str, **extras: Unpack[r.RequestExtras]) -> Memory:
        """One memory, with its `etag` (for `if_match=`)."""
        return self._send(op.retrieve(memory_id, extras=extras))

    def update(self, memory_id: str, *, content: str | NotGiven = NOT_GIVEN,
               metadata: dict[str, str] | NotGiven | None = NOT_GIVEN,
               tags: Sequence[str] | NotGiven | None = NOT_GIVEN, scope: str | NotGiven | None = NOT_GIVEN,
               occurred_at: int | NotGiven | None = NOT_GIVEN, valid_until: int | NotGiven | None = NOT_GIVEN,
               expires_at: int | NotGiven | None = NOT_GIVEN,
               if_match: str | NotGiven = NOT_GIVEN, idempotency_key: str | NotGiven = NOT_GIVEN,
               **extras: Unpack[r.RequestExtras]) -> Memory:
        """Change what is given (metadata and tags are replaced whole; None clears, a time too; scope None:
        global). `if_match`: an ETag; if the memory changed since, PreconditionFailedError (412)."""
        return self._send(op.update(memory_id, content=content, metadata=metadata, tags=tags, scope=scope,
                                    times=r.given(occurred_at=occurred_at, valid_until=valid_until,
                                                  expires_at=expires_at),
                                    if_match=if_match, idempotency_key=idempotency_key, extras=extras))

    def delete(self, memory_id: str, *, if_match: str | NotGiven = NOT_GIVEN,
               idempotency_key: str | NotGiven = NOT_GIVEN, **extras: Unpack[r.RequestExtras]) -> MemoryDeleted:
        """Delete a memory for good (its history too); `if_match`: only if unchanged since that ETag."""
        return self._send(op.delete(memory_id, if_match=if_match, idempotency_key=idempotency_key, extras=extras))

    def delete_batch(self, *, ids: Sequence[str], space: str | NotGiven | None = NOT_GIVEN,
                     idempotency_key: str | NotGiven = NOT_GIVEN,
                     **extras: Unpack[r.RequestExtras]) -> MemoryBatchDeleted:
        """Delete several memories; each id's outcome says whether there was such a memory."""
        return self._send(op.delete_batch(ids=ids, space=space, idempotency_key=idempotency_key, extras=extras))

    def delete_all(self, *, confirm: bool, space: str | NotGiven | None = NOT_GIVEN,
                   **extras: Unpack[r.RequestExtras]) -> MemoryDeletedAll:
        """Delete every memory of the user (or of a shared `space`: its admins only); needs confirm=True."""
        return self._send(op.delete_all(confirm=confirm, space=space, extras=extras))

    def search(self, *, query: str, mode: SearchMode | NotGiven = NOT_GIVEN,
               limit: int | NotGiven = NOT_GIVEN, tag: str | Sequence[str] | NotGiven = NOT_GIVEN,
               scope: str | NotGiven = NOT_GIVEN, source: Source | NotGiven = NOT_GIVEN,
               created_after: int | NotGiven = NOT_GIVEN, created_before: int | NotGiven = NOT_GIVEN,
               updated_after: int | NotGiven = NOT_GIVEN, updated_before: int | NotGiven = NOT_GIVEN,
               space: str | NotGiven | None = NOT_GIVEN, **extras: Unpack[r.RequestExtras]) -> MemorySearchResult:
        """The memories (of a shared `space`, if named) that best match `query`, best first, ranked in `mode`
        (the server's default: hybrid); each with its `score`."""
        return self._send(op.search(
            query=query, mode=mode, limit=limit, tag=tag, scope=scope, source=source, created_after=created_after,
            created_before=created_before, updated_after=updated_after, updated_before=updated_before,
            space=space, extras=extras))

    def context(self, *, query: str | NotGiven = NOT_GIVEN, scope: str | NotGiven = NOT_GIVEN,
                mode: SearchMode | NotGiven = NOT_GIVEN, max_words: int | NotGiven = NOT_GIVEN,
                max_tokens: int | NotGiven = NOT_GIVEN, model: str | NotGiven = NOT_GIVEN,
                spaces: Sequence[str] | NotGiven | None = NOT_GIVEN,
                **extras: Unpack[r.RequestExtras]) -> MemoryContext:
        """The memory block chat would inject for a message `query`, without calling a model. `spaces`: the
        shared spaces to inject from too ([] for none; by default those whose membership has inject on)."""
        return self._send(op.context(query=query, scope=scope, mode=mode, max_words=max_words,
                                     max_tokens=max_tokens, model=model, spaces=spaces, extras=extras))

    def export(self, *, space: str | NotGiven | None = NOT_GIVEN, **extras: Unpack[r.RequestExtras]) -> str:
        """Every memory as JSON Lines (a format line, then one memory per line): what import_ takes. A shared
        `space`'s: its admins only."""
        return self._send(op.export(space=space, extras=extras))

    def import_(self, data: str | bytes, *,
                on_conflict: Literal["skip", "overwrite"] | NotGiven = NOT_GIVEN,
                space: str | NotGiven | None = NOT_GIVEN,
                idempotency_key: str | NotGiven = NOT_GIVEN, **extras: Unpack[r.RequestExtras]) -> ImportResult:
        """Restore an export; ids that exist are kept (`on_conflict="skip"`) or replaced ("overwrite"). Into
        a shared `space`: its admins only."""
        return self._send(op.import_(data, on_conflict=on_conflict, space=space, idempotency_key=idempotency_key,
                                     extras=extras))

    def history(self, memory_id: str, **extras: Unpack[r.RequestExtras]) -> MemoryHistory:
        """The memory's previous versions, newest first."""
        return self._send(op.history(memory_id, extras=extras))

    def revert(self, memory_id: str, *, revision: int, if_match: str | NotGiven = NOT_GIVEN,
               idempotency_key: str | NotGiven = NOT_GIVEN, **extras: Unpack[r.RequestExtras]) -> Memory:
        """Bring a revision from history back, as a new revision."""
        return self._send(op.revert(memory_id, revision=revision, if_match=if_match,
                                    idempotency_key=idempotency_key, extras=extras))

    def restore(self, memory_id: str, *, idempotency_key: str | NotGiven = NOT_GIVEN,
                **extras: Unpack[r.RequestExtras]) -> Memory:
        """Undo the delete of a memory (within the server's MEMORY_API_DELETED_RETENTION_SECONDS)."""
        return self._send(op.restore(memory_id, idempotency_key=idempotency_key, extras=extras))

    # --- stats, tags and capture -------------------------------------------------------------------

    def stats(self, *, space: str | NotGiven | None = NOT_GIVEN, **extras: Unpack[r.RequestExtras]) -> MemoryStats:
        """How many memories, words and tokens the user (or a shared `space`) has, tags, scopes, oldest and
        newest."""
        return self._send(op.stats(space=space, extras=extras))

    def tags(self, *, space: str | NotGiven | None = NOT_GIVEN, **extras: Unpack[r.RequestExtras]) -> TagList:
        """Every tag of the user's memories (or a shared `space`'s) with how many carry it, most used first."""
        return self._send(op.tags(space=space, extras=extras))

    def extract(self, *, messages: builtins.list[dict[str, Any]], apply: bool | NotGiven = NOT_GIVEN,
                scope: str | NotGiven | None = NOT_GIVEN, model: str | NotGiven = NOT_GIVEN,
                occurred_at: int | NotGiven | None = NOT_GIVEN,
                idempotency_key: str | NotGiven = NOT_GIVEN, **extras: Unpack[r.RequestExtras]) -> Extraction:
        """What the capture model proposes to remember from a conversation; `apply=True` carries it out."""
        return self._send(op.extract(messages=messages, apply=apply, scope=scope, model=model,
                                     occurred_at=occurred_at, idempotency_key=idempotency_key, extras=extras))

    def suggestions(self, **extras: Unpack[r.RequestExtras]) -> SuggestionList:
        """Changes capture proposed to memories the user wrote."""
        return self._send(op.suggestions(extras=extras))

    def accept_suggestion(self, suggestion_id: str, **extras: Unpack[r.RequestExtras]) -> Memory:
        """Apply a suggestion as the user's own change; returns the memory as written."""
        return self._send(op.accept_suggestion(suggestion_id, extras=extras))

    def dismiss_suggestion(self, suggestion_id: str, **extras: Unpack[r.RequestExtras]) -> dict[str, Any]:
        """Drop a suggestion; the memory stays as the user wrote it."""
        return self._send(op.dismiss_suggestion(suggestion_id, extras=extras))

    def preferences(self, **extras: Unpack[r.RequestExtras]) -> Preferences:
        """Whether the user turned automatic capture on or off (None: the server's default)."""
        return self._send(op.preferences(extras=extras))

    def set_preferences(self, *, capture: bool | None, **extras: Unpack[r.RequestExtras]) -> Preferences:
        """capture=False: never capture this user's turns; True: capture unless a request says not; None:
        the server's default."""
        return self._send(op.set_preferences(capture=capture, extras=extras))

    def capture_job(self, job_id: str, **extras: Unpack[r.RequestExtras]) -> CaptureJob:
        """A chat turn's capture job (its id: `memory_report(completion).capture_job`)."""
        return self._send(op.capture_job(job_id, extras=extras))
