"""Logs carry the request id, user and status; never a key, and memory content only at DEBUG."""

from __future__ import annotations

import logging

import pytest

from helpers import auth
from memory_api import create_app


@pytest.fixture
def captured():
    records: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record):
            records.append(self.format(record))

    handler = Collect()
    logger = logging.getLogger("memory_api")
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)


@pytest.mark.parametrize("level, content_logged", [("INFO", False), ("DEBUG", True)])
def test_logs_never_carry_keys_and_content_only_at_debug(settings, services, captured, level, content_logged):
    app = create_app(settings.replace(log_level=level), services)
    secret, record = services.keys.create(user="alice")
    client = app.test_client()
    resp = client.post("/v1/memory", json={"content": "my passport number is X1234567"},
                       headers={**auth(secret), "X-Request-Id": "req-abc"})
    assert resp.status_code == 200
    client.get("/v1/memory", headers=auth("sk-mem-a-wrong-key"))
    text = "\n".join(captured)
    assert "request_id=req-abc user=alice" in text and "status=200" in text
    assert f"key={record.id}" in text
    assert "status=401" in text
    assert secret not in text and "sk-mem-a-wrong-key" not in text
    assert ("X1234567" in text) is content_logged
    logging.getLogger("memory_api").setLevel(logging.WARNING)


@pytest.fixture
def json_log_stream(settings):
    """The memory_api handler's output, after an app was built with MEMORY_API_LOG_FORMAT=json."""
    import io

    from memory_api.logs import configure_logging

    configure_logging("INFO", "json")
    handler = next(h for h in logging.getLogger("memory_api").handlers if getattr(h, "_memory_api", False))
    stream = io.StringIO()
    previous = handler.setStream(stream)
    yield stream
    handler.setStream(previous)
    configure_logging("WARNING", "text")


def test_json_logs_one_object_per_line_with_the_access_fields_and_no_secrets(settings, services, json_log_stream):
    import json

    app = create_app(settings.replace(log_level="INFO", log_format="json"), services)
    secret, record = services.keys.create(user="alice")
    client = app.test_client()
    created = client.post("/v1/memory", json={"content": "my passport number is X1234567"},
                          headers={**auth(secret), "X-Request-Id": "req-json"})
    assert created.status_code == 200
    assert client.get("/v1/memory/search?query=passport+X1234567", headers=auth(secret)).status_code == 200
    client.get("/v1/memory", headers=auth("sk-mem-a-wrong-key"))
    text = json_log_stream.getvalue()
    entries = [json.loads(line) for line in text.splitlines()]  # every line is one JSON object
    access = [e for e in entries if e["logger"] == "memory_api.access"]
    assert len(access) == 3
    first = access[0]
    assert {k: first[k] for k in ("request_id", "user", "key_id", "method", "route", "status")} == {
        "request_id": "req-json", "user": "alice", "key_id": record.id, "method": "POST", "route": "/v1/memory",
        "status": 200}
    assert isinstance(first["duration_ms"], float) and first["level"] == "INFO" and first["time"].endswith("+00:00")
    assert access[1]["route"] == "/v1/memory/search" and access[1]["path"] == "/v1/memory/search"
    assert access[2]["status"] == 401 and access[2]["user"] == "-" and access[2]["code"] == "invalid_api_key"
    assert secret not in text and "sk-mem-a-wrong-key" not in text
    assert "X1234567" not in text and "passport" not in text  # neither the content nor the query


def test_bad_log_format_is_refused():
    from memory_api.config import ConfigError, Settings

    with pytest.raises(ConfigError, match="MEMORY_API_LOG_FORMAT"):
        Settings(log_format="xml")


def test_serve_with_json_logs_writes_only_json_lines(tmp_path):
    import json

    from test_serve_embedded import Serve, cli, http

    data_dir = tmp_path / "data"
    key = cli(data_dir, "keys", "create", "alice").stdout.strip()
    serve = Serve(data_dir, workers=1, MEMORY_API_LOG_FORMAT="json", MEMORY_API_LOG_LEVEL="INFO",
                  MEMORY_API_EMBEDDINGS="off")
    try:
        assert http("POST", f"{serve.url}/v1/memory", key, {"content": "my pin is 4321"})[0] == 200
    finally:
        serve.stop()
    lines = [line for line in serve.log.read_text().splitlines() if line.strip()]
    entries = [json.loads(line) for line in lines]  # gunicorn's own lines too
    assert any(e["logger"] == "gunicorn.error" and "Booting worker" in e["message"] for e in entries)
    assert any(e["logger"] == "memory_api.access" and e["route"] == "/v1/memory" and e["status"] == 200
               and e["user"] == "alice" for e in entries)
    text = "\n".join(lines)
    assert key not in text and "4321" not in text
