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
