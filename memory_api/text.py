"""How text becomes search terms, and when two memories are duplicates.

Search terms: the text is NFKC-normalised and case-folded, then split into
Unicode words (letters, digits and underscore; anything else separates).
Chinese, Japanese and Korean characters become one term each, since those
scripts do not put spaces between words. A short list of English stop words is
left out, as are words over 64 characters. Every other word is reduced to its
English stem (Snowball), the same way at index and at query time, so "peanut"
finds "peanuts" and "cooking" finds "cooked". There is no phrase search: a
query's terms are matched independently and ranked with BM25.

ANALYZER_VERSION names these rules: memories indexed under other rules are
re-indexed by `memory-api reindex`. A memory's terms are not stored beside it
(they would be a tenth of the store): a write that takes a memory out of the
index recomputes them from its content under the rules its record names
(`indexed_terms`). So the rules of every version that records may still name
must stay here; a version from before this (1) kept a term list per memory,
which is used instead.

Duplicates: two memories are duplicates when their contents are equal after
NFKC normalisation, case-folding and collapsing whitespace.
"""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
from collections import Counter

import snowballstemmer

_WORD = re.compile(r"\w+")
# Han, Hiragana, Katakana, Hangul: one term per character.
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]")
MAX_TERM_CHARS = 64
ANALYZER_VERSION = 2  # 1: no stemming; 2: English Snowball stems

STOP_WORDS = frozenset(
    """a an and are as at be been but by for from had has have he her hers him his i if in into is it its
    me my of on or our ours she so than that the their theirs them then there these they this those to
    too us was we were what when where which who whom why will with you your yours""".split()
)


_stemmer = snowballstemmer.stemmer("english")


@functools.lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A word's English stem; words with digits or non-Latin letters are kept as they are."""
    if not word.isascii() or not word.isalpha():
        return word
    return _stemmer.stemWord(word)


def _normalized(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def search_terms(text: str) -> list[str]:
    """The text's terms in order, repeats included."""
    return _terms_of_normalized(_normalized(text))


def _terms_of_normalized(normalized: str) -> list[str]:
    words = _WORD.findall(normalized)
    if not _CJK.search(normalized):  # the common case: no per-word CJK splitting
        return [stem(w) for w in words if w not in STOP_WORDS and len(w) <= MAX_TERM_CHARS]
    terms: list[str] = []
    for word in words:
        if _CJK.search(word):
            # Split around CJK characters: each is a term, the runs between them are words.
            for piece in re.split(f"({_CJK.pattern})", word):
                if piece and piece not in STOP_WORDS and len(piece) <= MAX_TERM_CHARS:
                    terms.append(piece)
        elif word not in STOP_WORDS and len(word) <= MAX_TERM_CHARS:
            terms.append(stem(word))
    return terms


def term_frequencies(text: str) -> Counter:
    return Counter(search_terms(text))


def query_terms(text: str) -> list[str]:
    """A query's distinct terms, in order of first appearance."""
    return list(dict.fromkeys(search_terms(text)))


def content_fingerprint(text: str) -> str:
    """Equal for contents that are duplicates of each other (80 bits of sha1)."""
    return _fingerprint_of_normalized(_normalized(text))


def _fingerprint_of_normalized(normalized: str) -> str:
    return hashlib.sha1(" ".join(normalized.split()).encode("utf-8")).hexdigest()[:20]


class RulesGone(LookupError):
    """The terms of a memory indexed under rules this code no longer has."""


def terms_text(frequencies: Counter) -> str:
    """A document's terms as the write scripts take them: "term tf term tf ..."."""
    return " ".join(f"{term} {tf}" for term, tf in frequencies.items())


def indexed_terms(text: str, version: int) -> str:
    """The terms (as `terms_text`) a memory with this content was indexed with under rules `version`."""
    if version != ANALYZER_VERSION:
        raise RulesGone(f"search rules {version} are not in this version of memory-api (it has "
                        f"{ANALYZER_VERSION}); a memory indexed under them cannot be taken out of the index")
    return terms_text(term_frequencies(text))


def analyze(text: str) -> tuple[Counter, str]:
    """(term frequencies, duplicate fingerprint) of a memory's content, normalising it once."""
    normalized = _normalized(text)
    return Counter(_terms_of_normalized(normalized)), _fingerprint_of_normalized(normalized)
