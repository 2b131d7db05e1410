"""`memory-api reindex`: bring every memory's search index up to the current analyzer rules.

A memory indexed under older rules (text.ANALYZER_VERSION changed, e.g. when
stemming came in) is re-indexed in place, atomically, one memory at a time:
its content, revision and times do not change, a write racing with it simply
wins (the re-index is planned again), and a memory already current is
skipped, so the command is safe while the service runs and can be stopped and
run again at any point (it resumes where work remains).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator

from ..models import IdWalk
from ..store.index_scan import IndexScanner
from ..store.memories import MemoryStore
from ..text import ANALYZER_VERSION
from .memories import indexed

_PAGE = 200


@dataclass
class ReindexReport:
    users: int = 0
    seen: int = 0
    reindexed: int = 0


class Reindexer:
    def __init__(self, store: MemoryStore, scanner: IndexScanner) -> None:
        self._store = store
        self._scanner = scanner

    def users(self, user_id: str | None = None) -> list[str]:
        return [user_id] if user_id else list(self._scanner.users())

    def count(self, users: list[str]) -> int:
        """How many memories the given users have (for a progress bar)."""
        return sum(self._store.count(user) for user in users)

    def _memories(self, user_id: str) -> Iterator:
        above = None
        while True:
            page = self._store.page(user_id, IdWalk(newest_first=False, above=above), count=_PAGE)
            yield from page
            if len(page) < _PAGE:
                return
            above = page[-1].id

    def run(self, users: list[str], *, progress: Callable[[int], None] = lambda n: None) -> ReindexReport:
        report = ReindexReport()
        for user in users:
            report.users += 1
            for memory in self._memories(user):
                report.seen += 1
                if memory.index_version != ANALYZER_VERSION and self._store.reindex(
                        user, memory.id, indexed(memory.content)):
                    report.reindexed += 1
                progress(1)
        return report
