"""Recall on real conversations: LoCoMo, one memory per dialog turn, through the service.

    python bench/eval_locomo.py --data DIR [--modes keyword,semantic,hybrid] [--json OUT]

LoCoMo (Maharana et al., "Evaluating Very Long-Term Conversational Memory of
LLM Agents", ACL 2024) is ten long two-person conversations, each with
questions whose evidence names the turns that hold the answer. Get the data
from the public repository snap-research/locomo (`data/locomo10.zip`: one
JSON file per conversation, or one file holding the ten as a list); DIR is a
folder of such files (this repository's developers have five of them in
../shared/locomo, with a README on the format).

Each conversation is loaded as one user (a private Redis >= 8, the offline
default embedder), one memory per turn: content "<speaker>: <text>" (plus
" [shares a photo: <caption>]" when the turn has one), stored through the
service's import (a conversation repeats itself: "Thanks!" twice must be two
memories) with ids in the order the turns were said and each turn's origin
(its session as the conversation, its place in it as the turn), as a
conversation captured or imported into the service has. For each answerable
question (category 5, adversarial, has no evidence and is left out) it
reports per category and overall, for each mode:

- R@5, R@10: the share of the question's evidence turns among the first 5 / 10
  search results, averaged over questions;
- all@10: the share of questions with every evidence turn in the first 10;
- context: the share of evidence turns in the memory block chat would inject
  (POST /v1/memory/context) at a 200-token cap, the question as the query;
  each turn carries its session's date as occurred_at, so the block shows it
  ("(8 May 2023) ...") and the cap counts it (--no-dates: without);

and SQLite FTS5 BM25 (Porter stemming, the query's words OR'ed) side by side
on the same turns. Categories, as in the paper's evaluation code: 1 multi-hop,
2 temporal, 3 open-domain, 4 single-hop.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import sqlite3
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.common import PrivateRedis  # noqa: E402
from memory_api.config import Settings  # noqa: E402
from memory_api.ids import MEMORY_PREFIX, _encode  # noqa: E402
from memory_api.services import Services  # noqa: E402
from memory_api.services.context import Caps  # noqa: E402

CATEGORIES = {1: "multi-hop", 2: "temporal", 3: "open-domain", 4: "single-hop"}
CONTEXT_TOKENS = 200
MODES = ("keyword", "semantic", "hybrid")


@dataclass
class Turn:
    dia_id: str
    content: str
    said_at: int  # the session's time (Unix seconds)
    session: str  # the conversation the turn belongs to: one of its sessions
    turn: int  # its place in the session, from 0


@dataclass
class Question:
    text: str
    category: int
    evidence: list[str]


@dataclass
class Conversation:
    name: str
    turns: list[Turn]
    questions: list[Question]


def session_time(text: str) -> int:
    """"1:56 pm on 8 May, 2023" -> Unix seconds (UTC)."""
    parsed = datetime.strptime(text.strip(), "%I:%M %p on %d %B, %Y")
    return int(parsed.replace(tzinfo=timezone.utc).timestamp())


def normalise_evidence(raw: list, known: set[str]) -> list[str]:
    """Evidence ids as turn ids: "D:11:26" -> "D11:26", "D30:05" -> "D30:5", "D1:3; D1:4" split; ids that
    name no turn dropped."""
    out = []
    for item in raw:
        for part in re.split(r"[;,]\s*|\s+", str(item)):
            match = re.fullmatch(r"D:?(\d+):0*(\d+)", part.strip())
            if match and f"D{match[1]}:{match[2]}" in known:
                out.append(f"D{match[1]}:{match[2]}")
    return list(dict.fromkeys(out))


def read_conversation(name: str, data: dict) -> Conversation:
    """One conversation's turns and answerable questions."""
    body = data.get("conversation", data)
    turns = []
    sessions = sorted((int(k.split("_")[1]) for k in body if re.fullmatch(r"session_\d+", k)))
    for number in sessions:
        said_at = session_time(body[f"session_{number}_date_time"])
        for place, turn in enumerate(body[f"session_{number}"]):
            content = f"{turn['speaker']}: {turn['text']}"
            if turn.get("blip_caption"):
                content += f" [shares a photo: {turn['blip_caption']}]"
            turns.append(Turn(turn["dia_id"], content, said_at, f"{name} session {number}", place))
    known = {t.dia_id for t in turns}
    questions = [Question(q["question"], int(q["category"]), normalise_evidence(q.get("evidence", []), known))
                 for q in data["qa"] if int(q["category"]) in CATEGORIES]
    return Conversation(name, turns, [q for q in questions if q.evidence])


def read_conversations(folder: str) -> list[Conversation]:
    found = []
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".json"):
            continue
        with open(os.path.join(folder, name), encoding="utf-8") as fh:
            data = json.load(fh)
        items = data if isinstance(data, list) else [data]
        for i, item in enumerate(items):
            found.append(read_conversation(name[:-5] if len(items) == 1 else f"{name[:-5]}-{i}", item))
    return found


def load(services: Services, user: str, conversation: Conversation, *, dated: bool = True) -> dict[str, str]:
    """Import the turns as memories (ids in the order said), each with occurred_at its session's time unless
    not `dated`; returns memory id -> dia_id."""
    lines = [json.dumps({"format": "memory-api.memories", "version": 1})]
    by_id = {}
    for i, turn in enumerate(conversation.turns):
        memory_id = MEMORY_PREFIX + _encode(turn.said_at * 1000 + i, 10) + _encode(i, 16)
        by_id[memory_id] = turn.dia_id
        lines.append(json.dumps({"id": memory_id, "content": turn.content, "updated_at": turn.said_at,
                                 # the block dates it, "(8 May 2023) ...", so "when" questions can be answered
                                 **({"occurred_at": turn.said_at} if dated else {}),
                                 "origin": {"conversation_id": turn.session, "turn": turn.turn}}))
    services.portability.import_file(user, io.BytesIO("\n".join(lines).encode()))
    return by_id


