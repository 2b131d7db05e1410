"""Read-only scans comparing a user's memory records with every index that refers to them.

Besides every structural index (ids, updated times, scopes, tags, counters,
document numbers), it recomputes each memory's search terms and fingerprint
from its content (memory_api/text.py) and compares them with what the index
holds, so a stale search index is caught too.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Iterator

from ..text import content_fingerprint, term_frequencies
from . import keys
from .redis import RedisStore


def _s(value) -> str:
    return value.decode() if isinstance(value, bytes) else value


class ConsistencyStore:
    def __init__(self, redis_store: RedisStore) -> None:
        self._redis = redis_store

    def users(self) -> Iterator[str]:
        """Every user that has (or had) a memory index."""
        seen = set()
        for name in self._redis.client.scan_iter(match=keys.memory_ids_pattern(), count=1000):
            user = keys.user_of_memory_key(_s(name))
            if user is not None and user not in seen:
                seen.add(user)
                yield user

    def _scan_family(self, user_id: str, suffix: str) -> dict[str, str]:
        """{name after the suffix: full key name} for one family of a user's keys."""
        head = keys.user_prefix(user_id) + suffix
        return {_s(k)[len(head):]: _s(k) for k in self._redis.client.scan_iter(
            match=keys.user_keys_pattern(user_id, suffix), count=1000)}

    def memory_problems(self, user_id: str) -> tuple[int, list[str]]:
        """(number of records, every disagreement found)."""
        c = self._redis.client
        problems: list[str] = []
        index = {_s(m) for m, _ in c.zscan_iter(keys.memory_ids(user_id), count=1000)}
        updated = {_s(m): int(s) for m, s in c.zscan_iter(keys.memory_updated(user_id), count=1000)}
        docs = {_s(k): _s(v) for k, v in c.hscan_iter(keys.memory_docs(user_id), count=1000)}
        terms = {_s(k): _s(v) for k, v in c.hscan_iter(keys.memory_terms(user_id), count=1000)}
        records = {}
        for memory_id, raw in c.hscan_iter(keys.memory_items(user_id), count=1000):
            try:
                rec = json.loads(raw)
                assert isinstance(rec["c"], str) and isinstance(rec["r"], int) and isinstance(rec["n"], int)
                records[_s(memory_id)] = rec
            except (ValueError, KeyError, TypeError, AssertionError):
                problems.append(f"{_s(memory_id)}: record is not valid")
        for memory_id in sorted(index - records.keys() - {p.split(':')[0] for p in problems}):
            problems.append(f"{memory_id}: in the id index but has no record")
        for memory_id in sorted(records.keys() - index):
            problems.append(f"{memory_id}: has a record but is missing from the id index")

        tag_members: dict[str, set[str]] = {}
        scope_members: dict[str | None, set[str]] = {}
        totals = Counter()
        expected_docs = set()
        pipe = c.pipeline(transaction=False)
        checks = []
        for memory_id, rec in records.items():
            docno = str(rec["n"])
            expected_docs.add(docno)
            totals.update(words=rec["w"], tokens=rec["t"])
            scope = rec.get("s")
            scope_members.setdefault(scope, set()).add(memory_id)
            for tag in rec.get("g") or ():
                tag_members.setdefault(tag, set()).add(memory_id)
            if updated.get(memory_id) != rec["u"]:
                problems.append(f"{memory_id}: updated-time index says {updated.get(memory_id)}, record {rec['u']}")
            frequencies = term_frequencies(rec["c"])
            fingerprint = content_fingerprint(rec["c"])
            length = sum(frequencies.values())
            totals.update(terms=length)
            if docs.get(docno) != f"{memory_id} {length} {fingerprint}":
                problems.append(f"{memory_id}: document {docno} is {docs.get(docno)!r} in the search index")
            stored_terms = dict(pair.split(" ") for pair in _pairs(terms.get(docno, "")))
            if stored_terms != {t: str(f) for t, f in frequencies.items()}:
                problems.append(f"{memory_id}: its terms in the search index do not match its content")
            for term, tf in frequencies.items():
                pipe.hget(keys.term_postings(user_id, term), docno)
                checks.append((memory_id, term, tf * 65536 + length))  # a posting's score: tf and length
            pipe.hget(keys.duplicates(user_id), f"{scope or ''}|{fingerprint}")
            checks.append((memory_id, None, None))
        for (memory_id, term, expected), value in zip(checks, pipe.execute() if checks else []):
            if term is not None and (value is None or int(value) != expected):
                problems.append(f"{memory_id}: posting of {term!r} is {value}, content says {expected}")
            if term is None and value is None:
                problems.append(f"{memory_id}: missing from the duplicate map")
        for docno in sorted(docs.keys() - expected_docs):
            problems.append(f"document {docno} ({docs[docno]}) has no record")
        for docno in sorted(terms.keys() - expected_docs):
            problems.append(f"document {docno} has terms but no record")

        problems += self._set_problems(user_id, tag_members, scope_members, expected_docs, records.keys())
        stats = c.hgetall(keys.memory_stats(user_id))
        for name in ("words", "tokens", "terms"):
            if int(stats.get(name.encode(), 0)) != totals[name]:
                problems.append(f"counter {name} is {int(stats.get(name.encode(), 0))}, memories sum to {totals[name]}")
        tag_counts = {_s(k): int(v) for k, v in c.hgetall(keys.tag_counts(user_id)).items()}
        if tag_counts != {t: len(m) for t, m in tag_members.items()}:
            problems.append("tag counts do not match the memories' tags")
        scope_counts = {_s(k): int(v) for k, v in c.hgetall(keys.scope_counts(user_id)).items()}
        if scope_counts != {s: len(m) for s, m in scope_members.items() if s}:
            problems.append("scope counts do not match the memories' scopes")
        return len(records), problems

    def _set_problems(self, user_id, tag_members, scope_members, expected_docs, record_ids) -> list[str]:
        c = self._redis.client
        problems = []
        tag_keys = self._scan_family(user_id, keys.TAG_SUFFIX)
        for tag in tag_keys.keys() | tag_members.keys():
            members = {_s(m) for m in c.zrange(keys.tag_members(user_id, tag), 0, -1)}
            if members != tag_members.get(tag, set()):
                problems.append(f"tag {tag!r}: its index does not match the memories carrying it")
        scope_keys = self._scan_family(user_id, keys.SCOPE_SUFFIX)
        for scope in scope_keys.keys() | {s for s in scope_members if s} | {None}:
            members = {_s(m) for m in c.zrange(keys.scope_members(user_id, scope), 0, -1)}
            if members != scope_members.get(scope, set()):
                problems.append(f"scope {scope or 'global'!r}: its index does not match the memories in it")
        for term, name in self._scan_family(user_id, keys.TERM_SUFFIX).items():
            stray = {_s(m) for m in c.hkeys(name)} - expected_docs
            if stray:
                problems.append(f"postings of {term!r} list documents without records: {sorted(stray)[:5]}")
        for memory_id in self._scan_family(user_id, keys.HISTORY_SUFFIX).keys() - set(record_ids):
            problems.append(f"{memory_id}: history left behind by a deleted memory")
        return problems


def _pairs(terms: str) -> list[str]:
    parts = terms.split()
    return [f"{parts[i]} {parts[i + 1]}" for i in range(0, len(parts) - 1, 2)]
