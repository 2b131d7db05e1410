"""Direct unit tests of the pure functions under the services: no Redis, no app.

cursor_walk + lex_bounds (OpenAI cursor semantics as ZRANGE BYLEX bounds), the
context caps and the greedy selection under them, the SSE event splitter, and
InputRules (every limit, every error code and param), and the store's record decoding.
"""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from memory_api.config import Settings
from memory_api.errors import InvalidRequest
from memory_api.models import Filters, IdWalk, Memory
from memory_api.services.context import resolve_caps
from memory_api.services.context_block import (
    HEADER,
    MAX_CANDIDATES,
    MAX_MISSES_IN_A_ROW,
    block_tokens,
    render_block,
    select_memories_within_caps,
)
from memory_api.services.pagination import CursorWalk, cursor_walk
from memory_api.services.sse_events import iter_events
from memory_api.store.lex import lex_bounds
from memory_api.store.records import decode_record, dumps, record_of
from memory_api.tokens import count_tokens, count_words
from memory_api.validation import (
    InputRules,
    check_memory_id,
    check_scope,
    check_tag,
    check_text,
)

ENCODING = "o200k_base"


# --- cursor_walk + lex_bounds ------------------------------------------------------------------------

# (order, after, before, lowest, highest) -> (lower, upper, newest_first, walk_back)
WALKS = [
    # desc: newest first; "after" is below the cursor, "before" above it
    ("desc", None, None, None, None, "-", "+", True, False),
    ("desc", "m5", None, None, None, "-", "(m5", True, False),
    ("desc", None, "m5", None, None, "(m5", "+", False, True),
    ("desc", "m8", "m2", None, None, "(m2", "(m8", True, False),
    # asc: oldest first; "after" is above the cursor, "before" below it
    ("asc", None, None, None, None, "-", "+", False, False),
    ("asc", "m5", None, None, None, "(m5", "+", False, False),
    ("asc", None, "m5", None, None, "-", "(m5", True, True),
    ("asc", "m2", "m8", None, None, "(m2", "(m8", False, False),
    # inclusive bounds alone
    ("desc", None, None, "m3", "m7", "[m3", "[m7", True, False),
    ("asc", None, None, "m3", "m7", "[m3", "[m7", False, False),
    # a cursor inside the bounds is tighter: it wins (exclusive)
    ("desc", "m6", None, "m3", "m7", "[m3", "(m6", True, False),
    ("desc", None, "m4", "m3", "m7", "(m4", "[m7", False, True),
    ("asc", "m4", None, "m3", "m7", "(m4", "[m7", False, False),
    ("asc", None, "m6", "m3", "m7", "[m3", "(m6", True, True),
    # a cursor outside the bounds is looser: the bound wins (inclusive)
    ("desc", "m9", None, "m3", "m7", "[m3", "[m7", True, False),
    ("desc", None, "m1", "m3", "m7", "[m3", "[m7", False, True),
    ("asc", "m1", None, "m3", "m7", "[m3", "[m7", False, False),
    ("asc", None, "m9", "m3", "m7", "[m3", "[m7", True, True),
    # a cursor equal to a bound excludes it
    ("asc", "m3", None, "m3", "m7", "(m3", "[m7", False, False),
    ("desc", "m7", None, "m3", "m7", "[m3", "(m7", True, False),
    # both cursors, one bound tighter than a cursor
    ("desc", "m8", "m2", "m4", None, "[m4", "(m8", True, False),
    ("asc", "m2", "m8", None, "m6", "(m2", "[m6", False, False),
    # "" bounds mean none
    ("asc", None, None, "", "", "-", "+", False, False),
]


@pytest.mark.parametrize("order, after, before, lowest, highest, lower, upper, newest_first, walk_back", WALKS)
def test_cursor_walk_bounds(order, after, before, lowest, highest, lower, upper, newest_first, walk_back):
    walk = cursor_walk(order, after, before, lowest=lowest, highest=highest)
    assert isinstance(walk, CursorWalk)
    assert lex_bounds(walk.walk) == (lower, upper)
    assert walk.walk.newest_first is newest_first
    assert walk.walk_back is walk_back


