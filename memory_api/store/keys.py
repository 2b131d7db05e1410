"""Every Redis key name the service uses. No other module, and no Lua script, formats a key.

All keys of one user share the hash tag `{u:<user id>}`, so every script that
touches several of them runs on one Redis Cluster slot. User ids are validated
(`memory_api.services.auth.validate_user_id`) to contain no braces, so a user
id cannot alter the tag. Scripts receive every key they touch through KEYS,
named here.
"""

from __future__ import annotations

# The store format: it prefixes every key. Bumped when the layout, or how the search index analyses
# text (index/analyzer.py), changes; `memory-api migrate` copies a store of PREVIOUS_PREFIX into it.
# ma1 -> ma2: one search-index format (no per-memory term lists, no one-field postings, no analyzer
# version in records).
PREFIX = "ma2"
PREVIOUS_PREFIX = "ma1"


def _user_tag(user_id: str) -> str:
    return f"{PREFIX}:{{u:{user_id}}}"


def _user_prefix(user_id: str) -> str:
    return f"{_user_tag(user_id)}:"


def memory_items(user_id: str) -> str:
    """HASH memory id -> the memory's record (compact JSON)."""
    return f"{_user_tag(user_id)}:items"


def memory_ids(user_id: str) -> str:
    """ZSET of the user's memory ids, all scored 0, so ordered lexicographically = by time."""
    return f"{_user_tag(user_id)}:ids"


def memory_stats(user_id: str) -> str:
    """HASH: words, tokens, terms (sums over the user's memories), seq (last document number),
    vmodel (the embedding model of the user's vectors), vprofile (their query profile,
    services/query_profile.py)."""
    return f"{_user_tag(user_id)}:stats"


def memory_docs(user_id: str) -> str:
    """HASH document number -> "<memory id> <length in terms> <content fingerprint>" (index/lua.py)."""
    return f"{_user_tag(user_id)}:docs"


def tag_counts(user_id: str) -> str:
    """HASH tag -> number of the user's memories carrying it."""
    return f"{_user_tag(user_id)}:tags"


def scope_counts(user_id: str) -> str:
    """HASH scope -> number of the user's memories in it."""
    return f"{_user_tag(user_id)}:scopes"


def duplicates(user_id: str) -> str:
    """HASH "<scope>|<content fingerprint>" -> memory id, to find duplicates on create."""
    return f"{_user_tag(user_id)}:dedup"


def memory_updated(user_id: str) -> str:
    """ZSET memory id -> updated_at, for updated-time filters."""
    return f"{_user_tag(user_id)}:updated"


def memory_occurred(user_id: str) -> str:
    """ZSET memory id -> occurred_at, of the memories that have one (time filters)."""
    return f"{_user_tag(user_id)}:occurred"


def memory_valid_until(user_id: str) -> str:
    """ZSET memory id -> valid_until, of the memories that have one (what held when)."""
    return f"{_user_tag(user_id)}:validuntil"


def memory_expires(user_id: str) -> str:
    """ZSET memory id -> expires_at, of the memories that have one (hidden from that second; the expiry
    sweeper deletes them)."""
    return f"{_user_tag(user_id)}:expires"


def memory_deleted(user_id: str) -> str:
    """ZSET memory id -> deleted_at: deleted memories kept, with their history (the deleted version on
    top), for MEMORY_API_DELETED_RETENTION_SECONDS, so a delete can be undone."""
    return f"{_user_tag(user_id)}:deleted"


def expiry_sweep_lock() -> str:
    """STRING: held by the process sweeping expired memories now (one at a time, whichever process)."""
    return f"{PREFIX}:sweeper"


def expiring_pattern() -> str:
    """SCAN pattern matching every user's memory_expires key (the expiry sweeper's walk)."""
    return f"{PREFIX}:{{u:*}}:expires"


def memory_vectors(user_id: str) -> str:
    """VECTOR SET (Redis >= 8) document number -> the memory's embedding, for semantic recall."""
    return f"{_user_tag(user_id)}:vec"


def memory_events(user_id: str) -> str:
    """STREAM of the user's memory writes (the activity feed), newest last, trimmed to about
    MEMORY_API_EVENTS_KEPT entries."""
    return f"{_user_tag(user_id)}:events"


