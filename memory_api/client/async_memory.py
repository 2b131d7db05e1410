"""`client.memory` of AsyncMemoryAPI: memory.py's resource for asyncio, method for method.

Lists return the SDK's AsyncPaginator: `await` it for one page, or `async for` over it to walk every
page. Kept in step with memory.py by hand; tests/test_python_client.py runs both.
"""

from __future__ import annotations

from functools import cached_property
from typing import Dict, Sequence, Union

from openai import NOT_GIVEN, NotGiven
from openai._base_client import AsyncPaginator
from openai._resource import AsyncAPIResource
from openai.pagination import AsyncCursorPage
from typing_extensions import Literal, Unpack

from . import _requests as r
from .capture import AsyncCaptureMethods
from .types import (
    ImportResult, Memory, MemoryContext, MemoryDeleted, MemoryEvent, MemoryHistory, MemorySearchResult,
    SearchMode, Source,
)

Order = Literal["desc", "asc"]


class AsyncEvents(AsyncAPIResource):
    """`client.memory.events` of AsyncMemoryAPI: the activity feed."""

    def list(self, *, limit: Union[int, NotGiven] = NOT_GIVEN, order: Union[Order, NotGiven] = NOT_GIVEN,
             after: Union[str, NotGiven] = NOT_GIVEN, before: Union[str, NotGiven] = NOT_GIVEN,
             **extras: Unpack[r.RequestExtras]) -> AsyncPaginator[MemoryEvent, AsyncCursorPage[MemoryEvent]]:
        """Every create, update and delete of the user's memories, newest first; iterate to walk all."""
        query = r.given(limit=limit, order=order, after=after, before=before)
        return self._get_api_list("/memory/events", page=AsyncCursorPage[MemoryEvent], model=MemoryEvent,
                                  options=r.options(extras, query=query))


