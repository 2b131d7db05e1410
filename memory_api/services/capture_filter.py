"""Which chat turns have nothing to remember: a cheap local check a capture job makes before it asks the model.

Automatic capture asks the model about every answered turn, and most turns of a chat teach nothing about
the user: "thanks!", "ok", "how does this work?", "write a haiku about autumn". This check reads only the
user's own words in the turn (the model stores nothing else) and skips the model call when they hold no
statement about the user. Pure Python, no network, a few microseconds.

The rule, conservative (when unsure, capture):

1. An explicit request to remember or forget ("remember that...", "please remember", "don't forget",
   "forget that...", "forget my...", "keep in mind", "make a note") is never skipped.
2. A turn whose user part is not plain text (an image or a file part) is not judged: captured.
3. The user's text is cut into sentences, and each into clauses (at commas, dashes...). A clause that is
   only a social formula ("thanks", "I see", "I'm so happy for you", "nice to meet you", "that's great")
   or a name alone ("Thanks, Anna!") says nothing.
4. Any clause, question or not, holds something to remember if it has:
   - a first-person word (I, I'm, me, my, mine, we, our, us...), except "me" as the object of a request
     to the assistant ("tell me", "show me", "give me");
   - a name inside it (a capitalised word other than its first word and "I");
   - a date or time word or a number (a month, a weekday, "tomorrow", "next week", "2024", "5th");
   - or no common English word at all ("Ich bin Vegetarier"): the rule reads English only, so anything
     else goes to the model.
5. A statement (not a question) also does when it leaves "I" out as chat does ("been busy", "just started
   yoga", "researching adoption agencies"; not "running is good for you"), or, unless it speaks of the
   person addressed ("you", "your") or guesses ("must have been", "sounds like"), when it names someone of
   the user's life (wife, son, boss, friend, dog...), says he/she/they, or tells of the past ("it was a
   poetry reading", "the kids loved it").
6. Otherwise (greetings, thanks, acknowledgements, reactions, questions and requests about the world or
   the assistant) the turn is skipped: its job ends `skipped`, reason `nothing to remember`.

bench/capture_filter.py measures it on LoCoMo: the share of turns it skips, and how many of the turns that
hold an answer to some question it would have skipped (docs/benchmarks.md).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

NOTHING_TO_REMEMBER = "nothing to remember"

# 1. An explicit request to remember or forget: always worth a model call.
# "Remember"/"forget" as a request: at the start of a clause, or after "please", "can you", "make sure to"...
# ("Do you remember the film?" asks nothing of memory.)
_EXPLICIT = re.compile(
    r"(^|[.!?,;:\n]\s*|\b(please|pls|plz|and|also|just|now|so|can you|could you|would you|will you|make sure (to|you)|"
    r"i want you to|i'd like you to|you should|you need to|you must|try to)\s+)"
    r"(remember|memori[sz]e|note|forget|never forget)\b"
    r"|\b(don'?t|do not|never) forget\b|\b(keep in mind|make a note|take note|save (this|that)|store (this|that))\b",
    re.I)

_FIRST_PERSON = {"i", "i'm", "im", "i've", "ive", "i'll", "i'd", "me", "my", "mine", "myself", "we", "we're",
                 "we've", "we'll", "we'd", "us", "our", "ours", "ourselves", "lemme"}
# "me" as the object of a request to the assistant says nothing about the user ("tell me why the sky is blue").
_REQUEST_ME = re.compile(r"\b(tell|show|give|help|let|send|explain to|teach|walk|get|find|write|make|hand|remind) me\b",
                         re.I)
_DATES = re.compile(
    r"\d|\b(january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|"
    r"apr|jun|jul|aug|sep|sept|oct|nov|dec|monday|tuesday|wednesday|thursday|friday|saturday|sunday|weekend|"
    r"today|tonight|tomorrow|yesterday|morning|evening|afternoon|week|month|year|years|birthday|anniversary|"
    r"christmas|holiday|holidays|vacation|summer|winter|spring|autumn|fall|ago|since|until|later|soon|"
    r"once|twice|daily|weekly|every)\b", re.I)
_PEOPLE = re.compile(
    r"\b(wife|husband|partner|spouse|boyfriend|girlfriend|fianc[eé]e?|son|daughter|kids?|children|child|baby|"
    r"mom|mum|mother|dad|father|parents?|brother|sister|siblings?|grandma|grandpa|grand(mother|father|parents?)|"
    r"aunt|uncle|cousin|nephew|niece|family|friends?|boss|colleague|coworker|roommate|neighbou?r|teacher|"
    r"doctor|therapist|dog|cat|pet|puppy|kitten)\b", re.I)
# A clause that is only a social formula: a greeting, thanks, an acknowledgement, a reaction.
_SOCIAL = re.compile(
    r"(hi|hello|hey|hiya|yo|good (morning|afternoon|evening|night)|bye|goodbye|see you( later| soon)?|"
    r"take care|talk (to you )?(later|soon)|cheers|thanks?( you)?( so much| a lot| very much)?|thx|ty|"
    r"(i )?(really |truly )?appreciate (it|that|this|you)|no problem|you'?re welcome|ok(ay)?|k|sure|"
    r"yes|yeah|yep|yup|no|nope|nah|right|alright|all right|fine|cool|nice|great|awesome|wow|oh|ah|hmm+|"
    r"lol|haha+|(i )?see|got it|(i )?understand|(i )?agree|me too|same here|(i )?know( right)?|(i )?guess so|"
    r"(i )?hope so|(i )?think so|(i'?m|i am) (so |really |very )?(glad|happy|sorry|proud|excited) "
    r"(for|to hear|about|of) (you|that|it|this)|"
    r"(i'?m|i am) (so |really |very )?(glad|happy|sorry|proud|excited)( to hear( that| it)?)?|"
    r"nice to (meet|see|hear from) you|good to (see|hear from) you|(i )?(love|like) (it|that|this)|"
    r"(let me|lemme) know|(that'?s|that is|sounds|looks) (so |really |very )?\w+|"
    r"(i'?m|i am) (good|fine|well|ok(ay)?|great)|you too|same to you|my pleasure)",
    re.I)
# Common English words: a clause with none of them is not read by this rule (it may be another language).
_ENGLISH = {"the", "a", "an", "is", "are", "was", "were", "be", "been", "to", "of", "and", "or", "in", "on", "at",
            "for", "with", "it", "it's", "this", "that", "what", "how", "why", "when", "where", "who", "which",
            "you", "your", "you're", "can", "could", "would", "should", "do", "does", "did", "not", "so", "but",
            "if", "about", "there", "they", "he", "she", "his", "her", "have", "has", "had", "will", "just",
            "really", "thanks", "thank", "please", "hi", "hello", "hey", "ok", "okay", "yes", "no", "wow", "great",
            "cool", "nice", "sounds", "awesome", "amazing", "some", "any", "all", "much", "more", "very", "too",
            "from", "by", "as", "get", "tell", "give", "show", "write", "explain", "make", "let", "know", "think",
            "that's", "what's", "how's", "good", "sure", "glad", "love", "like", "see", "yeah", "yep", "totally",
            "absolutely", "definitely", "congrats", "congratulations", "agreed", "agree", "indeed", "exactly",
            "lol", "haha", "bye", "welcome", "sorry", "oh", "ah", "aww", "yay", "woohoo", "super", "cute"}
_THIRD_PERSON = {"he", "she", "him", "his", "her", "hers", "himself", "herself", "he's", "she's", "he'd", "she'd",
                 "he'll", "she'll", "they", "them", "their", "theirs", "themselves", "they're", "they've",
                 "they'd", "they'll"}
_PAST = {"was", "were", "had", "did", "been", "went", "got", "made", "took", "saw", "came", "bought", "found",
         "felt", "met", "ran", "began", "won", "lost", "left", "spent", "kept", "heard", "thought", "told",
         "wrote", "gave", "sold", "built", "grew", "taught", "caught", "brought", "became", "broke", "drove",
         "flew", "read", "sent", "paid", "said", "ate", "fell", "held", "led", "knew", "wore", "sang", "swam"}
_SUBJECT_LEFT_OUT = {"been", "just", "never", "always", "finally", "recently", "still", "also", "currently",
                     "gonna", "love", "loved", "like", "liked", "enjoy", "enjoyed", "prefer", "hate", "hated",
                     "need", "want", "wanted", "hope", "plan", "planning", "going", "started", "working",
                     "appreciate", "am", "usually", "often", "sometimes", "hoping", "thinking"}
_SECOND_PERSON = {"you", "your", "you're", "you've", "you'll", "you'd", "yours", "yourself", "y'all", "ya", "u"}
_GUESS = re.compile(r"\b(must|might|may|could) (have|be)\b|\bmust've\b|\bsounds like\b|\blooks like\b", re.I)
# Words after a leading -ing word that make it a general statement ("running is good for you").
_GENERAL = {"is", "are", "can", "makes", "make", "helps", "help", "gives", "brings", "really", "always"}
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?|\d+")
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|\n+")
_CLAUSE_SPLIT = re.compile(r"\s*[,;:()\u2013\u2014]\s*|\s+-\s+")


def user_text(messages: Iterable[dict[str, Any]]) -> str | None:
    """The user's words in a turn (their messages' text, joined); None when a user message holds something
    other than text (an image, a file: not judged here)."""
    parts: list[str] = []
    for message in messages:
        if message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            parts.append(content)
            continue
        if not isinstance(content, list):
            return None
        for part in content:
            if not (isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str)):
                return None
            parts.append(part["text"])
    return "\n".join(parts)


def is_explicit_request(text: str) -> bool:
    """Does the text ask to remember or forget something ("remember that...", "forget my...")?"""
    return bool(_EXPLICIT.search(_plain(text)))


def nothing_to_remember(messages: Iterable[dict[str, Any]]) -> bool:
    """True when the turn's user messages hold nothing capture could learn (the rule in this module's
    docstring): the capture job may skip the model. False whenever unsure."""
    text = user_text(messages)
    if text is None:
        return False
    text = _plain(text)
    if _EXPLICIT.search(text):
        return False
    return not any(_clause_has_content(clause, question) for clause, question in _clauses(text))


def _plain(text: str) -> str:
    return text.replace("\u2019", "'").replace("\u2018", "'").strip()


def _clauses(text: str) -> list[tuple[str, bool]]:
    """The text's clauses, each with whether its sentence is a question."""
    return [(c, sentence.rstrip().endswith("?")) for sentence in _SENTENCE_END.split(text)
            for c in _CLAUSE_SPLIT.split(sentence) if c.strip()]


