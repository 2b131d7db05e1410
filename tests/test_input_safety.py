"""No input gets a 500 (issue 24, items 3 to 7): malformed message shapes, dot-segment model ids, a provider
answering something other than a JSON object, a provider echoing our key, chunked bodies over the limit; and a
property test: chat and Responses bodies with a wrong JSON type anywhere get a 4xx envelope or the stand-in's
answer, never a 5xx."""

from __future__ import annotations

import http.client
import json
import logging

import pytest
from hypothesis import HealthCheck, example, given, strategies as st
from hypothesis import settings as hyp_settings

from helpers import LiveServer, auth, with_provider
from memory_api import create_app
from memory_api.errors import BadGateway
from memory_api.services import Services
from memory_api.services.conversations import SUMMARY_INSTRUCTIONS

ASK = {"messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
def settings(settings, fake_llm):
    return with_provider(settings, fake_llm)


def assert_envelope(resp, status, *, param=None, code=None, type_=None):
    """The error envelope of a test-client response, with the status and the fields asked for."""
    body = resp.json
    assert resp.status_code == status, body
    assert set(body["error"]) >= {"message", "type", "param", "code"}, body
    if param is not None:
        assert body["error"]["param"] == param, body
    if code is not None:
        assert body["error"]["code"] == code, body
    if type_ is not None:
        assert body["error"]["type"] == type_, body
    return body["error"]


# --- item 3: malformed message shapes are a 400 naming the field, before the provider is called --------

BAD_CHAT_MESSAGES = [
    ({"role": "user", "content": "x", "tool_calls": 5}, "messages[0].tool_calls"),
    ({"role": "user", "content": "x", "tool_calls": [{"function": "s"}]}, "messages[0].tool_calls[0].function"),
    ({"role": "user", "content": "x", "tool_calls": ["s"]}, "messages[0].tool_calls[0]"),
    ({"role": "assistant", "content": None, "tool_calls": [{"function": {"name": 5}}]},
     "messages[0].tool_calls[0].function.name"),
    ({"role": "assistant", "content": None, "tool_calls": [{"function": {"name": "f", "arguments": {}}}]},
     "messages[0].tool_calls[0].function.arguments"),
    ({"role": "user", "content": [{"type": "text", "text": 5}]}, "messages[0].content[0].text"),
    ({"role": "user", "content": [{"type": 5, "text": "x"}]}, "messages[0].content[0].type"),
    ({"role": "user", "content": ["x"]}, "messages[0].content[0]"),
    ({"role": "user", "content": "x", "name": 5}, "messages[0].name"),
    ({"role": "tool", "content": "x", "tool_call_id": 5}, "messages[0].tool_call_id"),
]


@pytest.mark.parametrize("message, param", BAD_CHAT_MESSAGES)
@pytest.mark.parametrize("conversation", [False, True])
def test_a_malformed_chat_message_is_a_400_naming_the_field(client, make_key, fake_llm, services, message, param,
                                                            conversation):
    key = make_key("alice")
    body = {"messages": [message]}
    if conversation:
        cid = client.post("/v1/conversations", json={}, headers=auth(key)).json["id"]
        body["conversation_id"] = cid
    resp = client.post("/v1/chat/completions", json=body, headers=auth(key))
    assert_envelope(resp, 400, param=param, type_="invalid_request_error")
    assert fake_llm.requests == []
    if conversation:
        assert client.get(f"/v1/conversations/{cid}", headers=auth(key)).json["messages"] == []


def test_a_system_content_part_with_a_number_for_text_in_a_conversation_is_a_400(client, make_key, fake_llm):
    key = make_key("alice")
    cid = client.post("/v1/conversations", json={}, headers=auth(key)).json["id"]
    body = {"conversation_id": cid, "messages": [
        {"role": "system", "content": [{"type": "text", "text": 5}]}, {"role": "user", "content": "hi"}]}
    resp = client.post("/v1/chat/completions", json=body, headers=auth(key))
    assert_envelope(resp, 400, param="messages[0].content[0].text")
    assert fake_llm.requests == []
    got = client.get(f"/v1/conversations/{cid}", headers=auth(key)).json
    assert got["messages"] == [] and got["system"] is None
    # "new" creates nothing either
    assert client.post("/v1/chat/completions", json={**body, "conversation_id": "new"},
                       headers=auth(key)).status_code == 400
    assert [c["id"] for c in client.get("/v1/conversations", headers=auth(key)).json["data"]] == [cid]


BAD_INPUT_ITEMS = [
    ({"role": "user", "content": "x", "tool_calls": 5}, "input[0].tool_calls"),
    ({"role": "user", "content": "x", "tool_calls": [{"function": "s"}]}, "input[0].tool_calls[0].function"),
    ({"role": "user", "content": [{"type": "input_text", "text": 5}]}, "input[0].content[0].text"),
    ({"role": "user", "content": 5}, "input[0].content"),
    ({"role": 5, "content": "x"}, "input[0].role"),
    ({"type": 5, "role": "user", "content": "x"}, "input[0].type"),
    ("x", "input[0]"),
]


@pytest.mark.parametrize("item, param", BAD_INPUT_ITEMS)
def test_a_malformed_responses_input_item_is_a_400_naming_the_field(client, make_key, fake_llm, item, param):
    resp = client.post("/v1/responses", json={"input": [item]}, headers=auth(make_key("alice")))
    assert_envelope(resp, 400, param=param, type_="invalid_request_error")
    assert fake_llm.requests == []


def test_well_formed_messages_still_reach_the_provider(client, make_key, fake_llm):
    key = make_key("alice")
    messages = [
        {"role": "system", "content": [{"type": "text", "text": "be brief"}]},
        {"role": "user", "content": [{"type": "text", "text": "hi"},
                                     {"type": "image_url", "image_url": {"url": "data:image/png;base64,AA=="}}],
         "name": "al"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "42"},
        {"role": "user", "content": "and?"},
    ]
    resp = client.post("/v1/chat/completions", json={"messages": messages, "conversation_id": "new"},
                       headers=auth(key))
    assert resp.status_code == 200, resp.json
    resp = client.post("/v1/responses", json={"input": [
        {"role": "user", "content": [{"type": "input_text", "text": "hi"}]},
        {"type": "function_call", "call_id": "c", "name": "f", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c", "output": "42"}]}, headers=auth(key))
    assert resp.status_code == 200, resp.json


# --- item 4: dot-segment model ids ---------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/v1/models/..", "/v1/models/.", "/v1/models/%2e%2e", "/v1/models/%2E"])
def test_a_dot_segment_model_id_is_a_404_not_a_500(client, make_key, fake_llm, path):
    resp = client.get(path, headers=auth(make_key("alice")))
    assert_envelope(resp, 404, param="model", code="model_not_found", type_="not_found_error")
    assert fake_llm.requests == []  # no id the provider could mean


# --- item 5: a provider answering 200 with something other than a JSON object -------------------------

NOT_OBJECTS = [[1, 2], "text", 42, None, True]


@pytest.mark.parametrize("answer", NOT_OBJECTS)
def test_a_provider_answer_that_is_not_an_object_is_a_502(client, make_key, fake_llm, answer):
    key = make_key("alice")
    for method, path, body in [("post", "/v1/chat/completions", ASK), ("post", "/v1/responses", {"input": "hi"}),
                               ("get", "/v1/models", None), ("get", "/v1/models/gpt-4o-mini", None)]:
        fake_llm.errors.append((200, answer, {}))
        resp = getattr(client, method)(path, json=body, headers=auth(key))
        err = assert_envelope(resp, 502, type_="upstream_error", code="upstream_error")
        assert "not a JSON object" in err["message"], path


def test_a_chat_in_a_conversation_answered_with_an_array_saves_nothing(client, make_key, fake_llm):
    key = make_key("alice")
    cid = client.post("/v1/conversations", json={}, headers=auth(key)).json["id"]
    fake_llm.errors.append((200, [1, 2], {}))
    resp = client.post("/v1/chat/completions", json={**ASK, "conversation_id": cid}, headers=auth(key))
    assert_envelope(resp, 502, type_="upstream_error")
    assert client.get(f"/v1/conversations/{cid}", headers=auth(key)).json["messages"] == []


def test_a_capture_call_answered_with_an_array_is_a_502(client, make_key, fake_llm):
    fake_llm.errors.append((200, [1, 2], {}))
    resp = client.post("/v1/memory/extract", json={"messages": [{"role": "user", "content": "I like tea"}]},
                       headers=auth(make_key("alice")))
    err = assert_envelope(resp, 502, type_="upstream_error")
    assert "not a JSON object" in err["message"]


@pytest.mark.parametrize("answer", [[1, 2], "text"])
def test_a_summary_answered_with_something_other_than_an_object_is_a_502(services, fake_llm, answer):
    """(A conversation keeps its turns when its summary fails with an ApiError: test_conversations.py.)"""
    fake_llm.summary_answers.append(answer)
    with pytest.raises(BadGateway, match="not a JSON object"):
        services.chat.upstream.summarize(SUMMARY_INSTRUCTIONS.format(max_words=50), "New turns:\nuser: hi")


# --- item 6: a provider's message never hands out a key ---------------------------------------------------


@pytest.fixture
def captured_logs():
    """Every log line at DEBUG, ours and the SDK's and its HTTP library's."""
    records: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record):
            records.append(self.format(record))

    handler = Collect(level=logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(name)s %(message)s"))
    loggers = [logging.getLogger(name) for name in ("memory_api", "openai", "httpx", "httpx2", "")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
    yield records
    for logger, level in zip(loggers, levels):
        logger.removeHandler(handler)
        logger.setLevel(level)


PROVIDER_KEY = "sk-proj-abc123DEF456ghi789JKL012mno345PQR678"
OTHER_KEY = "sk-ant-api03-" + "Zx9" * 12  # not ours, but shaped like a key
KEY_MESSAGE = (f"Incorrect API key provided: {PROVIDER_KEY}. Also tried {OTHER_KEY}, Bearer abcdef0123456789abcdef "
               "and 0123456789abcdef0123456789abcdef. You can find your API key at https://platform.openai.com.")


@pytest.mark.parametrize("status, ours", [(401, 424), (403, 424), (400, 400), (429, 429), (500, 502)])
@pytest.mark.parametrize("path, body", [("/v1/chat/completions", ASK), ("/v1/responses", {"input": "hi"})])
def test_a_provider_that_echoes_our_key_never_hands_it_out(settings, fake_llm, captured_logs, status, ours, path,
                                                           body):
    keyed = Services.build(settings.replace(openai_api_key=PROVIDER_KEY))
    app = create_app(keyed.settings, keyed)
    secret, _ = keyed.keys.create(user="alice")
    fake_llm.errors.append((status, {"error": {"message": KEY_MESSAGE, "type": "invalid_request_error",
                                               "param": None, "code": "invalid_api_key"}}, {}))
    try:
        resp = app.test_client().post(path, json=body, headers=auth(secret))
    finally:
        keyed.close()
    assert fake_llm.requests[-1]["headers"]["authorization"] == f"Bearer {PROVIDER_KEY}"
    err = assert_envelope(resp, ours)
    text = resp.get_data(as_text=True) + "\n".join(captured_logs)
    for secret in (PROVIDER_KEY, "abc123DEF456ghi789", OTHER_KEY, "abcdef0123456789abcdef",
                   "0123456789abcdef0123456789abcdef"):
        assert secret not in text
    assert "Incorrect API key provided: [redacted]" in err["message"] and "platform.openai.com" in err["message"]
    if status in (400, 429):  # the provider's own code and type are kept
        assert (err["type"], err["code"]) == ("invalid_request_error", "invalid_api_key")
    if status in (401, 403):
        assert err["code"] == "upstream_auth_failed"


def test_mask_secrets_keeps_ordinary_text():
    from memory_api.redaction import mask_secrets

    text = ("The model 'gpt-4o-mini' does not exist; see https://platform.openai.com/docs/models or ask "
            "task-force-management. Incorrect API key provided: sk-proj-********************abc1.")
    assert mask_secrets(text) == text
    assert mask_secrets("key=secret-value-1", known=["secret-value-1", "x"]) == "key=[redacted]"
    assert mask_secrets("Bearer eyJhbGciOiJIUzI1NiJ9.e30.abc") == "Bearer [redacted]"


# --- item 7: a chunked body over the limit is a 413 -------------------------------------------------------


def post_chunked(url: str, path: str, key: str, body: bytes, **headers: str) -> tuple[int, dict]:
    """POST `body` with Transfer-Encoding: chunked (no Content-Length), 64 KiB a chunk, over real HTTP."""
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        conn.putrequest("POST", path)
        for name, value in {**auth(key, **headers), "Content-Type": "application/json",
                            "Transfer-Encoding": "chunked"}.items():
            conn.putheader(name, value)
        conn.endheaders()
        try:
            for start in range(0, len(body), 65536):
                piece = body[start:start + 65536]
                conn.send(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            conn.send(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):  # the server answered early and stopped reading
            pass
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read())
    finally:
        conn.close()


@pytest.mark.parametrize("path, setting, fits", [
    ("/v1/memory", "max_body_bytes", {"content": "fits"}),
    ("/v1/chat/completions", "max_chat_body_bytes", ASK),
    ("/v1/responses", "max_chat_body_bytes", {"input": "hi"}),
])
def test_a_chunked_body_over_the_limit_is_a_413(settings, services, fake_llm, make_key, path, setting, fits):
    app = create_app(settings.replace(**{setting: 1 << 20}), services)
    key = make_key("alice")
    over = json.dumps({**fits, "padding": "x" * (1 << 20)}).encode()
    with LiveServer(app) as server:
        status, body = post_chunked(server.url, path, key, over)
        assert status == 413, body
        assert body["error"]["code"] == "request_too_large" and body["error"]["type"] == "invalid_request_error"
        # The same with an Idempotency-Key, whose fingerprint reads the body first.
        status, body = post_chunked(server.url, path, key, over, **{"Idempotency-Key": "big"})
        assert status == 413, body
        assert fake_llm.requests == [] and services.memories.store.count("alice") == 0
        # A body of exactly the limit is read whole and answered.
        exact = json.dumps(fits).encode()
        exact = exact[:-1] + b" " * ((1 << 20) - len(exact)) + b"}"
        status, body = post_chunked(server.url, path, key, exact)
        assert status == 200, body


# --- property: a wrong JSON type anywhere in a message is a 4xx envelope or a relayed answer, never a 5xx ------

# Any JSON value of a type the position may not expect (hypothesis' text() has no lone surrogates).
WRONG = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
                  st.text(max_size=4), st.lists(st.integers(), max_size=2),
                  st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))
TEXT = st.text(max_size=12)


def parts(type_: str):
    return st.lists(st.fixed_dictionaries({"type": st.just(type_), "text": TEXT}), min_size=1, max_size=2)


TOOL_CALLS = st.lists(st.fixed_dictionaries({"id": st.just("call_1"), "type": st.just("function"), "function": (
    st.fixed_dictionaries({"name": st.just("f"), "arguments": st.just("{}")}))}), min_size=1, max_size=2)
# Valid messages of OpenAI's shape, with every optional field the service reads sometimes present.
CHAT_MESSAGE = st.fixed_dictionaries(
    {"role": st.sampled_from(["system", "developer", "user", "assistant", "tool"]),
     "content": st.one_of(TEXT, parts("text"))},
    optional={"name": st.just("al"), "tool_calls": TOOL_CALLS, "tool_call_id": st.just("call_1")})
CHAT_BODY = st.fixed_dictionaries({"messages": st.lists(CHAT_MESSAGE, min_size=1, max_size=3)},
                                  optional={"conversation_id": st.just("new")})
INPUT_ITEM = st.one_of(
    st.fixed_dictionaries({"role": st.sampled_from(["user", "assistant", "system", "developer"]),
                           "content": st.one_of(TEXT, parts("input_text"))},
                          optional={"type": st.just("message"), "tool_calls": TOOL_CALLS}),
    st.fixed_dictionaries({"type": st.just("function_call"), "call_id": st.just("c"), "name": st.just("f"),
                           "arguments": st.just("{}")}),
)
RESPONSES_BODY = st.fixed_dictionaries({"input": st.one_of(TEXT, st.lists(INPUT_ITEM, min_size=1, max_size=3))})


def positions(value, path=()):
    """The path of every value inside `value` (object members and array items, at any depth)."""
    found = [path] if path else []
    children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in children:
        found += positions(child, (*path, key))
    return found


def replaced(value, path, new):
    """A copy of `value` with the value at `path` replaced by `new`."""
    if not path:
        return new
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[path[0]] = replaced(value[path[0]], path[1:], new)
    return copy


def with_wrong_types(bodies):
    """A valid body with one or two of its values (anywhere: role, content, a part's type or text, a tool
    call, its function, name or arguments, ...) replaced by a value of another JSON type."""
    @st.composite
    def build(draw):
        body = draw(bodies)
        for _ in range(draw(st.integers(1, 2))):
            every = positions(body)
            # Mostly inside a message or item (its fields, parts, tool calls): `messages` or a whole message
            # of the wrong type is one position of many, and has its tests in test_chat.py.
            inside = [path for path in every if len(path) >= 3]
            path = draw(st.sampled_from(inside if inside and draw(st.integers(0, 4)) < 4 else every))
            body = replaced(body, path, draw(WRONG))
        return body
    return build()


def assert_relayed_or_refused(resp, fake_llm, asked_before: int) -> None:
    assert resp.status_code < 500, resp.get_data(as_text=True)
    if resp.status_code < 300:
        assert len(fake_llm.requests) > asked_before  # the stand-in's answer, relayed
    else:
        assert 400 <= resp.status_code < 500
        assert {"message", "type", "param", "code"} <= set(resp.json["error"]), resp.json


def property_settings(examples: int) -> hyp_settings:
    """Derandomized (the same examples on every run) and small, so the suite stays stable and fast."""
    return hyp_settings(derandomize=True, max_examples=examples, deadline=None,
                        suppress_health_check=list(HealthCheck))


@property_settings(120)
@given(body=with_wrong_types(CHAT_BODY))
@example(body={"messages": [{"role": "user", "content": "x", "tool_calls": 5}]})
@example(body={"messages": [{"role": "user", "content": "x", "tool_calls": [{"function": "s"}]}]})
@example(body={"conversation_id": "new", "messages": [{"role": "system", "content": [{"type": "text", "text": 5}]},
                                                      {"role": "user", "content": "hi"}]})
def test_chat_bodies_with_wrong_types_anywhere_are_never_a_500(client, fake_llm, make_key, body):
    asked = len(fake_llm.requests)
    resp = client.post("/v1/chat/completions", json=body, headers=auth(make_key("alice")))
    assert_relayed_or_refused(resp, fake_llm, asked)


@property_settings(80)
@given(body=with_wrong_types(RESPONSES_BODY))
@example(body={"input": [{"role": "user", "content": "x", "tool_calls": 5}]})
@example(body={"input": [{"role": "user", "content": "x", "tool_calls": [{"function": "s"}]}]})
def test_responses_bodies_with_wrong_types_anywhere_are_never_a_500(client, fake_llm, make_key, body):
    asked = len(fake_llm.requests)
    resp = client.post("/v1/responses", json=body, headers=auth(make_key("alice")))
    assert_relayed_or_refused(resp, fake_llm, asked)
