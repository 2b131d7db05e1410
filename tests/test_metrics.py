"""GET /metrics: off by default, a service key's to read, and its counters move with traffic.

Prometheus metrics belong to the process, so these tests compare a scrape after
traffic with one before it rather than expecting zeros.
"""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from helpers import auth, free_port, with_provider
from memory_api import create_app
from memory_api.services import Services


@pytest.fixture
def metrics_settings(settings, fake_llm):
    return with_provider(settings, fake_llm, metrics=True, upstream_timeout=5)


@pytest.fixture
def metrics_app(metrics_settings):
    services = Services.build(metrics_settings)
    yield create_app(metrics_settings, services)
    services.close()


def scrape(client, key: str) -> dict[tuple[str, frozenset], float]:
    resp = client.get("/metrics", headers=auth(key))
    assert resp.status_code == 200, resp.data
    assert resp.mimetype == "text/plain"
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(resp.get_data(as_text=True))
        for sample in family.samples
    }


def moved(before: dict, after: dict, name: str, **labels: str) -> float:
    key = (name, frozenset(labels.items()))
    assert key in after, f"no sample {name}{labels}"
    return after[key] - before.get(key, 0.0)


def test_metrics_are_off_by_default(client, make_key):
    resp = client.get("/metrics", headers=auth(make_key(service="prometheus")))
    assert resp.status_code == 404
    assert resp.json["error"]["type"] == "not_found_error"


def test_metrics_need_a_service_key(metrics_app):
    services = metrics_app.extensions["memory_api"]
    user_key, _ = services.keys.create(user="alice")
    client = metrics_app.test_client()
    anonymous = client.get("/metrics")
    assert anonymous.status_code == 401 and anonymous.json["error"]["type"] == "authentication_error"
    as_user = client.get("/metrics", headers=auth(user_key))
    assert as_user.status_code == 403 and as_user.json["error"]["code"] == "service_key_required"
    assert b"memory_api_" not in as_user.data


def test_scrape_after_traffic_shows_every_counter_moving(metrics_app, metrics_settings, fake_llm):
    services = metrics_app.extensions["memory_api"]
    scraper, _ = services.keys.create(service="prometheus")
    alice, _ = services.keys.create(user="alice")
    client = metrics_app.test_client()
    before = scrape(client, scraper)

    created = [client.post("/v1/memory", json={"content": f"Alice likes tea number {i}."}, headers=auth(alice))
               for i in range(3)]
    assert all(r.status_code == 200 for r in created)
    assert client.get(f"/v1/memory/{created[0].json['id']}", headers=auth(alice)).status_code == 200
    assert client.get("/v1/no-such-route", headers=auth(alice)).status_code == 404
    chat = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "what does Alice like?"}]}
    assert client.post("/v1/chat/completions", json=chat, headers=auth(alice)).status_code == 200
    streamed = client.post("/v1/chat/completions", headers=auth(alice),
                           json={**chat, "stream": True, "stream_options": {"include_usage": True}})
    assert b"[DONE]" in streamed.get_data()
    fake_llm.errors.append((500, {"error": {"message": "overloaded", "type": "server_error"}}, {}))
    assert client.post("/v1/chat/completions", json=chat, headers=auth(alice)).status_code == 502

    # A second worker's app, rate limited to one request a minute: its refusal is counted.
    limited_settings = metrics_settings.replace(rate_limit="1/minute")
    limited = create_app(limited_settings, Services.build(limited_settings))
    assert [limited.test_client().get("/v1/memory", headers=auth(alice)).status_code for _ in range(2)] == [200, 429]
    limited.extensions["memory_api"].close()

    # A store whose Redis is away: the failed operation is counted by name.
    away = metrics_settings.replace(redis_url=f"redis://127.0.0.1:{free_port()}/0", redis_timeout=0.2)
    unreachable = create_app(away, Services.build(away))
    assert unreachable.test_client().get("/v1/memory", headers=auth(alice)).status_code == 503
    unreachable.extensions["memory_api"].close()

    after = scrape(client, scraper)
    requests = "memory_api_http_request_duration_seconds_count"
    assert moved(before, after, requests, method="POST", route="/v1/memory", status="200") == 3
    assert moved(before, after, requests, method="GET", route="/v1/memory/<string:memory_id>", status="200") == 1
    assert moved(before, after, requests, method="GET", route="(unmatched)", status="404") == 1
    assert moved(before, after, requests, method="POST", route="/v1/chat/completions", status="502") == 1
    assert moved(before, after, requests, method="GET", route="/v1/memory", status="429") == 1
    assert moved(before, after, "memory_api_redis_operation_duration_seconds_count",
                 operation="MemoryStore.create_many") == 3
    assert moved(before, after, "memory_api_redis_errors_total",
                 operation="ApiKeyStore.find", error="ConnectionError") == 1
    provider = "memory_api_provider_request_duration_seconds_count"
    assert moved(before, after, provider, model="gpt-4o-mini", kind="complete") == 1
    assert moved(before, after, provider, model="gpt-4o-mini", kind="stream") == 1
    assert moved(before, after, "memory_api_provider_errors_total", model="gpt-4o-mini", code="upstream_error") == 1
    # The fake provider's usage: one completion word-count per answer, streamed and not.
    assert moved(before, after, "memory_api_provider_tokens_total", model="gpt-4o-mini", kind="completion") == 2 * len(
        "echo: what does Alice like?".split())
    assert moved(before, after, "memory_api_provider_tokens_total", model="gpt-4o-mini", kind="prompt") > 0
    # Three chats (the failed one injected too), each with Alice's three memories.
    assert moved(before, after, "memory_api_chat_memories_injected_count") == 3
    assert moved(before, after, "memory_api_chat_memories_injected_sum") == 9
    assert moved(before, after, "memory_api_rate_limited_requests_total", limit="requests") == 1


