"""The official openai SDK, unchanged, against the running app over real HTTP."""

from __future__ import annotations

import re
from typing import Dict, Optional

import openai
import pytest
from openai import BaseModel
from openai.pagination import SyncCursorPage

from helpers import REPO

README = (REPO / "README.md").read_text()


class Memory(BaseModel):
    id: str
    object: str
    content: str
    metadata: Dict[str, str]
    created_at: int
    updated_at: int
    word_count: int
    token_count: int


class MemoryDeleted(BaseModel):
    id: str
    object: str
    deleted: bool


def create(client: openai.OpenAI, content: str, metadata: Optional[dict] = None) -> Memory:
    body = {"content": content}
    if metadata is not None:
        body["metadata"] = metadata
    return client.post("/memory", cast_to=Memory, body=body)


def test_crud_through_sdk(sdk, make_key):
    client = sdk(make_key("alice"))
    mem = create(client, "I prefer window seats", {"topic": "travel"})
    assert mem.object == "memory" and mem.metadata == {"topic": "travel"}
    got = client.get(f"/memory/{mem.id}", cast_to=Memory)
    assert got.model_dump() == mem.model_dump()
    updated = client.patch(f"/memory/{mem.id}", cast_to=Memory, body={"content": "I prefer aisle seats"})
    assert updated.content == "I prefer aisle seats" and updated.id == mem.id
    posted = client.post(f"/memory/{mem.id}", cast_to=Memory, body={"metadata": {"topic": "flights"}})
    assert posted.metadata == {"topic": "flights"} and posted.content == "I prefer aisle seats"
    deleted = client.delete(f"/memory/{mem.id}", cast_to=MemoryDeleted)
    assert deleted == MemoryDeleted(id=mem.id, object="memory.deleted", deleted=True)


def test_a_duplicate_create_raises_conflict_error_naming_the_stored_memory(sdk, make_key):
    client = sdk(make_key("alice"))
    older = create(client, "My daughter is called Ada.")
    with pytest.raises(openai.ConflictError) as raised:
        create(client, "my daughter is called  Ada.")
    assert raised.value.status_code == 409 and raised.value.code == "duplicate_memory"
    assert raised.value.body["existing_id"] == older.id and older.id in raised.value.message
    assert client.get(f"/memory/{older.id}", cast_to=Memory).content == "My daughter is called Ada."


def run_example(code: str) -> None:
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    namespace["client"].close()


def test_the_readme_sdk_example_leaves_existing_memories_alone(live_server, sdk, make_key, capsys):
    """The README's SDK example, run as written on a store that has its sentence already, then on an
    empty one: the user's older memory survives; the example deletes only what it created."""
    example = re.search(r"```python\n(import openai\n.*?client\.delete.*?)```", README, re.S)
    assert example, "the README's SDK example moved"
    key = make_key("alice")
    code = example.group(1).replace("http://127.0.0.1:8000", live_server.url).replace('"sk-mem-..."', repr(key))
    client = sdk(key)
    older = create(client, "My daughter is called Ada.")
    run_example(code)
    assert f"stored already as {older.id}" in capsys.readouterr().out
    assert client.get(f"/memory/{older.id}", cast_to=Memory).content == "My daughter is called Ada."
    client.delete(f"/memory/{older.id}", cast_to=object)
    run_example(code)
    assert client.get("/memory", cast_to=dict)["data"] == []  # created, then deleted: its own memory


def test_auto_pagination_walks_every_page(sdk, make_key):
    client = sdk(make_key("alice"))
    created = [create(client, f"fact number {i}").id for i in range(47)]
    pages = client.get_api_list(
        "/memory", model=Memory, page=SyncCursorPage[Memory], options={"params": {"limit": 10}}
    )
    seen = [m.id for m in pages]
    assert seen == created[::-1]
    first = client.get_api_list("/memory", model=Memory, page=SyncCursorPage[Memory], options={"params": {"limit": 10}})
    assert len(first.data) == 10 and first.has_more is True
    asc = client.get_api_list(
        "/memory", model=Memory, page=SyncCursorPage[Memory], options={"params": {"limit": 7, "order": "asc"}}
    )
    assert [m.id for m in asc] == created


def test_not_found_error_class(sdk, make_key):
    client = sdk(make_key("alice"))
    with pytest.raises(openai.NotFoundError) as info:
        client.get("/memory/mem_01JD0000000000000000000000", cast_to=Memory)
    err = info.value
    assert err.status_code == 404
    assert err.type == "not_found_error"
    assert err.code == "memory_not_found"
    assert err.param == "memory_id"
    assert err.request_id


def test_authentication_error_class(sdk):
    client = sdk("sk-mem-not-a-real-key")
    with pytest.raises(openai.AuthenticationError) as info:
        client.get("/memory", cast_to=object)
    assert info.value.type == "authentication_error"
    assert info.value.code == "invalid_api_key"


def test_bad_request_error_class_names_param(sdk, make_key):
    client = sdk(make_key("alice"))
    with pytest.raises(openai.BadRequestError) as info:
        client.post("/memory", cast_to=Memory, body={"content": "x" * 4001})
    assert info.value.type == "invalid_request_error"
    assert info.value.param == "content"
    assert info.value.code == "string_above_max_length"
    with pytest.raises(openai.BadRequestError) as info:
        client.get("/memory", cast_to=object, options={"params": {"limit": 101}})
    assert info.value.param == "limit"
    with pytest.raises(openai.BadRequestError) as info:
        client.post("/memory", cast_to=Memory, body={"content": "ok", "colour": "red"})
    assert info.value.param == "colour"
    assert info.value.code == "unknown_parameter"


def test_permission_error_class(sdk, make_key):
    client = sdk(make_key("alice"), default_headers={"X-Memory-User": "bob"})
    with pytest.raises(openai.PermissionDeniedError) as info:
        client.get("/memory", cast_to=object)
    assert info.value.type == "permission_error"