def memory_suggestions(user_id: str) -> str:
    """HASH suggestion id -> JSON: changes automatic capture proposed to memories the user wrote."""
    return f"{_user_tag(user_id)}:suggestions"


def capture_job(user_id: str, job_id: str) -> str:
    """HASH: one capture job's state, attempts, the model's operations (kept so a retry applies the same
    ones) and results; expires a while after it ends."""
    return f"{_user_tag(user_id)}:capjob:{job_id}"


def user_preferences(user_id: str) -> str:
    """HASH of the user's own choices about the service: capture ('1' on, '0' off; absent: the default)."""
    return f"{_user_tag(user_id)}:prefs"


def global_scope(user_id: str) -> str:
    """ZSET of the ids of the user's global (unscoped) memories, lexicographic."""
    return f"{_user_tag(user_id)}:sc0"


# Families of per-name keys of a user: one key per scope, tag, search term or memory's history.
SCOPE_SUFFIX = "sc:"
TAG_SUFFIX = "tag:"
TERM_SUFFIX = "t:"
HISTORY_SUFFIX = "hist:"
FAMILIES = (SCOPE_SUFFIX, TAG_SUFFIX, TERM_SUFFIX, HISTORY_SUFFIX)


def scope_members(user_id: str, scope: str | None) -> str:
    """ZSET of the ids of the memories in `scope` (None: the global ones), lexicographic."""
    return global_scope(user_id) if not scope else f"{_user_prefix(user_id)}{SCOPE_SUFFIX}{scope}"


def tag_members(user_id: str, tag: str) -> str:
    """ZSET of the ids of the memories carrying `tag`, lexicographic."""
    return f"{_user_prefix(user_id)}{TAG_SUFFIX}{tag}"


def term_postings(user_id: str, term: str) -> str:
    """HASH of the search index's postings of `term`: buckets of documents with tf and length (index/postings.py)."""
    return f"{_user_prefix(user_id)}{TERM_SUFFIX}{term}"


def memory_history(user_id: str, memory_id: str) -> str:
    """LIST of a memory's previous records, newest first."""
    return f"{_user_prefix(user_id)}{HISTORY_SUFFIX}{memory_id}"


def user_of_key(key: str) -> str | None:
    """The user id in one of a user's key names (for scans), else None."""
    head = f"{PREFIX}:{{u:"
    if not key.startswith(head) or "}:" not in key:
        return None
    return key[len(head): key.index("}:")]


user_of_memory_key = user_of_key  # (the name scans of the id index use)


def memory_ids_pattern() -> str:
    """SCAN pattern matching every user's memory id index."""
    return f"{PREFIX}:{{u:*}}:ids"


def user_keys_pattern(user_id: str, family: str) -> str:
    """SCAN pattern for a family of one user's keys (TERM_SUFFIX, TAG_SUFFIX, ...)."""
    return f"{_user_prefix(user_id)}{family}*"


def family_member(user_id: str, family: str, key: str) -> str:
    """The name (scope, tag, term, memory id) a key of `family` stands for: the inverse of
    scope_members / tag_members / term_postings / memory_history."""
    return key[len(_user_prefix(user_id) + family):]


def memory_keys(user_id: str) -> list[str]:
    """KEYS[1..15] of every memory write script, in this order (see memory_lua_prelude.py)."""
    return [
        memory_items(user_id), memory_ids(user_id), memory_stats(user_id), memory_docs(user_id),
        tag_counts(user_id), scope_counts(user_id), duplicates(user_id), memory_updated(user_id),
        global_scope(user_id), memory_vectors(user_id), memory_events(user_id), memory_occurred(user_id),
        memory_valid_until(user_id), memory_expires(user_id), memory_deleted(user_id),
    ]


def space_record(owner: str) -> str:
    """HASH of a space (under the space's owner string, owners.py): name, created_at, created_by."""
    return f"{_user_tag(owner)}:space"


def space_members(owner: str) -> str:
    """HASH user id -> JSON {role, inject, added_at}: who may read or write the space, and how. The
    one source of truth of membership: every request checks it."""
    return f"{_user_tag(owner)}:members"


def user_spaces(user_id: str) -> str:
    """HASH space id -> joined_at: the spaces a user belongs to, on the user's own slot (to list
    them). Derived from space_members, which wins where the two disagree."""
    return f"{_user_tag(user_id)}:spaces"


