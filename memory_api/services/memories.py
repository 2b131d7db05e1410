"""The memory service: create, read, update, delete and list a user's memories.

Plain Python, no Flask: the REST API, the MCP server and the CLI all call
these functions, so every rule (limits, counts, duplicates, quotas) is applied
here once; the limits themselves belong to InputRules (validation.py).
"""

from __future__ import annotations

import builtins
import dataclasses
import logging
import time
from dataclasses import dataclass
from typing import Any

from ..errors import ApiError, Conflict, InvalidRequest, NotFound, PreconditionFailed
from ..ids import memory_id_bounds, new_memory_id
from ..models import BY_API, Filters, Memory, Page, Provenance
from ..owners import space_of
from ..store.memories import MemoryStore, NewContent
from ..store.records import (
    DuplicateContent,
    MemoryExists,
    NothingToRestore,
    QuotaExceeded,
    TimesOutOfOrder,
    WriteResult,
)
from ..tokens import count_tokens, count_words
from ..validation import (
    InputRules,
    check_expiry_ahead,
    check_memory_id,
    check_scope,
    check_time_order,
    times_of,
)
from .pagination import check_cursor_range, cursor_walk
from .semantic import SemanticIndex

log = logging.getLogger(__name__)

# delete-all removes memories in chunks of this many, each chunk atomic.
_DELETE_ALL_CHUNK = 200


def _not_found(memory_id: str) -> NotFound:
    return NotFound(f"No memory found with id '{memory_id}'.", param="memory_id", code="memory_not_found")


def _memory_full(err: QuotaExceeded, quotas: tuple[int, int], owner: str) -> Conflict:
    quota_memories, quota_words = quotas
    limit = f"{quota_memories} memories" if err.what == "count" else f"{quota_words} words of memories"
    whose = f"space '{space_of(owner)}'" if space_of(owner) else "Your memory"
    keeper = "this space" if space_of(owner) else "this user"
    return Conflict(
        f"{whose} is full: {keeper} may keep at most {limit}. Delete or shorten memories first; "
        "nothing was stored.",
        param="content", code="memory_full",
    )


def _duplicate(err: DuplicateContent, items: list[Memory], param: str) -> ApiError:
    """409 duplicate_memory naming the stored memory a new one equals (in the message and in
    `existing_id`); within one batch, 409 duplicate_in_batch naming both items (none is stored yet, so
    there is no existing id to give)."""
    new_ids = [memory.id for memory in items]
    where = f"{param}[{err.index}]." if param else ""
    if err.equal_to in new_ids:
        return Conflict(
            f"'{where}content' repeats '{param}[{new_ids.index(err.equal_to)}].content' (the same content, "
            "ignoring case and spacing, in the same scope); nothing was stored.",
            param=f"{where}content", code="duplicate_in_batch")
    prefix = f"'{where}content': " if where else ""
    return Conflict(
        f"{prefix}Memory '{err.equal_to}' already has this content (ignoring case and spacing, in the same "
        "scope); nothing was stored. Update or delete that memory instead.",
        param=f"{where}content", code="duplicate_memory", extra={"existing_id": err.equal_to})


@dataclass(frozen=True)
class Created:
    memory: Memory  # as stored: new, or stored by an earlier try of the same Idempotency-Key


