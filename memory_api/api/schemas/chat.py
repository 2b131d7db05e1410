"""marshmallow schemas of the chat completions and memory-context endpoints (see common.py)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from ...ids import CONVERSATION_ID_PATTERN, SPACE_ID_PATTERN
from ...services.chat_request import MESSAGE_ROLES
from ...services.message_shape import MESSAGE_STRING_FIELDS
from ...validation import SCOPE_PATTERN, TEXT_PATTERN
from .common import (
    MemoryTimeFilters,
    StrictBool,
    StrictInt,
    constant,
    limits,
    mode_field,
    mode_used_field,
)

# --- chat, context, conversations -----------------------------------------------


def cap_fields() -> tuple[StrictInt, StrictInt]:
    return (
        StrictInt(metadata={"minimum": 0, **limits("Word cap for this request (at most the server's "
                                                   "MEMORY_API_MAX_WORDS, {max_words}).", maximum="max_words")}),
        StrictInt(metadata={"minimum": 0, **limits("Token cap for this request (at most the server's "
                                                   "MEMORY_API_MAX_TOKENS, {max_tokens}).", maximum="max_tokens")}),
    )


def spaces_field() -> fields.List:
    return fields.List(fields.String(metadata={"pattern": SPACE_ID_PATTERN}), allow_none=True, metadata={
        **limits("Also inject from these shared spaces (each one you are a member of; [] for none); absent or "
                 "null: the spaces whose membership has `inject` on. Their lines say the space and who wrote "
                 "them.", maxItems="max_spaces_per_user")})


class InjectionOptions(MemoryTimeFilters):
    inject = StrictBool(metadata={"description": "Inject the user's memories (default true)."})
    max_words, max_tokens = cap_fields()
    scope = fields.String(metadata={"description": "Inject global memories plus this scope's (never another's).",
                                    "pattern": SCOPE_PATTERN})
    mode = mode_field()
    spaces = spaces_field()


class MemoryOptions(InjectionOptions):
    capture = StrictBool(allow_none=True, metadata={
        "description": "Chat completions: capture memories from this turn once it is answered (a job; default "
                       "MEMORY_API_AUTO_CAPTURE). The job's id comes back in `memory.capture_job` and the "
                       "`x-memory-capture-job` header."})


class ResponsesMemoryOptions(InjectionOptions):
    # Capture reads a turn's messages and answer, which Responses keeps at the provider: only "off" is
    # accepted here (true: 400 unsupported_parameter, naming POST /v1/memory/extract).
    capture = StrictBool(allow_none=True, metadata={
        "enum": [False, None],
        "description": "Chat completions only; here false or null. Capture a Responses conversation with "
                       "POST /v1/memory/extract."})


# The JSON types services/message_shape.py checks in a message (a null stands for an absent field), for
# the spec: the fields are read as they are (Raw), and the service refuses a wrong type naming the field.
# Functions, not constants: each use gets its own dict (a shared one is written as a YAML alias).
def string_or_null() -> dict[str, Any]:
    return {"type": ["string", "null"]}


def message_content() -> dict[str, Any]:
    part = {"type": "object", "properties": {"type": string_or_null(), "text": string_or_null()}}
    return {"anyOf": [{"type": "string"}, {"type": "array", "items": part}, {"type": "null"}]}


def message_fields(string_fields: tuple[str, ...] = MESSAGE_STRING_FIELDS) -> dict[str, dict[str, Any]]:
    """The JSON schema of each message field the service reads (role aside)."""
    call = {"type": "object", "properties": {
        "id": string_or_null(), "type": string_or_null(),
        "function": {"type": ["object", "null"], "properties": {"name": string_or_null(),
                                                                "arguments": string_or_null()}}}}
    return {"content": message_content(), "tool_calls": {"type": ["array", "null"], "items": call},
            **{name: string_or_null() for name in string_fields}}


class MessageContent(fields.Raw):
    """A message's content: text, an array of content parts, or null (checked by the chat service)."""


def message_field(name: str) -> fields.Raw:
    """A message field the service reads, passed on as sent: its type documented, and checked by the service."""
    schema = message_fields()[name]
    schema["type"] = next(t for t in schema["type"] if t != "null")  # allow_none adds the null
    return fields.Raw(allow_none=True, metadata=schema)


class ChatMessage(ma.Schema):
    class Meta:
        unknown = ma.INCLUDE  # refusal, audio, ... go to the provider as sent

    role = fields.String(required=True, validate=validate.OneOf(MESSAGE_ROLES))
    content = MessageContent(allow_none=True, metadata=message_content())
    name = message_field("name")
    tool_calls = message_field("tool_calls")
    tool_call_id = message_field("tool_call_id")


class ChatCompletionRequest(ma.Schema):
    """OpenAI's chat-completions body; fields not listed here go to the provider untouched."""

    class Meta:
        unknown = ma.INCLUDE

    model = fields.String(metadata={"description": "Passed to the provider (default MEMORY_API_CHAT_MODEL)."})
    messages = fields.List(fields.Nested(ChatMessage), required=True, validate=validate.Length(min=1),
                           metadata=limits("At most {max_chat_messages} (MEMORY_API_MAX_CHAT_MESSAGES).",
                                           maxItems="max_chat_messages"))
    # OpenAI reads an explicit null in these as absent; so do we.
    stream = StrictBool(allow_none=True)
    stream_options = fields.Dict(allow_none=True)
    memory = fields.Nested(MemoryOptions, allow_none=True,
                           metadata={"description": "How to inject the user's memories."})
    conversation_id = fields.String(
        validate=validate.Regexp(f"{CONVERSATION_ID_PATTERN}|^new$"),
        metadata={"description": "Keep this conversation's thread in the service (a conv_ id, or 'new')."},
    )


class InjectedMemory(ma.Schema):
    injected_ids = fields.List(fields.String(), required=True)
    word_count = fields.Integer(required=True)
    token_count = fields.Integer(required=True)
    omitted_count = fields.Integer(required=True)
    mode = mode_used_field()
    capture_job = fields.String(metadata={"description": "The capture job queued for this turn, when capture is "
                                                         "on: GET /v1/memory/capture/jobs/{job_id}."})


class ChatCompletion(ma.Schema):
    """The provider's chat completion, plus what was injected."""

    class Meta:
        unknown = ma.INCLUDE

    id = fields.String(required=True)
    object = fields.String(required=True)
    created = fields.Integer(required=True)
    model = fields.String(required=True)
    choices = fields.List(fields.Dict(), required=True)
    usage = fields.Dict(allow_none=True)
    memory = fields.Nested(InjectedMemory, required=True)
    conversation_id = fields.String()


class ContextRequest(MemoryTimeFilters):
    model = fields.String(metadata={"description": "Count tokens with this model's encoding."})
    max_words, max_tokens = cap_fields()
    query = fields.String(metadata={"description": "Fill the caps with the memories most relevant to this "
                                                   "text first, then the newest (blank: newest only).",
                                    "pattern": TEXT_PATTERN, **limits(maxLength="max_query_chars")})
    scope = fields.String(metadata={"description": "Global memories plus this scope's (never another's).",
                                    "pattern": SCOPE_PATTERN})
    mode = mode_field()
    spaces = spaces_field()


class MemoryContext(ma.Schema):
    object = constant("memory.context")
    text = fields.String(required=True, metadata={"description": "The block chat would inject ('' if none)."})
    memory_ids = fields.List(fields.String(), required=True)
    word_count = fields.Integer(required=True)
    token_count = fields.Integer(required=True)
    omitted_count = fields.Integer(required=True)
    mode = mode_used_field()
