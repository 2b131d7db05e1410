"""`memory-api reindex`: bring every memory's indexes up to its content and the embedding model.

The search index verifies itself against the memories (index/verify.py, what
`check` reports), and so do the time indexes (services/consistency.py); every
memory whose entries are wrong or missing is indexed again from its content and
record; postings and time entries no memory explains are dropped, and wrong
counts set right. When semantic recall is on, a memory without a vector
of the current embedding model is embedded (stored before semantic recall,
before the move to Redis 8, or under another model: then the user's vector set
is started afresh, as it is when most of it is tombstones of deleted or
re-embedded memories). After `memory-api migrate`, which copies memories into
a new store format without their search index, this indexes every one.

Each memory is re-indexed in place, atomically: its content, revision and
times do not change, a write racing with it simply wins (the re-index is
planned again), and a memory already right is left alone. So the command is
safe while the service runs, and can be stopped and run again at any point: it
resumes where work remains.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

from ..index.repair import PostingsRepair
from ..index.verify import Document, IndexVerifier
from ..models import IdWalk, Memory
from ..store.index_scan import IndexScanner
from ..store.vectors import VectorStore
from .consistency import time_index_damage
from .memories import MemoryService

_PAGE = 100
# Tombstones a user's vector set may carry before reindex rebuilds it (or a quarter of its live vectors).
TOMBSTONES_TOLERATED = 100


@dataclass
class ReindexReport:
    users: int = 0
    seen: int = 0
    reindexed: int = 0
    terms_mended: int = 0  # terms whose postings were damaged or miscounted
    postings_dropped: int = 0  # postings no memory explains (a gone document, a term it lacks)
    time_entries_dropped: int = 0  # time-index entries of memories without that time


class Reindexer:
    def __init__(self, memories: MemoryService, scanner: IndexScanner, verifier: IndexVerifier,
                 vectors: VectorStore, repair: PostingsRepair) -> None:
        self._memories = memories
        self._store = memories.store
        self._scanner = scanner
        self._verifier = verifier
        self._vectors = vectors
        self._repair = repair

    def users(self, user_id: str | None = None) -> list[str]:
        return [user_id] if user_id else list(self._scanner.users())

    def count(self, users: list[str]) -> int:
        """How many memories the given users have (for a progress bar)."""
        return sum(self._store.count(user) for user in users)

    def _all(self, user_id: str) -> list[Memory]:
        memories: list[Memory] = []
        while True:
            above = memories[-1].id if memories else None
            page = self._store.page(user_id, IdWalk(newest_first=False, above=above), count=_PAGE, expired_too=True)
            memories += page
            if len(page) < _PAGE:
                return memories

    def run(self, users: list[str], *, progress: Callable[[int], None] = lambda n: None) -> ReindexReport:
        report = ReindexReport()
        model = self._memories.semantic.model() if self._memories.semantic else None
        for user in users:
            report.users += 1
            if model is not None and self._vectors_to_rebuild(user, model):
                self._store.reset_vectors(user)  # then every memory is re-embedded
            memories: list[Memory] = []
            found = self._verifier.verify(user, functools.partial(self._documents, user, memories))
            report.seen += len(memories)
            stored = self._scanner.scan(user)
            _, time_damaged, strays = time_index_damage(
                stored, {i: rec for i, rec in stored.records.items() if rec is not None})
            report.time_entries_dropped += self._store.drop_stray_times(user, sorted(strays))
            # Terms first: re-indexing a memory unposts and posts, which needs well-formed, counted hashes.
            report.terms_mended += sum(self._repair.mend(user, term) for term in found.unsound)
            for term, docnos in found.stray.items():
                report.postings_dropped += self._repair.unpost(user, term, docnos)
            for start in range(0, len(memories), _PAGE):
                page = memories[start:start + _PAGE]
                report.reindexed += self._reindex_page(user, page, found.damaged | time_damaged,
                                                       with_vectors=model is not None)
                progress(len(page))
            if found.terms_counted_over and not found.damaged:
                # (Re-indexing a memory corrects the counter by its own length: only then is the rest off.)
                self._repair.correct_terms_counter(user, found.terms_counted_over)
        return report

    def _documents(self, user: str, memories: list[Memory]) -> list[Document]:
        """Read the user's memories into `memories` (when verification asks, after reading the index)."""
        memories.extend(self._all(user))
        return [Document(m.id, m.docno, m.content, m.scope) for m in memories]

    def _vectors_to_rebuild(self, user: str, model: str) -> bool:
        """Another model's vectors, or a set that is mostly tombstones (vectors of deleted or re-embedded
        memories, left because removing single vectors is unsafe on Redis 8.2.3)."""
        if self._vectors.model(user) not in (None, model):
            return True
        live = self._store.count(user)
        return self._vectors.size(user) - live > max(TOMBSTONES_TOLERATED, live // 4)

    def _reindex_page(self, user: str, page: list[Memory], damaged: set[str], *, with_vectors: bool) -> int:
        unvectored = self._vectors.missing(user, [m.id for m in page]) if with_vectors else set()
        stale = [m for m in page if m.id in damaged or m.id in unvectored]
        # Only a memory without a vector is embedded: one re-indexed for its terms keeps its vector.
        to_embed = [m for m in stale if m.id in unvectored]
        vectors = (self._memories.embeddings([m.content for m in to_embed]) or []) if to_embed else []
        embedding_of = {m.id: vector for m, vector in zip(to_embed, vectors)}
        return sum(self._store.reindex(user, m.id, m.content, embedding_of.get(m.id)) for m in stale)
