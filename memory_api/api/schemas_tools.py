"""marshmallow schemas of search, tags, stats, history, batches, export and import (see schemas.py)."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from ..ids import MEMORY_ID_PATTERN
from ..memories import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from ..validation import NON_BLANK_TEXT_PATTERN
from .schemas import FilterQuery, MemoryCreateRequest, MemoryObject, StrictSchema, constant, list_of


# --- search, tags, stats, history, batch, export/import ---------------------------------


class SearchQuery(FilterQuery):
    query = fields.String(required=True, metadata={"description": "Words to look for (BM25 ranking).",
                                                   "minLength": 1, "maxLength": 1000,
                                                   "pattern": NON_BLANK_TEXT_PATTERN})
    limit = fields.Integer(load_default=DEFAULT_PAGE_SIZE, validate=validate.Range(min=1, max=MAX_PAGE_SIZE))


class ScoredMemoryObject(MemoryObject):
    score = fields.Float(required=True, metadata={"description": "BM25 relevance (higher is better)."})


SearchList = list_of("SearchList", ScoredMemoryObject)


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


HistoryList = list_of("HistoryList", MemoryVersion, cursors=False)


class BatchCreateRequest(StrictSchema):
    memories = fields.List(fields.Nested(MemoryCreateRequest), required=True,
                           validate=validate.Length(min=1, max=100))


BatchCreated = list_of("BatchCreated", MemoryObject, cursors=False)


class BatchDeleteRequest(StrictSchema):
    ids = fields.List(fields.String(metadata={"pattern": MEMORY_ID_PATTERN}), required=True,
                      validate=validate.Length(min=1, max=100))


class DeleteOutcome(ma.Schema):
    id = fields.String(required=True)
    object = constant("memory.deleted")
    deleted = fields.Boolean(required=True, metadata={"description": "false: there was no such memory."})


BatchDeleted = list_of("BatchDeleted", DeleteOutcome, cursors=False)


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