def test_lex_bounds_of_a_bare_walk():
    assert lex_bounds(IdWalk(newest_first=True)) == ("-", "+")
    assert lex_bounds(IdWalk(newest_first=False, above="b", below="d")) == ("(b", "(d")
    assert lex_bounds(IdWalk(newest_first=False, lowest="b", highest="d")) == ("[b", "[d")


@pytest.mark.parametrize("items, limit, walk_back, expected, has_more", [
    ([1, 2, 3], 3, False, [1, 2, 3], False),
    ([1, 2, 3, 4], 3, False, [1, 2, 3], True),
    ([1, 2, 3, 4], 3, True, [3, 2, 1], True),  # walked outwards from the cursor: reversed, extra dropped
    ([1, 2], 3, True, [2, 1], False),
    ([], 3, False, [], False),
    ([], 3, True, [], False),
])
def test_cursor_walk_page(items, limit, walk_back, expected, has_more):
    walk = CursorWalk(IdWalk(newest_first=True), walk_back)
    original = list(items)
    page = walk.page(items, limit)
    assert page.items == expected
    assert page.has_more is has_more
    assert items == original, "page() must not reorder the caller's list"


def _in_lex_range(member: str, lower: str, upper: str) -> bool:
    """ZRANGE BYLEX bound semantics (byte order, as for ASCII str)."""
    if lower != "-":
        kind, value = lower[0], lower[1:]
        assert kind in "[(", lower
        if member < value or (kind == "(" and member == value):
            return False
    if upper != "+":
        kind, value = upper[0], upper[1:]
        assert kind in "[(", upper
        if member > value or (kind == "(" and member == value):
            return False
    return True


def _walked_page(ids: list[str], limit: int, order: str, after, before, lowest, highest):
    """The page as the store reads it: lex_bounds over a sorted set, walk direction, limit + 1, page()."""
    walk = cursor_walk(order, after, before, lowest=lowest, highest=highest)
    lower, upper = lex_bounds(walk.walk)
    members = [m for m in sorted(ids) if _in_lex_range(m, lower, upper)]
    if walk.walk.newest_first:
        members.reverse()
    page = walk.page(members[: limit + 1], limit)
    return page.items, page.has_more


def _reference_page(ids: list[str], limit: int, order: str, after, before, lowest, highest):
    """OpenAI cursor semantics, by brute force: the list in order, the items after `after` and before
    `before` in that order (cursors need not exist), the first `limit` of them, or the last `limit` when
    only `before` is given (the page just before it)."""
    listed = sorted(ids, reverse=order == "desc")
    listed = [i for i in listed if (lowest is None or i >= lowest) and (highest is None or i <= highest)]

    def position_after(item, cursor):  # does `item` come after `cursor` in list order?
        return item < cursor if order == "desc" else item > cursor

    if after is not None:
        listed = [i for i in listed if position_after(i, after)]
    if before is not None:
        listed = [i for i in listed if position_after(before, i)]
    if before is not None and after is None:
        return listed[-limit:] if limit else [], len(listed) > limit
    return listed[:limit], len(listed) > limit


def _fid(n: int) -> str:
    return f"mem_{n:03d}"


maybe_id = st.one_of(st.none(), st.integers(0, 40).map(_fid))


@hyp_settings(max_examples=400, deadline=None)
@given(
    ids=st.sets(st.integers(0, 40), max_size=30).map(lambda s: [_fid(n) for n in s]),
    limit=st.integers(1, 8),
    order=st.sampled_from(["desc", "asc"]),
    after=maybe_id, before=maybe_id, lowest=maybe_id, highest=maybe_id,
)
def test_cursor_walk_matches_openai_cursor_semantics(ids, limit, order, after, before, lowest, highest):
    assert _walked_page(ids, limit, order, after, before, lowest, highest) == \
        _reference_page(ids, limit, order, after, before, lowest, highest)


