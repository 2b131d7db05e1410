"""marshmallow schemas: request parsing, and the documented shape of every response.

Requests are checked for shape and types here; the domain rules (lengths,
metadata limits, id formats) are enforced by the services (memory_api/validation.py)
so that REST and MCP apply them identically. The limits are repeated below only
as documentation for openapi.yaml, from the same constants.
"""

from __future__ import annotations

import marshmallow as ma
from apispec import BasePlugin
from marshmallow import fields, validate

from ..chat import MESSAGE_ROLES
from ..config import Settings
from ..ids import CONVERSATION_ID_PATTERN, MEMORY_ID_PATTERN
from ..memories import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, ORDERS
from ..validation import (
    GLOBAL_SCOPE,
    MAX_TAGS,
    SCOPE_PATTERN,
    TAG_PATTERN,
    METADATA_MAX_KEY_CHARS,
    METADATA_MAX_KEYS,
    METADATA_MAX_VALUE_CHARS,
    NON_BLANK_TEXT_PATTERN,
    TEXT_PATTERN,
)

DEFAULT_MAX_CONTENT_CHARS = 4000


class SchemaExtrasPlugin(BasePlugin):
    """Adds a schema's `Meta.json_schema_extra` (keywords marshmallow cannot say) to its component."""

    def schema_helper(self, name, definition, **kwargs):
        schema = kwargs.get("schema")
        schema_class = schema if isinstance(schema, type) else type(schema)
        return dict(getattr(getattr(schema_class, "Meta", None), "json_schema_extra", None) or {})


def property_names_attribute(converter, field, **kwargs) -> dict:
    """apispec attribute function: JSON Schema's propertyNames (a Dict's keys), from field metadata."""
    names = field.metadata.get("propertyNames")
    return {"propertyNames": names} if names else {}


def constant(value: str) -> fields.Constant:
    """A field that is always `value` (the `object` discriminator of OpenAI objects)."""
    return fields.Constant(value, required=True, metadata={"type": "string", "enum": [value]})


