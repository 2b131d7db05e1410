"""/v1/chat/completions: OpenAI-compatible, with the user's memories injected."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView

from ..services.chat import ChatOutcome
from ..services.chat_request import parse_chat_request
from .docs import USER_HEADER_PARAM, documents_errors, writes
from .hooks import register_v1_hooks
from .parsing import Blueprint, json_response, principal, services
from .provider_headers import relayed_provider_headers
from .schemas.chat import ChatCompletion, ChatCompletionRequest
from .sse import framed
from .streaming import StreamBody

blp = Blueprint("chat", __name__, url_prefix="/v1", description="Chat completions with the user's memories.")
register_v1_hooks(blp)

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
    max_body_setting = "max_chat_body_bytes"  # an inline base64 image alone can pass 1 MiB

    @blp.doc(operationId="createChatCompletion", summary="Create a chat completion with memory")
    @blp.arguments(ChatCompletionRequest())
    @blp.response(200, ChatCompletion, description=(
        "The provider's completion plus `memory` (what was injected). With `stream: true` the body is "
        "`text/event-stream` and the same figures come in `x-memory-*` headers."))
    @documents_errors(blp, 404, 409, 413, 415, 424, 502, 504)
    @blp.doc(responses=STREAM_DOC)
    @writes(blp)
    def post(self, body):
        """OpenAI's chat completions: the user's memories are injected into the system prompt
        (under a word and a token cap), and with `conversation_id` the service keeps the thread."""
        svc = services()
        request = parse_chat_request(body, default_model=svc.settings.chat_model,
                                     max_messages=svc.settings.max_chat_messages)
        caller = principal()
        user_id = caller.user_id
        if request.stream:
            return relayed_stream(svc.chat.stream(user_id, request, key_id=caller.key_id), framed)
        response, outcome = svc.chat.complete(user_id, request, actor=caller.key_id)
        return json_response(response, headers=memory_headers(outcome))


def relayed_stream(stream, framing):
    """A provider stream (chat or responses) as our text/event-stream answer: its events framed by
    `framing`, what was injected in x-memory-* headers, the provider call closed when it ends."""
    headers = {**memory_headers(stream.outcome), "Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return current_app.response_class(StreamBody(framing(stream.events), stream.close),
                                      mimetype="text/event-stream", headers=headers)


# Ids in x-memory-injected-ids at most: 50 ids are about 1.5 KB. 196 ids made a 6.1 KB line, past the
# header buffers of common proxies (nginx's default is 4 or 8 KB for all of them); x-memory-injected-count
# says how many there were, and a non-streamed answer's JSON carries them all (memory.injected_ids).
MAX_IDS_IN_HEADER = 50


def memory_headers(outcome: ChatOutcome) -> dict[str, str]:
    """What was injected, as headers (a streamed answer has no body of ours to carry it), and the
    provider's rate-limit and request-id headers."""
    s = outcome.selection
    headers = {
        **relayed_provider_headers(outcome.provider_headers),
        "x-memory-injected-count": str(len(s.memories)),
        "x-memory-injected-ids": ",".join(s.memory_ids[:MAX_IDS_IN_HEADER]),
        "x-memory-word-count": str(s.word_count),
        "x-memory-token-count": str(s.token_count),
        "x-memory-omitted-count": str(s.omitted_count),
    }
    if outcome.conversation_id:
        headers["x-conversation-id"] = outcome.conversation_id
    if outcome.capture_job:
        headers["x-memory-capture-job"] = outcome.capture_job
    return headers