class MemoryService:
    """A user's memories, or a shared space's. Every method takes the owner first: the acting user's id,
    or the space's owner string (owners.py), which services/spaces.py gives only to its members."""

    def __init__(self, store: MemoryStore, *, rules: InputRules = InputRules(), history_depth: int = 10,
                 quota_memories: int = 0, quota_words: int = 0, semantic: SemanticIndex | None = None,
                 space_quota_memories: int = 0, space_quota_words: int = 0) -> None:
        self.store = store  # public: the reindexer works on the same records
        self.semantic = semantic
        self.rules = rules
        self.history_depth = history_depth
        self.quota_memories = quota_memories
        self.quota_words = quota_words
        self.space_quota_memories = space_quota_memories
        self.space_quota_words = space_quota_words

    def quotas(self, owner: str) -> tuple[int, int]:
        """(most memories, most words) the owner may keep (0: unlimited): a user's, or a space's."""
        if space_of(owner):
            return self.space_quota_memories, self.space_quota_words
        return self.quota_memories, self.quota_words

    def _new(self, item: dict[str, Any], *, memory_id: str | None, by: Provenance, param: str = "",
             supersedes: str | None = None, space: str | None = None) -> Memory:
        """A new memory from a request's fields (content, metadata, tags, scope, times), every one checked."""
        text = self.rules.content(item.get("content"), param=f"{param}content")
        times = times_of(item, prefix=param)
        check_time_order(times.get("occurred_at"), times.get("valid_until"), param=f"{param}valid_until")
        now = int(time.time())
        check_expiry_ahead(times.get("expires_at"), now, param=f"{param}expires_at")
        memory = Memory(
            id=memory_id or new_memory_id(),
            content=text,
            metadata=self.rules.metadata(item.get("metadata"), param=f"{param}metadata"),
            updated_at=now,
            word_count=count_words(text),
            token_count=count_tokens(text),
            revision=1,
            tags=tuple(self.rules.tags(item.get("tags"), param=f"{param}tags")),
            scope=check_scope(item.get("scope"), param=f"{param}scope"),
            source=by.source,
            origin=by.origin(),
            reason=by.reason,
            occurred_at=times.get("occurred_at"),
            valid_until=times.get("valid_until"),
            expires_at=times.get("expires_at"),
            supersedes=supersedes,
            author=by.author,
            space=space,
        )
        return memory

    def embeddings(self, texts: list[str]) -> list[bytes] | None:
        """The embeddings to store with these contents (None: no vectors are kept). Computed before any
        write, so a failing embedding provider leaves nothing half-written."""
        return self.semantic.document_vectors(texts) if self.semantic else None

    def _embedding(self, text: str) -> bytes | None:
        vectors = self.embeddings([text])
        return vectors[0] if vectors else None

    def _store_new(self, user_id: str, items: list[Memory], *, by: Provenance,
                   param: str = "") -> list[Created]:
        max_count, max_words = self.quotas(user_id)
        try:
            results = self.store.create_many(user_id, items, max_count=max_count, max_words=max_words,
                                              embeddings=self.embeddings([m.content for m in items]), by=by)
        except QuotaExceeded as err:
            raise _memory_full(err, self.quotas(user_id), user_id) from None
        except DuplicateContent as err:
            raise _duplicate(err, items, param) from None
        for status, memory in results:
            log.debug("%s %s for %s: %r", status, memory.id, user_id, memory.content)
        return [Created(memory) for _, memory in results]

    def create(self, user_id: str, content: object, metadata: object = None, *, tags: object = None,
               scope: object = None, times: dict[str, Any] | None = None, memory_id: str | None = None,
               supersedes: str | None = None, by: Provenance = BY_API) -> Created:
        """Store a new memory; word and token counts are computed once, here.

        A memory equal to one the user has in the same scope (ignoring case and
        spacing) is refused with 409 duplicate_memory naming the stored one, so a
        create is never mistaken for a new memory. `memory_id` (from an
        Idempotency-Key's reservation) makes a retried create a no-op. `by`: who writes (source, actor).
        `times`: occurred_at, valid_until and expires_at (each optional; an expiry must lie ahead).
        `supersedes`: the memory this one replaces (capture's link; the caller ends that one).
        """
        item = {"content": content, "metadata": metadata, "tags": tags, "scope": scope, **(times or {})}
        new = self._new(item, memory_id=memory_id, by=by, supersedes=supersedes, space=space_of(user_id))
        return self._store_new(user_id, [new], by=by)[0]

    def create_batch(self, user_id: str, items: object, *, id_prefix: str | None = None,
                     by: Provenance = BY_API) -> list[Created]:
        """Up to max_batch memories at once, all or nothing: any invalid item (400 naming it), one equal to a
        stored memory (409 duplicate_memory) or to an earlier item (409 duplicate_in_batch) stores none."""
        batch = self.rules.batch(items, param="memories", what="memories")
        prepared = []
        for i, item in enumerate(batch):
            if not isinstance(item, dict):
                raise InvalidRequest(f"'memories[{i}]' must be an object.", param=f"memories[{i}]")
            memory_id = f"{id_prefix}{i:06d}" if id_prefix else None
            prepared.append(self._new(item, memory_id=memory_id, by=by, param=f"memories[{i}].",
                                      space=space_of(user_id)))
        return self._store_new(user_id, prepared, by=by, param="memories")

    def get(self, user_id: str, memory_id: str) -> Memory:
        """One memory; one past its expiry is not found, from that second (the sweeper deletes it later)."""
        check_memory_id(memory_id)
        memory = self.store.get(user_id, memory_id)
        if memory is None or memory.expired(int(time.time())):
            raise _not_found(memory_id)
        return memory

    def update(self, user_id: str, memory_id: str, changes: dict[str, Any], *,
               expected_versions: list[str] | None = None, revisions_param: str = "expected_revision",
               by: Provenance = BY_API) -> Memory:
        """Change any of content, metadata, tags, scope and times (given keys only; metadata and tags are
        replaced whole, a null scope makes the memory global, a null time clears it; an expiry given must
        lie ahead). The previous version goes to history.
        With `expected_versions` it happens only if the memory is at one of them (else 412 naming
        `revisions_param`, the door's name for them): each a Memory.version (REST's If-Match) or a bare
        revision (MCP's expected_revision)."""
        check_memory_id(memory_id)
        if not changes:
            raise InvalidRequest("Nothing to update: give content, metadata, tags, scope and/or times.",
                                 param="content", code="empty_update")
        times = times_of(changes)
        check_expiry_ahead(times.get("expires_at"), int(time.time()))
        content: NewContent | None = None
        embedding: bytes | None = None
        if "content" in changes:
            text = self.rules.content(changes["content"])
            content = NewContent(text, count_words(text), count_tokens(text))
            vectors = self.embeddings([text])
            embedding = vectors[0] if vectors else None
        try:
            result = self.store.update(
                user_id, memory_id, updated_at=int(time.time()), content=content,
                metadata=self.rules.metadata(changes["metadata"]) if "metadata" in changes else None,
                tags=self.rules.tags(changes["tags"]) if "tags" in changes else None,
                scope=check_scope(changes.get("scope")), scope_given="scope" in changes, times=times,
                expected_versions=expected_versions, history_depth=self.history_depth,
                max_words=self.quotas(user_id)[1], embedding=embedding, by=by,
            )
        except QuotaExceeded as err:
            raise _memory_full(err, self.quotas(user_id), user_id) from None
        except TimesOutOfOrder as err:
            check_time_order(err.occurred_at, err.valid_until)  # raises the 400 naming valid_until
            raise
        memory = self._settled(memory_id, result, expected_versions, revisions_param)
        log.debug("updated %s for %s: %r", memory_id, user_id, memory.content)
        return memory

    def delete(self, user_id: str, memory_id: str, *, expected_versions: list[str] | None = None,
               revisions_param: str = "expected_revision", by: Provenance = BY_API) -> Memory:
        """Delete (with its history; kept MEMORY_API_DELETED_RETENTION_SECONDS so `restore` can undo it);
        returns the memory as it was. `expected_versions`: as for update."""
        check_memory_id(memory_id)
        [result] = self.store.delete_many(user_id, [memory_id], expected_versions=expected_versions, by=by)
        return self._settled(memory_id, result, expected_versions, revisions_param)

    def delete_batch(self, user_id: str, memory_ids: object, *, by: Provenance = BY_API) -> list[tuple[str, bool]]:
        """Delete up to max_batch ids; per id (id, deleted). Unknown ids are reported, not errors."""
        batch = self.rules.batch(memory_ids, param="ids", what="memory ids")
        ids = list(dict.fromkeys(check_memory_id(i, param="ids") for i in batch))
        results = dict(zip(ids, self.store.delete_many(user_id, ids, by=by)))
        return [(i, results[i].ok) for i in batch]

    def restore(self, user_id: str, memory_id: str, *, by: Provenance = BY_API) -> Memory:
        """Undo a delete (within MEMORY_API_DELETED_RETENTION_SECONDS): the memory as it was deleted comes
        back as a new revision (its id, its history; an expiry that has passed is dropped). 409
        `memory_exists` if it is stored, 404 `memory_not_found` if no delete of it is kept."""
        check_memory_id(memory_id)
        restoring = dataclasses.replace(by, reason="restored after deletion")
        max_count, max_words = self.quotas(user_id)
        try:
            return self.store.restore(user_id, memory_id, embed=self._embedding, max_count=max_count,
                                      max_words=max_words, by=restoring)
        except MemoryExists:
            raise Conflict(f"Memory '{memory_id}' is stored: there is no delete to undo.", param="memory_id",
                           code="memory_exists") from None
        except NothingToRestore:
            raise NotFound(f"No deleted memory '{memory_id}' is kept (a delete can be undone for "
                           f"{self.store.deleted_retention} seconds).", param="memory_id",
                           code="memory_not_found") from None
        except QuotaExceeded as err:
            raise _memory_full(err, self.quotas(user_id), user_id) from None

    def delete_all(self, user_id: str, *, by: Provenance = BY_API) -> int:
        """Delete every memory of the user, in chunks (each one atomic); returns how many."""
        total = 0
        while True:
            ids = self.store.oldest_ids(user_id, _DELETE_ALL_CHUNK)
            if not ids:
                return total
            total += sum(result.ok for result in self.store.delete_many(user_id, ids, by=by))

    @staticmethod
    def _settled(memory_id: str, result: WriteResult, expected: list[str] | None, revisions_param: str) -> Memory:
        if result.missing:
            raise _not_found(memory_id)
        if not result.ok:
            assert result.memory is not None
            if revisions_param == "If-Match":  # REST: versions are ETags
                now = f"its ETag is now {result.memory.etag}"
                wanted = "not " + ", ".join(f'"{v}"' for v in expected) if expected else ""
            else:
                now = f"it is at revision {result.memory.revision}"
                wanted = f"not {' or '.join(map(str, expected))}" if expected else ""
            raise PreconditionFailed(
                f"Memory '{memory_id}' has changed: {now}{', ' + wanted if wanted else ''}. "
                "Nothing was written; read it again, then retry.",
                param=revisions_param,
            )
        assert result.memory is not None
        return result.memory

    def list(self, user_id: str, *, limit: int | None = None, order: str = "desc", after: str | None = None,
             before: str | None = None, filters: Filters = Filters()) -> Page:
        """One page of memories, OpenAI-style cursors (services/pagination.py), optionally filtered; those past
        their valid_until too unless `filters.include_invalid` is false, those past their expiry never."""
        limit, order = self.rules.page(self.rules.default_page_size if limit is None else limit, order)
        if after is not None:
            check_memory_id(after, param="after")
        if before is not None:
            check_memory_id(before, param="before")
        check_cursor_range(order, after, before)
        lowest, highest = memory_id_bounds(filters.created_after, filters.created_before)
        walk = cursor_walk(order, after, before, lowest=lowest, highest=highest)
        return walk.page(self.store.page(user_id, walk.walk, count=limit + 1, filters=filters,
                                         hide_invalid=filters.include_invalid is False), limit)

    def history(self, user_id: str, memory_id: str) -> builtins.list[Memory]:
        """Previous versions, newest first (at most MEMORY_API_HISTORY_DEPTH)."""
        self.get(user_id, memory_id)
        return self.store.history(user_id, memory_id, self.history_depth)

    def revert(self, user_id: str, memory_id: str, revision: object, *, by: Provenance = BY_API,
               expected_versions: builtins.list[str] | None = None,
               revisions_param: str = "expected_revision") -> Memory:
        """Bring back a previous version from history (its content, metadata, tags, scope and times, an
        expiry that has passed since excepted) as a new revision; the version replaced goes to history, so
        a revert can itself be reverted. The new version's reason says which revision it restores."""
        if not _is_revision(revision):
            raise InvalidRequest("'revision' must be a positive integer: a revision from the memory's history.",
                                 param="revision", code="invalid_value")
        versions = self.history(user_id, memory_id)
        old = next((v for v in versions if v.revision == revision), None)
        if old is None:
            kept = ", ".join(str(v.revision) for v in versions) or "none"
            raise NotFound(f"Memory '{memory_id}' has no revision {revision} in its history (kept: {kept}).",
                           param="revision", code="revision_not_found")
        changes = {"content": old.content, "metadata": old.metadata, "tags": list(old.tags), "scope": old.scope,
                   "occurred_at": old.occurred_at, "valid_until": old.valid_until}
        if not old.expired(int(time.time())):  # an expiry that has passed since is left as the memory has it
            changes["expires_at"] = old.expires_at
        reverting = dataclasses.replace(by, reason=f"reverted to revision {revision}")
        return self.update(user_id, memory_id, changes, expected_versions=expected_versions,
                           revisions_param=revisions_param, by=reverting)


def _is_revision(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 2**31 - 1
