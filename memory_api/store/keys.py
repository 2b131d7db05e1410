"""Every Redis key name the service uses. No other module formats a key.

All keys of one user share the hash tag `{u:<user id>}`, so every script that
touches several of them runs on one Redis Cluster slot. User ids are validated
(`memory_api.auth.validate_user_id`) to contain no braces, so a user id cannot
alter the tag.
"""

from __future__ import annotations

# Bump when the layout changes incompatibly; it prefixes every key.
PREFIX = "ma1"


def _user_tag(user_id: str) -> str:
    return f"{PREFIX}:{{u:{user_id}}}"


def memory_items(user_id: str) -> str:
    """HASH memory id -> the memory's record (compact JSON)."""
    return f"{_user_tag(user_id)}:items"


def memory_ids(user_id: str) -> str:
    """ZSET of the user's memory ids, all scored 0, so ordered lexicographically = by time."""
    return f"{_user_tag(user_id)}:ids"


def user_of_memory_key(key: str) -> str | None:
    """The user id in a memory_items / memory_ids key name (for scans), else None."""
    head = f"{PREFIX}:{{u:"
    if not key.startswith(head) or "}:" not in key:
        return None
    return key[len(head): key.index("}:")]


def memory_ids_pattern() -> str:
    """SCAN pattern matching every user's memory id index."""
    return f"{PREFIX}:{{u:*}}:ids"


def memory_keys(user_id: str) -> list[str]:
    """The keys a memory write touches, in the order the Lua scripts expect (KEYS[1..])."""
    return [memory_items(user_id), memory_ids(user_id)]


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


# --- API keys: all under one hash tag so creating or revoking one is atomic --------

_AUTH_TAG = f"{PREFIX}:{{auth}}"


def api_key_by_hash(lookup: str) -> str:
    """HASH describing one API key, found by the first half of the secret's sha256."""
    return f"{_AUTH_TAG}:key:{lookup}"


def api_key_index() -> str:
    """HASH key id -> lookup (for listing and revoking by id)."""
    return f"{_AUTH_TAG}:keys"
