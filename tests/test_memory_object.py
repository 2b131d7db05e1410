"""The memory object's one description (memory_api/memory_object.py) against every place that writes or
reads a memory: Memory.to_api, the REST schemas (openapi.yaml), the history rows, MCP's MemoryOut and the
Python client's types. A field gained, lost, retyped or made nullable in one of them and not in the
description fails here, naming the view and the field. No Redis, no app.
"""

from __future__ import annotations

import types
from typing import Any, Literal, Union, get_args, get_origin

import pytest
from marshmallow import fields as ma_fields
from pydantic import BaseModel

from memory_api.api.memory import history_entry
from memory_api.api.schemas import common, tools
from memory_api.client import types as client_types
from memory_api.ids import new_memory_id
from memory_api.mcp.outputs import MemoryOut, memory_out
from memory_api.memory_object import (
    API,
    FIELDS,
    HISTORY,
    INTEGER,
    KINDS,
    MCP,
    OBJECT,
    ORIGIN,
    SOURCE,
    STRING,
    STRING_LIST,
    STRING_MAP,
    VIEWS,
    fields_in,
)
from memory_api.models import SOURCES, Memory, Provenance

OBJECT_FIELD = "object"  # the REST views' constant, which is not a field of the memory
Shape = dict[str, tuple[str, bool]]  # field name -> (kind, may it be null?)


def described(view: str) -> Shape:
    return {field.name: (field.kind, field.nullable) for field in fields_in(view)}


def full_memory() -> Memory:
    """A memory with every field that may be null set."""
    by = Provenance(source="auto", reason="said so", conversation_id="conv_1", turn=3, author="alice")
    return Memory(id=new_memory_id(), content="Likes tea.", metadata={"k": "v"}, updated_at=1_700_000_000,
                  word_count=2, token_count=3, revision=4, tags=("drink",), scope="home", source=by.source,
                  origin=by.origin(), reason=by.reason, occurred_at=1_600_000_000, valid_until=1_800_000_000,
                  expires_at=1_900_000_000, supersedes=new_memory_id(), author=by.author,
                  space="space_01JD0000000000000000000000")


def bare_memory() -> Memory:
    """A memory with every field that may be null left null."""
    return Memory(id=new_memory_id(), content="Likes tea.")


# Each sample memory, and whether its nullable fields are null.
SAMPLES = pytest.mark.parametrize("memory, bare", [(full_memory(), False), (bare_memory(), True)],
                                  ids=["every field set", "nulls"])


def check_nulls(row: dict[str, Any], view: str, bare: bool) -> None:
    """A memory with every field set is written without a null; one without, with a null in every field
    that may be null (not an empty string or list in its place)."""
    nulls = [name for name, value in row.items() if value is None]
    may_be_null = [name for name, (_, nullable) in described(view).items() if nullable]
    assert nulls == (may_be_null if bare else []), view


# --- what kind a value, an annotation or a marshmallow field is ----------------------------


