"""What capture's pre-filter skips on real conversations, and what that costs in recall: LoCoMo.

    python bench/capture_filter.py --data DIR [--tune conv-26,conv-41] [--show 10]

Automatic capture asks the model about each answered chat turn unless the local pre-filter
(memory_api/services/capture_filter.py) finds nothing to remember in the user's words. This takes each
dialog turn of the LoCoMo conversations in DIR (bench/eval_locomo.py says where to get them; this
repository's developers have five in ../shared/locomo) as if it were a user's chat message (its text only:
a shared photo's caption is not text the user wrote) and reports, per conversation and in total:

- skipped: the share of turns the filter skips, i.e. of capture's model calls saved;
- tokens saved: the share of the capture prompt's tokens (its instructions, the date line and the turn,
  counted with tiktoken's o200k_base; the candidate memories and the assistant's answer would add the same
  to every call, so the true share lies between this and `skipped`) that those calls would have cost;
- evidence skipped: of the turns that are evidence for some answerable question (categories 1-4, ids
  normalised as eval_locomo does), how many the filter skips: each one is a fact capture could not learn;
- questions hurt: questions with at least one evidence turn skipped;
- the filter's own time per turn.

The rule was tuned on the conversations named by --tune (default conv-26 and conv-41, looking at what
they skip); totals are given for those, for the rest (held out), and for all. --show N prints N skipped
evidence turns and N skipped turns at random, to see what the rule misses.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.eval_locomo import normalise_evidence
from memory_api.services.capture_filter import nothing_to_remember
from memory_api.services.capture_prompt import INSTRUCTIONS, conversation_text

TUNED_ON = "conv-26,conv-41"


def read_turns(path: str) -> tuple[list[tuple[str, str]], set[str]]:
    """A conversation's turns as (dia_id, text), and the ids of its evidence turns (answerable questions)."""
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
    body = data.get("conversation", data)
    turns = [(t["dia_id"], t.get("text") or "")
             for key in sorted((k for k in body if re.fullmatch(r"session_\d+", k)), key=lambda k: int(k[8:]))
             for t in body[key]]
    known = {dia_id for dia_id, _ in turns}
    evidence = {e for q in data["qa"] if int(q["category"]) in (1, 2, 3, 4)
                for e in normalise_evidence(q.get("evidence", []), known)}
    return turns, evidence


def questions_hurt(path: str, skipped: set[str]) -> tuple[int, int]:
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
    known = {t["dia_id"] for k, v in data.get("conversation", data).items() if re.fullmatch(r"session_\d+", k)
             for t in v}
    asked = [normalise_evidence(q.get("evidence", []), known) for q in data["qa"] if int(q["category"]) in (1, 2, 3, 4)]
    asked = [e for e in asked if e]
    return sum(1 for e in asked if skipped.intersection(e)), len(asked)


class Tally:
    def __init__(self) -> None:
        self.turns = self.skipped = self.evidence = self.evidence_skipped = 0
        self.tokens = self.tokens_saved = self.hurt = self.questions = 0
        self.seconds = 0.0

    def add(self, other: Tally) -> None:
        for name, value in vars(other).items():
            setattr(self, name, getattr(self, name) + value)

    def row(self, name: str) -> str:
        pct = lambda part, whole: f"{100 * part / whole:.1f}%" if whole else "-"  # noqa: E731
        return (f"| {name} | {self.turns} | {self.skipped} ({pct(self.skipped, self.turns)}) | "
                f"{pct(self.tokens_saved, self.tokens)} | {self.evidence_skipped} of {self.evidence} "
                f"({pct(self.evidence_skipped, self.evidence)}) | {self.hurt} of {self.questions} "
                f"({pct(self.hurt, self.questions)}) | {1e6 * self.seconds / max(self.turns, 1):.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="a folder of LoCoMo conversations (conv-*.json)")
    parser.add_argument("--tune", default=TUNED_ON, help="the conversations the rule was tuned on")
    parser.add_argument("--show", type=int, default=0, help="print this many skipped (evidence) turns")
    args = parser.parse_args()
    import tiktoken

    encoding = tiktoken.get_encoding("o200k_base")
    fixed = len(encoding.encode(INSTRUCTIONS)) + 40  # and the date line, the headings, the (none) candidates
    tuned = set(filter(None, args.tune.split(",")))
    totals = {"tuned on": Tally(), "held out": Tally(), "all": Tally()}
    rows, missed, skipped_texts = [], [], []
    for name in sorted(f for f in os.listdir(args.data) if f.endswith(".json")):
        path = os.path.join(args.data, name)
        turns, evidence = read_turns(path)
        tally, skipped = Tally(), set()
        for dia_id, text in turns:
            messages = [{"role": "user", "content": text}]
            started = time.perf_counter()
            skip = nothing_to_remember(messages)
            tally.seconds += time.perf_counter() - started
            cost = fixed + len(encoding.encode(conversation_text(messages)))
            tally.turns += 1
            tally.tokens += cost
            tally.evidence += dia_id in evidence
            if skip:
                skipped.add(dia_id)
                tally.skipped += 1
                tally.tokens_saved += cost
                skipped_texts.append(f"{name[:-5]} {dia_id}: {text}")
                if dia_id in evidence:
                    tally.evidence_skipped += 1
                    missed.append(f"{name[:-5]} {dia_id}: {text}")
        tally.hurt, tally.questions = questions_hurt(path, skipped)
        label = name[:-5] + (" (tuned on)" if name[:-5] in tuned else "")
        rows.append(tally.row(label))
        totals["tuned on" if name[:-5] in tuned else "held out"].add(tally)
        totals["all"].add(tally)
    print("| conversation | turns | skipped | tokens saved | evidence turns skipped | questions hurt | µs per turn |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        print(row)
    for name, tally in totals.items():
        print(tally.row(f"**{name}**"))
    if args.show:
        rnd = random.Random(7)
        print("\nskipped evidence turns:")
        for line in missed[:args.show]:
            print("  " + line)
        print("\nskipped turns, at random:")
        for line in rnd.sample(skipped_texts, min(args.show, len(skipped_texts))):
            print("  " + line)


if __name__ == "__main__":
    main()
