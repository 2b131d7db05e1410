"""memory_api.client: every documented method, sync and async, against the real server over HTTP.

The model provider is the local fake (tests/fake_llm.py), so chat on the same client object is real too.
"""

from __future__ import annotations

import asyncio
import inspect
import json

import openai
import pytest

from helpers import readme_client_example, with_provider
from memory_api.client import (
    AsyncMemoryAPI, Memory, MemoryAPI, MemoryContext, MemoryEvent, MemoryOptions, MemoryReport, PreconditionFailedError,
    memory_report,
)


@pytest.fixture
def settings(settings, fake_llm):
    return with_provider(settings, fake_llm, upstream_timeout=5)


@pytest.fixture
def connect(live_server, make_key):
    """connect(user) -> a MemoryAPI for that user's new key, closed after the test."""
    clients = []

    def make(user: str = "alice", **kwargs) -> MemoryAPI:
        client = MemoryAPI(base_url=f"{live_server.url}/v1", api_key=make_key(user), max_retries=0, **kwargs)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def test_the_readme_example_runs_as_written(live_server, make_key, capsys):
    # As the README writes it for the light package (tests/test_light_client.py runs it so); here under the
    # name the server's package gives the same code.
    code = readme_client_example(live_server.url, make_key("alice"))
    code = code.replace("from memory_api_client import", "from memory_api.client import", 1)
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    client = namespace["client"]
    try:
        printed = capsys.readouterr().out
        assert "I am vegan and allergic to peanuts. api" in printed
        assert list(client.memory.list()) == []  # it deleted what it created
    finally:
        client.close()


def test_create_retrieve_update_with_if_match_delete(connect):
    client = connect()
    memory = client.memory.create(content="I like tea.", metadata={"from": "test"}, tags=["Drinks"], scope="home")
    assert isinstance(memory, Memory)
    assert (memory.content, memory.metadata, memory.tags, memory.scope) == ("I like tea.", {"from": "test"},
                                                                             ["drinks"], "home")
    assert (memory.source, memory.origin, memory.reason) == ("api", None, None)
    assert memory.etag and memory.object == "memory"
    got = client.memory.retrieve(memory.id)
    assert got.etag == memory.etag and got.content == memory.content
    updated = client.memory.update(memory_id=memory.id, content="I like green tea.", tags=None, if_match=memory.etag)
    assert (updated.content, updated.tags, updated.scope) == ("I like green tea.", [], "home")
    assert updated.etag != memory.etag
    with pytest.raises(PreconditionFailedError) as stale:
        client.memory.update(memory_id=memory.id, content="I like coffee.", if_match=memory.etag)
    assert stale.value.status_code == 412 and stale.value.code == "precondition_failed"
    assert isinstance(stale.value, openai.APIStatusError)
    unscoped = client.memory.update(memory.id, scope=None)
    assert unscoped.scope is None and unscoped.content == "I like green tea."
    deleted = client.memory.delete(memory_id=memory.id)
    assert (deleted.id, deleted.object, deleted.deleted) == (memory.id, "memory.deleted", True)
    with pytest.raises(openai.NotFoundError) as missing:
        client.memory.retrieve(memory.id)
    assert missing.value.code == "memory_not_found" and missing.value.param == "memory_id"
    assert missing.value.type == "not_found_error"


def test_errors_are_the_sdks_classes_with_our_codes(connect):
    client = connect()
    first = client.memory.create(content="My daughter is called Ada.")
    with pytest.raises(openai.ConflictError) as duplicate:
        client.memory.create(content="my daughter is called  Ada.")
    assert duplicate.value.code == "duplicate_memory" and duplicate.value.body["existing_id"] == first.id
    with pytest.raises(openai.BadRequestError) as bad:
        client.memory.create(content=" ")
    assert bad.value.param == "content"
    with pytest.raises(openai.BadRequestError) as bad_limit:
        client.memory.list(limit=1000)
    assert bad_limit.value.param == "limit"
    with pytest.raises(ValueError, match="memory_id"):
        client.memory.retrieve("")
    wrong = MemoryAPI(base_url=str(client.base_url), api_key="sk-mem-wrong", max_retries=0)
    with wrong, pytest.raises(openai.AuthenticationError) as unauthorized:
        wrong.memory.list()
    assert unauthorized.value.code == "invalid_api_key"


