"""Settings, read once from the environment (and a `.env` file via python-dotenv).

Every setting is declared once below with its environment variable, default, a
one-line meaning and the values it may take; `.env.example` and the settings
table are generated from these declarations (memory_api/settings_docs.py) and
checked against them by the tests, so they cannot drift apart.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .setting_values import parse_bool, parse_cors_origins, parse_path_rate_limits, parse_rate_limits


class ConfigError(ValueError):
    """A setting in the environment has a value we cannot use."""


def _setting(env: str, default: Any, help: str, *, minimum: float | None = None, maximum: float | None = None,
             choices: tuple[str, ...] | None = None, kind: type | None = None) -> Any:
    """A setting: its environment variable, default and meaning, and the values it may take (checked by
    Settings when it is made, whatever made it). `kind`: the type its text is read as, for a setting whose
    default (None: decided at start) does not say."""
    return field(default=default, metadata={"env": env, "help": help, "minimum": minimum, "maximum": maximum,
                                            "choices": choices, "kind": kind})


@dataclass(frozen=True)
class Settings:
    """The service's configuration. Build it with `Settings.from_env()` or directly in tests."""

    # --- storage -------------------------------------------------------------
    redis_url: str | None = _setting(
        "REDIS_URL", None,
        "Redis to use (redis://, rediss://, unix://). Unset: start the embedded Redis.")
    redis_cluster: bool = _setting(
        "MEMORY_API_REDIS_CLUSTER", False,
        "Treat REDIS_URL as a Redis Cluster; it may name several seed nodes: redis://host1:port1,host2:port2.")
    redis_timeout: float = _setting(
        "MEMORY_API_REDIS_TIMEOUT", 2.0,
        "Seconds to wait for Redis to connect or answer before replying 503.")
    data_dir: str = _setting(
        "MEMORY_API_DATA_DIR", None,
        "Directory of the embedded Redis (data, append-only file, socket). Unset: your user data "
        "directory, the same for every command wherever it runs (~/.local/share/memory-api on Linux, "
        "~/Library/Application Support/memory-api on macOS).")

    # --- HTTP server ---------------------------------------------------------
    host: str = _setting("MEMORY_API_HOST", "127.0.0.1", "Address `memory-api serve` binds to.")
    port: int = _setting("MEMORY_API_PORT", 8000, "Port `memory-api serve` listens on.")
    workers: int = _setting("MEMORY_API_WORKERS", 2, "gunicorn worker processes.", minimum=1)
    worker_class: str = _setting(
        "MEMORY_API_WORKER_CLASS", "gevent",
        "gunicorn worker model: gevent (a slow or long-lived connection costs no thread) or gthread "
        "(a thread per connection, MEMORY_API_THREADS of them).", choices=("gevent", "gthread"))
    worker_connections: int = _setting(
        "MEMORY_API_WORKER_CONNECTIONS", 1000, "Most simultaneous connections per gevent worker.", minimum=1)
    threads: int = _setting("MEMORY_API_THREADS", 4, "Threads per gunicorn worker (gthread only).", minimum=1)
    graceful_timeout: int = _setting(
        "MEMORY_API_GRACEFUL_TIMEOUT", 30,
        "Seconds in-flight requests get to finish after SIGTERM.")
    log_level: str = _setting("MEMORY_API_LOG_LEVEL", "INFO", "Log level (DEBUG logs memory content).")
    log_format: str = _setting(
        "MEMORY_API_LOG_FORMAT", "text",
        "Log format: text, or json (one JSON object per line, the access log's fields as keys).",
        choices=("text", "json"))
    access_log: bool = _setting(
        "MEMORY_API_ACCESS_LOG", True, "Log one line per request (request id, user, key id, status, time).")
    metrics: bool = _setting(
        "MEMORY_API_METRICS", False,
        "Serve Prometheus metrics at GET /metrics (readable with a service key only).")
    cors_origins: str = _setting(
        "MEMORY_API_CORS_ORIGINS", "",
        "Web origins whose browser pages may call the API (CORS), comma-separated, e.g. "
        "'https://app.example.com,http://localhost:5173'; '*' for any. Empty: off (browsers allow only "
        "same-origin calls).")
    console: bool = _setting(
        "MEMORY_API_CONSOLE", True,
        "Serve the web console at GET /console (a page that calls this API with the key a person signs in "
        "with); false: 404.")

    # --- API limits ----------------------------------------------------------
    max_body_bytes: int = _setting(
        "MEMORY_API_MAX_BODY_BYTES", 1_048_576, "Largest request body accepted (413 above it).", minimum=1)
    max_chat_body_bytes: int = _setting(
        "MEMORY_API_MAX_CHAT_BODY_BYTES", 20_971_520,
        "Largest body /v1/chat/completions and /v1/responses accept (images travel inline as base64).", minimum=1)
    max_content_chars: int = _setting(
        "MEMORY_API_MAX_CONTENT_CHARS", 4000, "Longest memory content, in characters.", minimum=1)
    max_page_size: int = _setting(
        "MEMORY_API_MAX_PAGE_SIZE", 100, "Largest `limit` of a list or search page.", minimum=1)
    default_page_size: int = _setting(
        "MEMORY_API_DEFAULT_PAGE_SIZE", 20, "Page size when a list or search names no `limit`.", minimum=1)
    max_batch: int = _setting(
        "MEMORY_API_MAX_BATCH", 100, "Most memories one batch create or batch delete takes.", minimum=1)
    max_query_chars: int = _setting(
        "MEMORY_API_MAX_QUERY_CHARS", 1000, "Longest search or context query, in characters.", minimum=1)
    max_query_terms: int = _setting(
        "MEMORY_API_MAX_QUERY_TERMS", 64,
        "Most distinct terms a search or injection query is matched by: its rarest; the others are ignored.", minimum=1)
    max_search_postings: int = _setting(
        "MEMORY_API_MAX_SEARCH_POSTINGS", 100_000,
        "Most postings (a term's occurrences in memories) one keyword search reads and scores: terms are "
        "read rarest first and those beyond this are ignored (the rarest one is always read).", minimum=1)
    max_tags: int = _setting("MEMORY_API_MAX_TAGS", 20, "Most tags on one memory.")
    max_chat_messages: int = _setting(
        "MEMORY_API_MAX_CHAT_MESSAGES", 2048,
        "Most messages in one chat request (400 above it, before the provider is called).", minimum=1)
    metadata_max_keys: int = _setting(
        "MEMORY_API_METADATA_MAX_KEYS", 16, "Most metadata keys on one object (OpenAI's limit).", minimum=1)
    metadata_max_key_chars: int = _setting(
        "MEMORY_API_METADATA_MAX_KEY_CHARS", 64, "Longest metadata key (OpenAI's limit).", minimum=1)
    metadata_max_value_chars: int = _setting(
        "MEMORY_API_METADATA_MAX_VALUE_CHARS", 512, "Longest metadata value (OpenAI's limit).", minimum=1)
    rate_limit: str = _setting(
        "MEMORY_API_RATE_LIMIT", "",
        "Requests allowed per API key across all /v1 endpoints and MCP over HTTP, e.g. '600/minute;20/second' "
        "(the `limits` library's syntax). Empty: off.")
    rate_limit_paths: str = _setting(
        "MEMORY_API_RATE_LIMIT_PATHS", "",
        "Extra budgets per API key for some paths (a path and what is under it), e.g. "
        "'/v1/chat/completions=30/minute,/v1/memory/import=5/hour'. Empty: none.")
    idempotency_window_seconds: float = _setting(
        "MEMORY_API_IDEMPOTENCY_WINDOW_SECONDS", 86400.0,
        "How long an Idempotency-Key and its stored answer are kept.")
    history_depth: int = _setting(
        "MEMORY_API_HISTORY_DEPTH", 10, "Previous versions kept per memory (0: none).")
    deleted_retention_seconds: int = _setting(
        "MEMORY_API_DELETED_RETENTION_SECONDS", 604_800,
        "How long a deleted memory is kept, with its history, so the delete can be undone (POST "
        "/v1/memory/{id}/restore; deletions at expiry too); 0: gone at once.", minimum=0)
    expiry_sweep_seconds: int = _setting(
        "MEMORY_API_EXPIRY_SWEEP_SECONDS", 60,
        "How often the capture worker deletes memories past their expires_at (they are hidden from that "
        "second on; this only removes them).", minimum=1)
    events_kept: int = _setting(
        "MEMORY_API_EVENTS_KEPT", 10_000,
        "About how many memory writes the activity feed (GET /v1/memory/events) keeps per user, newest; "
        "0 turns the feed off.")
    quota_memories: int = _setting(
        "MEMORY_API_QUOTA_MEMORIES", 0, "Most memories per user (0: unlimited). Over it: 409 memory_full.")
    quota_words: int = _setting(
        "MEMORY_API_QUOTA_WORDS", 0, "Most words of memories per user (0: unlimited). Over it: 409 memory_full.")
    space_quota_memories: int = _setting(
        "MEMORY_API_SPACE_QUOTA_MEMORIES", 0,
        "Most memories per shared space (0: unlimited). Over it: 409 memory_full.")
    space_quota_words: int = _setting(
        "MEMORY_API_SPACE_QUOTA_WORDS", 0,
        "Most words of memories per shared space (0: unlimited). Over it: 409 memory_full.")
    max_spaces_per_user: int = _setting(
        "MEMORY_API_MAX_SPACES_PER_USER", 100,
        "Most shared spaces one user may be a member of (creating or joining more: 409 too_many_spaces).",
        minimum=1)
    max_space_members: int = _setting(
        "MEMORY_API_MAX_SPACE_MEMBERS", 1000,
        "Most members one shared space may have (adding more: 409 space_full).", minimum=1)
    max_import_bytes: int = _setting(
        "MEMORY_API_MAX_IMPORT_BYTES", 67_108_864,
        "Largest body POST /v1/memory/import accepts (413 above it); it is read in bounded chunks, so a "
        "worker's memory does not grow with it.")
    max_json_import_bytes: int = _setting(
        "MEMORY_API_MAX_JSON_IMPORT_BYTES", 16_777_216,
        "Largest application/json body POST /v1/memory/import accepts (413 above it): an import as one JSON "
        "object is parsed whole, so a worker holds several times its size; larger ones go as JSON Lines.",
        minimum=1)
    key_cache_seconds: float = _setting(
        "MEMORY_API_KEY_CACHE_SECONDS", 5.0,
        "How long a worker trusts an API-key lookup; a revoked key stops within this time.")

    # --- chat: the upstream model provider ------------------------------------
    openai_api_key: str | None = _setting(
        "OPENAI_API_KEY", None, "Key for the model provider used by /v1/chat/completions.")
    openai_base_url: str | None = _setting(
        "OPENAI_BASE_URL", None,
        "OpenAI-compatible provider URL (OpenAI, vLLM, Ollama...). Unset: OpenAI's.")
    chat_model: str = _setting(
        "MEMORY_API_CHAT_MODEL", "gpt-4o-mini", "Model used when a chat request names none.")
    summary_model: str | None = _setting(
        "MEMORY_API_SUMMARY_MODEL", None, "Model that writes conversation summaries (default: the chat model).")
    auto_capture: bool | None = _setting(
        "MEMORY_API_AUTO_CAPTURE", None,
        "Capture memories from every answered chat turn (a job, after the answer; a turn with nothing to "
        "remember is skipped without asking the model). Unset (or auto): on when a model provider is "
        "configured; false turns it off. A request's memory.capture, a conversation's and the user's own "
        "preference override it.", kind=bool)
    capture_workers: int = _setting(
        "MEMORY_API_CAPTURE_WORKERS", 1,
        "Capture worker threads `memory-api serve` runs beside gunicorn (0: none; run `memory-api worker` "
        "elsewhere).")
    capture_max_attempts: int = _setting(
        "MEMORY_API_CAPTURE_MAX_ATTEMPTS", 8,
        "Attempts at one capture job before it is given up (a provider outage delays capture this long).")
    capture_retry_seconds: float = _setting(
        "MEMORY_API_CAPTURE_RETRY_SECONDS", 30.0,
        "How long a capture job whose worker died waits before another worker takes it, and a failed one "
        "before its next attempt (doubling after each failure, at most an hour).")
    capture_model: str | None = _setting(
        "MEMORY_API_CAPTURE_MODEL", None,
        "Model that extracts memories from conversations (POST /v1/memory/extract; default: the summary model).")
    capture_candidates: int = _setting(
        "MEMORY_API_CAPTURE_CANDIDATES", 10,
        "Existing memories most similar to the conversation that the capture model is shown (it may update or "
        "delete only these).")
    capture_may_edit_user_memories: bool = _setting(
        "MEMORY_API_CAPTURE_MAY_EDIT_USER_MEMORIES", False,
        "Let capture update or delete memories whose latest version came from the API, MCP or an import; "
        "false: it leaves a pending suggestion instead (the user's word wins).")
    upstream_timeout: float = _setting(
        "MEMORY_API_UPSTREAM_TIMEOUT", 600.0,
        "Seconds to wait for the provider (per read) before a 504 (the openai SDK's own default).")
    upstream_connect_timeout: float = _setting(
        "MEMORY_API_UPSTREAM_CONNECT_TIMEOUT", 5.0, "Seconds to connect to the provider before a 502.")
    upstream_responses: bool = _setting(
        "MEMORY_API_UPSTREAM_RESPONSES", True,
        "The provider serves OpenAI's Responses API (/v1/responses); false: POST /v1/responses answers 501.")
    upstream_retries: int = _setting(
        "MEMORY_API_UPSTREAM_RETRIES", 0, "Retries of a failed provider call (the client's SDK retries too).")

    # --- embeddings (semantic recall) --------------------------------------------
    embeddings: str = _setting(
        "MEMORY_API_EMBEDDINGS", "local",
        "Where memories are embedded for semantic recall: local (an ONNX model shipped with the package, "
        "offline), provider (the OpenAI-compatible /v1/embeddings), or off (keyword search only).",
        choices=("local", "provider", "off"))
    embedding_model: str = _setting(
        "MEMORY_API_EMBEDDING_MODEL", "text-embedding-3-small",
        "Embedding model asked for at the provider (used with MEMORY_API_EMBEDDINGS=provider).")
    embedding_dimensions: int = _setting(
        "MEMORY_API_EMBEDDING_DIMENSIONS", 0,
        "Vector size asked of the provider's embedding model (0: the model's own).", minimum=0)
    embeddings_base_url: str | None = _setting(
        "MEMORY_API_EMBEDDINGS_BASE_URL", None,
        "OpenAI-compatible URL for embeddings (default: OPENAI_BASE_URL).")
    embeddings_api_key: str | None = _setting(
        "MEMORY_API_EMBEDDINGS_API_KEY", None, "Key for the embeddings provider (default: OPENAI_API_KEY).")
    embedding_model_path: str | None = _setting(
        "MEMORY_API_EMBEDDING_MODEL_PATH", None,
        "With local: a directory with your own model.onnx and tokenizer.json to use instead of the shipped model.")
    search_mode: str = _setting(
        "MEMORY_API_SEARCH_MODE", "hybrid",
        "How search and injection rank memories when a request does not say: hybrid (keyword and meaning "
        "fused), semantic, or keyword. Without semantic recall (embeddings off, Redis < 8): keyword.",
        choices=("hybrid", "semantic", "keyword"))
    hybrid_keyword_weight: float = _setting(
        "MEMORY_API_HYBRID_KEYWORD_WEIGHT", 5.0,
        "In hybrid ranking, what a memory holding all of a query's words adds to its similarity of meaning "
        "(-1 to 1); one holding a share of them adds this times that share squared (docs: search scores).",
        minimum=0)
    min_relevance: float = _setting(
        "MEMORY_API_MIN_RELEVANCE", 0.32,
        "The least score (hybrid or semantic ranking) a memory needs to be injected for a message: a message "
        "no memory is relevant to injects none (docs: search scores).")
    query_profile: bool = _setting(
        "MEMORY_API_QUERY_PROFILE", True,
        "Adapt semantic queries to each user: once they have 100 memories, what most of them share (the "
        "mean and top directions of their vectors) is taken out of a query's vector before the search.")
    embedding_quantize: str = _setting(
        "MEMORY_API_EMBEDDING_QUANTIZE", "auto",
        "Run the shipped embedding model as an int8-quantised copy (about 3 times as fast, a point or two of recall; "
        "built once from the shipped file and kept in the user's cache directory): on (the newest copy), off, or "
        "auto (the newest copy, unless this deployment's vectors were made by the model as shipped or an older "
        "copy: then that one, until on and `memory-api reindex`).", choices=("auto", "on", "off"))
    embedding_threads: int = _setting(
        "MEMORY_API_EMBEDDING_THREADS", 1, "CPU threads each worker's local embedding model may use.", minimum=1)

    # --- chat: memory injection and conversations ----------------------------
    max_words: int = _setting(
        "MEMORY_API_MAX_WORDS", 1500, "Most words of memories injected into a prompt.")
    max_tokens: int = _setting(
        "MEMORY_API_MAX_TOKENS", 2000, "Most tokens of the injected memory block (counted with tiktoken).")
    conversation_max_tokens: int = _setting(
        "MEMORY_API_CONVERSATION_MAX_TOKENS", 3000,
        "Token budget of a conversation's summary and turns before older turns are summarized.")
    keep_recent: int = _setting(
        "MEMORY_API_KEEP_RECENT", 6, "Most recent messages kept verbatim when a conversation is summarized.")
    summary_max_words: int = _setting(
        "MEMORY_API_SUMMARY_MAX_WORDS", 120, "Length the summary model is asked to stay under, in words.")
    max_streams_per_key: int = _setting(
        "MEMORY_API_MAX_STREAMS_PER_KEY", 4,
        "Most streams one API key may have open at once, streamed chat completions and Responses together "
        "(0: no cap). Over it: 429 too_many_streams.", minimum=0)
    conversation_lock_seconds: float = _setting(
        "MEMORY_API_CONVERSATION_LOCK_SECONDS", 30.0,
        "How long a chat request waits for another request on the same conversation (then 409).")

    # --- `memory-api mcp` -------------------------------------------------------
    mcp_user: str | None = _setting(
        "MEMORY_API_USER", None, "The user `memory-api mcp` acts for over stdio (or --user).")

    # --- `memory-api chat`: the client side ------------------------------------
    client_url: str = _setting(
        "MEMORY_API_URL", "http://127.0.0.1:8000",
        "The memory-api that `memory-api chat` and the Python client (memory_api.client) talk to.")
    client_key: str | None = _setting(
        "MEMORY_API_KEY", None, "The API key `memory-api chat` and the Python client use.")

    def __post_init__(self) -> None:
        # Resolved here, once, so every command and every process of one user finds the same data
        # (a path relative to the working directory would give each directory its own empty store).
        object.__setattr__(self, "data_dir", os.path.expanduser(self.data_dir) if self.data_dir
                           else default_data_dir())
        for f in dataclasses.fields(self):
            _check_declared(f, getattr(self, f.name))
        if self.default_page_size > self.max_page_size:
            raise ConfigError("MEMORY_API_DEFAULT_PAGE_SIZE must not exceed MEMORY_API_MAX_PAGE_SIZE.")
        if self.redis_cluster:
            self._check_cluster_url()
        for name, parse in (("rate_limit", parse_rate_limits), ("rate_limit_paths", parse_path_rate_limits),
                            ("cors_origins", parse_cors_origins)):
            try:
                parse(getattr(self, name))
            except ValueError as exc:
                raise ConfigError(f"{_env_name(name)}={getattr(self, name)!r}: {exc}") from None

    def _check_cluster_url(self) -> None:
        if not self.redis_url:
            raise ConfigError("MEMORY_API_REDIS_CLUSTER=true needs REDIS_URL naming the cluster's nodes.")
        from .store.cluster_url import ClusterUrlError, cluster_seeds

        try:
            cluster_seeds(self.redis_url)
        except ClusterUrlError as exc:
            raise ConfigError(f"MEMORY_API_REDIS_CLUSTER=true: {exc}.") from None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, *, dotenv: bool = True) -> Settings:
        """Read every setting from `environ` (default: os.environ, after loading `.env`)."""
        if environ is None:
            if dotenv:
                from dotenv import load_dotenv

                # An explicit environment variable wins over the .env file.
                load_dotenv(os.environ.get("MEMORY_API_ENV_FILE", ".env"), override=False)
            environ = os.environ
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            raw = environ.get(f.metadata["env"])
            if raw is None or (raw == "" and f.default is None):
                continue
            values[f.name] = _convert(f, raw)
        return cls(**values)

    def replace(self, **changes: Any) -> Settings:
        """A copy with some settings changed (tests use this)."""
        return dataclasses.replace(self, **changes)

    @property
    def uses_embedded_redis(self) -> bool:
        return not self.redis_url

    @property
    def effective_summary_model(self) -> str:
        return self.summary_model or self.chat_model

    @property
    def effective_capture_model(self) -> str:
        return self.capture_model or self.effective_summary_model

    @property
    def provider_configured(self) -> bool:
        """Is a model provider configured (chat, Responses, summaries and capture can work)?"""
        return bool(self.openai_api_key or self.openai_base_url)

    @property
    def capture_by_default(self) -> bool:
        """Are chat turns captured when no request, conversation or user preference says? As
        MEMORY_API_AUTO_CAPTURE says; unset: whenever there is a provider to ask."""
        return self.provider_configured if self.auto_capture is None else self.auto_capture

    @property
    def request_lease_seconds(self) -> float:
        """The longest one request may take (two provider calls and slack): how long a request holds
        a conversation lock or an Idempotency-Key reservation before another may take it over."""
        return 2 * self.upstream_timeout + 30


