"""marshmallow schemas of the conversation endpoints (see common.py)."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields

from ...ids import CONVERSATION_ID_PATTERN
from ...validation import SCOPE_PATTERN
from .common import PageQuery, StrictBool, StrictSchema, constant, list_of, metadata_field


class ConversationCreateRequest(StrictSchema):
    metadata = metadata_field()
    scope = fields.String(allow_none=True, metadata={
        "description": "Chats in this conversation inject global memories plus this scope's.",
        "pattern": SCOPE_PATTERN})
    capture = StrictBool(allow_none=True, metadata={
        "description": "Capture memories from this conversation's turns (true) or not (false), unless a chat "
                       "request's memory.capture says otherwise; absent or null: the server's "
                       "MEMORY_API_AUTO_CAPTURE."})


class ConversationListQuery(PageQuery):
    after = fields.String(metadata={"description": "Return the page after this conversation id.",
                                    "pattern": CONVERSATION_ID_PATTERN})
    before = fields.String(metadata={"description": "Return the page before this conversation id. With `after`: "
                                                    "what lies between them in list order (400 "
                                                    "invalid_cursor_range if nothing can).",
                                     "pattern": CONVERSATION_ID_PATTERN})


class ConversationTokens(ma.Schema):
    summary = fields.Integer(required=True)
    messages = fields.Integer(required=True)
    total = fields.Integer(required=True)


class ConversationObject(ma.Schema):
    id = fields.String(required=True, metadata={"pattern": CONVERSATION_ID_PATTERN})
    object = constant("conversation")
    created_at = fields.Integer(required=True)
    updated_at = fields.Integer(required=True)
    metadata = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    scope = fields.String(required=True, allow_none=True)
    capture = fields.Boolean(required=True, allow_none=True,
                             metadata={"description": "null: the server's default (MEMORY_API_AUTO_CAPTURE)."})
    summary = fields.String(required=True, allow_none=True)
    summarized_through = fields.Integer(
        required=True, metadata={"description": "How many of the first messages the summary covers."})
    message_count = fields.Integer(required=True)
    system = fields.String(allow_none=True)
    messages = fields.List(fields.Dict(), metadata={"description": "Messages not yet summarized, with seq."})
    token_count = fields.Nested(ConversationTokens)


ConversationList = list_of("ConversationList", ConversationObject)


class ConversationDeleted(ma.Schema):
    id = fields.String(required=True)
    object = constant("conversation.deleted")
    deleted = fields.Boolean(required=True)


