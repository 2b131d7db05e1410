"""`memory-api migrate`: a store written by the previous version (store format ma1, tests/data/
make_previous_store.py) becomes one of this format with every memory, history, vector, key and search
result as that version gave them; until then this version refuses to serve it."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from helpers import auth
from memory_api import create_app
from memory_api.cli import main as cli
from memory_api.services import Services
from memory_api.store import keys
from store_answers import answers

PREVIOUS = json.loads((Path(__file__).parent / "data" / "previous_store.json").read_text())


def load_previous_store(redis_client) -> None:
    for name, entry in PREVIOUS["keys"].items():
        redis_client.restore(name, max(entry["pttl"], 0), base64.b64decode(entry["dump"]))


def as_before(now: dict, before: dict) -> dict:
    """This version's answers with only the fields the previous version's memory objects had: fields added
    since (times) must be null on every migrated memory."""
    def project(row: dict, keys) -> dict:
        assert all(row[name] is None for name in row.keys() - set(keys)), row
        return {name: row[name] for name in keys}
    shape = before["list"][0].keys() if before["list"] else ()
    versions = next((v[0].keys() for v in before["history"].values() if v), ())
    return {**now, "list": [project(row, shape) for row in now["list"]],
            "history": {i: [project(v, versions) for v in vs] for i, vs in now["history"].items()},
            "search": {**now["search"], "semantic": None}}


def expected(services, user: str) -> dict:
    """The previous version's answers, its semantic order checked here against this machine's scores."""
    before = PREVIOUS["expected"][user]
    for query, order in before["search"]["semantic"].items():
        same_order_by_meaning(services, user, query, order)
    return {**before, "search": {**before["search"], "semantic": None}}


NEAR_TIE = 0.03


def same_order_by_meaning(services, user: str, query: str, order: list[str]) -> None:
    """The memories recorded first, in the order recorded, up to near ties: the query's vector is computed anew
    by this machine's onnxruntime and its quantised model (built by the installed onnx), whose last digits
    differ between versions, so memories within NEAR_TIE in cosine may swap places, across the tenth place
    too; a moved or lost vector changes far more than that."""
    scores = {s.memory.id: s.score for s in services.search.search(user, query, limit=100, mode="semantic").items}
    assert set(order) <= set(scores), query
    for i, earlier in enumerate(order):
        for later in order[i + 1:]:
            assert scores[earlier] >= scores[later] - NEAR_TIE, (query, earlier, later)
    lowest = min((scores[m] for m in order), default=None)
    for other in set(scores) - set(order):
        assert lowest is None or scores[other] <= lowest + NEAR_TIE, (query, other)


def migrate(redis_server, *args: str):
    result = CliRunner().invoke(cli, ["migrate", *args], env={"REDIS_URL": redis_server.url},
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_a_previous_store_is_refused_until_migrated_then_answers_as_before(settings, redis_client, redis_server):
    load_previous_store(redis_client)
    app = create_app(settings.replace(search_mode="hybrid"))
    key = next(iter(PREVIOUS["expected"]["alice"]["list"]))["id"]
    refused = app.test_client().get(f"/v1/memory/{key}", headers=auth("sk-mem-anything"))
    assert refused.status_code == 503 and "memory-api migrate" in refused.json["error"]["message"]
    app.extensions["memory_api"].close()

    output = migrate(redis_server)
    assert f"migrated {keys.PREVIOUS_PREFIX} -> {keys.PREFIX}" in output and "indexed 127 memories of 2 user(s)" in output
    services = Services.build(settings.replace(search_mode="hybrid"))
    try:
        assert services.check_consistency().ok, services.check_consistency().problems
        for user in ("alice", "bob"):
            assert as_before(answers(services, user), PREVIOUS["expected"][user]) == expected(services, user), user
        # the API key of the previous version still signs in, and the conversation is there
        [secret_hint] = [k.hint for k in services.keys.list()]
        assert secret_hint.startswith("sk-mem-")
        assert len(services.conversations.list("alice").items) == 1
        # vectors and the query profile were copied, not made again
        assert redis_client.execute_command("VCARD", keys.memory_vectors("bob")) == 120
        assert redis_client.hget(keys.memory_stats("bob"), "vprofile") is not None
        assert not any(b'"v":' in raw for raw in redis_client.hvals(keys.memory_items("alice")))
    finally:
        services.close()

    assert "nothing to migrate" in migrate(redis_server)
    output = migrate(redis_server, "--drop-previous")
    assert f"deleted {len(PREVIOUS['keys'])} keys" in output
    assert not list(redis_client.scan_iter(match=f"{keys.PREVIOUS_PREFIX}:*"))
    with Services.build(settings) as after:
        assert after.check_consistency().ok and after.memories.store.count("bob") == 120


def test_an_interrupted_migration_resumes(settings, redis_client, redis_server, monkeypatch):
    from memory_api.store import migrate as migrate_module

    load_previous_store(redis_client)
    copy = migrate_module.StoreMigration._copy
    copied = []

    def failing_after_a_few(self, name, stats):
        if len(copied) == 10:
            raise ConnectionError("the connection went away")
        copied.append(name)
        return copy(self, name, stats)

    monkeypatch.setattr(migrate_module.StoreMigration, "_copy", failing_after_a_few)
    with pytest.raises(ConnectionError):
        CliRunner().invoke(cli, ["migrate"], env={"REDIS_URL": redis_server.url}, catch_exceptions=False)
    monkeypatch.undo()
    with Services.build(settings) as refused:  # still the previous format: not served
        with pytest.raises(Exception, match="memory-api migrate"):
            refused.memories.store.count("alice")
    output = migrate(redis_server)
    assert "copied" in output and "(10 copied before)" in output
    with Services.build(settings.replace(search_mode="hybrid")) as services:
        assert services.check_consistency().ok
        for user in ("alice", "bob"):
            assert as_before(answers(services, user), PREVIOUS["expected"][user]) == expected(services, user), user
