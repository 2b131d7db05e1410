"""/v1/memory: list, create, get, update, delete the caller's memories, and those of the spaces they are in."""

from __future__ import annotations

from flask.views import MethodView

from ..ids import MEMORY_ID_PATTERN, MEMORY_PREFIX
from ..models import Memory
from ..validation import TIME_FIELDS
from .conditional import if_match_versions, memory_response, not_modified, not_modified_response
from .docs import (
    ETAG_HEADER_DOC,
    IF_MATCH_PARAM,
    IF_NONE_MATCH_PARAM,
    USER_HEADER_PARAM,
    documents_errors,
    documents_headers,
    writes,
)
from .hooks import register_v1_hooks
from .idempotency import idempotent_id
from .parsing import Blueprint, by_request, json_response, services
from .schemas.common import (
    MemoryCreateRequest,
    MemoryDeleted,
    MemoryList,
    MemoryListQuery,
    MemoryObject,
    MemoryUpdateRequest,
)
from .schemas.tools import DeleteAllQuery, DeletedAll, HistoryList, RevertRequest
from .spaces_access import SPACE_QUERY_PARAM, owner_holding, owner_of

blp = Blueprint("memory", __name__, url_prefix="/v1/memory", description="The caller's memories.")
register_v1_hooks(blp)

MEMORY_ID_PARAM = {
    "in": "path",
    "name": "memory_id",
    "required": True,
    "schema": {"type": "string", "pattern": MEMORY_ID_PATTERN},
    "description": "The memory's id.",
}


@blp.route("", parameters=[USER_HEADER_PARAM])
class Memories(MethodView):
    @blp.doc(operationId="listMemories", summary="List memories")
    @blp.arguments(MemoryListQuery(), location="query", as_kwargs=True)
    @blp.response(200, MemoryList)
    @documents_errors(blp)
    def get(self, **query):
        """The caller's memories, newest first by default, with OpenAI-style cursors; filter by tag,
        scope and created/updated time."""
        page = services().memories.list(owner_of(query.get("space")), **page_args(query), filters=filters_of(query))
        return json_response(page.to_api())

    @blp.doc(operationId="createMemory", summary="Create a memory")
    @blp.arguments(MemoryCreateRequest())
    @blp.response(200, MemoryObject, headers=ETAG_HEADER_DOC)
    @documents_errors(blp, 409, 413, 415)
    @writes(blp)
    def post(self, body):
        """Store a memory. Word and token counts are computed once, at write time. An equal memory
        (same content, ignoring case and spacing, and same scope) is not stored twice: 409
        `duplicate_memory`, naming the stored one in the message and in `error.existing_id`."""
        created = services().memories.create(
            owner_of(body.get("space"), "write"), body["content"], body.get("metadata"), tags=body.get("tags"),
            scope=body.get("scope"), times={name: body[name] for name in TIME_FIELDS if name in body},
            memory_id=idempotent_id(MEMORY_PREFIX), by=by_request())
        return memory_response(created.memory)

    @blp.doc(operationId="deleteAllMemories", summary="Delete all memories")
    @blp.arguments(DeleteAllQuery(), location="query", as_kwargs=True)
    @blp.response(200, DeletedAll)
    @documents_errors(blp, 403, 404, 409)
    @writes(blp)
    def delete(self, confirm, space=None):
        """Delete every memory of the caller (needs `confirm=true`), or with `space` every memory of that
        space (its admins only); returns how many."""
        count = services().memories.delete_all(owner_of(space, "admin"), by=by_request())
        return json_response({"object": "memory.deleted_all", "deleted_count": count})


@blp.route("/<string:memory_id>", parameters=[MEMORY_ID_PARAM, USER_HEADER_PARAM, SPACE_QUERY_PARAM])
class MemoryById(MethodView):
    @blp.doc(operationId="getMemory", summary="Retrieve a memory",
             responses={304: {"description": "Not Modified: the ETag in If-None-Match is current."}})
    @blp.response(200, MemoryObject, headers=ETAG_HEADER_DOC)
    @documents_errors(blp, 404)
    @documents_headers(IF_NONE_MATCH_PARAM)
    def get(self, memory_id):
        """One memory of the caller's. Another user's memory is simply not found."""
        memory = services().memories.get(owner_holding(memory_id), memory_id)
        if not_modified(memory.etag):
            return not_modified_response(memory)
        return memory_response(memory)

    @blp.doc(operationId="updateMemory", summary="Update a memory")
    @blp.arguments(MemoryUpdateRequest())
    @blp.response(200, MemoryObject, headers=ETAG_HEADER_DOC)
    @documents_errors(blp, 404, 409, 412, 413, 415)
    @writes(blp, IF_MATCH_PARAM)
    def patch(self, body, memory_id):
        """Change content and/or metadata (metadata is replaced as a whole)."""
        return _update(body, memory_id)

    @blp.doc(operationId="updateMemoryPost", summary="Update a memory (OpenAI's POST convention)")
    @blp.arguments(MemoryUpdateRequest())
    @blp.response(200, MemoryObject, headers=ETAG_HEADER_DOC)
    @documents_errors(blp, 404, 409, 412, 413, 415)
    @writes(blp, IF_MATCH_PARAM)
    def post(self, body, memory_id):
        """The same update as PATCH, as OpenAI's API updates objects with POST."""
        return _update(body, memory_id)

    @blp.doc(operationId="deleteMemory", summary="Delete a memory")
    @blp.response(200, MemoryDeleted)
    @documents_errors(blp, 404, 409, 412)
    @writes(blp, IF_MATCH_PARAM)
    def delete(self, memory_id):
        """Delete the memory and take it out of every read. It is kept, with its history, for
        MEMORY_API_DELETED_RETENTION_SECONDS (a week by default) so the delete can be undone with
        POST /v1/memory/{memory_id}/restore; then it is gone."""
        memory = services().memories.delete(owner_holding(memory_id, "write"), memory_id,
                                            expected_versions=if_match_versions(),
                                            revisions_param="If-Match", by=by_request())
        return json_response({"id": memory.id, "object": "memory.deleted", "deleted": True})


