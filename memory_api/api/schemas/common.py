"""marshmallow schemas of the memory endpoints, and what every schema module shares.

Requests are checked here for shape and types only; the domain rules (lengths,
counts, page sizes, id formats) are enforced by the services (InputRules in
memory_api/validation.py), so REST, MCP and the CLI answer the same mistake with
the same code. A field bounded by a setting names it (`limits(maxLength=
"max_content_chars")`), and `settings_attribute` writes the app's value into
openapi.yaml: the spec always says what the running service enforces.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import marshmallow as ma
from apispec import BasePlugin
from marshmallow import fields

from ...ids import MEMORY_ID_PATTERN, SPACE_ID_PATTERN
from ...memory_object import (
    API,
    INTEGER,
    OBJECT,
    ORIGIN,
    SOURCE,
    STRING,
    STRING_LIST,
    STRING_MAP,
    MemoryField,
    field_named,
    fields_in,
)
from ...models import SOURCES
from ...validation import (
    GLOBAL_SCOPE,
    MAX_UNIX_TIME,
    NON_BLANK_TEXT_PATTERN,
    ORDERS,
    SCOPE_PATTERN,
    TAG_PATTERN,
    TEXT_PATTERN,
)

_LIMITS = "settings_limits"
_DESCRIPTION = "settings_description"


def limits(description: str | None = None, **properties: str) -> dict:
    """Field metadata: JSON Schema keywords whose values are settings (maxLength="max_content_chars"),
    and a description template that may name settings ("at most {max_tags} tags")."""
    meta: dict = {_LIMITS: properties}
    if description:
        meta[_DESCRIPTION] = description
    return meta


def settings_attribute(settings):
    """apispec attribute function: the limits and descriptions of `limits()` fields, from `settings`."""
    values = dataclasses.asdict(settings)

    def attribute(converter, field, **kwargs) -> dict:
        out = {keyword: values[name] for keyword, name in field.metadata.get(_LIMITS, {}).items()}
        if _DESCRIPTION in field.metadata:
            out["description"] = field.metadata[_DESCRIPTION].format(**values)
        return out

    return attribute


class SchemaExtrasPlugin(BasePlugin):
    """Adds a schema's `Meta.json_schema_extra` (keywords marshmallow cannot say) to its component."""

    def schema_helper(self, name, definition, **kwargs):
        schema = kwargs.get("schema")
        schema_class = schema if isinstance(schema, type) else type(schema)
        return dict(getattr(getattr(schema_class, "Meta", None), "json_schema_extra", None) or {})


def property_names_attribute(converter, field, **kwargs) -> dict:
    """apispec attribute function: JSON Schema's propertyNames of a Dict, from its key field."""
    key_field = getattr(field, "key_field", None)
    if isinstance(key_field, MetadataKeys):
        return {"propertyNames": converter.field2property(key_field)}
    return {}


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


class MetadataKeys(fields.String):
    """A metadata key: documented as JSON Schema's propertyNames of the object (property_names_attribute)."""


def metadata_field(**kwargs) -> fields.Dict:
    return fields.Dict(
        keys=MetadataKeys(metadata={"minLength": 1, "pattern": NON_BLANK_TEXT_PATTERN,
                                    **limits(maxLength="metadata_max_key_chars")}),
        values=fields.String(metadata={"pattern": TEXT_PATTERN, **limits(maxLength="metadata_max_value_chars")}),
        allow_none=True,
        metadata=limits(
            "Up to {metadata_max_keys} key-value pairs; keys up to {metadata_max_key_chars} characters, "
            "values strings up to {metadata_max_value_chars} characters.",
            maxProperties="metadata_max_keys"),
        **kwargs,
    )


def content_field(**kwargs) -> fields.String:
    return fields.String(
        metadata={
            "description": "The text to remember (no control characters but tab and newlines). "
                           "Leading and trailing whitespace is trimmed.",
            "minLength": 1,
            "pattern": NON_BLANK_TEXT_PATTERN,
            **limits(maxLength="max_content_chars"),
        },
        **kwargs,
    )