def kind_of_value(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return INTEGER
    if isinstance(value, str):
        return SOURCE if value in SOURCES else STRING
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return STRING_LIST
    if isinstance(value, dict) and set(value) == {"conversation_id", "turn"}:
        return ORIGIN
    if isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        return STRING_MAP
    return type(value).__name__


def row_shape(row: dict[str, Any], view: str) -> Shape:
    """The shape of a memory as written. A value's kind is read from it; whether it may be null only from
    a null (a value that is set says nothing about that), so otherwise the description's answer stands."""
    expected = described(view)
    shape = {}
    for name, value in row.items():
        if name != OBJECT_FIELD:
            kind, nullable = expected.get(name, ("(not described)", False))
            shape[name] = (kind, True) if value is None else (kind_of_value(value), nullable)
    return shape


def kind_of_annotation(annotation: Any) -> tuple[str, bool]:
    """(kind, nullable) of a pydantic field's annotation."""
    nullable = False
    if get_origin(annotation) in (Union, types.UnionType) and type(None) in get_args(annotation):
        rest = [arg for arg in get_args(annotation) if arg is not type(None)]
        annotation, nullable = (rest[0] if len(rest) == 1 else Union[tuple(rest)]), True
    origin, args = get_origin(annotation), get_args(annotation)
    if annotation is str:
        return STRING, nullable
    if annotation is int:
        return INTEGER, nullable
    if origin is dict and args == (str, str):
        return STRING_MAP, nullable
    if origin is list and args == (str,):
        return STRING_LIST, nullable
    if origin is Literal and args == SOURCES:
        return SOURCE, nullable
    if isinstance(annotation, type) and issubclass(annotation, BaseModel) and (
            {name: kind_of_annotation(f.annotation) for name, f in annotation.model_fields.items()}
            == {"conversation_id": (STRING, False), "turn": (INTEGER, True)}):
        return ORIGIN, nullable
    return repr(annotation), nullable


def kind_of_schema_field(field: ma_fields.Field) -> tuple[str, bool]:
    """(kind, nullable) of a marshmallow field of a response schema."""
    if isinstance(field, ma_fields.String):
        kind = SOURCE if field.metadata.get("enum") == list(SOURCES) else STRING
    elif isinstance(field, ma_fields.Integer):
        kind = INTEGER
    elif isinstance(field, ma_fields.Dict) and isinstance(field.key_field, ma_fields.String) \
            and isinstance(field.value_field, ma_fields.String):
        kind = STRING_MAP
    elif isinstance(field, ma_fields.List) and isinstance(field.inner, ma_fields.String):
        kind = STRING_LIST
    elif isinstance(field, ma_fields.Nested) and field.nested is common.Origin:
        kind = ORIGIN
    else:
        kind = repr(field)
    return kind, field.allow_none


def schema_shape(schema: type, view: str) -> Shape:
    declared = dict(schema._declared_fields)
    constant = declared.pop(OBJECT_FIELD)
    assert isinstance(constant, ma_fields.Constant) and constant.constant == OBJECT[view], schema
    assert all(field.required for field in declared.values()), f"{schema}: every field is always there"
    return {name: kind_of_schema_field(field) for name, field in declared.items()}


def model_shape(model: type[BaseModel], view: str, *, not_fields: tuple[str, ...] = ()) -> Shape:
    model_fields = {name: f for name, f in model.model_fields.items() if name not in not_fields}
    if view in OBJECT:
        constant = model_fields.pop(OBJECT_FIELD)
        assert constant.annotation == Literal[OBJECT[view]], model
    return {name: kind_of_annotation(f.annotation) for name, f in model_fields.items()}


# --- the description itself ------------------------------------------------------------------


def test_the_description_is_well_formed():
    names = [field.name for field in FIELDS]
    assert len(names) == len(set(names)) and OBJECT_FIELD not in names
    for field in FIELDS:
        assert field.kind in KINDS and field.views and set(field.views) <= set(VIEWS), field
    # What MCP shows and REST does not, and the reverse, on purpose: MCP names a version by its revision
    # (expected_revision) where REST sends an ETag, and leaves the origin out.
    assert set(described(MCP)) - set(described(API)) == {"revision"}
    assert set(described(API)) - set(described(MCP)) == {"origin"}


# --- the REST memory object: Memory.to_api, its schema, the client's Memory ---------------------


@SAMPLES
def test_to_api_writes_the_described_memory_object(memory, bare):
    row = memory.to_api()
    assert row[OBJECT_FIELD] == OBJECT[API]
    assert row_shape(row, API) == described(API)
    check_nulls(row, API, bare)


def test_the_rest_schema_is_the_description():
    assert schema_shape(common.MemoryObject, API) == described(API)
    for field in fields_in(API):
        assert common.MemoryObject._declared_fields[field.name].metadata.get("description") == field.description


def test_the_client_memory_reads_the_described_memory_object():
    # `etag` is the client's own: the ETag header of the response that carried the memory.
    assert model_shape(client_types.Memory, API, not_fields=("etag",)) == described(API)
    assert set(client_types.ScoredMemory.model_fields) - set(client_types.Memory.model_fields) == {"score"}


def test_the_origin_is_the_same_everywhere():
    origin = full_memory().to_api()["origin"]
    assert set(origin) == set(common.Origin._declared_fields) == set(client_types.Origin.model_fields)


# --- the history's previous versions ------------------------------------------------------------


@SAMPLES
def test_history_entries_are_the_described_versions(memory, bare):
    row = history_entry(memory)
    assert row[OBJECT_FIELD] == OBJECT[HISTORY]
    assert row_shape(row, HISTORY) == described(HISTORY)
    check_nulls(row, HISTORY, bare)


def test_the_history_schema_and_client_type_are_the_description():
    assert schema_shape(tools.MemoryVersion, HISTORY) == described(HISTORY)
    assert model_shape(client_types.MemoryVersion, HISTORY) == described(HISTORY)


# --- MCP ---------------------------------------------------------------------------------------


def test_mcp_memory_out_is_the_described_mcp_view():
    assert model_shape(MemoryOut, MCP) == described(MCP)
    assert all(f.is_required() for f in MemoryOut.model_fields.values())


@SAMPLES
def test_memory_out_gives_the_memory_s_values(memory, bare):
    out = memory_out(memory).model_dump()
    assert row_shape(out, MCP) == described(MCP)
    check_nulls(out, MCP, bare)
    assert out["revision"] == memory.revision and out["tags"] == list(memory.tags)

