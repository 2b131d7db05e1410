"""/v1/conversations: the threads the chat endpoint keeps."""

from __future__ import annotations

from flask.views import MethodView

from ..ids import CONVERSATION_ID_PATTERN, CONVERSATION_PREFIX
from ..services.conversations import conversation_to_api
from .docs import USER_HEADER_PARAM, documents_errors, writes
from .hooks import register_v1_hooks
from .idempotency import idempotent_id
from .parsing import Blueprint, json_response, principal, services
from .schemas.conversations import (
    ConversationCreateRequest,
    ConversationDeleted,
    ConversationList,
    ConversationListQuery,
    ConversationObject,
)

blp = Blueprint("conversations", __name__, url_prefix="/v1/conversations",
                description="Conversation threads kept by the chat endpoint.")
register_v1_hooks(blp)

CONVERSATION_ID_PARAM = {
    "in": "path",
    "name": "conversation_id",
    "required": True,
    "schema": {"type": "string", "pattern": CONVERSATION_ID_PATTERN},
}


@blp.route("", parameters=[USER_HEADER_PARAM])
class Conversations(MethodView):
    @blp.doc(operationId="listConversations", summary="List conversations")
    @blp.arguments(ConversationListQuery(), location="query", as_kwargs=True)
    @blp.response(200, ConversationList)
    @documents_errors(blp)
    def get(self, **query):
        """The caller's conversations, newest first, with OpenAI-style cursors."""
        return json_response(services().conversations.list(principal().user_id, **query).to_api())

    @blp.doc(operationId="createConversation", summary="Create a conversation")
    @blp.arguments(ConversationCreateRequest())
    @blp.response(200, ConversationObject)
    @documents_errors(blp, 409, 413, 415)
    @writes(blp)
    def post(self, body):
        """An empty thread; pass its id as `conversation_id` to /v1/chat/completions."""
        state = services().conversations.create(principal().user_id, body.get("metadata"), scope=body.get("scope"),
                                                capture=body.get("capture"),
                                                conversation_id=idempotent_id(CONVERSATION_PREFIX))
        return json_response(conversation_to_api(state))


@blp.route("/<string:conversation_id>", parameters=[CONVERSATION_ID_PARAM, USER_HEADER_PARAM])
class ConversationById(MethodView):
    @blp.doc(operationId="getConversation", summary="Retrieve a conversation")
    @blp.response(200, ConversationObject)
    @documents_errors(blp, 404)
    def get(self, conversation_id):
        """Summary, the summarized-through marker, the recent messages and token counts."""
        return json_response(conversation_to_api(services().conversations.get(principal().user_id, conversation_id)))

    @blp.doc(operationId="deleteConversation", summary="Delete a conversation")
    @blp.response(200, ConversationDeleted)
    @documents_errors(blp, 404, 409)
    @writes(blp)
    def delete(self, conversation_id):
        services().conversations.delete(principal().user_id, conversation_id)
        return json_response({"id": conversation_id, "object": "conversation.deleted", "deleted": True})
