"""Which memories go into a prompt: the candidates, most relevant first (or newest), from the user's own
memories and the shared spaces drawn from; context_block.py renders and fills the block under the caps."""

from __future__ import annotations

import dataclasses
import heapq
import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidRequest
from ..models import Filters, IdWalk, Memory
from ..tokens import encoding_name_for_model
from ..validation import InputRules, check_scope
from .context_block import ContextSelection, select_memories_within_caps, shared_label
from .parallel import in_parallel
from .search import SearchService
from .spaces import Space, SpaceService


@dataclass(frozen=True)
class Caps:
    max_words: int
    max_tokens: int


def resolve_caps(requested: dict | None, *, server_max_words: int, server_max_tokens: int) -> Caps:
    """Per-request caps, which may lower but never raise the server's."""
    requested = requested or {}
    caps = {}
    for name, server_max in (("max_words", server_max_words), ("max_tokens", server_max_tokens)):
        value = requested.get(name)
        if value is None:
            caps[name] = server_max
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= server_max:
            raise InvalidRequest(
                f"'memory.{name}' must be an integer from 0 to {server_max} (this server's maximum).",
                param=f"memory.{name}",
                code="invalid_value",
            )
        caps[name] = value
    return Caps(**caps)


def _first_of_each_content(memories: Iterable[Memory]) -> Iterator[Memory]:
    """The memories in order, each content once (ignoring case and spacing, as duplicates are found): the
    same fact kept by the user and a space, or by two spaces, takes one line of the block, not two."""
    seen: set[str] = set()
    for memory in memories:
        key = " ".join(memory.content.casefold().split())
        if key not in seen:
            seen.add(key)
            yield memory


def relevance_query(query: str | None, background: str | None) -> str:
    """What memories are ranked against: the message, followed by what the conversation is about.

    One text rather than two rankings: a short turn ("ok, sounds good") then takes its meaning from
    the summary, while a precise question still leads (the embedder reads the start first, and
    truncates the end)."""
    return "\n".join(t for t in (query, background) if t)


