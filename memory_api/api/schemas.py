"""marshmallow schemas: request parsing, and the documented shape of every response.

Requests are checked for shape and types here; the domain rules (lengths,
metadata limits, id formats) are enforced by the services (memory_api/validation.py)
so that REST and MCP apply them identically. The limits are repeated below only
as documentation for openapi.yaml, from the same constants.
"""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from ..ids import MEMORY_ID_PATTERN
from ..memories import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, ORDERS
from ..validation import METADATA_MAX_KEY_CHARS, METADATA_MAX_KEYS, METADATA_MAX_VALUE_CHARS

DEFAULT_MAX_CONTENT_CHARS = 4000


def constant(value: str) -> fields.Constant:
    """A field that is always `value` (the `object` discriminator of OpenAI objects)."""
    return fields.Constant(value, required=True, metadata={"type": "string", "enum": [value]})


class StrictSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE


def metadata_field(**kwargs) -> fields.Dict:
    return fields.Dict(
        keys=fields.String(),
        values=fields.String(metadata={"maxLength": METADATA_MAX_VALUE_CHARS}),
        allow_none=True,
        metadata={
            "description": (
                f"Up to {METADATA_MAX_KEYS} key-value pairs; keys up to {METADATA_MAX_KEY_CHARS} "
                f"characters, values strings up to {METADATA_MAX_VALUE_CHARS} characters."
            ),
            "maxProperties": METADATA_MAX_KEYS,
        },
        **kwargs,
    )


def content_field(**kwargs) -> fields.String:
    return fields.String(
        metadata={
            "description": "The text to remember. Leading and trailing whitespace is trimmed.",
            "minLength": 1,
            "maxLength": DEFAULT_MAX_CONTENT_CHARS,
        },
        **kwargs,
    )


# --- requests -------------------------------------------------------------------


class MemoryCreateRequest(StrictSchema):
    content = content_field(required=True)
    metadata = metadata_field()


class MemoryUpdateRequest(StrictSchema):
    content = content_field()
    metadata = metadata_field()


class MemoryListQuery(StrictSchema):
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
