"""`memory-api check`'s questions to the search index: does it hold exactly what the memories say?

Each memory's terms and fingerprint are recomputed from its content (index/analyzer.py)
and compared with its document entry, its postings and the duplicate map; then
every posting, document entry and count is checked for what no memory explains.
Only reads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

from ..store import keys
from ..store.records import hash_pairs, text
from ..store.redis import RedisStore, raises_store_unavailable
from .analyzer import analyze
from .lua import document_entry, duplicate_field
from .postings import DF_FIELD, decode, document_count, field_problem, packed


class Document(NamedTuple):
    """What the index should hold of one stored memory."""

    memory_id: str
    docno: int
    content: str
    scope: str | None


@dataclass(frozen=True)
class TermPostings:
    """One term's hash as stored: its postings by document, how many entries it has (more than the
    documents: a document listed twice), its count, and damaged fields."""

    values: dict[str, int]
    listed: int
    counted: int
    damage: list[str]


@dataclass
class IndexReport:
    """What verification found: every problem as a sentence, and what `reindex` repairs: the memories
    whose entries are wrong, and whether postings list gone documents or wrong counts."""

    problems: list[str] = field(default_factory=list)
    damaged: set[str] = field(default_factory=set)  # memory ids to re-index
    stray: dict[str, list[str]] = field(default_factory=dict)  # term -> documents it must not list
    unsound: list[str] = field(default_factory=list)  # terms whose hash is damaged or miscounted
    terms_counted_over: int = 0  # the terms counter less what the memories sum to

    def memory_problem(self, memory_id: str, problem: str) -> None:
        self.problems.append(f"{memory_id}: {problem}")
        self.damaged.add(memory_id)


@raises_store_unavailable
class IndexVerifier:
    def __init__(self, redis_store: RedisStore) -> None:
        self._redis = redis_store

    def verify(self, user_id: str, read_documents: Callable[[], list[Document]]) -> IndexReport:
        """Every disagreement between the user's memories and their search index. The memories are read
        (`read_documents`) after the index: while writes go on, a write racing with the reads can then
        only make a document the index lists look gone (it is: document numbers are never reused),
        never make a live one look stray, so what the report calls stray is safe to unpost."""
        report = IndexReport()
        postings = self._postings(user_id)
        entries = {text(k): text(v) for k, v in self._redis.client.hscan_iter(keys.memory_docs(user_id), count=1000)}
        documents = read_documents()
        terms_of: dict[str, set[str]] = {}
        memory_of: dict[str, str] = {}
        total_terms = 0
        for doc in documents:
            docno = str(doc.docno)
            analysis = analyze(doc.content)
            terms_of[docno], memory_of[docno] = set(analysis.frequencies), doc.memory_id
            total_terms += analysis.length
            if entries.get(docno) != document_entry(doc.memory_id, analysis.length, analysis.fingerprint):
                report.memory_problem(doc.memory_id, f"document {docno} is {entries.get(docno)!r} in the search index")
            for term, tf in analysis.frequencies.items():
                value = postings[term].values.get(docno) if term in postings else None
                if value != packed(tf, analysis.length):
                    report.memory_problem(doc.memory_id, f"posting of {term!r} is {value}, content says "
                                                         f"{packed(tf, analysis.length)}")
        self._check_duplicate_map(user_id, documents, report)
        for docno in sorted(entries.keys() - terms_of.keys()):
            report.problems.append(f"document {docno} ({entries[docno]}) has no record")
        for term, listing in sorted(postings.items()):
            _check_postings(term, listing, terms_of, report)
            if term in report.unsound:  # once mended, what it lists is written again by re-indexing
                report.damaged.update(memory_of[d] for d in listing.values if d in memory_of)
        counted = int(self._redis.client.hget(keys.memory_stats(user_id), "terms") or 0)
        if counted != total_terms:
            report.problems.append(f"counter terms is {counted}, memories sum to {total_terms}")
            report.terms_counted_over = counted - total_terms
        return report

    def _postings(self, user_id: str) -> dict[str, TermPostings]:
        out = {}
        pattern = keys.user_keys_pattern(user_id, keys.TERM_SUFFIX)
        for key in map(text, self._redis.client.scan_iter(match=pattern, count=1000)):
            pairs = hash_pairs(self._redis.client.execute_command("HGETALL", key))
            df = next((value for name, value in pairs if name == DF_FIELD), None)
            listed = [(text(docno), value) for docno, value in decode(pairs)]
            out[keys.family_member(user_id, keys.TERM_SUFFIX, key)] = TermPostings(
                values=dict(listed), listed=len(listed), counted=document_count(df),
                damage=[p for name, value in pairs if (p := field_problem(name, value)) is not None])
        return out

    def _check_duplicate_map(self, user_id: str, documents: list[Document], report: IndexReport) -> None:
        if not documents:
            return
        fields = [duplicate_field(doc.scope, analyze(doc.content).fingerprint) for doc in documents]
        owners = self._redis.client.hmget(keys.duplicates(user_id), fields)
        for doc, listed in zip(documents, owners):
            if doc.memory_id not in text(listed or b"").split():
                report.memory_problem(doc.memory_id, "missing from the duplicate map")


def _check_postings(term: str, listing: TermPostings, terms_of: dict[str, set[str]], report: IndexReport) -> None:
    gone = sorted(docno for docno in listing.values if docno not in terms_of)
    if gone:
        report.problems.append(f"postings of {term!r} list documents without records: {gone[:5]}")
    extra = sorted(d for d in listing.values if d in terms_of and term not in terms_of[d])
    if extra:
        report.problems.append(f"postings of {term!r} list documents whose content has no such term: {extra[:5]}")
    if gone or extra:
        report.stray[term] = gone + extra
    if listing.listed != len(listing.values):
        report.problems.append(f"postings of {term!r} list a document more than once")
    if listing.counted != listing.listed:
        report.problems.append(f"postings of {term!r} count {listing.counted} documents and list "
                               f"{listing.listed}: run `memory-api reindex`")
    report.problems += [f"postings of {term!r}: {damage}" for damage in listing.damage]
    if listing.damage or listing.counted != listing.listed or listing.listed != len(listing.values):
        report.unsound.append(term)
