"""Whose memories a store call works on: a user's own, or a shared space's.

The store keeps a space's memories exactly as it keeps a user's, under the space's own key prefix
(and so its own Redis Cluster hash tag): every rule of the memory store (the search index, history,
the activity feed, quotas, expiry, `check` and `reindex`) holds for a space unchanged. The owner
string of a space starts with "#", which no user id can (services/auth.py USER_ID_PATTERN), so a
user can never be named so as to share a space's keys.

Who may act on a space's memories is decided before any store call, by services/spaces.py.
"""

from __future__ import annotations

SPACE_OWNER_MARK = "#"


def space_owner(space_id: str) -> str:
    """The owner string the store files a space's memories under."""
    return f"{SPACE_OWNER_MARK}{space_id}"


def space_of(owner: str) -> str | None:
    """The space an owner string stands for, or None for a user's own memories."""
    return owner[len(SPACE_OWNER_MARK):] if owner.startswith(SPACE_OWNER_MARK) else None