def default_data_dir() -> str:
    """The embedded Redis's data directory when MEMORY_API_DATA_DIR is unset: the platform's user
    data directory (XDG_DATA_HOME/memory-api, ~/.local/share/memory-api on Linux)."""
    import platformdirs

    return platformdirs.user_data_dir("memory-api", appauthor=False)
def _check_declared(f: dataclasses.Field, value: Any) -> None:
    """A setting's value against what its declaration allows (_setting's minimum, maximum, choices)."""
    meta, env = f.metadata, f.metadata["env"]
    if meta["choices"] is not None and value not in meta["choices"]:
        raise ConfigError(f"{env}={value!r}: expected {', '.join(meta['choices'][:-1])} or {meta['choices'][-1]}.")
    if meta["minimum"] is not None and value < meta["minimum"]:
        raise ConfigError(f"{env} must be at least {meta['minimum']}.")
    if meta["maximum"] is not None and value > meta["maximum"]:
        raise ConfigError(f"{env} must be at most {meta['maximum']}.")


def _env_name(field_name: str) -> str:
    return next(f.metadata["env"] for f in dataclasses.fields(Settings) if f.name == field_name)


def _convert(f: dataclasses.Field, raw: str) -> Any:
    kind = f.metadata["kind"] or (type(f.default) if f.default is not None else str)
    try:
        if kind is bool:
            # "auto" names the default of a setting decided at start (MEMORY_API_AUTO_CAPTURE)
            return None if f.default is None and raw.strip().lower() == "auto" else parse_bool(raw)
        if kind is int:
            return int(raw)
        if kind is float:
            return float(raw)
        return raw
    except ValueError as exc:
        raise ConfigError(f"{f.metadata['env']}={raw!r}: {exc}") from None