def test_paging_through_a_list_visits_every_id_once_both_ways():
    ids = [_fid(n) for n in range(0, 40, 3)]
    for order in ("desc", "asc"):
        seen, cursor, more = [], None, True
        while more:
            page, more = _walked_page(ids, 4, order, cursor, None, None, None)
            seen += page
            cursor = page[-1] if page else None
        assert seen == sorted(ids, reverse=order == "desc")
        # and back again with `before`, from the end
        back, cursor, more = [], seen[-1], True
        while more:
            page, more = _walked_page(ids, 4, order, None, cursor, None, None)
            back = page + back
            cursor = page[0] if page else None
        assert back == seen[:-1]


# --- resolve_caps ---------------------------------------------------------------------------------------

def test_resolve_caps_defaults_to_the_server_caps():
    for requested in (None, {}, {"max_words": None, "max_tokens": None}):
        caps = resolve_caps(requested, server_max_words=1500, server_max_tokens=2000)
        assert (caps.max_words, caps.max_tokens) == (1500, 2000)


@pytest.mark.parametrize("requested, expected", [
    ({"max_words": 10}, (10, 2000)),
    ({"max_tokens": 30}, (1500, 30)),
    ({"max_words": 0, "max_tokens": 0}, (0, 0)),
    ({"max_words": 1500, "max_tokens": 2000}, (1500, 2000)),
])
def test_resolve_caps_lowers(requested, expected):
    caps = resolve_caps(requested, server_max_words=1500, server_max_tokens=2000)
    assert (caps.max_words, caps.max_tokens) == expected


@pytest.mark.parametrize("name, value", [
    ("max_words", 1501), ("max_tokens", 2001), ("max_words", -1), ("max_tokens", -5),
    ("max_words", True), ("max_tokens", False), ("max_words", 10.0), ("max_tokens", "10"), ("max_words", [1]),
])
def test_resolve_caps_refuses(name, value):
    with pytest.raises(InvalidRequest) as exc:
        resolve_caps({name: value}, server_max_words=1500, server_max_tokens=2000)
    assert exc.value.code == "invalid_value"
    assert exc.value.param == f"memory.{name}"
    assert exc.value.status == 400


# --- select_memories_within_caps ------------------------------------------------------------------------

def _memory(n: int, content: str, *, token_count: int | None = None) -> Memory:
    return Memory(id=_fid(n), content=content, word_count=count_words(content),
                  token_count=count_tokens(content, ENCODING) if token_count is None else token_count)


def _check_caps(selection, max_words: int, max_tokens: int, total: int) -> None:
    assert selection.token_count == (count_tokens(selection.text, ENCODING) if selection.text else 0)
    assert selection.token_count <= max_tokens
    assert selection.word_count == sum(count_words(m.content) for m in selection.memories)
    assert selection.word_count <= max_words
    assert selection.text == render_block(selection.memories)
    assert selection.omitted_count == total - len(selection.memories)


def _select(memories, max_words, max_tokens, total=None):
    total = len(memories) if total is None else total
    selection = select_memories_within_caps(iter(memories), max_words=max_words, max_tokens=max_tokens,
                                            encoding=ENCODING, total=total)
    _check_caps(selection, max_words, max_tokens, total)
    return selection


def test_everything_fits_in_order():
    mems = [_memory(i, f"fact number {i} about the user") for i in range(5)]
    selection = _select(mems, 1500, 2000)
    assert selection.memory_ids == [m.id for m in mems]
    assert selection.omitted_count == 0
    assert all(f"\"{m.content}\"" in selection.text for m in mems)


def test_a_memory_over_the_word_cap_is_skipped_and_smaller_later_ones_still_fit():
    small1 = _memory(1, "likes tea")
    big = _memory(2, " ".join(["word"] * 30))
    small2 = _memory(3, "has a cat named Miso")
    selection = _select([small1, big, small2], 10, 2000)
    assert selection.memory_ids == [small1.id, small2.id]
    assert selection.word_count == 2 + 5
    assert selection.omitted_count == 1


