"""`memory-api reindex`: bring every memory's indexes up to the current rules and embedding model.

A memory is re-indexed when its search terms come from older analyzer rules
(text.ANALYZER_VERSION changed, e.g. when stemming came in), or when semantic
recall is on and it has no vector of the current embedding model (stored
before semantic recall, before the move to Redis 8, or under another model:
then the user's vector set is started afresh, as it is when most of it is
tombstones of deleted or re-embedded memories), and when it still has a term
list (indexed before terms were recomputed from the record; re-indexed without
it). Search postings written one per
hash field (before buckets, store/postings.py) are moved into buckets, a few
thousand per script call, every term's postings count is set to what it
lists (a repair after a writer of the previous version ran beside this one),
and postings of documents that are gone are dropped. Each memory is re-indexed in
place, atomically: its content, revision and times do not change, a write
racing with it simply wins (the re-index is planned again), and a memory
already current is skipped. So the command is safe while the service runs,
and can be stopped and run again at any point: it resumes where work remains.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator

from ..models import IdWalk, Memory
from ..store.index_scan import IndexScanner
from ..store.postings_upkeep import PostingsUpkeep
from ..store.vectors import VectorStore
from ..text import ANALYZER_VERSION
from .memories import MemoryService, indexed

_PAGE = 100
# Tombstones a user's vector set may carry before reindex rebuilds it (or a quarter of its live vectors).
TOMBSTONES_TOLERATED = 100


@dataclass
class ReindexReport:
    users: int = 0
    seen: int = 0
    reindexed: int = 0
    postings_moved: int = 0  # search postings moved from one hash field each into buckets
    counts_repaired: int = 0  # terms whose postings count was wrong
    postings_swept: int = 0  # postings of documents that are gone, dropped


class Reindexer:
    def __init__(self, memories: MemoryService, scanner: IndexScanner, vectors: VectorStore,
                 postings: PostingsUpkeep) -> None:
        self._memories = memories
        self._store = memories.store
        self._scanner = scanner
        self._vectors = vectors
        self._postings = postings

    def users(self, user_id: str | None = None) -> list[str]:
        return [user_id] if user_id else list(self._scanner.users())

    def count(self, users: list[str]) -> int:
        """How many memories the given users have (for a progress bar)."""
        return sum(self._store.count(user) for user in users)

    def _pages(self, user_id: str) -> Iterator[list[Memory]]:
        above = None
        while True:
            page = self._store.page(user_id, IdWalk(newest_first=False, above=above), count=_PAGE)
            yield page
            if len(page) < _PAGE:
                return
            above = page[-1].id

    def run(self, users: list[str], *, progress: Callable[[int], None] = lambda n: None) -> ReindexReport:
        report = ReindexReport()
        model = self._memories.semantic.model() if self._memories.semantic else None
        for user in users:
            report.users += 1
            if model is not None and self._vectors_to_rebuild(user, model):
                self._store.reset_vectors(user)  # then every memory is re-embedded
            for page in self._pages(user):
                report.seen += len(page)
                report.reindexed += self._reindex_page(user, page, with_vectors=model is not None)
                progress(len(page))
            moved, repaired = self._postings.compact(user)
            report.postings_moved += moved
            report.counts_repaired += repaired
            report.postings_swept += self._postings.sweep(user)
        return report

    def _vectors_to_rebuild(self, user: str, model: str) -> bool:
        """Another model's vectors, or a set that is mostly tombstones (vectors of deleted or re-embedded
        memories, left because removing single vectors is unsafe on Redis 8.2.3)."""
        if self._vectors.model(user) not in (None, model):
            return True
        live = self._store.count(user)
        return self._vectors.size(user) - live > max(TOMBSTONES_TOLERATED, live // 4)

    def _reindex_page(self, user: str, page: list[Memory], *, with_vectors: bool) -> int:
        unvectored = self._vectors.missing(user, [m.id for m in page]) if with_vectors else set()
        # A memory with a term list (indexed before terms were recomputed from the record) is re-indexed
        # without it: the list is a tenth of the store.
        listed = self._store.term_lists(user, [m.id for m in page])
        stale = [m for m in page if m.index_version != ANALYZER_VERSION or m.id in unvectored or m.id in listed]
        # Only a memory without a vector is embedded: one re-indexed for its terms keeps its vector (after
        # an upgrade that is every memory, and embedding them all again would be slow, or paid for).
        to_embed = [m for m in stale if m.id in unvectored]
        vectors = (self._memories.embeddings([m.content for m in to_embed]) or []) if to_embed else []
        embedding_of = {m.id: vector for m, vector in zip(to_embed, vectors)}
        done = 0
        for memory in stale:
            done += self._store.reindex(user, memory.id, memory.content, indexed(memory.content),
                                        embedding_of.get(memory.id))
        return done
