"""How text becomes search terms, and when two memories are duplicates.

Search terms: the text is NFKC-normalised and case-folded, then split into
Unicode words (letters, digits and underscore; anything else separates).
Chinese, Japanese and Korean characters become one term each, since those
scripts do not put spaces between words. A short list of English stop words is
left out, as are words over 64 characters. Every other word is reduced to its
English stem (Snowball), the same way at index and at query time, so "peanut"
finds "peanuts" and "cooking" finds "cooked". There is no phrase search: a
query's terms are matched independently and ranked with BM25.

A memory's terms are not stored beside it: a write that takes a memory out of
the index recomputes them from the content it reads anyway. That holds only
while these rules stay as they are, so changing them (or a stemmer upgrade that
stems a word otherwise) is a new store format: bump `store.keys.PREFIX`, and
`memory-api migrate` re-indexes every memory under the new rules.

Duplicates: two memories are duplicates when their contents are equal after
NFKC normalisation, case-folding and collapsing whitespace.
"""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass

import snowballstemmer

_WORD = re.compile(r"\w+")
# Han, Hiragana, Katakana, Hangul: one term per character.
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]")
MAX_TERM_CHARS = 64

STOP_WORDS = frozenset(
    """a an and are as at be been but by for from had has have he her hers him his i if in into is it its
    me my of on or our ours she so than that the their theirs them then there these they this those to
    too us was we were what when where which who whom why will with you your yours""".split()  # noqa: SIM905
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


def query_terms(text: str) -> list[str]:
    """A query's distinct terms, in order of first appearance."""
    return list(dict.fromkeys(search_terms(text)))


def content_fingerprint(text: str) -> str:
    """Equal for contents that are duplicates of each other (80 bits of sha1)."""
    return _fingerprint_of_normalized(_normalized(text))


def _fingerprint_of_normalized(normalized: str) -> str:
    return hashlib.sha1(" ".join(normalized.split()).encode("utf-8")).hexdigest()[:20]


@dataclass(frozen=True)
class Analysis:
    """What the search index and the duplicate map hold of a memory's content."""

    frequencies: dict[str, int]  # term -> occurrences
    fingerprint: str  # equal for duplicate contents

    @property
    def length(self) -> int:
        """Terms counted with repeats (BM25's document length)."""
        return sum(self.frequencies.values())

    @property
    def terms(self) -> str:
        """The terms as the write scripts take them: "term tf term tf ..."."""
        return " ".join(f"{term} {tf}" for term, tf in self.frequencies.items())

    @property
    def term_names(self) -> list[str]:
        return list(self.frequencies)


def analyze(text: str) -> Analysis:
    """A memory content's terms and duplicate fingerprint, normalising it once."""
    normalized = _normalized(text)
    return Analysis(dict(Counter(_terms_of_normalized(normalized))), _fingerprint_of_normalized(normalized))