def test_a_memory_over_the_token_cap_is_skipped_and_smaller_later_ones_still_fit():
    small1 = _memory(1, "likes tea")
    big = _memory(2, "supercalifragilisticexpialidocious antidisestablishmentarianism " * 4)
    small2 = _memory(3, "owns a bike")
    base = _select([small1, small2], 1500, 10_000)
    cap = base.token_count  # exactly what the two small ones need: the big one cannot fit
    selection = _select([small1, big, small2], 1500, cap)
    assert selection.memory_ids == [small1.id, small2.id]
    assert selection.token_count == cap
    # one token less and the last one no longer fits, but the first still does
    tighter = _select([small1, big, small2], 1500, cap - 1)
    assert tighter.memory_ids == [small1.id]


def test_an_underestimated_token_count_is_corrected_on_the_exact_count():
    honest = _memory(1, "likes green tea")
    liar = _memory(2, "the quick brown fox jumps over the lazy dog " * 5, token_count=1)
    exact_both = count_tokens(render_block([honest, liar]), ENCODING)
    cap = exact_both - 1  # the estimate says both fit; the exact count says no
    selection = _select([honest, liar], 1500, cap)
    assert selection.memory_ids == [honest.id]
    assert selection.word_count == 3


@pytest.mark.parametrize("max_words, max_tokens", [(0, 2000), (1500, 0), (0, 0)])
def test_zero_caps_inject_nothing(max_words, max_tokens):
    mems = [_memory(i, "a short fact") for i in range(3)]
    selection = _select(mems, max_words, max_tokens, total=7)
    assert selection.memories == [] and selection.text == "" and selection.token_count == 0
    assert selection.word_count == 0 and selection.omitted_count == 7


def test_a_cap_below_the_frame_injects_nothing():
    selection = _select([_memory(1, "tea")], 1500, 5)
    assert selection.memories == [] and selection.token_count == 0


_words = st.sampled_from(["tea", "coffee", "Alice", "likes", "peanuts", "🙂", "naïve", "über-long", "42", "\u2028",
                          "supercalifragilistic", "ok.", "\t", "東京"])


def _reference_selection(memories, max_words, max_tokens, encoding):
    """The greedy fill as it was first written (before it stopped asking for one candidate too many)."""
    words, tokens, chosen, misses = 0, count_tokens("\n".join(("<user_memories>", HEADER, "</user_memories>")),
                                                    encoding), [], 0
    for scanned, memory in enumerate(memories):
        if scanned >= MAX_CANDIDATES or max_words - words < 1 or max_tokens - tokens <= 2:
            break
        if words + memory.word_count <= max_words and tokens + memory.token_count + 2 <= max_tokens:
            chosen.append(memory)
            words, tokens, misses = words + memory.word_count, tokens + memory.token_count + 2, 0
        else:
            misses += 1
            if misses >= MAX_MISSES_IN_A_ROW:
                break
    while chosen and count_tokens(render_block(chosen), encoding) > max_tokens:
        chosen.pop()
    return chosen


@hyp_settings(max_examples=300, deadline=None)
@given(sizes=st.lists(st.integers(1, 40), max_size=120), max_words=st.integers(0, 300),
       max_tokens=st.integers(0, 400), low_estimates=st.booleans())
