"""marshmallow schemas of the Responses API (/v1/responses) and the model list (/v1/models)."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields

from ...services.message_shape import ITEM_STRING_FIELDS
from .chat import InjectedMemory, ResponsesMemoryOptions, message_fields, string_or_null
from .common import StrictBool

# An input item (a message, a function call, its output, ...): the types services/message_shape.py checks.
INPUT_ITEM = {"type": "object", "properties": {"role": string_or_null(), **message_fields(ITEM_STRING_FIELDS)}}


class ResponseCreateRequest(ma.Schema):
    """OpenAI's create-a-response body; fields not listed here go to the provider untouched."""

    class Meta:
        unknown = ma.INCLUDE

    model = fields.String(metadata={"description": "Passed to the provider (default MEMORY_API_CHAT_MODEL)."})
    input = fields.Raw(metadata={
        "description": "Text, or an array of input items; the latest user text ranks the memories.",
        "anyOf": [{"type": "string"}, {"type": "array", "items": INPUT_ITEM}]})
    instructions = fields.String(allow_none=True, metadata={
        "description": "The system (or developer) message; the memory block is appended to it."})
    # OpenAI reads an explicit null in these as absent; so do we.
    stream = StrictBool(allow_none=True)
    stream_options = fields.Dict(allow_none=True)
    previous_response_id = fields.String(allow_none=True, metadata={"description": "Passed to the provider."})
    store = StrictBool(allow_none=True, metadata={"description": "Passed to the provider."})
    memory = fields.Nested(ResponsesMemoryOptions, allow_none=True,
                           metadata={"description": "How to inject the user's memories."})


class Response(ma.Schema):
    """The provider's response, plus what was injected."""

    class Meta:
        unknown = ma.INCLUDE

    id = fields.String(required=True)
    object = fields.String(required=True)
    created_at = fields.Float(required=True)
    status = fields.String()
    model = fields.String(required=True)
    output = fields.List(fields.Dict(), required=True)
    usage = fields.Dict(allow_none=True)
    memory = fields.Nested(InjectedMemory, required=True)


class Model(ma.Schema):
    """One of the provider's models, as it describes it."""

    class Meta:
        unknown = ma.INCLUDE

    id = fields.String(required=True)
    object = fields.String(required=True)
    created = fields.Integer()
    owned_by = fields.String()


class ModelList(ma.Schema):
    class Meta:
        unknown = ma.INCLUDE

    object = fields.String(required=True)
    data = fields.List(fields.Nested(Model), required=True)
