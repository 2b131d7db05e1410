"""/v1/responses: OpenAI's Responses API, with the user's memories in `instructions`."""

from __future__ import annotations

from flask.views import MethodView

from ..services.responses import parse_responses_request
from .chat import memory_headers, relayed_stream
from .docs import USER_HEADER_PARAM, documents_errors, writes
from .hooks import register_v1_hooks
from .parsing import Blueprint, json_response, principal, services
from .schemas.responses import Response, ResponseCreateRequest
from .sse import responses_framed

blp = Blueprint("responses", __name__, url_prefix="/v1",
                description="OpenAI's Responses API with the user's memories.")
register_v1_hooks(blp)

STREAM_DOC = {200: {"content": {"text/event-stream": {"schema": {
    "type": "object",
    "description": "One server-sent event, as the provider sent it: `event` is its type "
                   "(response.created, response.output_text.delta, ..., response.completed) and `data` "
                   "the event as JSON. An error after the stream started is an `error` event.",
    "required": ["data"],
    "properties": {"data": {"type": "string"}, "event": {"type": "string"}, "id": {"type": "string"}},
}}}}}


@blp.route("/responses", parameters=[USER_HEADER_PARAM])
class Responses(MethodView):
    max_body_setting = "max_chat_body_bytes"  # inline images and files, as in chat

    @blp.doc(operationId="createResponse", summary="Create a model response with memory")
    @blp.arguments(ResponseCreateRequest())
    @blp.response(200, Response, description=(
        "The provider's response plus `memory` (what was injected). With `stream: true` the body is "
        "`text/event-stream` and the same figures come in `x-memory-*` headers."))
    @documents_errors(blp, 413, 415, 424, 501, 502, 504)
    @blp.doc(responses=STREAM_DOC)
    @writes(blp)
    def post(self, body):
        """OpenAI's Responses API: the user's memories (most relevant to the latest user input first,
        under the word and token caps) are appended to `instructions`. `previous_response_id`, `store`
        and every other field go to the provider as sent. 501 if the provider has no Responses API."""
        svc = services()
        request = parse_responses_request(body, default_model=svc.settings.chat_model)
        caller = principal()
        user_id = caller.user_id
        if request.stream:
            return relayed_stream(svc.responses.stream(user_id, request, key_id=caller.key_id), responses_framed)
        response, outcome = svc.responses.create(user_id, request)
        return json_response(response, headers=memory_headers(outcome))