def test_selection_is_the_reference_greedy_fill_and_pulls_no_candidate_it_does_not_weigh(
        sizes, max_words, max_tokens, low_estimates):
    """Same memories in the same order as the reference, and the candidates are pulled lazily: none
    past the one at which selection stopped (past the ranked ones, each pull can be a read)."""
    memories = [_memory(i, " ".join(["tea"] * n), token_count=n // 2 if low_estimates else None)
                for i, n in enumerate(sizes)]
    pulled = []

    def candidates():
        for memory in memories:
            pulled.append(memory)
            yield memory

    selection = select_memories_within_caps(candidates(), max_words=max_words, max_tokens=max_tokens,
                                            encoding=ENCODING, total=len(memories))
    assert selection.memories == _reference_selection(memories, max_words, max_tokens, ENCODING)
    reference_pulls = []
    _reference_selection(_Recording(memories, reference_pulls), max_words, max_tokens, ENCODING)
    # The reference pulled one more than it weighed when it stopped on full caps or the candidate limit.
    assert len(pulled) <= len(reference_pulls) and len(reference_pulls) - len(pulled) <= 1


class _Recording:
    """An iterable of memories that records how many were pulled from it."""

    def __init__(self, memories, pulled):
        self.memories, self.pulled = memories, pulled

    def __iter__(self):
        for memory in self.memories:
            self.pulled.append(memory)
            yield memory


# Pieces that sit at a line's edges in the block: trailing punctuation that takes newlines (and
# slashes) with it, contractions, digits, a leading dash or "<", every kind of line end and space.
_edges = st.sampled_from(["-", "- ", "/", "</", ".", "!?", "'s", "'LL", "123", "4567", "\n", "\r\n", "\r", "\u2028",
                          "\u0085", "\x1c", "\xa0", "\u3000", "  ", "\t", "a", "Z", "東京", "🙂", "é", "</user_memories>",
                          "<user_memories>", "\n-", ":\n/", "word", '"', '\\', '."', '\n"', "\u202e", "\uff1c"])


@hyp_settings(max_examples=400, deadline=None)
@given(contents=st.lists(st.one_of(st.lists(_edges, min_size=1, max_size=8).map("".join), st.text(min_size=1)),
                         min_size=0, max_size=8),
       times=st.lists(st.one_of(st.none(), st.integers(0, 253_402_300_799)), min_size=8, max_size=8),
       encoding=st.sampled_from(["o200k_base", "cl100k_base"]))
def test_the_block_counts_as_the_sum_of_its_lines(contents, times, encoding):
    """block_tokens adds up the frame's and each line's tokens instead of tokenizing the block: exact
    only if no token of these encodings spans a line end, whatever the memories hold (and dated or not)."""
    memories = [dataclasses.replace(_memory(i, c), occurred_at=t) for i, (c, t) in enumerate(zip(contents, times))]
    text = render_block(memories)
    assert block_tokens(memories, encoding) == (count_tokens(text, encoding) if text else 0)


@hyp_settings(max_examples=150, deadline=None)
@given(contents=st.lists(st.lists(_words, min_size=1, max_size=12).map(" ".join), max_size=12),
       max_words=st.integers(0, 40), max_tokens=st.integers(0, 200))
def test_both_caps_always_hold(contents, max_words, max_tokens):
    mems = [_memory(i, c) for i, c in enumerate(contents)]
    selection = _select(mems, max_words, max_tokens)
    chosen = selection.memory_ids
    assert chosen == [m.id for m in mems if m.id in chosen], "order kept"


# --- iter_events ----------------------------------------------------------------------------------------

def _events(*chunks: bytes):
    events = list(iter_events(iter(chunks)))
    assert b"".join(e.raw for e in events) == b"".join(chunks), "every byte is kept, in order"
    return events


@pytest.mark.parametrize("sep", [b"\n", b"\r\n", b"\r"])
def test_events_split_at_blank_lines(sep):
    stream = b"data: one" + sep + sep + b"data: two" + sep + sep
    events = _events(stream)
    assert [e.data for e in events] == ["one", "two"]
    assert events[0].raw == b"data: one" + sep + sep


def test_mixed_line_ends():
    events = _events(b"data: a\r\n\r\ndata: b\n\ndata: c\r\r")
    assert [e.data for e in events] == ["a", "b", "c"]


@pytest.mark.parametrize("cut", range(1, len(b"data: x\r\n\r\ndata: y\r\n\r\n")))
def test_a_stream_cut_anywhere_gives_the_same_events(cut):
    stream = b"data: x\r\n\r\ndata: y\r\n\r\n"
    events = _events(stream[:cut], stream[cut:])
    assert [e.data for e in events] == ["x", "y"]
    assert [e.raw for e in events] == [b"data: x\r\n\r\n", b"data: y\r\n\r\n"]


def test_crlf_split_across_chunks_is_one_line_end():
    events = _events(b"data: x\r", b"\n", b"\r", b"\ndata: y\r", b"\n\r\n")
    assert [e.data for e in events] == ["x", "y"]
    assert events[0].raw == b"data: x\r\n\r\n"


def test_byte_at_a_time():
    stream = b": ping\n\ndata: {\"a\": 1}\r\n\r\ndata: [DONE]\r\r"
    events = _events(*(stream[i:i + 1] for i in range(len(stream))))
    assert [e.data for e in events] == [None, '{"a": 1}', "[DONE]"]


@pytest.mark.parametrize("char", ["\u2028", "\u2029", "\u0085"])
def test_unicode_line_separators_are_not_line_ends(char):
    data = f'{{"content": "a{char}b{char}"}}'
    stream = f"data: {data}\n\n".encode()
    events = _events(stream)
    assert len(events) == 1
    assert events[0].data == data
    # and split inside the character's UTF-8 bytes
    raw = char.encode()
    cut = stream.index(raw) + 1
    events = _events(stream[:cut], stream[cut:])
    assert len(events) == 1 and events[0].data == data


def test_multi_line_data_is_joined_with_newlines():
    events = _events(b"event: x\ndata: first\ndata:second\ndata:  third\nid: 7\n\n")
    assert len(events) == 1
    assert events[0].data == "first\nsecond\n third"  # one leading space is dropped, no more


def test_comments_have_no_data():
    events = _events(b": ping\n\n: keep-alive\r\n\r\ndata: x\n\n")
    assert [e.data for e in events] == [None, None, "x"]
    assert events[0].raw == b": ping\n\n"


@pytest.mark.parametrize("tail", [b"data: last", b"data: last\n", b"data: last\r", b"data: last\r\n"])
def test_a_final_event_without_a_blank_line_is_still_yielded(tail):
    events = _events(b"data: first\n\n", tail)
    assert [e.data for e in events] == ["first", "last"]
    assert events[-1].raw == tail


def test_empty_stream_has_no_events():
    assert _events() == []
    assert _events(b"", b"") == []


# --- InputRules -----------------------------------------------------------------------------------------

def test_from_settings_picks_every_limit():
    values = {"max_content_chars": 11, "max_page_size": 12, "default_page_size": 5, "max_batch": 13,
              "max_query_chars": 14, "max_tags": 15, "metadata_max_keys": 16, "metadata_max_key_chars": 17,
              "metadata_max_value_chars": 18}
    rules = InputRules.from_settings(Settings(**values))
    assert {name: getattr(rules, name) for name in values} == values
    assert InputRules.from_settings(Settings()) == InputRules()


RULES = InputRules(max_content_chars=10, max_page_size=5, default_page_size=2, max_batch=3, max_query_chars=8,
                   max_tags=2, metadata_max_keys=2, metadata_max_key_chars=4, metadata_max_value_chars=6)


def _refused(fn, *args, **kwargs) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as exc:
        fn(*args, **kwargs)
    assert exc.value.status == 400
    return exc.value


@pytest.mark.parametrize("call, code, param", [
    (lambda: RULES.content(5), "invalid_type", "content"),
    (lambda: RULES.content("a\x01b"), "invalid_characters", "content"),
    (lambda: RULES.content("a\x7fb"), "invalid_characters", "content"),
    (lambda: RULES.content("a\ud800b"), "invalid_characters", "content"),
    (lambda: RULES.content(" \t\n "), "empty_value", "content"),
    (lambda: RULES.content(""), "empty_value", "content"),
    (lambda: RULES.content("x" * 11), "string_above_max_length", "content"),
    (lambda: RULES.content("x" * 11, param="memories[2].content"), "string_above_max_length",
     "memories[2].content"),
    (lambda: RULES.query("x" * 9), "string_above_max_length", "query"),
    (lambda: RULES.query(None), "invalid_type", "query"),
    (lambda: RULES.query("\x00"), "invalid_characters", "query"),
    (lambda: RULES.metadata([]), "invalid_type", "metadata"),
    (lambda: RULES.metadata({"a": "1", "b": "2", "c": "3"}), "too_many_keys", "metadata"),
    (lambda: RULES.metadata({"abcde": "1"}), "string_above_max_length", "metadata"),
    (lambda: RULES.metadata({"a": "1234567"}), "string_above_max_length", "metadata"),
    (lambda: RULES.metadata({"a": 1}), "invalid_type", "metadata"),
    (lambda: RULES.metadata({"": "1"}), "empty_value", "metadata"),
    (lambda: RULES.metadata({"a": "x\x02"}), "invalid_characters", "metadata"),
    (lambda: RULES.metadata({"a": "x"} | {"b": "y", "c": "z"}, param="memories[0].metadata"), "too_many_keys",
     "memories[0].metadata"),
    (lambda: RULES.tags("tea"), "invalid_type", "tags"),
    (lambda: RULES.tags(["bad tag!"]), "invalid_tag", "tags"),
    (lambda: RULES.tags([""]), "invalid_tag", "tags"),
    (lambda: RULES.tags(["x" * 65]), "invalid_tag", "tags"),
    (lambda: RULES.tags([3]), "invalid_tag", "tags"),
    (lambda: RULES.tags(["a", "b", "c"]), "too_many_tags", "tags"),
    (lambda: RULES.limit(0), "invalid_limit", "limit"),
    (lambda: RULES.limit(6), "invalid_limit", "limit"),
    (lambda: RULES.limit(True), "invalid_limit", "limit"),
    (lambda: RULES.limit("3"), "invalid_limit", "limit"),
    (lambda: RULES.page(6, "desc"), "invalid_limit", "limit"),
    (lambda: RULES.page(2, "newest"), "invalid_order", "order"),
    (lambda: RULES.batch([], param="memories", what="memories"), "invalid_batch", "memories"),
    (lambda: RULES.batch([1, 2, 3, 4], param="ids", what="ids"), "invalid_batch", "ids"),
    (lambda: RULES.batch("abc", param="ids", what="ids"), "invalid_batch", "ids"),
    (lambda: RULES.filters(created_after=-1), "invalid_value", "created_after"),
    (lambda: RULES.filters(created_before=True), "invalid_value", "created_before"),
    (lambda: RULES.filters(updated_after="5"), "invalid_value", "updated_after"),
    (lambda: RULES.filters(updated_before=1.5), "invalid_value", "updated_before"),
    (lambda: RULES.filters(tags="tea"), "invalid_type", "tag"),
    (lambda: RULES.filters(tags=["bad tag!"]), "invalid_tag", "tag"),
    (lambda: RULES.filters(scope="bad scope"), "invalid_scope", "scope"),
    (lambda: check_memory_id("mem_nope"), "invalid_id", "memory_id"),
    (lambda: check_memory_id("mem_01jd0000000000000000000000"), "invalid_id", "memory_id"),
    (lambda: check_memory_id("mem_01JD000000000000000000000I"), "invalid_id", "memory_id"),
    (lambda: check_memory_id(None, param="after"), "invalid_id", "after"),
    (lambda: check_scope("global"), "invalid_scope", "scope"),
    (lambda: check_scope("-x"), "invalid_scope", "scope"),
    (lambda: check_scope("x" * 65), "invalid_scope", "scope"),
    (lambda: check_scope(5, param="memories[1].scope"), "invalid_scope", "memories[1].scope"),
    (lambda: check_tag("a b"), "invalid_tag", "tag"),
    (lambda: check_text("x", param="p", max_chars=0), "string_above_max_length", "p"),
])
def test_each_check_names_its_code_and_param(call, code, param):
    err = _refused(call)
    assert (err.code, err.param) == (code, param)


def test_checks_that_pass_return_the_normal_form():
    assert RULES.content("  hello \n") == "hello"
    assert RULES.content("x" * 10) == "x" * 10
    assert RULES.content("tab\there") == "tab\there"
    assert RULES.query(" spaced ") == " spaced "
    assert RULES.metadata(None) == {} and RULES.metadata({"ab": ""}) == {"ab": ""}
    assert RULES.tags(None) == [] and RULES.tags(["Tea", "tea", "TEA", "Food"]) == ["tea", "food"]
    assert RULES.limit(1) == 1 and RULES.limit(5) == 5
    assert RULES.page(5, "asc") == (5, "asc")
    assert RULES.batch([1, 2, 3], param="ids", what="ids") == [1, 2, 3]
    assert check_scope(None) is None and check_scope("proj-1") == "proj-1"
    assert check_memory_id("mem_01JD0000000000000000000000") == "mem_01JD0000000000000000000000"
    assert RULES.filters(scope="global") == Filters(scope=None, scoped=True)
    assert RULES.filters() == Filters()
    assert RULES.filters(tags=("A", "a"), scope="p", created_after=0) == \
        Filters(tags=("a",), scope="p", scoped=True, created_after=0)


# --- stored records --------------------------------------------------------------------------------

@hyp_settings(max_examples=200)
@given(
    content=st.text(min_size=1, max_size=60),
    metadata=st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=3),
    tags=st.lists(st.text(min_size=1, max_size=8), max_size=3, unique=True),
    scope=st.one_of(st.none(), st.text(min_size=1, max_size=8)),
    numbers=st.lists(st.integers(min_value=0, max_value=2**40), min_size=5, max_size=5),
)
def test_a_decoded_record_is_the_memory_the_constructor_makes(content, metadata, tags, scope, numbers):
    """decode_record builds Memory without its __init__ (Memory.from_trusted_fields): the result must
    be the very object Memory(...) makes, every field set, whatever the record holds."""
    updated, words, tokens, revision, docno = numbers
    memory = Memory(id="mem_01", content=content, metadata=metadata, updated_at=updated, word_count=words,
                    token_count=tokens, revision=revision, tags=tuple(tags), scope=scope, docno=docno)
    rec = {**record_of(memory), "n": docno}
    decoded = decode_record(b"mem_01", dumps(rec).encode())
    assert decoded == memory
    assert decoded.__dict__ == memory.__dict__  # no field missing and none extra
    assert {f.name for f in dataclasses.fields(Memory)} == set(decoded.__dict__)
    assert decode_record("mem_01", dumps(rec)) == memory


def test_a_record_orjson_refuses_is_still_decoded():
    """A lone surrogate escape (json.loads takes it, orjson does not) must not make a memory unreadable."""
    raw = '{"c":"a \\ud800 b","m":[],"u":1,"w":3,"t":3,"r":1}'
    memory = decode_record("mem_01", raw)
    assert memory.content == "a \ud800 b" and memory.metadata == {}


def test_decoded_records_are_shared_only_for_the_same_bytes_and_never_mutated_through_the_api():
    raw = dumps({"c": "I like tea.", "m": {"k": "v"}, "u": 1, "w": 3, "t": 4, "r": 1, "n": 7}).encode()
    first = decode_record(b"mem_1", raw)
    assert decode_record(b"mem_1", raw) is first  # a chat's records, decoded once
    changed = raw.replace(b'"r":1', b'"r":2')
    assert decode_record(b"mem_1", changed).revision == 2  # other bytes: decoded anew
    assert decode_record(b"mem_2", raw).id == "mem_2"  # the id is part of the key
    shown = first.to_api()
    shown["metadata"]["k"] = "changed by a caller"
    assert decode_record(b"mem_1", raw).metadata == {"k": "v"}
