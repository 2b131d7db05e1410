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
    context: ContextService
    conversations: ConversationService
    chat: ChatService
    idempotency: IdempotencyService

    @classmethod
    def build(cls, settings: Settings, redis_store: RedisStore | None = None) -> "Services":
        redis_store = redis_store or RedisStore.from_settings(settings)
        memory_store = MemoryStore(redis_store)
        upstream = Upstream(settings)
        context = ContextService(memory_store, max_words=settings.max_words, max_tokens=settings.max_tokens)
        conversations = ConversationService(ConversationStore(redis_store), upstream, settings)
        return cls(
            settings=settings,
            redis=redis_store,
            keys=KeyService(ApiKeyStore(redis_store), cache_seconds=settings.key_cache_seconds),
            memories=MemoryService(memory_store, max_content_chars=settings.max_content_chars),
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
