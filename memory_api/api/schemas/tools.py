"""marshmallow schemas of search, tags, stats, history and batches (see common.py; export and import:
portability.py)."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from ...ids import MEMORY_ID_PATTERN, SPACE_ID_PATTERN
from ...models import EVENT_SOURCES
from ...validation import NON_BLANK_TEXT_PATTERN, TAG_PATTERN
from .common import (
    FilterQuery,
    MemoryFields,
    MemoryObject,
    Origin,
    PageQuery,
    ScopeAndTimeFilters,
    SpaceQuery,
    StrictInt,
    StrictSchema,
    constant,
    limit_field,
    limits,
    list_of,
    mode_field,
    mode_used_field,
    source_field,
    space_field,
)

EVENT_ID_PATTERN = r"^evt_[0-9]{1,20}-[0-9]{1,20}$"


# --- search, tags, stats, history, batch ----------------------------------------------


def min_score_field() -> fields.Float:
    return fields.Float(allow_nan=False, metadata={
        "description": "Leave out memories scoring below this (see `score`): in hybrid mode about 0.3 leaves out "
                       "what is unrelated to the query."})


class SearchQuery(FilterQuery):
    query = fields.String(required=True, metadata={"description": "What to look for: words, or a question.",
                                                   "minLength": 1, "pattern": NON_BLANK_TEXT_PATTERN,
                                                   **limits(maxLength="max_query_chars")})
    limit = limit_field()
    mode = mode_field()
    min_score = min_score_field()


class SearchRequest(ScopeAndTimeFilters):
    """The same search with a JSON body (for long queries), as OpenAI's vector-store search takes one."""

    query = fields.String(required=True, metadata={"description": "What to look for: words, or a question.",
                                                   "minLength": 1, "pattern": NON_BLANK_TEXT_PATTERN,
                                                   **limits(maxLength="max_query_chars")})
    limit = limit_field()
    mode = mode_field()
    min_score = min_score_field()
    tags = fields.List(fields.String(metadata={"pattern": TAG_PATTERN}),
                       metadata={"description": "Only memories with all of these tags."})


# MemoryObject is built at run time (Schema.from_dict), so mypy cannot take it as a base class.
class ScoredMemoryObject(MemoryObject):  # type: ignore[misc,valid-type]
    score = fields.Float(required=True, metadata={
        "description": "Relevance, higher is better, comparable across queries except in keyword mode. Hybrid: "
                       "cosine similarity of meaning (-1 to 1) plus up to MEMORY_API_HYBRID_KEYWORD_WEIGHT (5) for "
                       "holding the query's words (that weight times the share held, squared); from about 0.3, "
                       "related. Semantic: cosine similarity. Keyword: BM25."})


SearchList = ma.Schema.from_dict({**list_of("SearchListBase", ScoredMemoryObject)().fields,
                                  "mode": mode_used_field()}, name="SearchList")


class TagObject(ma.Schema):
    object = constant("memory.tag")
    tag = fields.String(required=True)
    count = fields.Integer(required=True)


TagList = list_of("TagList", TagObject, cursors=False)


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
    capture_tokens = fields.Integer(required=True, metadata={
        "description": "Provider tokens automatic capture has spent on this user's turns."})
    oldest = fields.Nested(EdgeMemory, required=True, allow_none=True)
    newest = fields.Nested(EdgeMemory, required=True, allow_none=True)


class MemoryVersion(ma.Schema):
    """memory_api/memory_object.py's HISTORY view, written out: unlike the memory object, its fields carry
    no descriptions or id pattern in openapi.yaml. tests/test_memory_object.py checks the two agree."""

    object = constant("memory.version")
    id = fields.String(required=True)
    revision = fields.Integer(required=True)
    updated_at = fields.Integer(required=True)
    content = fields.String(required=True)
    metadata = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    tags = fields.List(fields.String(), required=True)
    scope = fields.String(required=True, allow_none=True)
    source = source_field()
    reason = fields.String(required=True, allow_none=True)
    occurred_at = fields.Integer(required=True, allow_none=True)
    valid_until = fields.Integer(required=True, allow_none=True)
    expires_at = fields.Integer(required=True, allow_none=True)
    supersedes = fields.String(required=True, allow_none=True)
    author = fields.String(required=True, allow_none=True)