def _update(body: dict, memory_id: str):
    memory = services().memories.update(owner_holding(memory_id, "write"), memory_id, body,
                                        expected_versions=if_match_versions(),
                                        revisions_param="If-Match", by=by_request())
    return memory_response(memory)


@blp.route("/<string:memory_id>/history", parameters=[MEMORY_ID_PARAM, USER_HEADER_PARAM, SPACE_QUERY_PARAM])
class MemoryHistory(MethodView):
    @blp.doc(operationId="getMemoryHistory", summary="A memory's previous versions")
    @blp.response(200, HistoryList)
    @documents_errors(blp, 404)
    def get(self, memory_id):
        """Previous versions, newest first (MEMORY_API_HISTORY_DEPTH of them at most)."""
        versions = services().memories.history(owner_holding(memory_id), memory_id)
        return json_response({"object": "list", "data": [history_entry(v) for v in versions], "has_more": False})


def history_entry(version: Memory) -> dict:
    """A previous version of a memory as its history lists it: memory_api/memory_object.py's HISTORY view
    (tests/test_memory_object.py checks the two agree)."""
    return {"object": "memory.version", "id": version.id, "revision": version.revision,
            "updated_at": version.updated_at, "content": version.content, "metadata": version.metadata,
            "tags": list(version.tags), "scope": version.scope, "source": version.source, "reason": version.reason,
            "occurred_at": version.occurred_at, "valid_until": version.valid_until,
            "expires_at": version.expires_at, "supersedes": version.supersedes, "author": version.author}


@blp.route("/<string:memory_id>/revert", parameters=[MEMORY_ID_PARAM, USER_HEADER_PARAM, SPACE_QUERY_PARAM])
class MemoryRevert(MethodView):
    @blp.doc(operationId="revertMemory", summary="Restore a previous version of a memory")
    @blp.arguments(RevertRequest())
    @blp.response(200, MemoryObject, headers=ETAG_HEADER_DOC)
    @documents_errors(blp, 404, 409, 412, 413, 415)
    @writes(blp, IF_MATCH_PARAM)
    def post(self, body, memory_id):
        """Brings back the content, metadata, tags and scope of `revision` (from the memory's history) as
        a new revision, whose `reason` names the one restored; the version it replaces goes to history, so
        a revert can be reverted. 404 `revision_not_found` when history no longer holds that revision."""
        memory = services().memories.revert(owner_holding(memory_id, "write"), memory_id, body["revision"],
                                            by=by_request(),
                                            expected_versions=if_match_versions(), revisions_param="If-Match")
        return memory_response(memory)


@blp.route("/<string:memory_id>/restore", parameters=[MEMORY_ID_PARAM, USER_HEADER_PARAM, SPACE_QUERY_PARAM])
class MemoryRestore(MethodView):
    @blp.doc(operationId="restoreMemory", summary="Undo the delete of a memory")
    @blp.response(200, MemoryObject, headers=ETAG_HEADER_DOC)
    @documents_errors(blp, 404, 409, 413)
    @writes(blp)
    def post(self, memory_id):
        """Brings a deleted memory back (its id, content, metadata, times and history) as a new revision,
        within MEMORY_API_DELETED_RETENTION_SECONDS of the delete; a memory deleted at its `expires_at`
        comes back without one. 409 `memory_exists` if the memory is stored, 404 `memory_not_found` if
        no delete of it is kept."""
        owner = owner_holding(memory_id, "write", deleted_too=True)
        return memory_response(services().memories.restore(owner, memory_id, by=by_request()))


def page_args(query: dict) -> dict:
    return {name: query[name] for name in ("limit", "order", "after", "before") if name in query}


def filters_of(query: dict):
    """The list/search filters of a query string, checked by the same rules as every door."""
    return services().rules.filters(
        tags=query.get("tag"), scope=query.get("scope"), created_after=query.get("created_after"),
        created_before=query.get("created_before"), updated_after=query.get("updated_after"),
        updated_before=query.get("updated_before"), source=query.get("source"),
        occurred_after=query.get("occurred_after"), occurred_before=query.get("occurred_before"),
        as_of=query.get("as_of"), include_invalid=query.get("include_invalid"))