@dataclass
class Scores:
    """Sums over questions, per category (0: all)."""

    sums: dict = field(default_factory=lambda: defaultdict(lambda: defaultdict(float)))

    def add(self, category: int, name: str, value: float) -> None:
        for key in (category, 0):
            self.sums[key][name] += value
        if name == "n":
            return

    def mean(self, category: int, name: str) -> float:
        n = self.sums[category]["n"]
        return self.sums[category][name] / n if n else 0.0


def share(found: list[str], evidence: list[str]) -> float:
    return len(set(found) & set(evidence)) / len(evidence)


def evaluate_mode(services: Services, user: str, conversation: Conversation, by_id: dict[str, str], mode: str,
                  scores: Scores) -> None:
    for q in conversation.questions:
        found = [by_id[s.memory.id] for s in services.search.search(user, q.text, limit=10, mode=mode).items]
        block = services.context.build(user, query=q.text, mode=mode,
                                       caps=Caps(max_words=100_000, max_tokens=CONTEXT_TOKENS))
        injected = [by_id[i] for i in block.memory_ids]
        scores.add(q.category, "n", 1)
        scores.add(q.category, "R@5", share(found[:5], q.evidence))
        scores.add(q.category, "R@10", share(found, q.evidence))
        scores.add(q.category, "all@10", float(set(q.evidence) <= set(found)))
        scores.add(q.category, "context", share(injected, q.evidence))
        scores.add(q.category, "injected", len(injected))


def evaluate_fts5(conversation: Conversation, scores: Scores) -> None:
    """SQLite FTS5 BM25 with Porter stemming over the same turns, the query's words OR'ed."""
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE turns USING fts5(content, dia_id UNINDEXED, tokenize='porter')")
    db.executemany("INSERT INTO turns VALUES (?, ?)", [(t.content, t.dia_id) for t in conversation.turns])
    for q in conversation.questions:
        words = re.findall(r"\w+", q.text)
        query = " OR ".join(f'"{w}"' for w in words)
        rows = db.execute("SELECT dia_id FROM turns WHERE turns MATCH ? ORDER BY bm25(turns) LIMIT 10",
                          (query,)).fetchall() if words else []
        found = [r[0] for r in rows]
        scores.add(q.category, "n", 1)
        scores.add(q.category, "R@5", share(found[:5], q.evidence))
        scores.add(q.category, "R@10", share(found, q.evidence))
        scores.add(q.category, "all@10", float(set(q.evidence) <= set(found)))


def table(results: dict[str, Scores]) -> str:
    lines = ["| retriever | category | questions | R@5 | R@10 | all@10 | context |", "|---|---|---:|---:|---:|---:|---:|"]
    for name, scores in results.items():
        for category in (*CATEGORIES, 0):
            label = CATEGORIES.get(category, "all")
            n = int(scores.sums[category]["n"])
            context = f"{scores.mean(category, 'context'):.1%}" if "context" in scores.sums[0] else ""
            lines.append(f"| {name} | {label} | {n} | {scores.mean(category, 'R@5'):.1%} | "
                         f"{scores.mean(category, 'R@10'):.1%} | {scores.mean(category, 'all@10'):.1%} | {context} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="a folder of LoCoMo conversation files")
    parser.add_argument("--modes", default=",".join(MODES), help="search modes to measure (comma-separated)")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--no-dates", action="store_true",
                        help="load the turns without occurred_at (the block shows no dates, as before issue 23)")
    args = parser.parse_args()
    conversations = read_conversations(args.data)
    server = PrivateRedis()
    services = Services.build(Settings(redis_url=server.url))
    results: dict[str, Scores] = {mode: Scores() for mode in args.modes.split(",")}
    results["sqlite fts5"] = Scores()
    timings: dict[str, float] = defaultdict(float)
    try:
        caps = services.capabilities()
        print(f"Redis {caps['redis_version']}, embedding model {caps['embedding_model']}, default mode "
              f"{caps['default_search_mode']}; {len(conversations)} conversations, "
              f"{sum(len(c.turns) for c in conversations)} turns, "
              f"{sum(len(c.questions) for c in conversations)} questions", file=sys.stderr)
        for number, conversation in enumerate(conversations):
            user = f"locomo{number}"
            started = time.perf_counter()
            by_id = load(services, user, conversation, dated=not args.no_dates)
            timings["load"] += time.perf_counter() - started
            for mode in args.modes.split(","):
                started = time.perf_counter()
                evaluate_mode(services, user, conversation, by_id, mode, results[mode])
                timings[mode] += time.perf_counter() - started
            evaluate_fts5(conversation, results["sqlite fts5"])
            print(f"  {conversation.name}: {len(conversation.turns)} turns, {len(conversation.questions)} questions",
                  file=sys.stderr)
    finally:
        services.close()
        server.stop()
    print(table(results))
    n = sum(len(c.questions) for c in conversations)
    print("\nmean memories injected per question: " + ", ".join(
        f"{mode} {results[mode].mean(0, 'injected'):.1f}" for mode in args.modes.split(",")))
    print("ms per question (search and block): " + ", ".join(
        f"{mode} {timings[mode] * 1000 / n:.1f}" for mode in args.modes.split(",")))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({name: {CATEGORIES.get(c, "all"): {k: s.mean(c, k) for k in s.sums[0] if k != "n"}
                              | {"n": s.sums[c]["n"]} for c in (*CATEGORIES, 0)}
                       for name, s in results.items()}, fh, indent=1)


if __name__ == "__main__":
    main()
