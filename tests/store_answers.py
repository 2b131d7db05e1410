"""What a version of memory-api answers about a user's memories (list, ETags, history, searches): recorded by
tests/data/make_previous_store.py with the previous version, compared by tests/test_migrate.py with this one."""

from __future__ import annotations

QUERIES = ["peanut allergy", "what should I cook tonight", "cats", "Berlin", "trip to Japan", "book club"]


def answers(services, user: str) -> dict:
    listed = services.memories.list(user, limit=100)
    return {
        "list": [m.to_api() for m in listed.items],
        "etags": {m.id: m.etag for m in listed.items},
        "history": {m.id: [v.to_api() for v in services.memories.history(user, m.id)] for m in listed.items},
        "search": {mode: {q: [[s.memory.id, round(s.score, 6)] for s in
                              services.search.search(user, q, limit=10, mode=mode).items] for q in QUERIES}
                   for mode in ("keyword", "hybrid")},
    }
