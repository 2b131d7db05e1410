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
from .llm import Upstream
from .memories import MemoryService
from .store.api_keys import ApiKeyStore
from .store.conversations import ConversationStore
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
        )

    def close(self) -> None:
        self.redis.close()