class ContextService:
    """Builds the memory block for a user's prompt.

    Candidates come in priority order. With a query (the latest user message,
    and a conversation's summary), only memories relevant to it, most relevant
    first (up to RELEVANT_CANDIDATES): in hybrid and semantic ranking, those
    scoring at least `min_relevance` (MEMORY_API_MIN_RELEVANCE: services/fusion.py),
    so a message no memory helps with injects about none; in keyword ranking
    (without vector sets), every memory that shares a word with it. Without a
    query, the newest. Only global memories and those of the request's
    scope are candidates, never another scope's.
    """

    RELEVANT_CANDIDATES = 100
    SHARED_CANDIDATES = 50  # the fewest each source ranks when a block draws from shared spaces too
    # The newest are read a page at a time, small first: most selections stop within the first.
    NEWEST_CHUNKS = (50, 100, 200)

    def __init__(self, memory_store, search: SearchService, *, max_words: int, max_tokens: int,
                 rules: InputRules = InputRules(), min_relevance: float | None = None,
                 spaces: SpaceService | None = None) -> None:
        self._store = memory_store
        self._search = search
        self._spaces = spaces
        self.max_words = max_words
        self.max_tokens = max_tokens
        self.rules = rules
        self.min_relevance = min_relevance  # None: every ranked memory may be injected

    def caps(self, requested: dict | None) -> Caps:
        """The caps of a request (`max_words`, `max_tokens`): at most the server's."""
        return resolve_caps(requested, server_max_words=self.max_words, server_max_tokens=self.max_tokens)

    def preview(self, user_id: str, *, model: str | None = None, caps: dict | None = None,
                query: object = None, scope: object = None, mode: object = None,
                times: dict[str, Any] | None = None, spaces: object = None) -> ContextSelection:
        """The block chat would inject, for a caller's request (REST, MCP): every input checked here.
        A blank `query` means none (newest first). `times`: the time filters (InputRules.time_filters).
        `spaces`: as chat's memory.spaces."""
        if query is not None and not (isinstance(query, str) and not query.strip()):
            query = self.rules.query(query)
        return self.build(user_id, model=model, caps=self.caps(caps), query=query or None,
                          scope=check_scope(scope), mode=mode, times=self.rules.time_filters(times or {}),
                          spaces=spaces)

    def _newest_first(self, user_id: str, scope: str | None, times: Filters) -> Iterator[Memory]:
        below = None
        for pages in itertools.count():
            chunk = self.NEWEST_CHUNKS[min(pages, len(self.NEWEST_CHUNKS) - 1)]
            page = self._store.page(user_id, IdWalk(newest_first=True, below=below), count=chunk,
                                    filters=dataclasses.replace(times, scope=scope, scoped=True),
                                    hide_invalid=times.include_invalid is not True)
            yield from page
            if len(page) < chunk:
                return
            below = page[-1].id

    def _candidates(self, owners: list[str], scopes: list[str | None], query: str | None, mode: str,
                    times: Filters) -> Iterator[Memory]:
        candidates = self._from_sources(owners, scopes, query, mode, times)
        yield from candidates if len(owners) == 1 else _first_of_each_content(candidates)

    def _from_sources(self, owners: list[str], scopes: list[str | None], query: str | None, mode: str,
                      times: Filters) -> Iterator[Memory]:
        if query is None:
            yield from heapq.merge(*(self._newest_first(owner, s, times) for owner in owners for s in scopes),
                                   key=lambda m: m.id, reverse=True)
            return
        # BM25 means nothing across queries: keyword ranking takes every memory that shares a word.
        floor = self.min_relevance if mode != "keyword" else None
        # The user's own and each space's share the candidates one user gets, each ranking no fewer than
        # SHARED_CANDIDATES: a block drawn from two spaces costs about half as much again as one user's,
        # not three times as much.
        limit = max(self.RELEVANT_CANDIDATES // len(owners), self.SHARED_CANDIDATES)

        def rank(owner: str) -> list:
            return self._search.ranked(owner, query, limit=limit, mode=mode, scopes=scopes, min_score=floor,
                                       filters=times)

        # Each source is on its own slot (a node of its own, on a cluster): their round trips overlap.
        ranked = [rank(owners[0])] if len(owners) == 1 else in_parallel(rank, owners)
        # The user's own and each space's, by score (each list is best first; a tie keeps the user's first).
        for found in heapq.merge(*ranked, key=lambda found: -found.score):
            yield found.memory

    def shared(self, user_id: str, spaces: object) -> list[Space]:
        """The spaces whose memories join the user's own in a block: those named, or by default those whose
        membership has inject on (services/spaces.py checks membership now, for this request)."""
        return self._spaces.injected(user_id, spaces) if self._spaces is not None else []

    def build(self, user_id: str, *, model: str | None = None, caps: Caps | None = None,
              query: str | None = None, scope: str | None = None, mode: object = None,
              background: str | None = None, times: dict[str, Any] | None = None,
              spaces: object = None) -> ContextSelection:
        """The block for a prompt: the memories relevant to `query` and `background` (a conversation's
        summary), ranked in `mode` (hybrid, semantic or keyword; default: the server's), or without
        either the newest; `scope` adds that scope's memories to the global ones. `times`: checked time
        filters (InputRules.time_filters); by default only what still holds (valid_until unset or ahead),
        and never what has expired. `spaces`: the shared spaces to draw from too (memory.spaces; None:
        those the user's memberships inject), each line of theirs marked with the space and its writer."""
        shared = self.shared(user_id, spaces)
        names = {space.id: space.name for space in shared}

        def label_of(memory: Memory) -> str | None:
            name = names.get(memory.space) if memory.space is not None else None
            return shared_label(name, memory.author) if name is not None else None

        owners = [user_id, *(space.owner for space in shared)]
        time_filters = Filters(**(times or {}))
        caps = caps or Caps(self.max_words, self.max_tokens)
        mode = self._search.semantic.mode(mode)
        scopes: list[str | None] = [None] if scope is None else [None, scope]
        total = sum(self._store.count_in_scopes(owner, scopes) for owner in owners)
        if caps.max_words == 0 or caps.max_tokens == 0:
            return ContextSelection([], "", 0, 0, total, mode)
        selection = select_memories_within_caps(
            self._candidates(owners, scopes, relevance_query(query, background) if query or background else None,
                             mode, time_filters),
            max_words=caps.max_words,
            max_tokens=caps.max_tokens,
            encoding=encoding_name_for_model(model),
            total=total,
            label_of=label_of,
        )
        return dataclasses.replace(selection, mode=mode)