class StrictBool(fields.Boolean):
    """JSON true/false only ("yes", 1 and "true" are refused)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


class StrictInt(fields.Integer):
    """A JSON integer only: no strings, no booleans, no fractions (2.0 is JSON Schema's integer 2)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.make_error("invalid", input=value)
        return value


class StrictSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE


def metadata_field(**kwargs) -> fields.Dict:
    return fields.Dict(
        keys=fields.String(),
        values=fields.String(metadata={"maxLength": METADATA_MAX_VALUE_CHARS, "pattern": TEXT_PATTERN}),
        allow_none=True,
        metadata={
            "description": (
                f"Up to {METADATA_MAX_KEYS} key-value pairs; keys up to {METADATA_MAX_KEY_CHARS} "
                f"characters, values strings up to {METADATA_MAX_VALUE_CHARS} characters."
            ),
            "maxProperties": METADATA_MAX_KEYS,
            "propertyNames": {"minLength": 1, "maxLength": METADATA_MAX_KEY_CHARS,
                              "pattern": NON_BLANK_TEXT_PATTERN},
        },
        **kwargs,
    )


def content_field(**kwargs) -> fields.String:
    return fields.String(
        metadata={
            "description": "The text to remember (no control characters but tab and newlines). "
                           "Leading and trailing whitespace is trimmed.",
            "minLength": 1,
            "maxLength": DEFAULT_MAX_CONTENT_CHARS,
            "pattern": NON_BLANK_TEXT_PATTERN,
        },
        **kwargs,
    )


def tags_field(**kwargs) -> fields.List:
    return fields.List(
        fields.String(metadata={"pattern": TAG_PATTERN}),
        allow_none=True,
        metadata={"description": f"Up to {MAX_TAGS} short labels (letters, digits, _ . : / + -), "
                                 "compared case-insensitively.", "maxItems": MAX_TAGS},
        **kwargs,
    )


def scope_field(**kwargs) -> fields.String:
    return fields.String(
        allow_none=True,
        metadata={"description": "The memory's scope (a project, a conversation...); null or absent: global. "
                                 f"'{GLOBAL_SCOPE}' is reserved.", "pattern": SCOPE_PATTERN},
        **kwargs,
    )


# --- requests -------------------------------------------------------------------


class MemoryCreateRequest(StrictSchema):
    content = content_field(required=True)
    metadata = metadata_field()
    tags = tags_field()
    scope = scope_field()


class MemoryUpdateRequest(StrictSchema):
    class Meta(StrictSchema.Meta):
        json_schema_extra = {"minProperties": 1}  # something to change

    content = content_field()
    metadata = metadata_field()
    tags = tags_field()
    scope = scope_field()


class FilterQuery(StrictSchema):
    """Filters shared by list and search: all must match."""

    tag = fields.List(fields.String(metadata={"pattern": TAG_PATTERN}),
                      metadata={"description": "Only memories with this tag (repeat: with all of them)."})
    scope = fields.String(metadata={
        "description": f"Only memories of this scope ('{GLOBAL_SCOPE}': only those without one).",
        "pattern": SCOPE_PATTERN})
    created_after = fields.Integer(metadata={"minimum": 0, "description": "Created at or after (Unix s)."})
    created_before = fields.Integer(metadata={"minimum": 0, "description": "Created at or before (Unix s)."})
    updated_after = fields.Integer(metadata={"minimum": 0, "description": "Updated at or after (Unix s)."})
    updated_before = fields.Integer(metadata={"minimum": 0, "description": "Updated at or before (Unix s)."})


class PageQuery(StrictSchema):
    limit = fields.Integer(
        load_default=DEFAULT_PAGE_SIZE,
        validate=validate.Range(min=1, max=MAX_PAGE_SIZE),
        metadata={"description": f"Page size, 1 to {MAX_PAGE_SIZE}."},
    )
    order = fields.String(
        load_default="desc",
        validate=validate.OneOf(ORDERS),
        metadata={"description": "By creation time: `desc` (newest first) or `asc`."},
    )


class MemoryListQuery(FilterQuery, PageQuery):
    after = fields.String(
        metadata={"description": "Return the page after this memory id.", "pattern": MEMORY_ID_PATTERN}
    )
    before = fields.String(
        metadata={"description": "Return the page before this memory id.", "pattern": MEMORY_ID_PATTERN}
    )


# --- responses ------------------------------------------------------------------


class MemoryObject(ma.Schema):
    id = fields.String(required=True, metadata={"pattern": MEMORY_ID_PATTERN})
    object = constant("memory")
    content = fields.String(required=True)
    metadata = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    created_at = fields.Integer(required=True, metadata={"description": "Unix seconds."})
    updated_at = fields.Integer(required=True, metadata={"description": "Unix seconds."})
    word_count = fields.Integer(required=True, metadata={"description": "Whitespace-separated words."})
    token_count = fields.Integer(required=True, metadata={"description": "Tokens (tiktoken o200k_base)."})
    tags = fields.List(fields.String(), required=True)
    scope = fields.String(required=True, allow_none=True, metadata={"description": "null: a global memory."})
    duplicate = fields.Boolean(metadata={
        "description": "On create only: true when an equal memory (same content and scope) existed; "
                       "that memory is returned and nothing new was stored."})


class MemoryList(ma.Schema):
    object = constant("list")
    data = fields.List(fields.Nested(MemoryObject), required=True)
    first_id = fields.String(required=True, allow_none=True)
    last_id = fields.String(required=True, allow_none=True)
    has_more = fields.Boolean(required=True)


class MemoryDeleted(ma.Schema):
    id = fields.String(required=True)
    object = constant("memory.deleted")
    deleted = fields.Boolean(required=True)


class Health(ma.Schema):
    status = fields.String(required=True, metadata={"enum": ["ok", "unavailable"]})
    redis = fields.String(required=True, metadata={"enum": ["ok", "unavailable"]})


class ErrorDetail(ma.Schema):
    message = fields.String(required=True)
    type = fields.String(required=True)
    param = fields.String(required=True, allow_none=True)
    code = fields.String(required=True, allow_none=True)


class ErrorEnvelope(ma.Schema):
    error = fields.Nested(ErrorDetail, required=True)


# --- chat, context, conversations -----------------------------------------------


# The documented maxima are the defaults of MEMORY_API_MAX_WORDS / MEMORY_API_MAX_TOKENS.
_DEFAULTS = Settings()


def cap_fields() -> tuple[StrictInt, StrictInt]:
    return (
        StrictInt(metadata={"description": "Word cap for this request (at most the server's "
                                           "MEMORY_API_MAX_WORDS).", "minimum": 0, "maximum": _DEFAULTS.max_words}),
        StrictInt(metadata={"description": "Token cap for this request (at most the server's "
                                           "MEMORY_API_MAX_TOKENS).", "minimum": 0, "maximum": _DEFAULTS.max_tokens}),
    )


class MemoryOptions(StrictSchema):
    inject = StrictBool(metadata={"description": "Inject the user's memories (default true)."})
    max_words, max_tokens = cap_fields()
    scope = fields.String(metadata={"description": "Inject global memories plus this scope's (never another's).",
                                    "pattern": SCOPE_PATTERN})


class MessageContent(fields.Raw):
    """A message's content: text, an array of content parts, or null (checked by the chat service)."""


class ChatMessage(ma.Schema):
    class Meta:
        unknown = ma.INCLUDE  # name, tool_calls, tool_call_id, ... go to the provider as sent

    role = fields.String(required=True, validate=validate.OneOf(MESSAGE_ROLES))
    content = MessageContent(
        allow_none=True,
        metadata={"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "object"}}, {"type": "null"}]},
    )


class ChatCompletionRequest(ma.Schema):
    """OpenAI's chat-completions body; fields not listed here go to the provider untouched."""

    class Meta:
        unknown = ma.INCLUDE

    model = fields.String(metadata={"description": "Passed to the provider (default MEMORY_API_CHAT_MODEL)."})
    messages = fields.List(fields.Nested(ChatMessage), required=True, validate=validate.Length(min=1))
    stream = StrictBool()
    stream_options = fields.Dict()
    memory = fields.Nested(MemoryOptions, metadata={"description": "How to inject the user's memories."})
    conversation_id = fields.String(
        validate=validate.Regexp(f"{CONVERSATION_ID_PATTERN}|^new$"),
        metadata={"description": "Keep this conversation's thread in the service (a conv_ id, or 'new')."},
    )


class InjectedMemory(ma.Schema):
    injected_ids = fields.List(fields.String(), required=True)
    word_count = fields.Integer(required=True)
    token_count = fields.Integer(required=True)
    omitted_count = fields.Integer(required=True)


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


class ContextRequest(StrictSchema):
    model = fields.String(metadata={"description": "Count tokens with this model's encoding."})
    max_words, max_tokens = cap_fields()
    query = fields.String(metadata={"description": "Fill the caps with the memories most relevant to this "
                                                   "text first, then the newest (blank: newest only).",
                                    "maxLength": 1000, "pattern": TEXT_PATTERN})
    scope = fields.String(metadata={"description": "Global memories plus this scope's (never another's).",
                                    "pattern": SCOPE_PATTERN})


class MemoryContext(ma.Schema):
    object = constant("memory.context")
    text = fields.String(required=True, metadata={"description": "The block chat would inject ('' if none)."})
    memory_ids = fields.List(fields.String(), required=True)
    word_count = fields.Integer(required=True)
    token_count = fields.Integer(required=True)
    omitted_count = fields.Integer(required=True)


class ConversationCreateRequest(StrictSchema):
    metadata = metadata_field()
    scope = fields.String(allow_none=True, metadata={
        "description": "Chats in this conversation inject global memories plus this scope's.",
        "pattern": SCOPE_PATTERN})


class ConversationListQuery(PageQuery):
    after = fields.String(metadata={"description": "Return the page after this conversation id.",
                                    "pattern": CONVERSATION_ID_PATTERN})
    before = fields.String(metadata={"description": "Return the page before this conversation id.",
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
    summary = fields.String(required=True, allow_none=True)
    summarized_through = fields.Integer(
        required=True, metadata={"description": "How many of the first messages the summary covers."})
    message_count = fields.Integer(required=True)
    system = fields.String(allow_none=True)
    messages = fields.List(fields.Dict(), metadata={"description": "Messages not yet summarized, with seq."})
    token_count = fields.Nested(ConversationTokens)


class ConversationList(ma.Schema):
    object = constant("list")
    data = fields.List(fields.Nested(ConversationObject), required=True)
    first_id = fields.String(required=True, allow_none=True)
    last_id = fields.String(required=True, allow_none=True)
    has_more = fields.Boolean(required=True)


class ConversationDeleted(ma.Schema):
    id = fields.String(required=True)
    object = constant("conversation.deleted")
    deleted = fields.Boolean(required=True)


# --- search, tags, stats, history, batch, export/import ---------------------------------


class SearchQuery(FilterQuery):
    query = fields.String(required=True, metadata={"description": "Words to look for (BM25 ranking).",
                                                   "minLength": 1, "maxLength": 1000,
                                                   "pattern": NON_BLANK_TEXT_PATTERN})
    limit = fields.Integer(load_default=DEFAULT_PAGE_SIZE, validate=validate.Range(min=1, max=MAX_PAGE_SIZE))


class ScoredMemoryObject(MemoryObject):
    score = fields.Float(required=True, metadata={"description": "BM25 relevance (higher is better)."})


class SearchList(MemoryList):
    data = fields.List(fields.Nested(ScoredMemoryObject), required=True)


class TagObject(ma.Schema):
    object = constant("memory.tag")
    tag = fields.String(required=True)
    count = fields.Integer(required=True)


class TagList(ma.Schema):
    object = constant("list")
    data = fields.List(fields.Nested(TagObject), required=True)
    has_more = fields.Boolean(required=True)


class EdgeMemory(ma.Schema):
    id = fields.String(required=True)
    created_at = fields.Integer(required=True)


class MemoryStats(ma.Schema):
    object = constant("memory.stats")
    count = fields.Integer(required=True)
    words = fields.Integer(required=True)
    tokens = fields.Integer(required=True)
    tags = fields.Integer(required=True, metadata={"description": "Distinct tags."})
    scopes = fields.Integer(required=True, metadata={"description": "Distinct scopes."})
    oldest = fields.Nested(EdgeMemory, required=True, allow_none=True)
    newest = fields.Nested(EdgeMemory, required=True, allow_none=True)


class MemoryVersion(ma.Schema):
    object = constant("memory.version")
    id = fields.String(required=True)
    revision = fields.Integer(required=True)
    updated_at = fields.Integer(required=True)
    content = fields.String(required=True)
    metadata = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    tags = fields.List(fields.String(), required=True)
    scope = fields.String(required=True, allow_none=True)


class HistoryList(ma.Schema):
    object = constant("list")
    data = fields.List(fields.Nested(MemoryVersion), required=True)
    has_more = fields.Boolean(required=True)


class BatchCreateRequest(StrictSchema):
    memories = fields.List(fields.Nested(MemoryCreateRequest), required=True,
                           validate=validate.Length(min=1, max=100))


class BatchCreated(ma.Schema):
    object = constant("list")
    data = fields.List(fields.Nested(MemoryObject), required=True)
    has_more = fields.Boolean(required=True)


class BatchDeleteRequest(StrictSchema):
    ids = fields.List(fields.String(metadata={"pattern": MEMORY_ID_PATTERN}), required=True,
                      validate=validate.Length(min=1, max=100))


class DeleteOutcome(ma.Schema):
    id = fields.String(required=True)
    object = constant("memory.deleted")
    deleted = fields.Boolean(required=True, metadata={"description": "false: there was no such memory."})


class BatchDeleted(ma.Schema):
    object = constant("list")
    data = fields.List(fields.Nested(DeleteOutcome), required=True)
    has_more = fields.Boolean(required=True)


class DeleteAllQuery(StrictSchema):
    confirm = fields.String(required=True, validate=validate.OneOf(["true"]), metadata={
        "description": "Must be `true`: deletes every memory of the caller."})


class DeletedAll(ma.Schema):
    object = constant("memory.deleted_all")
    deleted_count = fields.Integer(required=True)


class ImportQuery(StrictSchema):
    on_conflict = fields.String(load_default="skip", validate=validate.OneOf(["skip", "overwrite"]), metadata={
        "description": "For ids that exist already: keep them (skip) or replace them (overwrite)."})


class ImportResult(ma.Schema):
    object = constant("memory.import")
    total = fields.Integer(required=True)
    created = fields.Integer(required=True)
    overwritten = fields.Integer(required=True)
    skipped = fields.Integer(required=True)
