"""Ranking regressions on small fixed sets, through the default (hybrid) ranking and the offline model:
where words must win, where meaning must win, conversation turns found through their neighbours, and a
message no memory helps with injecting next to nothing."""

from __future__ import annotations

import io
import json

import pytest

USER = "alice"

# Names and specific nouns: the question's telling words are in the memory, and several memories of the
# same topic (meaning alone ranks them alike) do not have them.
BY_WORDS = {
    "memories": [
        "Caroline went to an LGBTQ support group on 7 May.",
        "Caroline said her counselling course starts in the autumn.",
        "Melanie took the kids to the museum at the weekend.",
        "Caroline is thinking about adopting a child.",
        "Melanie painted a sunrise over the lake last year.",
        "Caroline's friends threw her a birthday party.",
        "Melanie ran a charity race for mental health.",
    ],
    "question": "When did Caroline go to the LGBTQ support group?",
    "answer": 0,
}
# Paraphrase: the question shares no word with the memory, and shares some with others.
BY_MEANING = {
    "memories": [
        "My car is a blue Volvo.", "I play tennis on Sundays.", "My sister lives in Lisbon.",
        "I keep all my passwords in Bitwarden.", "The bank changed its app and now I can't find anything.",
        "I water the basil every second day.", "Tom's birthday is in March.", "I prefer window seats.",
    ],
    "question": "I forgot the login for my website, where can I look it up?",
    "answer": 3,
}
UNRELATED = ["Write a haiku about rain", "What's the capital of Peru?", "Explain how a binary search works.",
             "Tell me a joke about penguins.", "What is 17 times 23?"]


@pytest.fixture
def settings(settings):
    return settings.replace(search_mode="hybrid")


def stored(services, contents: list[str]) -> list[str]:
    return [services.memories.create(USER, text).memory.id for text in contents]


def test_where_the_question_holds_the_memorys_words_they_win(services):
    ids = stored(services, BY_WORDS["memories"])
    found = services.search.search(USER, BY_WORDS["question"], limit=3)
    assert found.mode == "hybrid" and found.items[0].memory.id == ids[BY_WORDS["answer"]]


def test_where_the_question_shares_no_word_with_the_memory_meaning_wins(services):
    ids = stored(services, BY_MEANING["memories"])
    found = services.search.search(USER, BY_MEANING["question"], limit=3)
    assert found.items[0].memory.id == ids[BY_MEANING["answer"]]
    keyword = services.search.search(USER, BY_MEANING["question"], limit=3, mode="keyword")
    assert ids[BY_MEANING["answer"]] not in [m.memory.id for m in keyword.items]  # only meaning finds it


def test_a_message_no_memory_helps_with_injects_next_to_nothing(services):
    stored(services, BY_MEANING["memories"] + BY_WORDS["memories"] + ["It is going to rain all week."])
    injected = [len(services.context.build(USER, query=message).memory_ids) for message in UNRELATED]
    assert sum(injected) / len(injected) <= 1, injected
    # while a message about a memory still brings it
    assert services.context.build(USER, query="what car do I drive?").memories[0].content == "My car is a blue Volvo."


def test_min_score_cuts_search_off_by_relevance(services):
    stored(services, BY_MEANING["memories"])
    everything = services.search.search(USER, "What car do I drive?", limit=10)
    relevant = services.search.search(USER, "What car do I drive?", limit=10, min_score=0.32)
    assert len(everything.items) > len(relevant.items) >= 1
    assert relevant.items[0].memory.content == "My car is a blue Volvo."
    assert all(item.score >= 0.32 for item in relevant.items)


def test_the_turn_after_a_question_is_found_through_its_neighbour(services):
    """In an imported conversation the answer to "what was the reading about?" is the turn after the one
    that names the reading: neighbours of a conversation lend each other relevance."""
    turns = ["Melanie: How was your week?", "Caroline: I went to a poetry reading last Friday.",
             "Caroline: Mostly about finding the courage to be yourself, it moved me.",
             "Melanie: The kids and I went camping by the river.", "Caroline: That sounds lovely!",
             "Melanie: We saw a heron and the kids were thrilled.", "Caroline: I'd love to come next time.",
             "Melanie: My book club read a novel about courage last month."]
    lines = [json.dumps({"format": "memory-api.memories", "version": 1})]
    for i, text in enumerate(turns):
        lines.append(json.dumps({"id": f"mem_01J00000000000000000{i:06d}", "content": text, "updated_at": 1,
                                 "origin": {"conversation_id": "evening chat", "turn": i}}))
    services.portability.import_file(USER, io.BytesIO("\n".join(lines).encode()))
    found = [m.memory.content for m in services.search.search(USER, "What was the poetry reading about?",
                                                               limit=2).items]
    # (without its neighbour's help it ranks third, after a memory that shares "about" with the question)
    assert found == ["Caroline: I went to a poetry reading last Friday.",
                     "Caroline: Mostly about finding the courage to be yourself, it moved me."]
