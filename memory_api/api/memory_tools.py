"""/v1/memory/search, tags, stats, batch, batch_delete, export and import."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView

from ..ids import MEMORY_PREFIX
from .docs import USER_HEADER_PARAM, documents_errors, writes
from .hooks import register_v1_hooks
from .idempotency import idempotent_id
from .memory import filters_of
from .parsing import Blueprint, by_request, json_response, principal, request_body_file, services
from .schemas.tools import (
    BatchCreated,
    BatchCreateRequest,
    BatchDeleted,
    BatchDeleteRequest,
    ImportQuery,
    ImportResult,
    MemoryStats,
    SearchList,
    SearchQuery,
    SearchRequest,
    TagList,
)

blp = Blueprint("memory_tools", __name__, url_prefix="/v1/memory",
                description="Search, tags, stats, batches, export and import of the caller's memories.")
register_v1_hooks(blp)

JSONL_TYPES = ("application/x-ndjson", "application/jsonl", "application/json")


@blp.route("/search", parameters=[USER_HEADER_PARAM])
class MemorySearch(MethodView):
    @blp.doc(operationId="searchMemories", summary="Search memories")
    @blp.arguments(SearchQuery(), location="query", as_kwargs=True)
    @blp.response(200, SearchList)
    @documents_errors(blp)
    def get(self, query, limit=None, mode=None, **filters):
        """The caller's memories ranked by relevance to `query`, best first, each with its `score`: by
        keyword and meaning fused (hybrid, the default), by meaning alone, or by keyword (BM25)."""
        results = services().search.search(principal().user_id, query, limit=limit, mode=mode,
                                           filters=filters_of(filters))
        return json_response(results.to_api())

    @blp.doc(operationId="searchMemoriesPost", summary="Search memories (JSON body)")
    @blp.arguments(SearchRequest())
    @blp.response(200, SearchList)
    @documents_errors(blp, 413, 415)
    def post(self, body):
        """The same search with a JSON body, for long queries (as OpenAI's vector-store search)."""
        filters = {**body, "tag": body.get("tags")}
        results = services().search.search(principal().user_id, body["query"], limit=body.get("limit"),
                                           mode=body.get("mode"), filters=filters_of(filters))
        return json_response(results.to_api())


@blp.route("/tags", parameters=[USER_HEADER_PARAM])
class MemoryTags(MethodView):
    @blp.doc(operationId="listMemoryTags", summary="List tags")
    @blp.response(200, TagList)
    @documents_errors(blp)
    def get(self):
        """Every tag of the caller's memories, with how many memories carry it, most used first."""
        return json_response({"object": "list", "data": services().stats.tags(principal().user_id),
                              "has_more": False})


@blp.route("/stats", parameters=[USER_HEADER_PARAM])
class MemoryStatsView(MethodView):
    @blp.doc(operationId="getMemoryStats", summary="Memory statistics")
    @blp.response(200, MemoryStats)
    @documents_errors(blp)
    def get(self):
        """How many memories, words and tokens the caller has stored, tags, scopes, oldest and newest."""
        return json_response(services().stats.stats(principal().user_id))


@blp.route("/batch", parameters=[USER_HEADER_PARAM])
class MemoryBatch(MethodView):
    @blp.doc(operationId="createMemories", summary="Create up to 100 memories")
    @blp.arguments(BatchCreateRequest())
    @blp.response(200, BatchCreated)
    @documents_errors(blp, 409, 413, 415)
    @writes(blp)
    def post(self, body):
        """All or nothing: an invalid memory (400 naming it), one equal to a stored memory (409
        `duplicate_memory`, with `error.existing_id`) or to an earlier one of the batch (409
        `duplicate_in_batch`), or a full quota (409) stores none."""
        nonce = idempotent_id(MEMORY_PREFIX)
        created = services().memories.create_batch(principal().user_id, body["memories"],
                                                   id_prefix=nonce[:-6] if nonce else None, by=by_request())
        data = [c.memory.to_api() for c in created]
        return json_response({"object": "list", "data": data, "has_more": False})


@blp.route("/batch_delete", parameters=[USER_HEADER_PARAM])
class MemoryBatchDelete(MethodView):
    @blp.doc(operationId="deleteMemories", summary="Delete up to 100 memories")
    @blp.arguments(BatchDeleteRequest())
    @blp.response(200, BatchDeleted)
    @documents_errors(blp, 409, 413, 415)
    @writes(blp)
    def post(self, body):
        """Deletes each id; reports each one's outcome (`deleted: false`: there was no such memory)."""
        outcomes = services().memories.delete_batch(principal().user_id, body["ids"], by=by_request())
        data = [{"id": i, "object": "memory.deleted", "deleted": ok} for i, ok in outcomes]
        return json_response({"object": "list", "data": data, "has_more": False})


EXPORT_DOC = {200: {"description": "JSON Lines: a format line, then one memory per line (oldest first).",
                    "content": {"application/x-ndjson": {"schema": {"type": "string"}}}}}
IMPORT_BODY_DOC = {
    "required": True,
    "description": "An export (JSON Lines): the format line, then memories.",
    "content": {media: {"schema": {"type": "string"}} for media in ("application/x-ndjson",)},
}


@blp.route("/export", parameters=[USER_HEADER_PARAM])
class MemoryExport(MethodView):
    @blp.doc(operationId="exportMemories", summary="Export every memory (JSON Lines)", responses=EXPORT_DOC)
    @documents_errors(blp)
    def get(self):
        """Streams every memory of the caller, with history, as JSON Lines."""
        lines = services().portability.export_lines(principal().user_id)
        return current_app.response_class((line.encode() for line in lines), mimetype="application/x-ndjson",
                                          headers={"Content-Disposition": 'attachment; filename="memories.jsonl"'})


@blp.route("/import", parameters=[USER_HEADER_PARAM])
class MemoryImport(MethodView):
    body_types = JSONL_TYPES  # the export's own format (check_body_media_type accepts these)
    max_body_setting = "max_import_bytes"  # MEMORY_API_MAX_IMPORT_BYTES, not MEMORY_API_MAX_BODY_BYTES

    @blp.doc(operationId="importMemories", summary="Import an export", requestBody=IMPORT_BODY_DOC)
    @blp.arguments(ImportQuery(), location="query", as_kwargs=True)
    @blp.response(200, ImportResult)
    @documents_errors(blp, 409, 413, 415)
    @writes(blp)
    def post(self, on_conflict):
        """Idempotent by id: ids that exist are skipped or overwritten (`on_conflict`). Every line is
        checked first; a bad one is a 400 naming it, and nothing is written."""
        result = services().portability.import_file(principal().user_id, request_body_file(),
                                                    on_conflict=on_conflict, actor=principal().key_id)
        return json_response(result)
