"""How a write script is planned: the keys it declares, and the embeddings that travel with it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..index.analyzer import Analysis
from . import keys


def accepted_versions(versions: list[str] | None) -> str:
    """Accepted versions ("3.17": revision and document number, or "3": any write of revision 3) in
    the scripts' ",3.17,4," form; '' accepts any."""
    if versions is None:
        return ""
    return "," + ",".join(versions) + ","


class DeclaredKeys:
    """The KEYS of one write script: the user's fixed keys, then each per-name key it touches."""

    def __init__(self, user_id: str) -> None:
        self._user = user_id
        self.keys = keys.memory_keys(user_id)
        # The global scope's set is one of the fixed keys (KEYS[9], keys.memory_keys).
        self.index: dict[str, dict[str, int]] = {"s": {"": 9}, "g": {}, "t": {}, "h": {}}

    def _add(self, family: str, name: str, key: str) -> None:
        if name not in self.index[family]:
            self.keys.append(key)
            self.index[family][name] = len(self.keys)  # Lua's KEYS are 1-based

    def memory(self, scope: str | None, tags: Iterable[str], term_names: Iterable[str]) -> None:
        """The keys a memory with these scope, tags and terms occupies."""
        if scope:
            self._add("s", scope, keys.scope_members(self._user, scope))
        for tag in tags:
            self._add("g", tag, keys.tag_members(self._user, tag))
        for term in term_names:
            self._add("t", term, keys.term_postings(self._user, term))

    def stored(self, rec: dict[str, Any], analysis: Analysis) -> None:
        """The keys a stored memory (its record, decoded) occupies."""
        self.memory(rec.get("s"), rec.get("g") or (), analysis.term_names)

    def history(self, memory_id: str) -> None:
        self._add("h", memory_id, keys.memory_history(self._user, memory_id))


def no_vectors() -> str | None:
    return None


class Blobs:
    """Embeddings that travel with a plan: each after ARGV[1], named in the plan by its ARGV index."""

    def __init__(self) -> None:
        self.values: list[bytes] = []

    def add(self, blob: bytes | None) -> int | None:
        if blob is None:
            return None
        self.values.append(blob)
        return len(self.values) + 1


def without_nulls(value: Any) -> Any:
    """The plan without None values: Lua's cjson would turn them into a truthy cjson.null."""
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v) for v in value]
    return value
