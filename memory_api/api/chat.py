"""/v1/chat/completions (OpenAI-compatible, with memory) and /v1/memory/context."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView

from ..chat import parse_chat_request
from ..context import resolve_caps
from ..search import check_query
from ..validation import check_scope
from .http import (
    USER_HEADER_PARAM,
    Blueprint,
    authenticate_request,
    documents_errors,
    json_response,
    principal,
    services,
    writes,
)
from .schemas_chat import ChatCompletion, ChatCompletionRequest, ContextRequest, MemoryContext

blp = Blueprint("chat", __name__, url_prefix="/v1", description="Chat completions with the user's memories.")
blp.before_request(authenticate_request)

# With `stream: true` the 200 answer is the provider's server-sent events instead. The schema
# describes one event (as schemathesis and OpenAPI 3.2's itemSchema read it).
STREAM_DOC = {200: {"content": {"text/event-stream": {"schema": {
    "type": "object",
    "description": "One server-sent event. `data` is a chat.completion.chunk as JSON, the last one is "
                   "`[DONE]`; an error after the stream started arrives as `{\"error\": {...}}`.",
    "required": ["data"],
    "properties": {"data": {"type": "string"}, "event": {"type": "string"}, "id": {"type": "string"}},
}}}}}


@blp.route("/chat/completions", parameters=[USER_HEADER_PARAM])
class ChatCompletions(MethodView):
    @blp.doc(operationId="createChatCompletion", summary="Create a chat completion with memory")
    @blp.arguments(ChatCompletionRequest())
    @blp.response(200, ChatCompletion, description=(
        "The provider's completion plus `memory` (what was injected). With `stream: true` the body is "
        "`text/event-stream` and the same figures come in `x-memory-*` headers."))
    @documents_errors(blp, 404, 409, 413, 415, 502, 504)
    @blp.doc(responses=STREAM_DOC)
    @writes(blp)
    def post(self, body):
        """OpenAI's chat completions: the user's memories are injected into the system prompt
        (under a word and a token cap), and with `conversation_id` the service keeps the thread."""
        svc = services()
        request = parse_chat_request(body, default_model=svc.settings.chat_model)
        user_id = principal().user_id
        if request.stream:
            events, headers = svc.chat.stream(user_id, request)
            headers.update({"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
            return current_app.response_class(events, mimetype="text/event-stream", headers=headers)
        response, headers = svc.chat.complete(user_id, request)
        return json_response(response, headers=headers)


@blp.route("/memory/context", parameters=[USER_HEADER_PARAM])
class MemoryContextView(MethodView):
    @blp.doc(operationId="getMemoryContext", summary="The memory block chat would inject")
    @blp.arguments(ContextRequest())
    @blp.response(200, MemoryContext)
    @documents_errors(blp, 409, 413, 415)
    @writes(blp)
    def post(self, body):
        """The block the chat endpoint would inject for this user, without calling a model: with a
        `query`, the most relevant memories first, then the newest; global ones plus `scope`'s."""
        svc = services()
        caps = resolve_caps(body, server_max_words=svc.settings.max_words, server_max_tokens=svc.settings.max_tokens)
        query = check_query(body["query"]) if (body.get("query") or "").strip() else None
        selection = svc.context.build(principal().user_id, model=body.get("model"), caps=caps, query=query,
                                      scope=check_scope(body.get("scope")))
        return json_response(selection.to_api())