def test_list_pages_automatically_and_filters(connect):
    client = connect()
    ids = [client.memory.create(content=f"fact number {i}", tags=["even"] if i % 2 == 0 else ["odd"],
                                scope="work" if i < 5 else None).id for i in range(25)]
    first = client.memory.list(limit=10)
    assert len(first.data) == 10 and first.has_more is True
    assert [m.id for m in client.memory.list(limit=10)] == ids[::-1]  # past one page, newest first
    assert [m.id for m in client.memory.list(limit=7, order="asc")] == ids
    assert [m.id for m in client.memory.list(after=ids[20], order="asc")] == ids[21:]
    assert [m.id for m in client.memory.list(after=ids[20], before=ids[10])] == ids[11:20][::-1]
    assert [m.id for m in client.memory.list(tag="even", limit=5)] == ids[::-2]
    assert list(client.memory.list(tag=["even", "odd"])) == []  # every tag must match: repeated `tag=`
    assert [m.id for m in client.memory.list(scope="work")] == ids[:5][::-1]
    assert len(list(client.memory.list(scope="global", source="api"))) == 20
    assert list(client.memory.list(source="auto")) == []


def test_search_and_context(connect):
    client = connect()
    tea = client.memory.create(content="I drink green tea every morning.", tags=["habit"])
    client.memory.create(content="My car is blue.", scope="garage")
    found = client.memory.search(query="tea", mode="keyword", limit=5)
    assert [m.id for m in found.data] == [tea.id] and found.data[0].score > 0 and found.mode == "keyword"
    assert client.memory.search(query="tea", tag="other", mode="keyword").data == []
    context = client.memory.context(query="What colour is my car?", scope="garage", mode="keyword", max_words=50)
    assert isinstance(context, MemoryContext) and context.mode == "keyword"
    assert "My car is blue." in context.text and len(context.memory_ids) == 1  # (the tea is not about cars)
    assert context.word_count <= 50 and context.token_count > 0


def test_export_import_history_revert_and_events(connect):
    client = connect()
    memory = client.memory.create(content="Version one.")
    client.memory.update(memory.id, content="Version two.")
    history = client.memory.history(memory.id)
    assert [v.content for v in history.data] == ["Version one."] and history.data[0].revision == 1
    reverted = client.memory.revert(memory_id=memory.id, revision=1)
    assert reverted.content == "Version one." and reverted.reason == "reverted to revision 1" and reverted.etag

    exported = client.memory.export()
    lines = [json.loads(line) for line in exported.splitlines()]
    assert lines[0]["format"] == "memory-api.memories" and lines[1]["id"] == memory.id

    bob = connect("bob")
    result = bob.memory.import_(exported)
    assert (result.created, result.skipped, result.total) == (1, 0, 1)
    assert bob.memory.import_(exported.encode(), on_conflict="skip").skipped == 1
    assert [m.content for m in bob.memory.list()] == ["Version one."]

    events = client.memory.events.list(limit=1)
    assert len(events.data) == 1 and events.has_more
    walked = list(client.memory.events.list(limit=1))
    assert all(isinstance(e, MemoryEvent) for e in walked)
    assert [e.type for e in walked] == ["memory.updated", "memory.updated", "memory.created"]
    assert {e.memory_id for e in walked} == {memory.id}

    assert client.memory.delete(memory.id).deleted
    restored = client.memory.restore(memory.id)
    assert (restored.id, restored.content, restored.reason) == (memory.id, "Version one.", "restored after deletion")
    assert restored.etag and client.memory.retrieve(memory.id).etag == restored.etag


def test_idempotency_key_makes_a_retried_create_happen_once(connect):
    client = connect()
    first = client.memory.create(content="Only once.", idempotency_key="create-only-once")
    again = client.memory.create(content="Only once.", idempotency_key="create-only-once")
    assert again.id == first.id
    assert [m.id for m in client.memory.list()] == [first.id]


def test_a_service_key_acts_for_the_user_it_names(live_server, make_key):
    with MemoryAPI(base_url=f"{live_server.url}/v1", api_key=make_key(service="backend"), user="dana") as client:
        memory = client.memory.create(content="Dana's memory.")
    with MemoryAPI(base_url=f"{live_server.url}/v1", api_key=make_key("dana")) as dana:
        assert [m.id for m in dana.memory.list()] == [memory.id]


def test_the_key_and_url_come_from_the_environment(monkeypatch, live_server, make_key):
    monkeypatch.setenv("MEMORY_API_URL", live_server.url)
    monkeypatch.setenv("MEMORY_API_KEY", make_key("alice"))
    with MemoryAPI() as client:
        assert str(client.base_url) == f"{live_server.url}/v1/"
        assert client.memory.list().data == []
    monkeypatch.delenv("MEMORY_API_KEY")
    with pytest.raises(openai.OpenAIError, match="MEMORY_API_KEY"):
        MemoryAPI()


