"""OpenAI-style cursor pagination over id-ordered lists (memories, conversations).

Ids sort by creation time, so a cursor is only a position in id order: it
keeps working after the object it names is deleted, and paging while others
write never repeats or skips an object that existed throughout. `after`
continues past an id in list order; `before` gives the page just before one;
both give what lies strictly between them.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import InvalidRequest
from ..models import IdWalk, Page


@dataclass(frozen=True)
class CursorWalk:
    """One page's read: the ids to walk (see IdWalk) and whether to restore list order after."""

    walk: IdWalk
    walk_back: bool  # only `before` given: read from the cursor outwards, then reverse

    def page(self, items: list, limit: int) -> Page:
        """The page from up to `limit + 1` items read in walk order."""
        has_more = len(items) > limit
        items = items[:limit]
        if self.walk_back:
            items.reverse()
        return Page(items=items, has_more=has_more)


def cursor_walk(order: str, after: str | None, before: str | None, *, lowest: str | None = None,
                highest: str | None = None) -> CursorWalk:
    """How to read the page for `order` ('desc' or 'asc') and the cursors; `lowest`/`highest`
    (inclusive ids, e.g. a created-time range) narrow it further."""
    newest_first = order == "desc"
    # In list order, "after" lies on the side the order walks to: below the cursor when newest first.
    above, below = (before, after) if newest_first else (after, before)
    walk_back = before is not None and after is None
    walk = IdWalk(newest_first=newest_first != walk_back, above=above, below=below, lowest=lowest or None,
                  highest=highest or None)
    return CursorWalk(walk, walk_back)


def check_cursor_range(order: str, after: str | None, before: str | None) -> None:
    """With both cursors the page is what lies strictly between them in list order: refuse a pair that
    leaves nothing between (`before` not past `after`), which would otherwise answer an empty list."""
    if after is None or before is None:
        return
    newest_first = order == "desc"
    if (before >= after) if newest_first else (before <= after):
        older_or_newer = "an older" if newest_first else "a newer"
        raise InvalidRequest(
            f"With order={order}, 'before' must be {older_or_newer} id than 'after': the page is what lies "
            f"between them in list order, and nothing lies after {after!r} and before {before!r}.",
            param="before", code="invalid_cursor_range")
