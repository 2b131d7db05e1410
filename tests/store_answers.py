"""What a version of memory-api answers about a user's memories (list, ETags, history, searches): recorded by
tests/data/make_previous_store.py with the previous version, compared by tests/test_migrate.py with this one.

Searches are what a store migration must keep and a change of ranking may not: keyword results with their
BM25 scores (the index), and the order semantic search finds memories in (the vectors; its scores' scale
may change from one version to the next)."""

from __future__ import annotations

QUERIES = ["peanut allergy", "what should I cook tonight", "cats", "Berlin", "trip to Japan", "book club"]


def answers(services, user: str) -> dict:
    listed = services.memories.list(user, limit=100)
    return {
        "list": [m.to_api() for m in listed.items],
        "etags": {m.id: m.etag for m in listed.items},
        "history": {m.id: [v.to_api() for v in services.memories.history(user, m.id)] for m in listed.items},
        "search": {
            "keyword": {q: [[s.memory.id, round(s.score, 6)] for s in
                            services.search.search(user, q, limit=10, mode="keyword").items] for q in QUERIES},
            "semantic": {q: [s.memory.id for s in services.search.search(user, q, limit=10, mode="semantic").items]
                         for q in QUERIES},
        },
    }