def test_chat_on_the_same_client_with_typed_memory_options(connect, fake_llm):
    client = connect()
    memory = client.memory.create(content="I live in Lyon.")
    options: MemoryOptions = {"max_words": 50, "mode": "keyword"}
    reply = client.chat.completions.create(model="gpt-4o-mini", extra_body={"memory": options},
                                           messages=[{"role": "user", "content": "Where do I live?"}])
    assert reply.choices[0].message.content == "echo: Where do I live?"
    report = memory_report(reply)
    assert isinstance(report, MemoryReport)
    assert report.injected_ids == [memory.id] and report.mode == "keyword" and report.word_count == 4
    stream = client.chat.completions.create(model="gpt-4o-mini", stream=True,
                                            messages=[{"role": "user", "content": "Where should I live?"}])
    with stream:
        assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == "echo: Where should I live?"
        streamed = memory_report(stream.response.headers)
    assert streamed.injected_ids == [memory.id] and streamed.mode is None
    unused = client.chat.completions.create(model="gpt-4o-mini", extra_body={"memory": {"inject": False}},
                                            messages=[{"role": "user", "content": "Hi"}])
    assert memory_report(unused).injected_ids == []
    assert memory_report(object()) is None


def test_the_async_client_does_the_same(live_server, make_key):
    key = make_key("alice")

    async def scenario() -> None:
        async with AsyncMemoryAPI(base_url=f"{live_server.url}/v1", api_key=key, max_retries=0) as client:
            created = [await client.memory.create(content=f"async fact {i}", tags=["t"]) for i in range(12)]
            assert [m.id async for m in client.memory.list(limit=5)] == [m.id for m in created][::-1]
            page = await client.memory.list(limit=5, order="asc", tag="t", scope="global", source="api")
            assert len(page.data) == 5 and page.has_more
            first = await client.memory.retrieve(created[0].id)
            updated = await client.memory.update(memory_id=first.id, content="async fact zero", if_match=first.etag)
            assert updated.content == "async fact zero" and updated.etag != first.etag
            with pytest.raises(PreconditionFailedError):
                await client.memory.update(memory_id=first.id, content="lost", if_match=first.etag)
            history = await client.memory.history(first.id)
            assert history.data[0].content == "async fact 0"
            reverted = await client.memory.revert(memory_id=first.id, revision=1)
            assert reverted.content == "async fact 0"
            found = await client.memory.search(query="zero async", mode="keyword")
            assert found.mode == "keyword"
            context = await client.memory.context(query="fact", max_words=10)
            assert context.word_count <= 10
            exported = await client.memory.export()
            assert len(exported.splitlines()) == 13
            assert (await client.memory.import_(exported)).skipped == 12
            events = [e async for e in client.memory.events.list(limit=4)]
            assert len(events) == 14 and events[0].type == "memory.updated"
            assert (await client.memory.delete(memory_id=first.id)).deleted is True
            with pytest.raises(openai.NotFoundError) as missing:
                await client.memory.retrieve(first.id)
            assert missing.value.code == "memory_not_found"
            restored = await client.memory.restore(first.id)
            assert (restored.id, restored.content) == (first.id, "async fact 0") and restored.etag

    asyncio.run(scenario())


def test_stats_tags_and_capture(connect, fake_llm, services):
    client = connect()
    mine = client.memory.create(content="I eat meat", tags=["food"])
    assert client.memory.stats().count == 1
    assert [(t.tag, t.count) for t in client.memory.tags().data] == [("food", 1)]
    fake_llm.extractions.append({"operations": [{"action": "update", "memory_id": mine.id, "content": "Is vegetarian.",
                                                 "reason": "stopped eating meat"}]})
    extraction = client.memory.extract(messages=[{"role": "user", "content": "I don't eat meat any more."}],
                                       apply=True)
    [result] = extraction.results
    assert result.status == "suggested" and result.suggestion_id
    [suggestion] = client.memory.suggestions().data
    assert client.memory.accept_suggestion(suggestion.id).content == "Is vegetarian."
    assert client.memory.set_preferences(capture=True).capture is True
    completion = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "I run daily."}])
    job = memory_report(completion).capture_job
    fake_llm.extractions.append({"operations": [{"action": "add", "memory_id": None, "content": "Runs daily.",
                                                 "reason": "said so"}]})
    services.capture_jobs.work("w", block_ms=10)
    done = client.memory.capture_job(job)
    assert done.state == "done" and done.results[0].memory.source == "auto"
    with pytest.raises(openai.NotFoundError):
        client.memory.capture_job("cap_01JDQ3R8X0V2W9Y7Z6A5B4C3D2")
    assert client.memory.set_preferences(capture=None).capture is None


