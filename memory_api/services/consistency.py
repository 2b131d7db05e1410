"""`memory-api check`: do the records and every index agree, for every user?

Each multi-key write is one Lua script, so Redis applies it whole or not at
all, even when the worker that sent it is killed; this check is how the tests
(and an operator) verify that nothing is half written. It compares every
structural index (ids, updated times, scopes, tags, counters, vectors) with the
records, and asks the search index to verify itself against them
(index/verify.py), so a stale search index is caught too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..index.verify import Document, IndexVerifier
from ..store.index_scan import IndexScanner, UserIndexes


@dataclass
class ConsistencyReport:
    users: int = 0
    memories: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def check_consistency(scanner: IndexScanner, verifier: IndexVerifier, user_id: str | None = None, *,
                      vector_model: str | None = None) -> ConsistencyReport:
    """Every disagreement between records and indexes. With `vector_model` (semantic recall is on),
    every memory must also have a vector of that model."""
    report = ConsistencyReport()
    for user in [user_id] if user_id else scanner.users():
        report.users += 1
        count, problems = memory_problems(scanner, verifier, user, vector_model)
        report.memories += count
        report.problems += [f"user {user}: {p}" for p in problems]
    return report


def memory_problems(scanner: IndexScanner, verifier: IndexVerifier, user_id: str,
                    vector_model: str | None = None) -> tuple[int, list[str]]:
    """(number of valid records, every disagreement found) for one user."""
    stored = scanner.scan(user_id)
    records = {i: rec for i, rec in stored.records.items() if rec is not None}
    problems = [f"{i}: record is not valid" for i, rec in stored.records.items() if rec is None]
    for memory_id in sorted(stored.ids - stored.records.keys()):
        problems.append(f"{memory_id}: in the id index but has no record")
    for memory_id in sorted(stored.records.keys() - stored.ids):
        problems.append(f"{memory_id}: has a record but is missing from the id index")
    problems += _record_problems(stored, records)
    problems += time_index_damage(stored, records)[0]
    documents = [Document(memory_id, rec["n"], rec["c"], rec.get("s")) for memory_id, rec in records.items()]
    problems += verifier.verify(user_id, lambda: documents).problems
    problems += _set_problems(stored, records)
    problems += _vector_problems(stored, records, vector_model)
    return len(records), problems


def _vector_problems(stored: UserIndexes, records: dict, vector_model: str | None) -> list[str]:
    if stored.vector_docs is None:
        return []
    # Vectors of documents without records are tombstones, expected (memory_lua_prelude.py put_vector).
    docnos = {str(rec["n"]) for rec in records.values()}
    problems: list[str] = []
    if vector_model is not None and records:
        if stored.vector_model not in (None, vector_model):
            problems.append(f"vectors were made by {stored.vector_model!r}, the service embeds with "
                            f"{vector_model!r}: run `memory-api reindex`")
        else:
            missing = len(docnos - stored.vector_docs)
            if missing:
                problems.append(f"{missing} memories have no vector: run `memory-api reindex`")
    return problems


TIME_INDEXES = {"ta": "occurred", "tv": "valid-until", "te": "expiry"}  # a record's short name -> its index


def time_index_damage(stored: UserIndexes, records: dict) -> tuple[list[str], set[str], set[str]]:
    """(problems, memories whose time entries are missing or wrong, ids a time index lists that have no
    such time): each time index against the records' times."""
    problems: list[str] = []
    damaged: set[str] = set()
    strays: set[str] = set()
    for short, name in TIME_INDEXES.items():
        index = stored.times.get(short, {})
        for memory_id, rec in records.items():
            if rec.get(short) is not None and index.get(memory_id) != rec[short]:
                problems.append(f"{memory_id}: {name} index says {index.get(memory_id)}, record {rec[short]}")
                damaged.add(memory_id)
        for memory_id in sorted(index.keys() - {i for i, rec in records.items() if rec.get(short) is not None}):
            problems.append(f"{memory_id}: in the {name} index without that time")
            strays.add(memory_id)
    return problems, damaged, strays


def _record_problems(stored: UserIndexes, records: dict) -> list[str]:
    """The updated-time index and the word and token counters against the records."""
    problems = []
    for memory_id, rec in records.items():
        if stored.updated.get(memory_id) != rec["u"]:
            problems.append(f"{memory_id}: updated-time index says {stored.updated.get(memory_id)}, record {rec['u']}")
    for name, short in (("words", "w"), ("tokens", "t")):
        total = sum(rec[short] for rec in records.values())
        if stored.stats.get(name, 0) != total:
            problems.append(f"counter {name} is {stored.stats.get(name, 0)}, memories sum to {total}")
    return problems


def _set_problems(stored: UserIndexes, records: dict) -> list[str]:
    problems = []
    tags: dict[str, set[str]] = {}
    scopes: dict[str | None, set[str]] = {None: set()}
    for memory_id, rec in records.items():
        scopes.setdefault(rec.get("s") or None, set()).add(memory_id)
        for tag in rec.get("g") or ():
            tags.setdefault(tag, set()).add(memory_id)
    for tag in stored.tag_members.keys() | tags.keys():
        if stored.tag_members.get(tag, set()) != tags.get(tag, set()):
            problems.append(f"tag {tag!r}: its index does not match the memories carrying it")
    for scope in stored.scope_members.keys() | scopes.keys():
        if stored.scope_members.get(scope, set()) != scopes.get(scope, set()):
            problems.append(f"scope {scope or 'global'!r}: its index does not match the memories in it")
    if stored.tag_counts != {t: len(m) for t, m in tags.items()}:
        problems.append("tag counts do not match the memories' tags")
    if stored.scope_counts != {s: len(m) for s, m in scopes.items() if s}:
        problems.append("scope counts do not match the memories' scopes")
    for memory_id in sorted(stored.histories - records.keys() - stored.deleted):
        problems.append(f"{memory_id}: history left behind by a deleted memory")
    return problems
