"""`memory-api check`: do the records and every index agree, for every user?

Each multi-key write is one Lua script, so Redis applies it whole or not at
all, even when the worker that sent it is killed; this check is how the tests
(and an operator) verify that nothing is half written. Besides every structural
index (ids, updated times, scopes, tags, counters, document numbers), it
recomputes each memory's search terms and fingerprint from its content
(memory_api/text.py) and compares them with what the index holds, so a stale
search index is caught too.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from ..store.index_scan import IndexScanner, UserIndexes
from ..store.postings import packed as packed_posting
from ..text import ANALYZER_VERSION, content_fingerprint, term_frequencies


@dataclass
class ConsistencyReport:
    users: int = 0
    memories: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def check_consistency(scanner: IndexScanner, user_id: str | None = None, *,
                      vector_model: str | None = None) -> ConsistencyReport:
    """Every disagreement between records and indexes. With `vector_model` (semantic recall is on),
    every memory must also have a vector of that model."""
    report = ConsistencyReport()
    for user in [user_id] if user_id else scanner.users():
        report.users += 1
        count, problems = memory_problems(scanner, user, vector_model)
        report.memories += count
        report.problems += [f"user {user}: {p}" for p in problems]
    return report


def memory_problems(scanner: IndexScanner, user_id: str, vector_model: str | None = None
                    ) -> tuple[int, list[str]]:
    """(number of valid records, every disagreement found) for one user."""
    stored = scanner.scan(user_id)
    records = {i: rec for i, rec in stored.records.items() if rec is not None}
    problems = [f"{i}: record is not valid" for i, rec in stored.records.items() if rec is None]
    for memory_id in sorted(stored.ids - stored.records.keys()):
        problems.append(f"{memory_id}: in the id index but has no record")
    for memory_id in sorted(stored.records.keys() - stored.ids):
        problems.append(f"{memory_id}: has a record but is missing from the id index")
    problems += _search_index_problems(scanner, user_id, stored, records)
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


def _search_index_problems(scanner: IndexScanner, user_id: str, stored: UserIndexes, records: dict) -> list[str]:
    problems: list[str] = []
    totals: Counter = Counter()
    wanted_postings, expected_postings, dedup_fields = [], [], []
    doc_terms: dict[str, set[str]] = {}  # each live document's terms, where known
    stale = 0
    for memory_id, rec in records.items():
        docno = str(rec["n"])
        totals.update(words=rec["w"], tokens=rec["t"])
        if stored.updated.get(memory_id) != rec["u"]:
            problems.append(f"{memory_id}: updated-time index says {stored.updated.get(memory_id)}, record {rec['u']}")
        if rec.get("v", 1) != ANALYZER_VERSION:
            # Indexed under older rules: its terms cannot be recomputed here (its term list has them);
            # `reindex` brings it up to date.
            stale += 1
            if docno not in stored.terms:
                problems.append(f"{memory_id}: indexed under older search rules and has no term list: "
                                "run `memory-api reindex`")
            parts = stored.terms.get(docno, "").split()
            totals.update(terms=sum(int(tf) for tf in parts[1::2]))
            if docno in stored.terms:
                doc_terms[docno] = set(parts[0::2])
            continue
        frequencies = term_frequencies(rec["c"])
        fingerprint = content_fingerprint(rec["c"])
        length = sum(frequencies.values())
        totals.update(terms=length)
        if stored.docs.get(docno) != f"{memory_id} {length} {fingerprint}":
            problems.append(f"{memory_id}: document {docno} is {stored.docs.get(docno)!r} in the search index")
        # Only a memory indexed before terms were recomputed from the record has a term list.
        parts = stored.terms[docno].split() if docno in stored.terms else None
        if parts is not None and dict(zip(parts[0::2], parts[1::2])) != {t: str(f) for t, f in frequencies.items()}:
            problems.append(f"{memory_id}: its term list does not match its content")
        doc_terms[docno] = set(frequencies)
        for term, tf in frequencies.items():
            wanted_postings.append((term, docno))
            expected_postings.append((memory_id, term, packed_posting(tf, length)))
        dedup_fields.append((memory_id, f"{rec.get('s') or ''}|{fingerprint}"))
    for (memory_id, term, expected), value in zip(expected_postings,
                                                  scanner.postings(user_id, wanted_postings)):
        if value != expected:
            problems.append(f"{memory_id}: posting of {term!r} is {value}, content says {expected}")
    owners = scanner.duplicate_owners(user_id, [f for _, f in dedup_fields])
    for (memory_id, _), listed in zip(dedup_fields, owners):
        if memory_id not in listed:
            problems.append(f"{memory_id}: missing from the duplicate map")
    if stale:
        problems.append(f"{stale} memories are indexed under older search rules: run `memory-api reindex`")
    docnos = {str(rec["n"]) for rec in records.values()}
    for docno in sorted(stored.docs.keys() - docnos):
        problems.append(f"document {docno} ({stored.docs[docno]}) has no record")
    for docno in sorted(stored.terms.keys() - docnos):
        problems.append(f"document {docno} has terms but no record")
    for term, listing in stored.posting_docs.items():
        stray = listing.docs - docnos
        if stray:
            problems.append(f"postings of {term!r} list documents without records: {sorted(stray)[:5]}")
        extra = sorted(d for d in listing.docs & doc_terms.keys() if term not in doc_terms[d])
        if extra:
            problems.append(f"postings of {term!r} list documents whose content has no such term: {extra[:5]}")
        if listing.listed != len(listing.docs):
            problems.append(f"postings of {term!r} list a document more than once")
        if listing.counted != listing.listed:
            problems.append(f"postings of {term!r} count {listing.counted} documents and list {listing.listed}: "
                            "run `memory-api reindex`")
        problems += [f"postings of {term!r}: {damage}" for damage in listing.damage]
    for name in ("words", "tokens", "terms"):
        if stored.stats.get(name, 0) != totals[name]:
            problems.append(f"counter {name} is {stored.stats.get(name, 0)}, memories sum to {totals[name]}")
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
    for memory_id in sorted(stored.histories - records.keys()):
        problems.append(f"{memory_id}: history left behind by a deleted memory")
    return problems