def test_the_async_client_reads_stats_and_extracts(live_server, make_key, fake_llm):
    key = make_key("alice")
    fake_llm.extractions.append({"operations": [{"action": "add", "memory_id": None, "content": "Likes tea.",
                                                 "reason": "said so"}]})

    async def scenario() -> None:
        async with AsyncMemoryAPI(base_url=f"{live_server.url}/v1", api_key=key, max_retries=0) as client:
            extraction = await client.memory.extract(messages=[{"role": "user", "content": "I like tea."}],
                                                     apply=True)
            assert extraction.results[0].memory.content == "Likes tea."
            assert (await client.memory.stats()).count == 1
            assert (await client.memory.preferences()).capture is None
            assert (await client.memory.suggestions()).data == []

    asyncio.run(scenario())


# --- the sync and async resources are twins ----------------------------------------------------

# A value for each parameter of client.memory's methods: what matters is that both flavours pass it on.
SAMPLE_ARGUMENTS = {
    "memory_id": "mem_1", "content": "c", "metadata": {"k": "v"}, "tags": ["a"], "scope": "s", "query": "q",
    "idempotency_key": "i", "if_match": '"1.1"', "mode": "keyword", "limit": 3, "tag": ["a", "b"], "source": "api",
    "created_after": 1, "created_before": 2, "updated_after": 3, "updated_before": 4, "order": "asc",
    "after": "mem_a", "before": "mem_b", "max_words": 5, "max_tokens": 6, "model": "m", "data": "line\n",
    "on_conflict": "overwrite", "revision": 2, "messages": [{"role": "user", "content": "hi"}], "apply": True,
    "suggestion_id": "sug_1", "capture": False, "job_id": "cap_1", "occurred_at": 5, "valid_until": 6,
    "expires_at": 7, "space": "space_1", "spaces": ["space_1"], "memories": [{"content": "c"}], "ids": ["mem_1"],
    "confirm": True, "space_id": "space_1", "name": "n", "user": "bob", "role": "writer", "inject": False,
    "extra_headers": {"X-Extra": "1"}, "extra_query": {"q": "v"}, "extra_body": {"b": 1}, "timeout": 7,
}


def public_methods(resource) -> dict:
    return {name: getattr(type(resource), name) for name in dir(type(resource))
            if not name.startswith("_")
            and name not in ("with_raw_response", "with_streaming_response", "events", "members")}


def twin_resources():
    """(sync, async) pairs of the client's resources: client.memory, client.memory.events, client.spaces and
    client.spaces.members."""
    sync, asynchronous = MemoryAPI(api_key="k"), AsyncMemoryAPI(api_key="k")
    return [(sync.memory, asynchronous.memory), (sync.memory.events, asynchronous.memory.events),
            (sync.spaces, asynchronous.spaces), (sync.spaces.members, asynchronous.spaces.members)]


def test_sync_and_async_resources_declare_the_same_methods():
    for sync, asynchronous in twin_resources():
        sync_methods, async_methods = public_methods(sync), public_methods(asynchronous)
        assert sorted(sync_methods) == sorted(async_methods)
        for name, method in sync_methods.items():
            twin = async_methods[name]
            assert inspect.signature(method).parameters == inspect.signature(twin).parameters, name
            assert method.__doc__ == twin.__doc__, name
            # Lists hand back the SDK's paginator (awaited, or walked with `async for`); the rest are awaited.
            assert inspect.iscoroutinefunction(twin) == (name != "list"), name


def test_sync_and_async_resources_send_the_same_request_for_the_same_call():
    """Each method of both flavours, given every argument it takes and every extra: the same Request
    (clients/python/src/memory_api_client/_operations.py), so neither passes an argument on wrongly or
    drops one."""
    extras = {name: SAMPLE_ARGUMENTS[name] for name in ("extra_headers", "extra_query", "extra_body", "timeout")}
    for sync, asynchronous in twin_resources():
        sent: dict = {"sync": [], "async": []}

        async def send_async(request):
            sent["async"].append(request)

        sync._send = sync._pages = sent["sync"].append
        asynchronous._pages = sent["async"].append
        asynchronous._send = send_async
        for name, method in public_methods(sync).items():
            arguments = {p: SAMPLE_ARGUMENTS[p] for p in inspect.signature(method).parameters
                         if p not in ("self", "extras")}
            sent["sync"].clear()
            sent["async"].clear()
            getattr(sync, name)(**arguments, **extras)
            answer = getattr(asynchronous, name)(**arguments, **extras)
            if inspect.iscoroutine(answer):
                asyncio.run(answer)
            assert len(sent["sync"]) == 1 and sent["sync"] == sent["async"], name
            assert sent["sync"][0].options["headers"]["X-Extra"] == "1", name