def test_responses_are_counted_as_chat_is(metrics_settings, fake_llm):
    """/v1/responses records what chat records: provider time, tokens and errors per model, memories
    injected; and its 429 too_many_streams is a rate-limit refusal."""
    settings = metrics_settings.replace(max_streams_per_key=1)
    services = Services.build(settings)
    app = create_app(settings, services)
    scraper, _ = services.keys.create(service="prometheus")
    alice, _ = services.keys.create(user="alice")
    client = app.test_client()
    for i in range(2):
        services.memories.create("alice", f"Alice likes tea number {i}.")
    body = {"model": "fake-reasoner", "input": "what does Alice like?"}
    before = scrape(client, scraper)

    assert client.post("/v1/responses", json=body, headers=auth(alice)).status_code == 200
    streamed = client.post("/v1/responses", json={**body, "stream": True}, headers=auth(alice))
    assert b"response.completed" in streamed.get_data()
    fake_llm.errors.append((500, {"error": {"message": "overloaded", "type": "server_error"}}, {}))
    assert client.post("/v1/responses", json=body, headers=auth(alice)).status_code == 502
    fake_llm.break_after_chunks = 3  # a stream the provider breaks off: an error after the 200
    broken = client.post("/v1/responses", json={**body, "stream": True}, headers=auth(alice))
    assert b"event: response.completed" not in broken.get_data() and b"upstream_error" in broken.get_data()
    fake_llm.break_after_chunks = None
    # The key's one stream slot held by a stream not yet read: the next stream is refused.
    held = client.post("/v1/responses", json={**body, "stream": True}, headers=auth(alice), buffered=False)
    assert held.status_code == 200
    refused = client.post("/v1/responses", json={**body, "stream": True}, headers=auth(alice))
    assert refused.status_code == 429 and refused.json["error"]["code"] == "too_many_streams"
    held.close()

    after = scrape(client, scraper)
    requests = "memory_api_http_request_duration_seconds_count"
    assert moved(before, after, requests, method="POST", route="/v1/responses", status="429") == 1
    provider = "memory_api_provider_request_duration_seconds_count"
    assert moved(before, after, provider, model="fake-reasoner", kind="complete") == 1
    assert moved(before, after, provider, model="fake-reasoner", kind="stream") == 3
    assert moved(before, after, "memory_api_provider_errors_total", model="fake-reasoner", code="upstream_error") == 2
    # The provider stand-in's usage: output tokens are the reply's words, non-streamed and streamed (the
    # broken stream and the held one, never read to its end, sent no usage).
    tokens = "memory_api_provider_tokens_total"
    assert moved(before, after, tokens, model="fake-reasoner", kind="completion") == 2 * len(
        "echo: what does Alice like?".split())
    assert moved(before, after, tokens, model="fake-reasoner", kind="prompt") > 0
    # Five responses reached the provider (the refused one did not), each with Alice's two memories.
    assert moved(before, after, "memory_api_chat_memories_injected_count") == 5
    assert moved(before, after, "memory_api_chat_memories_injected_sum") == 10
    assert moved(before, after, "memory_api_rate_limited_requests_total", limit="streams") == 1
    services.close()