HistoryList = list_of("HistoryList", MemoryVersion, cursors=False)


class RevertRequest(StrictSchema):
    revision = StrictInt(required=True, metadata={
        "minimum": 1, "maximum": 2**31 - 1,
        "description": "The revision to restore, from the memory's history (GET /v1/memory/{memory_id}/history)."})


class MemoryEvent(ma.Schema):
    object = constant("memory.event")
    id = fields.String(required=True, metadata={"pattern": EVENT_ID_PATTERN})
    type = fields.String(required=True, metadata={
        "enum": ["memory.created", "memory.updated", "memory.deleted", "space.deleted"],
        "description": "`space.deleted`: a space you were an admin of was deleted, with its memories (`space` "
                       "names it, `memory_id` is null)."})
    memory_id = fields.String(required=True, allow_none=True, metadata={"pattern": MEMORY_ID_PATTERN})
    revision = fields.Integer(required=True, metadata={"description": "The memory's revision after the write "
                                                                      "(for a delete: the one deleted)."})
    source = fields.String(required=True, metadata={
        "enum": list(EVENT_SOURCES),
        "description": "Where the write came from: `api`, `mcp`, `import`, `auto` (capture), or `expiry` (the "
                       "service deleted the memory at its expires_at)."})
    actor = fields.String(required=True, allow_none=True,
                          metadata={"description": "The id of the API key that wrote (null: none, as over MCP's "
                                                   "stdio, or the service itself)."})
    author = fields.String(required=True, allow_none=True,
                           metadata={"description": "The user who wrote (null: the service itself, or an entry "
                                                    "from before authors were kept)."})
    reason = fields.String(required=True, allow_none=True)
    origin = fields.Nested(Origin, required=True, allow_none=True)
    space = fields.String(required=True, allow_none=True, metadata={
        "pattern": SPACE_ID_PATTERN, "description": "`space.deleted`: the space deleted; otherwise null."})
    created_at = fields.Integer(required=True, metadata={"description": "Unix seconds."})


EventList = list_of("MemoryEventList", MemoryEvent)


class EventListQuery(PageQuery, SpaceQuery):
    order = fields.String(
        load_default="desc",
        metadata={"description": "By time: `desc` (newest first) or `asc`.", "enum": ["desc", "asc"],
                  "default": "desc"})
    after = fields.String(metadata={"description": "Return the page after this event id.",
                                    "pattern": EVENT_ID_PATTERN})
    before = fields.String(metadata={"description": "Return the page before this event id.",
                                     "pattern": EVENT_ID_PATTERN})


class BatchCreateRequest(StrictSchema):
    memories = fields.List(fields.Nested(MemoryFields), required=True,
                           metadata={"minItems": 1, **limits(maxItems="max_batch")})
    space = space_field("Store them in this shared space (you must be its writer or admin); omit or null "
                        "for your own memories.")


BatchCreated = list_of("BatchCreated", MemoryObject, cursors=False)


class BatchDeleteRequest(StrictSchema):
    ids = fields.List(fields.String(metadata={"pattern": MEMORY_ID_PATTERN}), required=True,
                      metadata={"minItems": 1, **limits(maxItems="max_batch")})
    space = space_field("Delete them from this shared space (you must be its writer or admin); omit or "
                        "null for your own memories.")


class DeleteOutcome(ma.Schema):
    id = fields.String(required=True)
    object = constant("memory.deleted")
    deleted = fields.Boolean(required=True, metadata={"description": "false: there was no such memory."})


BatchDeleted = list_of("BatchDeleted", DeleteOutcome, cursors=False)


class DeleteAllQuery(StrictSchema):
    confirm = fields.String(required=True, validate=validate.OneOf(["true"]), metadata={
        "description": "Must be `true`: deletes every memory of the caller."})
    space = fields.String(metadata={"pattern": SPACE_ID_PATTERN, "description": (
        "Delete every memory of this shared space instead (its admins only).")})


class DeletedAll(ma.Schema):
    object = constant("memory.deleted_all")
    deleted_count = fields.Integer(required=True)