def owner_keys_pattern(owner: str) -> str:
    """SCAN pattern matching every key of one owner (a space being deleted)."""
    return f"{_user_prefix(owner)}*"


def space_records_pattern() -> str:
    """SCAN pattern matching every space's record."""
    return f"{PREFIX}:{{u:#*}}:space"


def conversation_ids(user_id: str) -> str:
    """ZSET of the user's conversation ids (scored 0: lexicographic = creation order)."""
    return f"{_user_tag(user_id)}:convs"


def conversation_meta(user_id: str, conversation_id: str) -> str:
    """HASH: created_at, updated_at, system prompt, summary, summarized_through, metadata."""
    return f"{_user_tag(user_id)}:conv:{conversation_id}"


def conversation_messages(user_id: str, conversation_id: str) -> str:
    """LIST of the messages not yet folded into the summary, oldest first (JSON each)."""
    return f"{_user_tag(user_id)}:conv:{conversation_id}:msgs"


def conversation_lock(user_id: str, conversation_id: str) -> str:
    """STRING: the token of the request currently working on the conversation."""
    return f"{_user_tag(user_id)}:conv:{conversation_id}:lock"


def conversation_keys(user_id: str, conversation_id: str) -> list[str]:
    """KEYS[1..4] of the conversation scripts: lock, meta, messages, id index."""
    return [
        conversation_lock(user_id, conversation_id),
        conversation_meta(user_id, conversation_id),
        conversation_messages(user_id, conversation_id),
        conversation_ids(user_id),
    ]


def idempotency_record(user_id: str, key_digest: str) -> str:
    """HASH: the fingerprint, state and stored response of one Idempotency-Key of the user."""
    return f"{_user_tag(user_id)}:idem:{key_digest}"


def capture_queue() -> str:
    """STREAM of capture jobs (user, conversation turn, messages), read by the capture workers' consumer
    group. One for the deployment: jobs of every user go through it."""
    return f"{PREFIX}:capture:queue"


def stream_slots(key_id: str) -> str:
    """ZSET slot token -> lease expiry (ms): the streams one API key has open (stream_lua.py)."""
    return f"{PREFIX}:{{s:{key_id}}}:streams"


# --- API keys: all under one hash tag so creating or revoking one is atomic --------

_AUTH_TAG = f"{PREFIX}:{{auth}}"


def api_key_by_hash(lookup: str) -> str:
    """HASH describing one API key, found by the first half of the secret's sha256."""
    return f"{_AUTH_TAG}:key:{lookup}"


def api_key_index() -> str:
    """HASH key id -> lookup (for listing and revoking by id)."""
    return f"{_AUTH_TAG}:keys"


def deployment_meta() -> str:
    """HASH of the deployment: format (PREFIX, once the store is of this format: store/migrate.py),
    migrated_from, vector_model (the embedding model the stored vectors were made with)."""
    return f"{PREFIX}:meta"


# --- the previous store format, for `memory-api migrate` (store/migrate.py) ------------------------

# The per-user keys of the previous format's search index, which migrate indexes anew instead of copying
# (by the part of the key after the user's tag; "t:" is every term's postings).
PREVIOUS_INDEX_SUFFIXES = ("docs", "terms", "dedup")
PREVIOUS_INDEX_FAMILIES = (TERM_SUFFIX,)


def previous_keys_pattern() -> str:
    """SCAN pattern matching every key of the previous store format."""
    return f"{PREVIOUS_PREFIX}:*"


def from_previous(key: str) -> str:
    """A key of the previous format under this format's name (the layout of every copied key is kept)."""
    return PREFIX + key[len(PREVIOUS_PREFIX):]


def previous_user_part(key: str) -> str | None:
    """What follows the user's tag in a previous-format key ("stats", "t:peanut", ...); None for a key that
    is no user's."""
    head = f"{PREVIOUS_PREFIX}:{{u:"
    if not key.startswith(head) or "}:" not in key:
        return None
    return key[key.index("}:") + 2:]


def rate_limit_prefix() -> str:
    """The prefix of the rate-limit counters (the `limits` library names the keys after it)."""
    return f"{PREFIX}-ratelimit"
