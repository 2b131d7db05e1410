"""marshmallow schemas of export and import (/v1/memory/export, /v1/memory/import).

An export is JSON Lines by default: documented as a string, it is the format line, then one memory per
line. With `format=json` it is one JSON object instead, documented here field by field
(MemoryExportSchema), so that clients generated from openapi.yaml, which read only JSON, get it typed
and can send it back (MemoryImportRequest). The import checks every memory itself
(services/portability.py), the same way for both formats: these schemas document, they do not parse.
"""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from ...ids import SPACE_ID_PATTERN
from ...memory_object import field_named
from ...services.portability import FORMAT, VERSION
from ...validation import MAX_REVISION
from .common import SpaceQuery, constant, memory_schema_field

EXPORT_FORMATS = ("jsonl", "json")


class ExportQuery(SpaceQuery):
    export_format = fields.String(data_key="format", load_default="jsonl", validate=validate.OneOf(EXPORT_FORMATS),
                                  metadata={"description": (
                                      "`jsonl` (the default): JSON Lines, a format line, then one memory per line, "
                                      "streamed. `json`: one JSON object (MemoryExport) with the same lines in "
                                      "`data`, for clients that read only JSON; it is streamed too, but a client "
                                      "holds it whole, so it suits moderate sizes.")})


class ImportQuery(SpaceQuery):
    on_conflict = fields.String(load_default="skip", validate=validate.OneOf(["skip", "overwrite"]), metadata={
        "description": "For ids that exist already: keep them (skip) or replace them (overwrite)."})


class ImportResult(ma.Schema):
    object = constant("memory.import")
    total = fields.Integer(required=True)
    created = fields.Integer(required=True)
    overwritten = fields.Integer(required=True)
    skipped = fields.Integer(required=True)


def exported(name: str, *, required: bool = False) -> fields.Field:
    """A field of an exported memory, as the memory object describes it (memory_object.py); `required`: an
    import needs it (an export writes every field that is not null)."""
    field = memory_schema_field(field_named(name))
    field.required = required
    return field


class ReadPastUnknown(ma.Schema):
    """An object whose unknown fields an import reads past (so openapi.yaml does not forbid them)."""

    class Meta:
        unknown = ma.EXCLUDE


class ExportedVersion(ReadPastUnknown):
    """A version of a memory as an export writes it and an import reads it: a memory's own fields, or one
    of its `history`. An export leaves out fields that are null."""

    content = exported("content", required=True)
    updated_at = exported("updated_at", required=True)
    revision = fields.Integer(metadata={"minimum": 1, "maximum": MAX_REVISION,
                                        "description": "The version's number; 1 if absent."})
    metadata = exported("metadata")
    tags = exported("tags")
    scope = exported("scope")
    origin = exported("origin")
    occurred_at = exported("occurred_at")
    valid_until = exported("valid_until")
    expires_at = exported("expires_at")
    supersedes = exported("supersedes")


class ExportedMemory(ExportedVersion):
    """One memory of an export: its current version's fields, its id, and its history."""

    id = exported("id", required=True)
    created_at = exported("created_at")
    history = fields.List(fields.Nested(ExportedVersion), metadata={
        "description": "Its previous versions, newest first (an import keeps them)."})


def _header_fields(required: bool) -> dict[str, fields.Field]:
    """The fields of an export's format line; an import checks `object`, `format` and `version` if given, and
    reads past the rest."""
    return {
        "object": fields.String(required=required, metadata={"enum": ["memory.export"]}),
        "format": fields.String(required=required, metadata={"enum": [FORMAT]}),
        "version": fields.Integer(required=required, metadata={"enum": [VERSION]}),
        "user": fields.String(metadata={"description": "Whose memories they are (a user's export)."}),
        "space": fields.String(metadata={"pattern": SPACE_ID_PATTERN,
                                         "description": "The shared space they are of (a space's export)."}),
        "exported_at": fields.Integer(required=required, metadata={"description": "Unix seconds."}),
    }


# MemoryExport in openapi.yaml (apispec drops the Schema suffix); the name MemoryExport is the view's.
MemoryExportSchema = ma.Schema.from_dict({
    **_header_fields(required=True),
    "data": fields.List(fields.Nested(ExportedMemory), required=True, metadata={
        "description": "Every memory, oldest first: the lines of the JSON Lines export."}),
}, name="MemoryExportSchema")

MemoryImportRequest = ReadPastUnknown.from_dict({
    **_header_fields(required=False),
    "data": fields.List(fields.Nested(ExportedMemory), required=True, metadata={
        "description": "The memories to import (an export's `data`): each is checked as a line of a JSON Lines "
                       "import is, and a bad one is a 400 naming it (`data[3].content`), with nothing written."}),
}, name="MemoryImportRequest")