def test_serve_adds_up_every_workers_figures_in_a_private_directory_it_removes(tmp_path):
    import urllib.request

    from test_serve_embedded import Serve, cli, http

    data_dir, temp = tmp_path / "data", tmp_path / "tmp"
    temp.mkdir()
    scraper = cli(data_dir, "keys", "create", "--service", "prometheus").stdout.strip()
    alice = cli(data_dir, "keys", "create", "alice").stdout.strip()
    serve = Serve(data_dir, workers=2, MEMORY_API_METRICS="true", MEMORY_API_EMBEDDINGS="off", TMPDIR=str(temp))
    try:
        assert len(list(temp.glob("memory-api-metrics-*"))) == 1
        for i in range(20):  # new connections, which the kernel spreads over both workers
            assert http("POST", f"{serve.url}/v1/memory", alice, {"content": f"fact {i}"})[0] == 200
        counts = set()
        for _ in range(6):  # whichever worker answers the scrape, it reports both workers' requests
            req = urllib.request.Request(f"{serve.url}/metrics", headers={"Authorization": f"Bearer {scraper}"})
            with urllib.request.urlopen(req, timeout=10) as resp:
                samples = {(s.name, frozenset(s.labels.items())): s.value
                           for family in text_string_to_metric_families(resp.read().decode())
                           for s in family.samples}
            counts.add(samples[("memory_api_http_request_duration_seconds_count",
                                frozenset({"method": "POST", "route": "/v1/memory", "status": "200"}.items()))])
        assert counts == {20.0}
    finally:
        serve.stop()
    assert list(temp.glob("memory-api-metrics-*")) == [], "serve must remove its metrics directory"


def test_capture_jobs_and_queue_depth_are_counted(metrics_settings, fake_llm):
    services = Services.build(metrics_settings)
    try:
        client = create_app(metrics_settings, services).test_client()
        scraper, _ = services.keys.create(service="prometheus")
        alice, _ = services.keys.create(user="alice")
        body = {"model": "m", "messages": [{"role": "user", "content": "I'm vegetarian now."}],
                "memory": {"capture": True}}
        before = scrape(client, scraper)
        for _ in range(2):
            assert client.post("/v1/chat/completions", json=body, headers=auth(alice)).status_code == 200
        assert scrape(client, scraper)[("memory_api_capture_queue_depth", frozenset())] == 2
        fake_llm.extractions += [
            {"operations": [{"action": "add", "memory_id": None, "content": "Is vegetarian.", "reason": "said so"}]},
            "not json"]
        while services.capture_jobs.work("w", block_ms=10):
            pass
        after = scrape(client, scraper)
        assert moved(before, after, "memory_api_capture_jobs_total", outcome="done") == 1
        assert moved(before, after, "memory_api_capture_jobs_total", outcome="failed") == 1
        assert moved(before, after, "memory_api_capture_operations_total", action="add", status="applied") == 1
        assert after[("memory_api_capture_queue_depth", frozenset())] == 0
    finally:
        services.close()