def tags_field(**kwargs) -> fields.List:
    return fields.List(
        fields.String(metadata={"pattern": TAG_PATTERN}),
        allow_none=True,
        metadata=limits("Up to {max_tags} short labels (letters, digits, _ . : / + -), compared "
                        "case-insensitively: stored case-folded, and refused if the folded form is not "
                        "1-64 such characters ('ß' folds to 'ss', 'İ' to 'i' and a combining dot).",
                        maxItems="max_tags"),
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


def time_field(name: str) -> fields.Integer:
    """A memory's time, as a write takes it (the description the memory object gives it)."""
    return StrictInt(allow_none=True, metadata={"minimum": 0, "maximum": MAX_UNIX_TIME,
                                                "description": field_named(name).description})


def space_field(description: str) -> fields.String:
    return fields.String(allow_none=True, metadata={"pattern": SPACE_ID_PATTERN, "description": description})


class MemoryFields(StrictSchema):
    """A new memory's fields (one item of a batch)."""

    content = content_field(required=True)
    metadata = metadata_field()
    tags = tags_field()
    scope = scope_field()
    occurred_at = time_field("occurred_at")
    valid_until = time_field("valid_until")
    expires_at = time_field("expires_at")


class MemoryCreateRequest(MemoryFields):
    space = space_field("Store it in this shared space (you must be its writer or admin); omit or null for "
                        "your own memories.")


class SpaceQuery(StrictSchema):
    space = fields.String(metadata={"pattern": SPACE_ID_PATTERN, "description": (
        "Those of this shared space (you must be a member) instead of your own.")})


class MemoryUpdateRequest(StrictSchema):
    class Meta(StrictSchema.Meta):
        json_schema_extra: ClassVar[dict] = {"minProperties": 1}  # something to change

    content = content_field()
    metadata = metadata_field()
    tags = tags_field()
    scope = scope_field()
    occurred_at = time_field("occurred_at")
    valid_until = time_field("valid_until")
    expires_at = time_field("expires_at")


class MemoryTimeFilters(StrictSchema):
    """The filters on a memory's own times, shared by list, search, context and chat's `memory` options."""

    occurred_after = fields.Integer(metadata={"minimum": 0, "description": "Happened at or after (Unix s): "
                                              "only memories with an `occurred_at`."})
    occurred_before = fields.Integer(metadata={"minimum": 0, "description": "Happened at or before (Unix s)."})
    as_of = fields.Integer(metadata={"minimum": 0, "description": (
        "What held at this time (Unix s): memories that had happened by then (or have no `occurred_at`) and "
        "did not stop holding before it (no `valid_until`, or one after it).")})
    # true / false as JSON, or spelled so in a query string (nothing else: not "yes", not 1)
    include_invalid = fields.Boolean(truthy={True, "true"}, falsy={False, "false"}, metadata={"description": (
        "Include memories past their `valid_until` (they no longer hold). Default: true when listing, false "
        "when searching or building a block to inject.")})


class ScopeAndTimeFilters(MemoryTimeFilters):
    """The filters besides tags, shared by the query string of list and search and search's JSON body."""

    scope = fields.String(metadata={
        "description": f"Only memories of this scope ('{GLOBAL_SCOPE}': only those without one).",
        "pattern": SCOPE_PATTERN})
    space = fields.String(metadata={"pattern": SPACE_ID_PATTERN, "description": (
        "The memories of this shared space (you must be a member) instead of your own.")})
    created_after = fields.Integer(metadata={"minimum": 0, "description": "Created at or after (Unix s)."})
    created_before = fields.Integer(metadata={"minimum": 0, "description": "Created at or before (Unix s)."})
    updated_after = fields.Integer(metadata={"minimum": 0, "description": "Updated at or after (Unix s)."})
    updated_before = fields.Integer(metadata={"minimum": 0, "description": "Updated at or before (Unix s)."})
    source = fields.String(metadata={
        "enum": list(SOURCES),
        "description": "Only memories whose latest version came from this source: `api` (the REST API or "
                       "the CLI), `mcp`, `import` or `auto` (captured from a conversation)."})


class FilterQuery(ScopeAndTimeFilters):
    """Filters shared by list and search: all must match."""

    tag = fields.List(fields.String(metadata={"pattern": TAG_PATTERN}),
                      metadata={"description": "Only memories with this tag (repeat: with all of them)."})


def limit_field() -> fields.Integer:
    """A page size: bounded by settings and checked by the services (InputRules.limit)."""
    return fields.Integer(metadata={"minimum": 1, **limits("Page size, 1 to {max_page_size} (default "
                                                           "{default_page_size}).", maximum="max_page_size",
                                                           default="default_page_size")})


class PageQuery(StrictSchema):
    limit = limit_field()
    order = fields.String(
        load_default="desc",
        metadata={"description": "By creation time: `desc` (newest first) or `asc`.", "enum": list(ORDERS),
                  "default": "desc"},
    )


class MemoryListQuery(FilterQuery, PageQuery):
    after = fields.String(
        metadata={"description": "Return the page after this memory id.", "pattern": MEMORY_ID_PATTERN}
    )
    before = fields.String(
        metadata={"description": "Return the page before this memory id. With `after`: what lies between them "
                                 "in list order (400 invalid_cursor_range if nothing can).",
                  "pattern": MEMORY_ID_PATTERN}
    )


# --- responses ------------------------------------------------------------------


def source_field() -> fields.String:
    return fields.String(required=True, metadata={"enum": list(SOURCES),
                                                  "description": field_named("source").description})


class Origin(ma.Schema):
    conversation_id = fields.String(required=True)
    turn = fields.Integer(required=True, allow_none=True)


def memory_schema_field(field: MemoryField) -> fields.Field:
    """The marshmallow field of one field of the memory object, as memory_api/memory_object.py describes it."""
    metadata = {name: value for name, value in (("description", field.description), ("pattern", field.pattern))
                if value is not None}
    options: dict[str, Any] = {"required": True, "allow_none": field.nullable, "metadata": metadata}
    if field.kind == STRING:
        return fields.String(**options)
    if field.kind == INTEGER:
        return fields.Integer(**options)
    if field.kind == STRING_MAP:
        return fields.Dict(keys=fields.String(), values=fields.String(), **options)
    if field.kind == STRING_LIST:
        return fields.List(fields.String(), **options)
    if field.kind == SOURCE:
        return fields.String(**{**options, "metadata": {"enum": list(SOURCES), **metadata}})
    if field.kind == ORIGIN:
        return fields.Nested(Origin, **options)
    raise ValueError(f"a memory field of unknown kind: {field.kind!r}")


# The REST API's memory object, built from the one description of its fields (memory_api/memory_object.py).
MemoryObject = ma.Schema.from_dict(
    {"object": constant(OBJECT[API]), **{field.name: memory_schema_field(field) for field in fields_in(API)}},
    name="MemoryObject")


def list_of(name: str, item: type[ma.Schema], *, cursors: bool = True) -> type[ma.Schema]:
    """An OpenAI list object of `item`s; with `cursors`, the first_id / last_id of a page."""
    schema_fields: dict[str, fields.Field] = {
        "object": constant("list"),
        "data": fields.List(fields.Nested(item), required=True),
        "has_more": fields.Boolean(required=True),
    }
    if cursors:
        schema_fields["first_id"] = fields.String(required=True, allow_none=True)
        schema_fields["last_id"] = fields.String(required=True, allow_none=True)
    return ma.Schema.from_dict(schema_fields, name=name)


MemoryList = list_of("MemoryList", MemoryObject)


class MemoryDeleted(ma.Schema):
    id = fields.String(required=True)
    object = constant("memory.deleted")
    deleted = fields.Boolean(required=True)


def mode_field(**kwargs) -> fields.String:
    """A search mode; checked by the services (400 invalid_mode, or semantic_search_unavailable)."""
    return fields.String(metadata={
        "enum": ["hybrid", "semantic", "keyword"],
        "description": "How memories are ranked: hybrid (keyword and meaning fused), semantic (meaning) or "
                       "keyword (BM25). Default: the server's MEMORY_API_SEARCH_MODE, or keyword where "
                       "semantic recall is unavailable (see /healthz)."}, **kwargs)


def mode_used_field() -> fields.String:
    return fields.String(required=True, metadata={"enum": ["hybrid", "semantic", "keyword"],
                                                  "description": "The mode the ranking ran in."})


class Capabilities(ma.Schema):
    redis_version = fields.String(required=True)
    vector_sets = fields.Boolean(required=True, metadata={"description": "The Redis has vector sets (>= 8)."})
    semantic_search = fields.Boolean(required=True, metadata={
        "description": "Semantic and hybrid recall are available (vector sets and an embedding model)."})
    semantic_unavailable_reason = fields.String(required=True, allow_none=True)
    embedding_model = fields.String(required=True, allow_none=True)
    default_search_mode = fields.String(required=True, metadata={"enum": ["hybrid", "semantic", "keyword"]})


class Health(ma.Schema):
    status = fields.String(required=True, metadata={"enum": ["ok", "unavailable"]})
    redis = fields.String(required=True, metadata={"enum": ["ok", "unavailable"]})
    capabilities = fields.Nested(Capabilities, required=True)


class ErrorDetail(ma.Schema):
    message = fields.String(required=True)
    type = fields.String(required=True)
    param = fields.String(required=True, allow_none=True)
    code = fields.String(required=True, allow_none=True)
    existing_id = fields.String(metadata={
        "description": "With code `duplicate_memory`: the id of the stored memory the new one equals."})


class ErrorEnvelope(ma.Schema):
    error = fields.Nested(ErrorDetail, required=True)
