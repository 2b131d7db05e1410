"""Property-based fuzzing driven by openapi.yaml (schemathesis), against the live app.

Every operation gets generated requests, valid and invalid; every response must
be no 5xx and must conform to the spec (status code, content type, headers and
body schema). Rate limits are off; the model provider is the local fake.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings as hypothesis_settings

from conftest import REPO
from fake_llm import FakeLLM

schema = schemathesis.openapi.from_path(str(REPO / "openapi.yaml"))


@pytest.fixture(scope="module")
def fuzz_target(redis_server, tmp_path_factory):
    """One app for the whole module (hypothesis calls the test many times)."""
    import redis as redis_lib

    from conftest import LiveServer
    from memory_api import create_app
    from memory_api.config import Settings

    with redis_lib.Redis.from_url(redis_server.url) as r:
        r.flushall()
    with FakeLLM() as fake:
        settings = Settings(redis_url=redis_server.url, openai_base_url=fake.url, openai_api_key="sk-up",
                            upstream_timeout=5, log_level="CRITICAL", conversation_lock_seconds=2)
        app = create_app(settings)
        key, _ = app.extensions["memory_api"].keys.create(user="fuzzer")
        with LiveServer(app) as server:
            yield server.url, key
        app.extensions["memory_api"].close()


@schema.parametrize()
@hypothesis_settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_spec(case, fuzz_target):
    base_url, key = fuzz_target
    case.call_and_validate(base_url=base_url, headers={"Authorization": f"Bearer {key}"})