class AsyncMemories(AsyncCaptureMethods, AsyncAPIResource):
    """`client.memory` of AsyncMemoryAPI: the user's memories."""

    @cached_property
    def events(self) -> AsyncEvents:
        return AsyncEvents(self._client)

    def list(self, *, limit: Union[int, NotGiven] = NOT_GIVEN, order: Union[Order, NotGiven] = NOT_GIVEN,
             after: Union[str, NotGiven] = NOT_GIVEN, before: Union[str, NotGiven] = NOT_GIVEN,
             tag: Union[str, Sequence[str], NotGiven] = NOT_GIVEN, scope: Union[str, NotGiven] = NOT_GIVEN,
             source: Union[Source, NotGiven] = NOT_GIVEN, created_after: Union[int, NotGiven] = NOT_GIVEN,
             created_before: Union[int, NotGiven] = NOT_GIVEN, updated_after: Union[int, NotGiven] = NOT_GIVEN,
             updated_before: Union[int, NotGiven] = NOT_GIVEN,
             **extras: Unpack[r.RequestExtras]) -> AsyncPaginator[Memory, AsyncCursorPage[Memory]]:
        """A page of memories (newest first unless `order="asc"`); iterating it walks every page.
        `tag`: one or a list (all must match); `scope="global"`: only the unscoped ones."""
        query = r.list_query(limit=limit, order=order, after=after, before=before, tag=tag, scope=scope,
                             source=source, created_after=created_after, created_before=created_before,
                             updated_after=updated_after, updated_before=updated_before)
        return self._get_api_list("/memory", page=AsyncCursorPage[Memory], model=Memory,
                                  options=r.options(extras, query=query))

    async def create(self, *, content: str, metadata: Union[Dict[str, str], None, NotGiven] = NOT_GIVEN,
               tags: Union[Sequence[str], None, NotGiven] = NOT_GIVEN, scope: Union[str, None, NotGiven] = NOT_GIVEN,
               idempotency_key: Union[str, NotGiven] = NOT_GIVEN, **extras: Unpack[r.RequestExtras]) -> Memory:
        """Store a memory. The same content again (same scope): openai.ConflictError, code duplicate_memory."""
        body = r.given(content=content, metadata=metadata, tags=tags, scope=scope)
        return r.with_etag(await self._post("/memory", body=body, cast_to=Memory, options=r.options(
            extras, headers={**r.RAW, **r.write_headers(idempotency_key=idempotency_key)})))

    async def retrieve(self, memory_id: str, **extras: Unpack[r.RequestExtras]) -> Memory:
        """One memory, with its `etag` (for `if_match=`)."""
        return r.with_etag(await self._get(r.memory_path(memory_id), cast_to=Memory,
                                     options=r.options(extras, headers=r.RAW)))

    async def update(self, memory_id: str, *, content: Union[str, NotGiven] = NOT_GIVEN,
               metadata: Union[Dict[str, str], None, NotGiven] = NOT_GIVEN,
               tags: Union[Sequence[str], None, NotGiven] = NOT_GIVEN, scope: Union[str, None, NotGiven] = NOT_GIVEN,
               if_match: Union[str, NotGiven] = NOT_GIVEN, idempotency_key: Union[str, NotGiven] = NOT_GIVEN,
               **extras: Unpack[r.RequestExtras]) -> Memory:
        """Change what is given (metadata and tags are replaced whole; None clears; scope None: global).
        `if_match`: an ETag; if the memory changed since, PreconditionFailedError (412)."""
        body = r.given(content=content, metadata=metadata, tags=tags, scope=scope)
        return r.with_etag(await self._patch(r.memory_path(memory_id), body=body, cast_to=Memory, options=r.options(
            extras, headers={**r.RAW, **r.write_headers(if_match, idempotency_key)})))

    async def delete(self, memory_id: str, *, if_match: Union[str, NotGiven] = NOT_GIVEN,
               idempotency_key: Union[str, NotGiven] = NOT_GIVEN, **extras: Unpack[r.RequestExtras]) -> MemoryDeleted:
        return await self._delete(r.memory_path(memory_id), cast_to=MemoryDeleted,
                            options=r.options(extras, headers=r.write_headers(if_match, idempotency_key)))

    async def search(self, *, query: str, mode: Union[SearchMode, NotGiven] = NOT_GIVEN,
               limit: Union[int, NotGiven] = NOT_GIVEN, tag: Union[str, Sequence[str], NotGiven] = NOT_GIVEN,
               scope: Union[str, NotGiven] = NOT_GIVEN, source: Union[Source, NotGiven] = NOT_GIVEN,
               created_after: Union[int, NotGiven] = NOT_GIVEN, created_before: Union[int, NotGiven] = NOT_GIVEN,
               updated_after: Union[int, NotGiven] = NOT_GIVEN, updated_before: Union[int, NotGiven] = NOT_GIVEN,
               **extras: Unpack[r.RequestExtras]) -> MemorySearchResult:
        """The memories that best match `query`, best first, ranked in `mode` (the server's default:
        hybrid); each with its `score`."""
        body = r.search_body(query=query, mode=mode, limit=limit, tag=tag, scope=scope, source=source,
                             created_after=created_after, created_before=created_before,
                             updated_after=updated_after, updated_before=updated_before)
        return await self._post("/memory/search", body=body, cast_to=MemorySearchResult, options=r.options(extras))

    async def context(self, *, query: Union[str, NotGiven] = NOT_GIVEN, scope: Union[str, NotGiven] = NOT_GIVEN,
                mode: Union[SearchMode, NotGiven] = NOT_GIVEN, max_words: Union[int, NotGiven] = NOT_GIVEN,
                max_tokens: Union[int, NotGiven] = NOT_GIVEN, model: Union[str, NotGiven] = NOT_GIVEN,
                **extras: Unpack[r.RequestExtras]) -> MemoryContext:
        """The memory block chat would inject for a message `query`, without calling a model."""
        body = r.given(query=query, scope=scope, mode=mode, max_words=max_words, max_tokens=max_tokens, model=model)
        return await self._post("/memory/context", body=body, cast_to=MemoryContext, options=r.options(extras))

    async def export(self, **extras: Unpack[r.RequestExtras]) -> str:
        """Every memory as JSON Lines (a format line, then one memory per line): what import_ takes."""
        return await self._get("/memory/export", cast_to=str, options=r.options(extras))

    async def import_(self, data: Union[str, bytes], *, on_conflict: Union[Literal["skip", "overwrite"], NotGiven] = NOT_GIVEN,
                idempotency_key: Union[str, NotGiven] = NOT_GIVEN, **extras: Unpack[r.RequestExtras]) -> ImportResult:
        """Restore an export; ids that exist are kept (`on_conflict="skip"`) or replaced ("overwrite")."""
        headers = {"Content-Type": r.JSONL, **r.write_headers(idempotency_key=idempotency_key)}
        return await self._post("/memory/import", content=r.import_content(data), cast_to=ImportResult,
                          options=r.options(extras, query=r.given(on_conflict=on_conflict), headers=headers))

    async def history(self, memory_id: str, **extras: Unpack[r.RequestExtras]) -> MemoryHistory:
        """The memory's previous versions, newest first."""
        return await self._get(r.memory_path(memory_id, "/history"), cast_to=MemoryHistory, options=r.options(extras))

    async def revert(self, memory_id: str, *, revision: int, if_match: Union[str, NotGiven] = NOT_GIVEN,
               idempotency_key: Union[str, NotGiven] = NOT_GIVEN, **extras: Unpack[r.RequestExtras]) -> Memory:
        """Bring a revision from history back, as a new revision."""
        return r.with_etag(await self._post(r.memory_path(memory_id, "/revert"), body={"revision": revision},
                                      cast_to=Memory, options=r.options(
                                          extras, headers={**r.RAW, **r.write_headers(if_match, idempotency_key)})))
