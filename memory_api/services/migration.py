"""`memory-api migrate`: a store of the previous format becomes one of this format (store/migrate.py copies
it; every memory is then indexed anew by the reindexer, as the search index is not copied)."""

from __future__ import annotations

from dataclasses import dataclass

from ..store.migrate import CopyReport, StoreMigration
from .reindex import Reindexer, ReindexReport


@dataclass
class MigrationReport:
    copied: CopyReport
    indexed: ReindexReport


def migrate_store(migration: StoreMigration, reindexer: Reindexer) -> MigrationReport:
    """Copy, index every memory, then record the format (so the store may be served). Run it again after
    an interruption: what was copied is skipped, what was indexed is left alone."""
    copied = migration.copy()
    indexed = reindexer.run(reindexer.users())
    migration.finish()
    return MigrationReport(copied, indexed)
