"""Wiring: the store and the services built from one Settings.

Used by the Flask app, the CLI and the MCP server alike, so each door gets the
same services over the same Redis.
"""

from __future__ import annotations

from dataclasses import dataclass

from .auth import KeyService
from .chat import ChatService
from .config import Settings
from .context import ContextService
from .conversations import ConversationService
from .idempotency import IdempotencyService
from .llm import Upstream
from .memories import MemoryService
from .portability import Portability
from .search import SearchService
from .store.api_keys import ApiKeyStore
from .store.conversations import ConversationStore
from .store.idempotency import IdempotencyStore
from .store.memories import MemoryStore
from .store.redis import RedisStore


@dataclass
class Services:
    settings: Settings
    redis: RedisStore
    keys: KeyService
    memories: MemoryService
    search: SearchService
    portability: Portability
    context: ContextService
    conversations: ConversationService
    chat: ChatService
    idempotency: IdempotencyService

    @classmethod
    def build(cls, settings: Settings, redis_store: RedisStore | None = None) -> "Services":
        redis_store = redis_store or RedisStore.from_settings(settings)
        memory_store = MemoryStore(redis_store)
        upstream = Upstream(settings)
        search = SearchService(memory_store)
        memories = MemoryService(memory_store, max_content_chars=settings.max_content_chars,
                                 history_depth=settings.history_depth, quota_memories=settings.quota_memories,
                                 quota_words=settings.quota_words)
        context = ContextService(memory_store, search, max_words=settings.max_words, max_tokens=settings.max_tokens)
        conversations = ConversationService(ConversationStore(redis_store), upstream, settings)
        return cls(
            settings=settings,
            redis=redis_store,
            keys=KeyService(ApiKeyStore(redis_store), cache_seconds=settings.key_cache_seconds),
            memories=memories,
            search=search,
            portability=Portability(memory_store, memories),
            context=context,
            conversations=conversations,
            chat=ChatService(settings, context, conversations, upstream),
            # A first attempt holds its key at most as long as a request can take.
            idempotency=IdempotencyService(IdempotencyStore(redis_store),
                                           window_seconds=settings.idempotency_window_seconds,
                                           lease_seconds=2 * settings.upstream_timeout + 30),
        )

    def close(self) -> None:
        self.redis.close()