def _clause_has_content(clause: str, question: bool) -> bool:
    """Might this clause say something about the user? (False only when it surely does not.)"""
    bare = clause.strip(" \t.!?…\"'*~").strip()
    if not bare or _SOCIAL.fullmatch(bare):
        return False
    words = _WORD.findall(bare)
    if not words:
        return False  # only emoji or punctuation
    without_requests = _REQUEST_ME.sub(" ", bare)
    if any(w.lower() in _FIRST_PERSON for w in _WORD.findall(without_requests)):
        return True
    if len(words) <= 2 and all(w[0].isupper() for w in words):
        return False  # a name alone, set apart by commas: the person addressed ("Thanks, Anna!")
    if not _ENGLISH.intersection(w.lower() for w in words):
        return True  # not a sentence this rule can read
    # A name inside the clause (not its first word, which is capitalised anyway, and not "I").
    if any(w[0].isupper() and w != "I" and not w.startswith("I'") for w in words[1:]):
        return True
    if _DATES.search(bare):
        return True
    if question:
        return False
    lowered = [w.lower() for w in words]
    if _subject_left_out(lowered):
        return True
    if _SECOND_PERSON.intersection(lowered) or _GUESS.search(bare):
        return False  # tells the person addressed about themselves, or guesses ("must have been great")
    # A statement may tell of the user without "I": someone in their life ("she had a tough time", "my
    # sister"), or what happened ("it was a poetry reading").
    return bool(_PEOPLE.search(bare) or _THIRD_PERSON.intersection(lowered) or _PAST.intersection(lowered[:6])
                or any(w.endswith("ed") and len(w) > 4 for w in lowered[:6]))


def _subject_left_out(lowered: list[str]) -> bool:
    """A statement of the speaker's own with "I" left out, as chat does: "been busy", "just started yoga",
    "researching adoption agencies" (not "running is good for you")."""
    first = lowered[0]
    if first in _SUBJECT_LEFT_OUT:
        return True
    return first.endswith("ing") and len(first) > 4 and not first.endswith("thing") and \
        not _GENERAL.intersection(lowered[1:])
