"""Conversation threads in Redis, and the lock that serialises requests on one thread.

Per conversation (all under the user's hash tag):
  meta      HASH  created_at, updated_at, system, summary, summary_tokens,
                  summarized_through (how many messages the summary covers), metadata
  messages  LIST  the messages not yet folded into the summary, oldest first; the
                  message at index i is number summarized_through + 1 + i
  lock      STRING the token of the request working on the thread (SET NX PX)
and per user a ZSET of conversation ids for listing.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from ..models import IdWalk
from . import keys
from .lex import zrange_bylex
from .redis import RedisStore, confirms_persistence, raises_store_unavailable

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


@dataclass(frozen=True)
class StoredMessage:
    seq: int  # 1-based position in the whole conversation
    message: dict[str, Any]  # role, content, and tool fields, as the chat API carries them
    tokens: int
    created_at: int


@dataclass
class ConversationState:
    id: str
    created_at: int
    updated_at: int
    system: str | None
    summary: str
    summary_tokens: int
    summarized_through: int
    metadata: dict[str, str]
    scope: str | None = None
    messages: list[StoredMessage] = field(default_factory=list)
    capture: bool | None = None  # capture this conversation's turns (None: the server's default)

    @property
    def message_count(self) -> int:
        return self.summarized_through + len(self.messages)


def encode_message(message: dict[str, Any], tokens: int, created_at: int) -> str:
    return _dumps({"m": message, "t": tokens, "c": created_at})


def _decode_state(conversation_id: str, meta: dict, raw_messages: list) -> ConversationState | None:
    if not meta:
        return None
    m = {k.decode(): v.decode() for k, v in meta.items()}
    through = int(m.get("summarized_through", 0))
    messages = []
    for i, raw in enumerate(raw_messages):
        rec = json.loads(raw)
        messages.append(StoredMessage(seq=through + 1 + i, message=rec["m"], tokens=int(rec["t"]),
                                      created_at=int(rec["c"])))
    return ConversationState(
        id=conversation_id,
        created_at=int(m["created_at"]),
        updated_at=int(m["updated_at"]),
        system=m.get("system") or None,
        summary=m.get("summary", ""),
        summary_tokens=int(m.get("summary_tokens", 0)),
        summarized_through=through,
        metadata=json.loads(m.get("metadata") or "{}"),
        scope=m.get("scope") or None,
        messages=messages,
        capture={"1": True, "0": False}.get(m.get("capture", "")),
    )


class LockLost(Exception):
    """The conversation lock expired and someone else holds it now."""


@raises_store_unavailable
class ConversationStore:
    def __init__(self, redis_store: RedisStore) -> None:
        self._redis = redis_store

    def _run(self, script: str, user_id: str, conversation_id: str, *args: Any) -> Any:
        return self._redis.script(script)(keys=keys.conversation_keys(user_id, conversation_id), args=list(args))

    @confirms_persistence
    def create(self, user_id: str, conversation_id: str, metadata: dict[str, str], scope: str | None,
               capture: bool | None = None) -> bool:
        return bool(self._run("CREATE_CONVERSATION", user_id, conversation_id, conversation_id,
                              int(time.time()), _dumps(metadata), scope or "",
                              "" if capture is None else str(int(capture))))

    def load(self, user_id: str, conversation_id: str) -> ConversationState | None:
        pipe = self._redis.client.pipeline(transaction=True)
        pipe.hgetall(keys.conversation_meta(user_id, conversation_id))
        pipe.lrange(keys.conversation_messages(user_id, conversation_id), 0, -1)
        meta, raw_messages = pipe.execute()
        return _decode_state(conversation_id, meta, raw_messages)

    def load_many(self, user_id: str, conversation_ids: list[str]) -> list[tuple[ConversationState, int]]:
        """(state without messages, number of stored messages) for several conversations, one round trip."""
        pipe = self._redis.client.pipeline(transaction=False)
        for cid in conversation_ids:
            pipe.hgetall(keys.conversation_meta(user_id, cid))
            pipe.llen(keys.conversation_messages(user_id, cid))
        replies = pipe.execute() if conversation_ids else []
        found = []
        for i, cid in enumerate(conversation_ids):
            state = _decode_state(cid, replies[2 * i], [])
            if state is not None:
                found.append((state, int(replies[2 * i + 1])))
        return found

    def page_ids(self, user_id: str, walk: IdWalk, *, count: int) -> list[str]:
        """Up to `count` conversation ids in `walk`, in its direction."""
        return [i.decode() for i in zrange_bylex(self._redis.client, keys.conversation_ids(user_id), walk, count)]

    @confirms_persistence
    def delete(self, user_id: str, conversation_id: str) -> bool:
        return bool(self._run("DELETE_CONVERSATION", user_id, conversation_id, conversation_id))

    # --- writes under the lock ---------------------------------------------------

    @confirms_persistence
    def append(self, user_id: str, conversation_id: str, token: str, records: list[str],
               system: str | None) -> int:
        result = int(self._run("APPEND_TURNS", user_id, conversation_id, token, int(time.time()),
                               "1" if system is not None else "0", system or "", *records))
        if result == -1:
            raise LockLost(conversation_id)
        return result

    @confirms_persistence
    def apply_summary(self, user_id: str, conversation_id: str, token: str, *, based_on: int, folded: int,
                      summary: str, summary_tokens: int) -> bool:
        return int(self._run("APPLY_SUMMARY", user_id, conversation_id, token, based_on, folded, summary,
                             summary_tokens)) == 1

    # --- the lock ------------------------------------------------------------------

    def try_lock(self, user_id: str, conversation_id: str, ttl_ms: int) -> str | None:
        token = secrets.token_hex(16)
        ok = self._redis.client.set(keys.conversation_lock(user_id, conversation_id), token, nx=True, px=ttl_ms)
        return token if ok else None

    def extend_lock(self, user_id: str, conversation_id: str, token: str, ttl_ms: int) -> bool:
        return bool(self._redis.script("EXTEND_LOCK")(
            keys=[keys.conversation_lock(user_id, conversation_id)], args=[token, ttl_ms]))

    def release_lock(self, user_id: str, conversation_id: str, token: str) -> None:
        self._redis.script("RELEASE_LOCK")(keys=[keys.conversation_lock(user_id, conversation_id)], args=[token])
