"""The domain rules (no Flask, no Redis syntax), and `Services`: all of them built from one Settings.

The Flask app, the MCP server and the CLI each build one `Services` and call
the same objects, so every door gets the same rules over the same Redis.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ..config import Settings
from ..embeddings import build_embedder
from ..index.query import KeywordIndex, SearchBounds
from ..index.repair import PostingsRepair
from ..index.verify import IndexVerifier
from ..store.api_keys import ApiKeyStore
from ..store.capture_queue import CaptureQueue
from ..store.conversations import ConversationStore
from ..store.events import EventStore
from ..store.idempotency import IdempotencyStore
from ..store.index_scan import IndexScanner
from ..store.memories import MemoryStore
from ..store.rate_limits import rate_limit_storage
from ..store.redis import RedisStore
from ..store.spaces import SpaceStore
from ..store.stream_slots import StreamSlotStore
from ..store.suggestions import SuggestionStore
from ..store.sweep_lock import SweepLock
from ..store.vectors import VectorStore
from ..validation import InputRules
from .auth import KeyService
from .capture import CaptureService
from .capture_jobs import CaptureJobs
from .chat import ChatService
from .consistency import ConsistencyReport, check_consistency
from .context import ContextService
from .conversations import ConversationService
from .events import EventService
from .expiry import ExpirySweeper
from .idempotency import IdempotencyService
from .memories import MemoryService
from .portability import Portability
from .provider_api import ProviderApi
from .rate_limits import RateLimits
from .reindex import Reindexer
from .responses import ResponsesService
from .search import SearchService
from .semantic import SemanticIndex
from .spaces import SpaceService
from .stats import StatsService
from .streams import StreamLimiter
from .upstream import Upstream

log = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    redis: RedisStore
    rules: InputRules
    keys: KeyService
    memories: MemoryService
    search: SearchService
    stats: StatsService
    portability: Portability
    context: ContextService
    conversations: ConversationService
    chat: ChatService
    idempotency: IdempotencyService
    provider: ProviderApi  # the provider's /models and /responses, relayed
    responses: ResponsesService
    rate_limits: RateLimits
    events: EventService
    capture: CaptureService
    capture_jobs: CaptureJobs
    expiry: ExpirySweeper
    spaces: SpaceService

    @classmethod
    def build(cls, settings: Settings, redis_store: RedisStore | None = None) -> Services:
        redis_store = redis_store or RedisStore.from_settings(settings)
        rules = InputRules.from_settings(settings)
        semantic = SemanticIndex(build_embedder(settings, quantize=lambda: _quantize(settings, redis_store)),
                                 redis_store,
                                 default_mode=settings.search_mode,
                                 keyword_weight=settings.hybrid_keyword_weight,
                                 query_profile=settings.query_profile)
        memory_store = MemoryStore(redis_store, vector_model=semantic.model, events_kept=settings.events_kept,
                                   deleted_retention=settings.deleted_retention_seconds,
                                   history_depth=settings.history_depth)
        upstream = Upstream(settings)
        keyword = KeywordIndex(redis_store, SearchBounds(settings.max_query_terms, settings.max_search_postings))
        search = SearchService(memory_store, keyword, semantic, rules)
        memories = MemoryService(memory_store, rules=rules, history_depth=settings.history_depth,
                                 quota_memories=settings.quota_memories, quota_words=settings.quota_words,
                                 space_quota_memories=settings.space_quota_memories,
                                 space_quota_words=settings.space_quota_words, semantic=semantic)
        spaces = SpaceService(SpaceStore(redis_store), memories, EventStore(redis_store),
                              max_spaces_per_user=settings.max_spaces_per_user,
                              max_members=settings.max_space_members, events_kept=settings.events_kept)
        context = ContextService(memory_store, search, max_words=settings.max_words, max_tokens=settings.max_tokens,
                                 rules=rules, min_relevance=settings.min_relevance, spaces=spaces)
        conversations = ConversationService(ConversationStore(redis_store), upstream, settings, rules)
        provider = ProviderApi(upstream, serves_responses=settings.upstream_responses)
        # One cap on a key's open streams, chat completions and responses together.
        streams = StreamLimiter(StreamSlotStore(redis_store), max_per_key=settings.max_streams_per_key,
                                lease_seconds=settings.request_lease_seconds)
        keys = KeyService(ApiKeyStore(redis_store), cache_seconds=settings.key_cache_seconds)
        capture = CaptureService(upstream, memories, search, SuggestionStore(redis_store),
                                 model=settings.effective_capture_model, candidates=settings.capture_candidates,
                                 may_edit_user_memories=settings.capture_may_edit_user_memories,
                                 max_messages=settings.max_chat_messages)
        capture_jobs = CaptureJobs(CaptureQueue(redis_store), capture, enabled_by_default=settings.capture_by_default,
                                   max_attempts=settings.capture_max_attempts,
                                   retry_seconds=settings.capture_retry_seconds)
        return cls(
            settings=settings,
            redis=redis_store,
            rules=rules,
            keys=keys,
            memories=memories,
            search=search,
            stats=StatsService(memory_store),
            portability=Portability(memory_store, memories),
            context=context,
            conversations=conversations,
            chat=ChatService(settings, context, conversations, upstream, streams, capture_jobs),
            idempotency=IdempotencyService(IdempotencyStore(redis_store),
                                           window_seconds=settings.idempotency_window_seconds,
                                           lease_seconds=settings.request_lease_seconds),
            provider=provider,
            responses=ResponsesService(context, provider, streams),
            rate_limits=RateLimits(keys, settings.rate_limit, settings.rate_limit_paths,
                                   lambda: rate_limit_storage(redis_store)),
            events=EventService(EventStore(redis_store), rules),
            capture=capture,
            capture_jobs=capture_jobs,
            expiry=ExpirySweeper(memory_store, SweepLock(redis_store), every=settings.expiry_sweep_seconds),
            spaces=spaces,
        )

    def check_health(self) -> None:
        """Raise StoreUnavailable unless Redis answers."""
        self.redis.ping()

    def check_embedding_model(self) -> str | None:
        """At start: compare the embedding model with the one the stored vectors were made with (recorded
        in Redis). Returns a warning to show when they differ (semantic matches skip the old vectors
        until `memory-api reindex`), else None."""
        model = self.search.semantic.model()
        before = VectorStore(self.redis).deployment_model(model)
        if model is None or before in (None, model):
            return None
        return (f"the stored vectors were made by embedding model {before!r}, this service embeds with "
                f"{model!r}: run `memory-api reindex` (until then semantic recall skips the old vectors)")

    def warm_up(self) -> None:
        """Load what the first request would otherwise wait for (the embedding model; the openai SDK when a
        provider is configured), if it will be used. Never fatal: a Redis or model that is not there yet is
        reported when a request needs it."""
        try:
            self.search.semantic.warm_up()
        except Exception:  # warming up is an optimisation only
            log.warning("could not load the embedding model ahead of the first request", exc_info=True)
        if self.settings.openai_api_key or self.settings.openai_base_url:
            import openai  # noqa: F401 - imported lazily elsewhere (lazy_import.py); here ahead of a chat


    def capabilities(self) -> dict:
        """What this deployment can do: Redis version, vector sets, semantic recall (and why not)."""
        caps = self.redis.capabilities()
        semantic = self.search.semantic
        reason = semantic.unavailable_reason()
        return {"redis_version": caps.redis_version, "vector_sets": caps.vector_sets,
                "semantic_search": reason is None, "semantic_unavailable_reason": reason,
                "embedding_model": semantic.model(), "default_search_mode": semantic.mode(None)}

    def check_consistency(self, user_id: str | None = None) -> ConsistencyReport:
        """Compare every record with every index (all users, or one)."""
        return check_consistency(IndexScanner(self.redis), IndexVerifier(self.redis), user_id,
                                 vector_model=self.search.semantic.model())

    def reindexer(self) -> Reindexer:
        """Re-indexes memories whose index entries are wrong or missing, or that lack a vector of the current
        embedding model (`memory-api reindex`)."""
        return Reindexer(self.memories, IndexScanner(self.redis), IndexVerifier(self.redis), VectorStore(self.redis),
                         PostingsRepair(self.redis))

    def record_embedding_model(self) -> None:
        """After a full reindex: the stored vectors are the current model's."""
        model = self.search.semantic.model()
        if model is not None:
            VectorStore(self.redis).set_deployment_model(model)

    def close(self) -> None:
        self.chat.upstream.close()
        self.redis.close()

    def __enter__(self) -> Services:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _quantize(settings: Settings, redis_store: RedisStore) -> str | None:
    """Which quantised copy of the shipped embedding model runs (a recipe of embeddings/quantize.py, or
    None: the model as shipped), asked on its first use (never while building Services, which must not
    need Redis). `auto` keeps the model that made a deployment's vectors (as shipped, or an older
    recipe), so an upgrade never leaves stored vectors that searches skip until a reindex; moving to
    the newest is MEMORY_API_EMBEDDING_QUANTIZE=on and `memory-api reindex`."""
    from ..embeddings import quantize_recipe
    from ..embeddings.onnx_local import QUANTIZED_NAMES, SHIPPED_MODEL_NAME

    newest = quantize_recipe(settings)
    if settings.embedding_quantize != "auto" or newest is None:
        return newest
    # (If Redis cannot answer, this raises and nothing is decided: the next use asks again.)
    recorded = VectorStore(redis_store).deployment_model(None)
    if recorded == SHIPPED_MODEL_NAME:
        return None
    return next((recipe for recipe, name in QUANTIZED_NAMES.items() if name == recorded), newest)
