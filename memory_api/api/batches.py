"""/v1/memory/batch and /v1/memory/batch_delete: up to MEMORY_API_MAX_BATCH memories created or deleted at once."""

from __future__ import annotations

from flask.views import MethodView

from ..ids import MEMORY_PREFIX
from .docs import USER_HEADER_PARAM, documents_errors, writes
from .hooks import register_v1_hooks
from .idempotency import idempotent_id
from .parsing import Blueprint, by_request, json_response, services
from .schemas.tools import BatchCreated, BatchCreateRequest, BatchDeleted, BatchDeleteRequest
from .spaces_access import owner_of

blp = Blueprint("memory_batches", __name__, url_prefix="/v1/memory",
                description="Several of the caller's memories created or deleted in one request.")
register_v1_hooks(blp)


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
        created = services().memories.create_batch(owner_of(body.get("space"), "write"), body["memories"],
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
        outcomes = services().memories.delete_batch(owner_of(body.get("space"), "write"), body["ids"],
                                                    by=by_request())
        data = [{"id": i, "object": "memory.deleted", "deleted": ok} for i, ok in outcomes]
        return json_response({"object": "list", "data": data, "has_more": False})
