"""/v1/memory/context: the memory block chat would inject, without calling a model."""

from __future__ import annotations

from flask.views import MethodView

from .docs import USER_HEADER_PARAM, documents_errors, writes
from .hooks import register_v1_hooks
from .parsing import Blueprint, json_response, principal, services
from .schemas.chat import ContextRequest, MemoryContext

blp = Blueprint("memory_context", __name__, url_prefix="/v1/memory",
                description="The memory block chat would inject, without calling a model.")
register_v1_hooks(blp)


@blp.route("/context", parameters=[USER_HEADER_PARAM])
class MemoryContextView(MethodView):
    @blp.doc(operationId="getMemoryContext", summary="The memory block chat would inject")
    @blp.arguments(ContextRequest())
    @blp.response(200, MemoryContext)
    @documents_errors(blp, 409, 413, 415)
    @writes(blp)
    def post(self, body):
        """The block the chat endpoint would inject for this user, without calling a model: with a
        `query`, the memories relevant to it, most relevant first (scoring at least
        MEMORY_API_MIN_RELEVANCE), without one the newest; global ones plus `scope`'s; by default only
        what still holds (`include_invalid`, `as_of` and the occurred filters as in search)."""
        selection = services().context.preview(principal().user_id, model=body.get("model"), caps=body,
                                               query=body.get("query"), scope=body.get("scope"),
                                               mode=body.get("mode"), times=body, spaces=body.get("spaces"))
        return json_response(selection.to_api())
